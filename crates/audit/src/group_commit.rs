//! The group commit behind [`super::AuditLog::record`]: one thread owns a queue of
//! records; it takes everything waiting, writes it in one write transaction and answers
//! every caller of that batch. Concurrent reads then share one commit (one fsync)
//! instead of queueing one by one behind SQLite's single writer.

use super::AuditRecord;
use super::append::append_entries;
use super::entry::Origin;
use crate::backend::{Store, StoreError, TxMode};
use crate::context::RequestContext;
use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Most callers' records written in one transaction.
const MAX_BATCH: usize = 512;

/// One caller's records and where to send the batch's result.
struct Job {
    origin: Origin,
    records: Vec<AuditRecord>,
    reply: SyncSender<Result<(), StoreError>>,
}

/// The writer thread and the queue to it. Dropping it closes the queue and waits for
/// the thread to finish the batches already queued.
pub struct GroupCommit {
    queue: Mutex<Option<Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl GroupCommit {
    pub fn start(store: Arc<dyn Store>) -> GroupCommit {
        let (queue, jobs) = channel();
        let thread = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || run(store, jobs))
            .expect("the audit writer thread starts");
        GroupCommit {
            queue: Mutex::new(Some(queue)),
            thread: Mutex::new(Some(thread)),
        }
    }

    /// Queues `records` and waits until the batch holding them has committed.
    pub fn submit(
        &self,
        ctx: &RequestContext,
        records: Vec<AuditRecord>,
    ) -> Result<(), StoreError> {
        let (reply, answer) = sync_channel(1);
        let job = Job {
            origin: Origin::of(ctx),
            records,
            reply,
        };
        let sent = match self
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            Some(queue) => queue.send(job).is_ok(),
            None => false,
        };
        if !sent {
            return Err(writer_stopped());
        }
        answer.recv().unwrap_or_else(|_| Err(writer_stopped()))
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).take();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            // A panic there has already answered its waiters with "stopped".
            let _ = thread.join();
        }
    }
}

fn writer_stopped() -> StoreError {
    StoreError::Backend("the audit writer has stopped".into())
}

/// The writer thread: until the queue closes, take what is waiting and write it.
fn run(store: Arc<dyn Store>, jobs: Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let result = write_batch(store.as_ref(), &batch);
        if let Err(e) = &result {
            // The kind only: a database message can quote the values of a row.
            tracing::error!(
                kind = error_kind(e),
                callers = batch.len(),
                "audit batch failed"
            );
        }
        for job in batch {
            let _ = job
                .reply
                .send(result.as_ref().map(|_| ()).map_err(copy_error));
        }
    }
}

/// Writes every job of `batch` in one transaction, each practice's chain in turn (in
/// practice order, so two writers never lock heads in opposite orders).
fn write_batch(store: &dyn Store, batch: &[Job]) -> Result<(), StoreError> {
    let mut by_practice: BTreeMap<&str, Vec<_>> = BTreeMap::new();
    for job in batch {
        let items = by_practice.entry(&job.origin.practice).or_default();
        items.extend(job.records.iter().map(|r| (&job.origin, r)));
    }
    let Some(first_practice) = by_practice.keys().next() else {
        return Ok(());
    };
    let ctx = RequestContext::system(*first_practice);
    let mut tx = store.begin(&ctx, TxMode::Write)?;
    for (practice, items) in &by_practice {
        append_entries(tx.as_mut(), practice, items)?;
    }
    tx.commit()
}

fn error_kind(e: &StoreError) -> &'static str {
    match e {
        StoreError::Conflict(_) => "conflict",
        StoreError::Busy(_) => "busy",
        StoreError::Backend(_) => "backend",
    }
}

/// The same error for another waiter (StoreError is not Clone: it may one day carry a
/// source error).
fn copy_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Conflict(m) => StoreError::Conflict(m.clone()),
        StoreError::Busy(m) => StoreError::Busy(m.clone()),
        StoreError::Backend(m) => StoreError::Backend(m.clone()),
    }
}
