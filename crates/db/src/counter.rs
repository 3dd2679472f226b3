//! Statements per request: the HTTP layer wraps a request in [`counting`]; every statement
//! the request's task runs (on SQLite also those run for it on the writer thread) is added.

use std::cell::Cell;
use std::future::Future;

tokio::task_local! {
    static STATEMENTS: Cell<u32>;
}

/// Runs `fut`, returning its output and the number of statements it ran.
pub async fn counting<F: Future>(fut: F) -> (F::Output, u32) {
    STATEMENTS
        .scope(Cell::new(0), async move {
            let out = fut.await;
            (out, STATEMENTS.with(Cell::get))
        })
        .await
}

/// Statements run so far by the current counted task (0 outside [`counting`]).
pub fn statements_in_task() -> u32 {
    STATEMENTS.try_with(Cell::get).unwrap_or(0)
}

pub(crate) fn add(n: u32) {
    let _ = STATEMENTS.try_with(|c| c.set(c.get() + n));
}
