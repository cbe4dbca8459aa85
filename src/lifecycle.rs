//! The server's phase as operators and clients see it: `/ready` answers 200
//! only while ready; while draining (after SIGTERM or Ctrl-C), new PostgreSQL
//! connections are refused with 57P03 and open ones may finish their work. The
//! background storage probe records here whether the object store answers.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Starting,
    Ready,
    Draining,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Ready => "ready",
            Phase::Draining => "draining",
        }
    }
}

#[derive(Debug, Default)]
pub struct Lifecycle {
    phase: AtomicU8,
    /// Why the last storage probe failed (None: it succeeded, or none ran yet).
    storage_error: Mutex<Option<String>>,
}

impl Lifecycle {
    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Acquire) {
            0 => Phase::Starting,
            1 => Phase::Ready,
            _ => Phase::Draining,
        }
    }

    /// Records the outcome of a storage probe.
    pub fn set_storage(&self, outcome: Result<(), String>) {
        *self.storage_error.lock().expect("lifecycle lock") = outcome.err();
    }

    /// The error of the last storage probe, if it failed.
    pub fn storage_error(&self) -> Option<String> {
        self.storage_error.lock().expect("lifecycle lock").clone()
    }

    pub fn set(&self, phase: Phase) {
        let value = match phase {
            Phase::Starting => 0,
            Phase::Ready => 1,
            Phase::Draining => 2,
        };
        self.phase.store(value, Ordering::Release);
    }
}
