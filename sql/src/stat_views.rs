//! The statistics views of pg_catalog with PostgreSQL 15's columns, which
//! monitoring dashboards read (pgAdmin's, Grafana's):
//! - `pg_stat_activity`: each connected session, what it runs and since when;
//! - `pg_stat_database`: per database, its sessions and how many
//!   transactions committed and rolled back;
//! - `pg_stat_all_tables`, `pg_stat_user_tables`, `pg_statio_all_tables`,
//!   `pg_statio_user_tables`: one row per table. Enishi keeps no per-table
//!   access or buffer counters (it has no shared buffers and no vacuum), so
//!   those read 0 and the vacuum and analyze times NULL.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::TableProvider;
use datafusion::common::ScalarValue;
use datafusion::error::Result as DfResult;

use crate::system_tables::{
    Builder, CatalogReader, DATABASE_OID, Row, SystemTable, int32, role_oid, text,
};

/// The statistics views' names.
pub const NAMES: [&str; 6] = [
    "pg_stat_activity",
    "pg_stat_database",
    "pg_stat_all_tables",
    "pg_stat_user_tables",
    "pg_statio_all_tables",
    "pg_statio_user_tables",
];

/// The statistics views, by name, over `reader`'s database.
pub fn tables(reader: &CatalogReader) -> HashMap<&'static str, Arc<dyn TableProvider>> {
    let views: [(&'static str, Builder); 6] = [
        ("pg_stat_activity", |r| Box::pin(activity(r))),
        ("pg_stat_database", |r| Box::pin(database(r))),
        ("pg_stat_all_tables", |r| Box::pin(table_rows(r, false))),
        ("pg_stat_user_tables", |r| Box::pin(table_rows(r, true))),
        ("pg_statio_all_tables", |r| Box::pin(table_rows(r, false))),
        ("pg_statio_user_tables", |r| Box::pin(table_rows(r, true))),
    ];
    views
        .into_iter()
        .map(|(name, build)| {
            let table: Arc<dyn TableProvider> =
                Arc::new(SystemTable::new(schema(name), reader.clone(), build));
            (name, table)
        })
        .collect()
}

/// Column types by a one-letter code: `o`id and `i`nteger as int4, `n`ame and
/// `t`ext as text, `b`igint, `s`tamp (timestamp with time zone), `d`ouble.
fn columns(view: &str) -> &'static [(&'static str, char)] {
    match view {
        "pg_stat_activity" => &[
            ("datid", 'o'),
            ("datname", 'n'),
            ("pid", 'i'),
            ("leader_pid", 'i'),
            ("usesysid", 'o'),
            ("usename", 'n'),
            ("application_name", 't'),
            ("client_addr", 't'),
            ("client_hostname", 't'),
            ("client_port", 'i'),
            ("backend_start", 's'),
            ("xact_start", 's'),
            ("query_start", 's'),
            ("state_change", 's'),
            ("wait_event_type", 't'),
            ("wait_event", 't'),
            ("state", 't'),
            ("backend_xid", 't'),
            ("backend_xmin", 't'),
            ("query_id", 'b'),
            ("query", 't'),
            ("backend_type", 't'),
        ],
        "pg_stat_database" => &[
            ("datid", 'o'),
            ("datname", 'n'),
            ("numbackends", 'i'),
            ("xact_commit", 'b'),
            ("xact_rollback", 'b'),
            ("blks_read", 'b'),
            ("blks_hit", 'b'),
            ("tup_returned", 'b'),
            ("tup_fetched", 'b'),
            ("tup_inserted", 'b'),
            ("tup_updated", 'b'),
            ("tup_deleted", 'b'),
            ("conflicts", 'b'),
            ("temp_files", 'b'),
            ("temp_bytes", 'b'),
            ("deadlocks", 'b'),
            ("checksum_failures", 'b'),
            ("checksum_last_failure", 's'),
            ("blk_read_time", 'd'),
            ("blk_write_time", 'd'),
            ("session_time", 'd'),
            ("active_time", 'd'),
            ("idle_in_transaction_time", 'd'),
            ("sessions", 'b'),
            ("sessions_abandoned", 'b'),
            ("sessions_fatal", 'b'),
            ("sessions_killed", 'b'),
            ("stats_reset", 's'),
        ],
        "pg_stat_all_tables" | "pg_stat_user_tables" => &[
            ("relid", 'o'),
            ("schemaname", 'n'),
            ("relname", 'n'),
            ("seq_scan", 'b'),
            ("seq_tup_read", 'b'),
            ("idx_scan", 'b'),
            ("idx_tup_fetch", 'b'),
            ("n_tup_ins", 'b'),
            ("n_tup_upd", 'b'),
            ("n_tup_del", 'b'),
            ("n_tup_hot_upd", 'b'),
            ("n_live_tup", 'b'),
            ("n_dead_tup", 'b'),
            ("n_mod_since_analyze", 'b'),
            ("n_ins_since_vacuum", 'b'),
            ("last_vacuum", 's'),
            ("last_autovacuum", 's'),
            ("last_analyze", 's'),
            ("last_autoanalyze", 's'),
            ("vacuum_count", 'b'),
            ("autovacuum_count", 'b'),
            ("analyze_count", 'b'),
            ("autoanalyze_count", 'b'),
        ],
        _ => &[
            ("relid", 'o'),
            ("schemaname", 'n'),
            ("relname", 'n'),
            ("heap_blks_read", 'b'),
            ("heap_blks_hit", 'b'),
            ("idx_blks_read", 'b'),
            ("idx_blks_hit", 'b'),
            ("toast_blks_read", 'b'),
            ("toast_blks_hit", 'b'),
            ("tidx_blks_read", 'b'),
            ("tidx_blks_hit", 'b'),
        ],
    }
}

fn schema(view: &str) -> SchemaRef {
    let fields: Vec<Field> = columns(view)
        .iter()
        .map(|(name, kind)| {
            let ty = match kind {
                'o' | 'i' => DataType::Int32,
                'b' => DataType::Int64,
                'd' => DataType::Float64,
                's' => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                _ => DataType::Utf8,
            };
            Field::new(*name, ty, true)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

fn stamp(micros: i64) -> ScalarValue {
    ScalarValue::TimestampMicrosecond(Some(micros), Some("UTC".into()))
}

fn bigint(v: u64) -> ScalarValue {
    ScalarValue::Int64(Some(v.try_into().unwrap_or(i64::MAX)))
}

async fn activity(r: CatalogReader) -> DfResult<Vec<Row>> {
    Ok(r.activity
        .backends()
        .into_iter()
        .filter(|b| b.database == r.database)
        .map(|b| {
            let mut row = Row::from([
                ("datid", int32(DATABASE_OID)),
                ("datname", text(b.database.clone())),
                ("pid", int32(b.pid)),
                ("usename", text(b.user.clone())),
                ("application_name", text(b.application_name.clone())),
                ("backend_type", text("client backend")),
            ]);
            row.insert("usesysid", int32(role_oid(&b.user)));
            // As PostgreSQL: another role's session shows who and what kind,
            // not what it runs, from where, or since when.
            if !r.caller.as_ref().is_some_and(|c| c.sees(&b)) {
                row.insert("query", text("<insufficient privilege>"));
                return row;
            }
            row.insert("backend_start", stamp(b.backend_start));
            row.insert("state_change", stamp(b.state_change));
            row.insert("state", text(b.state));
            row.insert("query", text(b.query));
            if let Some(client) = b.client {
                row.insert("client_addr", text(client.ip().to_string()));
                row.insert("client_port", int32(client.port()));
            }
            if let Some(at) = b.xact_start {
                row.insert("xact_start", stamp(at));
            }
            if let Some(at) = b.query_start {
                row.insert("query_start", stamp(at));
            }
            row
        })
        .collect())
}

/// The counters Enishi keeps; the others (blocks, tuples, conflicts, temp
/// files, times) read 0 as if just reset.
async fn database(r: CatalogReader) -> DfResult<Vec<Row>> {
    let zeroed = |row: &mut Row| {
        for (column, kind) in columns("pg_stat_database") {
            match kind {
                'b' => row.insert(column, bigint(0)),
                'd' => row.insert(column, ScalarValue::Float64(Some(0.0))),
                _ => None,
            };
        }
    };
    // PostgreSQL's row for shared objects, which belong to no database.
    let mut shared = Row::from([("datid", int32(0))]);
    zeroed(&mut shared);
    shared.insert("numbackends", int32(0));
    let counts = r.activity.database(&r.database);
    let backends = r
        .activity
        .backends()
        .iter()
        .filter(|b| b.database == r.database)
        .count();
    let mut own = Row::from([
        ("datid", int32(DATABASE_OID)),
        ("datname", text(r.database.clone())),
    ]);
    zeroed(&mut own);
    own.insert("numbackends", int32(backends));
    own.insert("xact_commit", bigint(counts.commits));
    own.insert("xact_rollback", bigint(counts.rollbacks));
    own.insert("sessions", bigint(counts.sessions));
    Ok(vec![shared, own])
}

/// One row per table (of the database's own schemas only, for the `user`
/// views), its counters 0.
async fn table_rows(r: CatalogReader, user: bool) -> DfResult<Vec<Row>> {
    // The counters of both views; each view keeps its own columns.
    let counters = ["pg_stat_all_tables", "pg_statio_all_tables"]
        .into_iter()
        .flat_map(|view| columns(view).iter())
        .filter(|(_, kind)| *kind == 'b')
        .map(|(name, _)| *name);
    let counters: Vec<&'static str> = counters.collect();
    let mut rows = Vec::new();
    for rel in r.relations().await? {
        let system = matches!(
            rel.schema_name.as_str(),
            "pg_catalog" | "information_schema" | "pg_toast"
        );
        if rel.is_view() || rel.is_sequence() || (user && system) {
            continue;
        }
        let mut row = Row::from([
            ("relid", int32(rel.oid)),
            ("schemaname", text(rel.schema_name.clone())),
            ("relname", text(rel.name.clone())),
        ]);
        for counter in &counters {
            row.insert(counter, bigint(0));
        }
        rows.push(row);
    }
    Ok(rows)
}
