//! Names every part of the engine agrees on.

/// The one database every client connects to.
pub const DATABASE: &str = "postgres";
/// The schema tables land in unless a client says otherwise.
pub const DEFAULT_SCHEMA: &str = "public";
/// The superuser that exists on a fresh server.
pub const SUPERUSER: &str = "postgres";
/// The schema DataFusion resolves bare names in, in a session's context: not a
/// schema of its own but the session's search_path (no user schema can have
/// this name: `$` cannot start an identifier).
pub const SEARCH_PATH: &str = "$search_path";
