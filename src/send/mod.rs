//! Sending an issue, as an operator asks for it: plan it (what a dry run shows), carry out
//! that plan (store and enqueue), and wait for the outcome; or send test copies to a few
//! addresses, touching nothing else. The command line only prints.

pub mod control;
mod plan;
mod status;
mod test_copy;
mod timing;
mod wait;

pub use control::{ControlError, IssueState, find_issue, issue_state};
pub use plan::{Prepared, SendPlan, SendRequest, Sent, Stored, execute, prepare};
pub use status::{IssueStatus, StatusView, read_status};
pub use test_copy::{TestCopyOutcome, TestSendError, TestSendReport, send_test_copies};
pub use timing::{Timing, TimingError};
pub use wait::{RETRY_HORIZON, Verdict, WaitSummary, settled};

use crate::issue::IssueError;
use crate::render::RenderError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("cannot read the issue file")]
    Issue(#[source] IssueError),
    #[error("cannot render the issue")]
    Render(#[source] RenderError),
    #[error("cannot plan or queue the send")]
    Store(#[source] StoreError),
    #[error(
        "issue {slug} was cancelled: `morningpost send ISSUE --resume` sends what the cancel stopped"
    )]
    Cancelled { slug: String },
    #[error("issue {slug} is paused ({reason}): `morningpost resume {slug}` goes on with it")]
    Paused { slug: String, reason: String },
    #[error(
        "issue {slug} is scheduled for {at}: it goes out then; to change the time, \
         `morningpost cancel {slug}` and send it again with `--resume --at …`"
    )]
    Scheduled { slug: String, at: String },
}

impl From<IssueError> for SendError {
    fn from(e: IssueError) -> Self {
        SendError::Issue(e)
    }
}

impl From<RenderError> for SendError {
    fn from(e: RenderError) -> Self {
        SendError::Render(e)
    }
}

impl From<StoreError> for SendError {
    fn from(e: StoreError) -> Self {
        SendError::Store(e)
    }
}
