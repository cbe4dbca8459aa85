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
/// What a session's temporary schema is called in search_path and in
/// qualified names; each session's own is `pg_temp_<n>`.
pub const TEMP_SCHEMA_ALIAS: &str = "pg_temp";

/// Whether `schema` is a session's temporary schema (`pg_temp_<n>`). Users
/// cannot make such a schema: the `pg_` prefix is reserved.
pub fn is_temp_schema(schema: &str) -> bool {
    schema
        .strip_prefix("pg_temp_")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}
