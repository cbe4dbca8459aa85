//! The Enishi server: configuration, the PostgreSQL front end and process wiring.
//!
//! The data path: a client's bytes arrive in [`pg`] (pgwire), which asks the engine
//! (`enishi-sql`) to run each statement for its session; the engine plans and
//! executes in DataFusion over tables held by `enishi-storage`; Arrow batches come
//! back and [`pg::encode`] turns them into PostgreSQL rows.

pub mod audit;
pub mod config;
pub mod http;
pub mod lifecycle;
pub mod logging;
pub mod metrics;
pub mod pg;
