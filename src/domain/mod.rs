//! Domain types, each parsed once at the edge and trusted afterwards.

mod issue_slug;
mod public_urls;
mod reply_code;
mod subscriber_email;
mod subscriber_name;
mod time_zone;
mod token;
mod verp;

pub use issue_slug::{IssueSlug, IssueSlugError};
pub use public_urls::{PublicUrls, carries_token, is_linkable_path, issue_path, routes};
pub use reply_code::reply_code;
pub use subscriber_email::{SubscriberEmail, SubscriberEmailError};
pub use subscriber_name::{SubscriberName, SubscriberNameError};
pub use time_zone::{LocalTime, TimeZoneError, TimeZoneName};
pub use token::{Token, TokenError, TokenHash, TokenKey};
pub use verp::{BounceAddress, BounceAddressError, VerpMatch};
