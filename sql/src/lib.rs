//! Enishi's SQL engine.
//!
//! The server hands a [`Session`] SQL text ([`statement::parse`]) and gets back an
//! [`Output`]: Arrow batches or a command tag. The engine plans and runs statements
//! in Apache DataFusion over the shared catalog, answers session statements itself,
//! and serves `pg_catalog` and `information_schema` to clients. It knows nothing of the wire protocol.

pub mod activity;
pub(crate) mod cache;
pub(crate) mod catalog;
pub(crate) mod catalog_views;
pub(crate) mod constants;
pub(crate) mod copy;
pub mod engine;
pub(crate) mod error;
pub(crate) mod functions;
pub(crate) mod information_schema;
pub mod interval;
pub(crate) mod json;
pub(crate) mod lateral;
pub(crate) mod listing_views;
pub(crate) mod numeric;
pub(crate) mod operators;
pub(crate) mod output;
pub mod privileges;
pub(crate) mod rewrite;
pub mod scram;
pub mod session;
pub(crate) mod settings;
pub(crate) mod stat_views;
pub mod statement;
pub(crate) mod system_tables;
pub(crate) mod tables;
pub mod text_output;
pub mod tokens;
pub mod types;
pub mod zones;

pub use cache::{CacheConfig, CacheStats, ResultCache};
pub use copy::{ConvertError, CopyFormat, CopyIn, CopyOptions, CopyOut};
pub use engine::{Engine, EngineConfig};
pub use error::{Error, Result};
pub use numeric::Special as NumericSpecial;
pub use session::{CommandTag, Notice, Output, ProtocolEffect, Rows, Session, TxState};
pub use settings::Settings;
