//! Names every part of the engine agrees on.

/// The one database every client connects to.
pub const DATABASE: &str = "postgres";
/// The schema tables land in unless a client says otherwise.
pub const DEFAULT_SCHEMA: &str = "public";
/// The superuser that exists on a fresh server.
pub const SUPERUSER: &str = "postgres";
