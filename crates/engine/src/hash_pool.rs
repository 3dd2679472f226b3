//! Password hashing on threads of its own. argon2 is built to be expensive (about 19 MiB and
//! tens of milliseconds per check), so it never runs on the async workers or tokio's blocking
//! pool: a few dedicated threads take checks from a short queue, and a check that finds the
//! queue full is refused at once ("busy", retry later) instead of waiting or growing memory.
//! A flood of guesses therefore costs at most `threads` cores and `threads` buffers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

pub struct HashPool {
    jobs: Sender<Job>,
    /// Checks queued or running, and how many may be.
    pending: Arc<AtomicUsize>,
    capacity: usize,
}

impl HashPool {
    /// `threads` hashing threads behind a queue of `queue` waiting checks. The threads end
    /// when the pool is dropped.
    pub fn new(threads: usize, queue: usize) -> HashPool {
        let (jobs, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || worker(&rx));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password-hash thread");
            }
        }
        HashPool {
            jobs,
            pending: Arc::new(AtomicUsize::new(0)),
            capacity: threads.max(1) + queue,
        }
    }

    /// Half the cores (at least one): hashing may slow legitimate traffic, never stop it.
    pub fn for_this_machine() -> HashPool {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        HashPool::new((cores / 2).max(1), 32)
    }

    /// A place in the pool, taken before any other work of a password check (database reads
    /// included), so a flood is turned away at the door; `None` when the pool is full.
    pub fn reserve(&self) -> Option<Slot> {
        if self.pending.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Slot {
            pending: Some(self.pending.clone()),
        })
    }

    /// A place even past the pool's capacity: only for a caller admitted to share the check
    /// of a credential whose own checker has not started it yet (at most one such check per
    /// credential at a time, so the excess stays bounded by the callers holding places).
    pub fn reserve_over(&self) -> Slot {
        self.pending.fetch_add(1, Ordering::AcqRel);
        Slot {
            pending: Some(self.pending.clone()),
        }
    }

    /// Runs `f` on a hashing thread in the place `slot` holds.
    pub async fn run<T: Send + 'static>(
        &self,
        slot: Slot,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        self.submit(slot, f)?.await.ok()
    }

    fn submit<T: Send + 'static>(
        &self,
        mut slot: Slot,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<tokio::sync::oneshot::Receiver<T>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        // The job gives the place back when it has run (or is dropped unrun).
        let held = Slot {
            pending: slot.pending.take(),
        };
        let job: Job = Box::new(move || {
            let out = f();
            drop(held);
            let _ = tx.send(out);
        });
        self.jobs.send(job).ok()?;
        Some(rx)
    }
}

/// A reserved place in the [`HashPool`]; given back when dropped.
pub struct Slot {
    pending: Option<Arc<AtomicUsize>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(p) = self.pending.take() {
            p.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

fn worker(rx: &Mutex<Receiver<Job>>) {
    loop {
        let job = {
            let guard = rx.lock().unwrap_or_else(|p| p.into_inner());
            guard.recv()
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_refuses_past_the_queue() {
        let pool = HashPool::new(1, 1);
        assert_eq!(pool.run(pool.reserve().unwrap(), || 2 + 2).await, Some(4));
        // Hold the only thread, fill the one queue slot, and the next check is refused.
        let (hold_tx, hold_rx) = std::sync::mpsc::channel::<()>();
        let busy = pool
            .submit(pool.reserve().unwrap(), move || hold_rx.recv().ok())
            .unwrap();
        let queued = pool.reserve().expect("queue place free");
        assert!(pool.reserve().is_none(), "a full pool refuses at once");
        drop(queued);
        let queued = pool.submit(pool.reserve().unwrap(), || 1).unwrap();
        assert!(pool.reserve().is_none());
        hold_tx.send(()).unwrap();
        assert_eq!(busy.await.unwrap(), Some(()));
        assert_eq!(queued.await.unwrap(), 1);
        assert!(pool.reserve().is_some(), "places are given back");
    }
}
