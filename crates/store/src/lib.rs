//! Persistence for dealerpay on SQLite and PostgreSQL: pools, migrations, and one
//! repository module per domain area. Rows here are storage shapes; the API layer maps
//! them to wire shapes.

mod db;
mod error;
pub mod repo;

pub use db::{Backend, Db};
pub use error::StoreError;

pub type Tx = sqlx::Transaction<'static, sqlx::Any>;
pub type Result<T> = std::result::Result<T, StoreError>;
