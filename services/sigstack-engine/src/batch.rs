//! Filling a batch from a queue: the grouping the sequencer does for leaves
//! and the CA's recorder does for issuance records. Everything already
//! queued is taken at once; then, up to `max_batch`, more is awaited until
//! `max_wait` after the first item (not at all when it is zero), or until
//! `stop` turns true, or until the queue is closed and empty.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, timeout_at};

/// The batch that starts with `first`.
pub async fn fill_batch<T>(
    queue: &mut mpsc::Receiver<T>,
    first: T,
    max_batch: usize,
    max_wait: Duration,
    mut stop: Option<&mut watch::Receiver<bool>>,
) -> Vec<T> {
    let mut batch = vec![first];
    let deadline = Instant::now() + max_wait;
    while batch.len() < max_batch {
        match queue.try_recv() {
            Ok(next) => {
                batch.push(next);
                continue;
            }
            Err(mpsc::error::TryRecvError::Disconnected) => break,
            Err(mpsc::error::TryRecvError::Empty) => {}
        }
        if max_wait.is_zero() {
            break;
        }
        let next = match stop.as_deref_mut() {
            None => timeout_at(deadline, queue.recv()).await,
            Some(stop) => tokio::select! {
                next = timeout_at(deadline, queue.recv()) => next,
                // Stopping: the batch is what is here now.
                _ = stop.wait_for(|s| *s) => break,
            },
        };
        match next {
            Ok(Some(next)) => batch.push(next),
            Ok(None) | Err(_) => break,
        }
    }
    batch
}
