//! Enishi's SQL engine.
//!
//! The server hands a [`Session`] SQL text ([`statement::parse`]) and gets back an
//! [`Output`]: Arrow batches or a command tag. The engine plans and runs statements
//! in Apache DataFusion over the shared catalog, answers session statements itself,
//! and serves `pg_catalog` and `information_schema` to clients. It knows nothing of the wire protocol.

pub mod activity;
pub mod cache;
pub mod catalog;
pub mod catalog_views;
pub mod constants;
pub mod copy;
pub mod engine;
pub mod error;
pub mod functions;
pub mod information_schema;
pub mod operators;
pub mod output;
pub mod privileges;
pub mod rewrite;
pub mod scram;
pub mod session;
pub mod settings;
pub mod stat_views;
pub mod statement;
pub mod system_tables;
pub mod tables;
pub mod tokens;
pub mod types;

pub use cache::{CacheConfig, CacheStats, ResultCache};
pub use copy::{ConvertError, CopyFormat, CopyIn, CopyOptions, CopyOut};
pub use engine::{Engine, EngineConfig};
pub use error::{Error, Result};
pub use session::{CommandTag, Notice, Output, ProtocolEffect, Rows, Session, TxState};
pub use settings::Settings;
