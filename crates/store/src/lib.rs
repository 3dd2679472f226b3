//! Persistence for dealerpay: the schema (migrations for SQLite and PostgreSQL), one
//! repository module per aggregate (rows as domain types: statuses are enums, money is
//! [`domain::Money`]), and read models that load a documented view in one query.
//!
//! Repositories are plain functions over a [`db::Conn`]: the engine decides what runs in
//! one transaction (`Db::write`) and what is a read (`Db::read`).

pub mod repo;
pub mod views;

pub use db::{Backend, Conn, Db, DbError};

/// A status as an SQL literal, for the few statements that must name one in their text: a
/// partial index (`… WHERE status = 'Created'`) serves a query only when the query states
/// the same condition literally, not as a bound value.
pub(crate) fn sql_literal(status: &str) -> String {
    debug_assert!(status
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    format!("'{status}'")
}

/// The store's error is the database layer's: the store adds no failure of its own.
pub type StoreError = DbError;
pub type Result<T> = std::result::Result<T, DbError>;

/// The schema, in order.
pub const MIGRATIONS: &[db::Migration] = &[
    db::Migration {
        version: 1,
        sql: include_str!("../migrations/0001_foundation.sql"),
    },
    db::Migration {
        version: 2,
        sql: include_str!("../migrations/0002_card_payments.sql"),
    },
    db::Migration {
        version: 3,
        sql: include_str!("../migrations/0003_checkout.sql"),
    },
    db::Migration {
        version: 4,
        sql: include_str!("../migrations/0004_engine.sql"),
    },
    db::Migration {
        version: 5,
        sql: include_str!("../migrations/0005_hardening.sql"),
    },
    db::Migration {
        version: 6,
        sql: include_str!("../migrations/0006_pages_and_resets.sql"),
    },
];

/// Connects and applies the migrations.
pub async fn open(url: &str) -> Result<Db> {
    let db = Db::connect(url).await?;
    db.migrate(MIGRATIONS).await?;
    Ok(db)
}
