//! Fault injection for the standalone sandbox (`dealerpay sandbox-processor
//! --fault-injection`): a test switches a fault on with `POST /sandbox/faults` (loopback
//! clients only) and the sandbox's HTTP routes misbehave the way real processors do.
//!
//! ```json
//! {"mode": "error_after", "ops": ["charge"], "count": 1, "delayMs": 0}
//! ```
//!
//! | mode | what the processor does |
//! |---|---|
//! | `none` | behaves (switches faults off) |
//! | `hang` | holds the request `delayMs` (default 120 s) without recording anything, then answers 504 — a caller with a shorter timeout never gets an answer |
//! | `late` | waits `delayMs`, then handles the request normally: it is recorded after the caller gave up |
//! | `slow` | handles the request, then waits `delayMs` before answering |
//! | `error_before` | answers HTTP 500 without recording anything |
//! | `error_after` | records the request (charges), then answers HTTP 500 |
//! | `drop_after` | records the request (charges), then drops the connection without an answer |
//!
//! `ops` names the operations it applies to (`charge`, `complete`, `capture`, `release`,
//! `refund`, `void`, `resolve`, `lookup`; default `["charge"]`); `count` how many calls it
//! hits before it switches itself off (default: until changed). `GET /sandbox/faults`
//! answers the current fault, how often each operation was called per key, and which faults
//! hit which calls (`{"fault": …, "calls": {"charge": {"<key>": 1}}, "injected": {"charge":
//! {"<key>": ["slow"]}}}`), so a test can prove that a retry never reached the processor
//! twice, that an attempt was resolved exactly once, or that the fault it set really fired.
//! These counts live in memory; with fault injection the sandbox also logs its charge and
//! resolve calls durably in its ledger (`sandbox_calls`, see [`crate::sandbox::CALL_LOG`]),
//! for tests that kill and restart it.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultMode {
    #[default]
    None,
    Hang,
    Late,
    Slow,
    ErrorBefore,
    ErrorAfter,
    DropAfter,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fault {
    pub mode: FaultMode,
    #[serde(default = "default_ops")]
    pub ops: Vec<String>,
    /// Calls still to hit; `None`: until switched off.
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

fn default_ops() -> Vec<String> {
    vec!["charge".into()]
}

pub const OPS: &[&str] = &[
    "charge", "complete", "capture", "release", "refund", "void", "resolve", "lookup",
];

impl Fault {
    pub fn validate(&self) -> Result<(), String> {
        if let Some(op) = self.ops.iter().find(|o| !OPS.contains(&o.as_str())) {
            return Err(format!("ops: unknown operation {op:?}"));
        }
        if self.delay_ms.is_some_and(|d| d > 600_000) {
            return Err("delayMs: at most 600000".into());
        }
        Ok(())
    }

    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.delay_ms.unwrap_or(match self.mode {
            FaultMode::Hang => 120_000,
            _ => 0,
        }))
    }
}

/// The switch and the call counts; only active when the sandbox runs with fault injection.
#[derive(Default)]
pub struct Faults {
    current: Mutex<Option<Fault>>,
    calls: Mutex<HashMap<String, BTreeMap<String, u64>>>,
    /// The modes of the faults that hit each call, per operation and key.
    injected: Mutex<HashMap<String, BTreeMap<String, Vec<FaultMode>>>>,
}

impl Faults {
    pub fn set(&self, f: Fault) {
        let f = (f.mode != FaultMode::None && f.count != Some(0)).then_some(f);
        *self.current.lock().unwrap() = f;
    }

    pub fn current(&self) -> Option<Fault> {
        self.current.lock().unwrap().clone()
    }

    /// Counts a call of `op` with `key` and returns the fault that hits it, if any.
    pub fn hit(&self, op: &str, key: &str) -> Option<Fault> {
        *self
            .calls
            .lock()
            .unwrap()
            .entry(op.to_string())
            .or_default()
            .entry(key.to_string())
            .or_default() += 1;
        let mut cur = self.current.lock().unwrap();
        let f = cur.as_mut().filter(|f| f.ops.iter().any(|o| o == op))?;
        let hit = f.clone();
        self.injected
            .lock()
            .unwrap()
            .entry(op.to_string())
            .or_default()
            .entry(key.to_string())
            .or_default()
            .push(hit.mode);
        if let Some(n) = f.count.as_mut() {
            *n -= 1;
            if *n == 0 {
                *cur = None;
            }
        }
        Some(hit)
    }

    pub fn calls(&self) -> HashMap<String, BTreeMap<String, u64>> {
        self.calls.lock().unwrap().clone()
    }

    /// The faults injected so far: operation → key → the modes that hit its calls, in order.
    pub fn injected(&self) -> HashMap<String, BTreeMap<String, Vec<FaultMode>>> {
        self.injected.lock().unwrap().clone()
    }
}
