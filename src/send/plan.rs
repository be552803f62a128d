//! What `send` would do, computed by one function: `--dry-run` prints the plan, `send`
//! executes it. Two computations drifted before (a dry run promised 0 new deliveries while
//! the send queued 2, and left out the changed-content warning).

use std::path::Path;

use uuid::Uuid;

use super::{SendError, Timing};
use crate::clock::now_ms;
use crate::config::Settings;
use crate::render::{RenderContext, RenderedIssue, render_issue};
use crate::store::{
    DueTimes, Hold, MessageKind, NewMessage, SendControl, Store, StoreIssueOutcome,
};

/// Whether the issue's slug is stored already, and with what content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    No,
    /// Stored with the same subject and bodies.
    Same(Uuid),
    /// Stored with other content: the stored version is what goes out.
    Changed(Uuid),
}

#[derive(Debug, Clone)]
pub struct SendPlan {
    pub slug: String,
    pub subject: String,
    pub stored: Stored,
    /// Active subscribers now.
    pub active: i64,
    /// Deliveries the enqueue would add: active subscribers without one of this issue (the
    /// enqueue's own rule, counted by `Store::count_new_deliveries`).
    pub new_deliveries: i64,
    /// Deliveries `--resume` would bring back from a cancel.
    pub revived: i64,
    /// When they come due.
    pub due: DueTimes,
    /// Whether to undo a cancel (`--resume`).
    pub resume: bool,
    /// The renderer's warnings, then the changed-content warning when it applies.
    pub warnings: Vec<String>,
}

/// What a send asks for besides the issue file.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub timing: Timing,
    /// Undo a cancel: the deliveries the operator cancelled are queued again.
    pub resume: bool,
}

/// A plan with the rendered issue it was made from, ready to execute.
pub struct Prepared {
    pub plan: SendPlan,
    rendered: RenderedIssue,
}

/// What executing a plan did.
#[derive(Debug, Clone, Copy)]
pub struct Sent {
    pub message_id: Uuid,
    pub enqueued: u64,
    /// Deliveries a cancel had taken that `--resume` queued again.
    pub revived: u64,
}

/// Reads and renders the issue and works out what sending it would do; changes nothing.
/// A send the operator holds (paused, cancelled) or scheduled is not sent again behind
/// their back: that is an error saying what to do instead.
pub async fn prepare(
    settings: &Settings,
    store: &Store,
    issue_file: &Path,
    request: &SendRequest,
) -> Result<Prepared, SendError> {
    let issue = crate::issue::read_issue_file(issue_file)?;
    let rendered = render_issue(&issue, &RenderContext::from_settings(settings))?;
    let slug = rendered.slug.as_str().to_owned();
    let now = now_ms();
    let existing = store.message_by_slug(&slug).await?;
    if let Some(m) = &existing {
        refuse_held_or_scheduled(&slug, &m.send, request.resume, now)?;
    }
    let stored = match existing {
        None => Stored::No,
        Some(m) if m.source_hash.as_slice() == content_hash(&rendered).as_slice() => {
            Stored::Same(m.id)
        }
        Some(m) => Stored::Changed(m.id),
    };
    let active = store.count_active().await?;
    let (new_deliveries, revived) = match stored {
        Stored::No => (active, 0),
        Stored::Same(id) | Stored::Changed(id) => (
            store.count_new_deliveries(id).await?,
            if request.resume {
                store.count_revivable(id).await?
            } else {
                0
            },
        ),
    };
    let due = request
        .timing
        .due_times(store, &settings.timezone, now)
        .await?;
    let mut warnings = rendered.warnings.clone();
    if let Stored::Changed(_) = stored {
        warnings.push(format!(
            "issue {slug} was stored earlier with different content; the stored version is what goes out \
             (give the new content its own `slug` to send it as a new issue)"
        ));
    }
    Ok(Prepared {
        plan: SendPlan {
            slug,
            subject: rendered.subject.clone(),
            stored,
            active,
            new_deliveries,
            revived,
            due,
            resume: request.resume,
            warnings,
        },
        rendered,
    })
}

/// A held send is resumed with `resume` (or `send --resume` after a cancel), and a
/// scheduled one is left to its schedule; sending either again is refused with the way on.
fn refuse_held_or_scheduled(
    slug: &str,
    send: &SendControl,
    resume: bool,
    now: i64,
) -> Result<(), SendError> {
    match send.hold {
        Some(Hold::Cancelled) if !resume => Err(SendError::Cancelled {
            slug: slug.to_owned(),
        }),
        Some(Hold::Paused) => Err(SendError::Paused {
            slug: slug.to_owned(),
            reason: send.hold_reason.clone().unwrap_or_default(),
        }),
        _ => match send.scheduled_at {
            Some(at) if send.started_at.is_none() && at > now && !resume => {
                Err(SendError::Scheduled {
                    slug: slug.to_owned(),
                    at: crate::clock::rfc3339(at),
                })
            }
            _ => Ok(()),
        },
    }
}

/// Stores the issue (unless it is stored) and queues it for every active subscriber who
/// does not have it yet.
pub async fn execute(store: &Store, prepared: Prepared) -> Result<Sent, SendError> {
    let r = &prepared.rendered;
    let new = NewMessage {
        id: Uuid::now_v7(),
        kind: MessageKind::Issue,
        slug: Some(r.slug.as_str()),
        subject: &r.subject,
        title: &r.title,
        issue_date: Some(r.slug_date()),
        html: r.html.source(),
        text: r.text.source(),
        web_html: Some(&r.web_html),
        source_hash: content_hash(r),
        now: now_ms(),
    };
    let message_id = match store.store_issue(&new).await? {
        StoreIssueOutcome::Created(id) | StoreIssueOutcome::Existing { id, .. } => id,
    };
    let plan = &prepared.plan;
    let revived = if plan.resume {
        store
            .revive_cancelled(message_id, &plan.due, now_ms())
            .await?
    } else {
        0
    };
    let enqueued = store.enqueue_issue(message_id, &plan.due, now_ms()).await?;
    Ok(Sent {
        message_id,
        enqueued,
        revived,
    })
}

fn content_hash(r: &RenderedIssue) -> [u8; 32] {
    NewMessage::content_hash(&r.subject, r.html.source(), r.text.source())
}
