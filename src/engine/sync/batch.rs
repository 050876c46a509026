//! Creating the new twins of a bulk exalate in batches.
//!
//! Bulk exalate runs its issues in groups of up to
//! [`Capabilities::batch_create`](crate::tracker::Capabilities::batch_create).
//! Each issue of a group takes a [`Seat`] and goes through the one apply path
//! as it would alone: its intent and marker are recorded before the create,
//! exactly as for a single create. Only the call differs: the creates of a
//! group's seats are gathered by a [driver](group) into one
//! [`create_issues`](crate::tracker::Tracker::create_issues) call, sent once
//! every seat has either asked for its create or left (an issue with nothing
//! to create, or one that failed before). Each seat gets its own element's
//! answer back, and the apply path goes on from there for that issue alone.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use futures::channel::{mpsc, oneshot};

use crate::error::{Error, ErrorKind, Result};
use crate::tracker::{CreatedIssue, NewIssue, Tracker};

/// What a seat's create got: `Err` when the call failed as a whole (nothing
/// tells which elements were applied), else its own element's result.
pub(in crate::engine) type SeatAnswer = Result<Result<CreatedIssue>>;

enum Message {
    Create(Box<NewIssue>, oneshot::Sender<SeatAnswer>),
    Leave,
}

/// One issue's place in a group of creates.
pub(in crate::engine) struct Seat {
    to_driver: mpsc::UnboundedSender<Message>,
    used: AtomicBool,
}

impl Seat {
    /// Gives the seat up: this issue creates nothing (any more), so the
    /// group's call need not wait for it.
    pub(in crate::engine) fn leave(&self) {
        if !self.used.swap(true, Ordering::AcqRel) {
            // The driver gone means the group is over: nothing waits for us.
            let _gone = self.to_driver.unbounded_send(Message::Leave);
        }
    }

    /// Sends `issue` with the group's other creates; `None` when the seat was
    /// used or left already (the caller creates it alone).
    pub(in crate::engine) async fn create(&self, issue: &NewIssue) -> Option<SeatAnswer> {
        if self.used.swap(true, Ordering::AcqRel) {
            return None;
        }
        let (reply, answer) = oneshot::channel();
        if self
            .to_driver
            .unbounded_send(Message::Create(Box::new(issue.clone()), reply))
            .is_err()
        {
            // The driver is gone before the call: nothing was sent.
            return Some(Ok(Err(Error::new(
                ErrorKind::Unexpected,
                "the batch of creates ended before this issue joined it",
            ))));
        }
        Some(answer.await.unwrap_or_else(|_| {
            // The driver went away while the call may have been under way.
            Err(Error::new(
                ErrorKind::Timeout,
                "the batch of creates was abandoned; find the issue by its marker",
            ))
        }))
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.leave();
    }
}

/// `seats` seats and the driver that sends their creates, up to `size` per
/// call, on `tracker`. Run the driver alongside the seats' work (it ends once
/// every seat has created or left).
pub(in crate::engine) fn group(
    tracker: Arc<dyn Tracker>,
    seats: usize,
    size: usize,
) -> (Vec<Seat>, impl Future<Output = ()> + Send) {
    let (to_driver, from_seats) = mpsc::unbounded();
    let list = (0..seats)
        .map(|_| Seat {
            to_driver: to_driver.clone(),
            used: AtomicBool::new(false),
        })
        .collect();
    drop(to_driver);
    (list, drive(tracker, from_seats, seats, size.max(1)))
}

async fn drive(
    tracker: Arc<dyn Tracker>,
    mut from_seats: mpsc::UnboundedReceiver<Message>,
    mut open: usize,
    size: usize,
) {
    let mut pending: Vec<(NewIssue, oneshot::Sender<SeatAnswer>)> = Vec::new();
    loop {
        if !pending.is_empty() && (pending.len() >= size || open == 0) {
            let take = pending.len().min(size);
            let batch: Vec<_> = pending.drain(..take).collect();
            send(&*tracker, batch).await;
            continue;
        }
        if open == 0 {
            return;
        }
        match from_seats.next().await {
            Some(Message::Create(issue, reply)) => {
                open -= 1;
                pending.push((*issue, reply));
            }
            Some(Message::Leave) => open -= 1,
            None => open = 0,
        }
    }
}

/// One call for `batch`, each element's answer to its seat.
async fn send(tracker: &dyn Tracker, batch: Vec<(NewIssue, oneshot::Sender<SeatAnswer>)>) {
    let (issues, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
    tracing::debug!(issues = issues.len(), "creating issues in one call");
    match tracker.create_issues(&issues).await {
        Ok(results) => {
            let mut results = results.into_iter();
            for reply in replies {
                let result = results.next().unwrap_or_else(|| {
                    Err(Error::new(
                        ErrorKind::Timeout,
                        "the tracker's answer to a batch of creates did not cover this issue; \
                         find it by its marker",
                    ))
                });
                // A seat that stopped waiting has nothing left to do with it.
                let _gone = reply.send(Ok(result));
            }
        }
        Err(err) => {
            for reply in replies {
                let _gone = reply.send(Err(crate::tracker::batch_call_failed(&err)));
            }
        }
    }
}
