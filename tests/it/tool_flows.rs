//! The tools that bring data and schemas to a database, run as their users
//! run them, each against Enishi and PostgreSQL 15: what the tool observes
//! (its results, the rows it leaves, its own introspection) must be the same.
//! - an ORM application and its migrations: SQLAlchemy 2 + Alembic;
//! - a Django application: `migrate`, the ORM, migrating back and forward;
//! - a loader that upserts: pandas + SQLAlchemy, loading records twice;
//! - a dbt project: seeds, views, tables, incremental models (merge,
//!   delete+insert, append), schema tests, a custom schema.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::clients::{assert_same_observations, observe_python, observe_python_with};
use crate::server::TestServer;

/// An application through SQLAlchemy 2's ORM and Alembic (from PyPI):
/// create_all with identity and serial keys, a foreign key, unique and
/// ordinary indexes and a jsonb column; ORM inserts returning ids, json key
/// queries, updates and deletes with RETURNING, a nested transaction,
/// upserts, and an Alembic autogenerate that finds exactly the added column
/// and index.
#[test]
fn an_orm_application_and_its_migrations_observe_what_they_observe_on_postgresql() {
    let server = TestServer::start();
    let postgres = crate::oracle::Postgres::start();
    let expected = observe_python("orm_flow_check.py", postgres.port);
    let enishi = observe_python("orm_flow_check.py", server.port);
    assert_same_observations(&enishi, &expected);
}

/// Django (from PyPI, psycopg 3 backend): `migrate` of a two-model app
/// (ForeignKey, unique=True, db_index=True, a JSONField; a second migration
/// adds a column with a default and widens a varchar), with Django's own
/// introspection of the result; the ORM's create, JSON key filters, update,
/// cascading delete, a savepoint, bulk upserts; then migrating back to zero
/// (DROP COLUMN, the type changed back, DROP TABLE) and forward again.
#[test]
fn a_django_application_migrates_and_runs_as_on_postgresql() {
    let server = TestServer::start();
    let postgres = crate::oracle::Postgres::start();
    let expected = observe_python("django_flow_check.py", postgres.port);
    let enishi = observe_python("django_flow_check.py", server.port);
    assert_same_observations(&enishi, &expected);
    let migrated: Value = serde_json::from_str(enishi.lines().next().expect("a first step"))
        .expect("JSON observations");
    assert!(
        migrated["observed"]["shape"]["library_book"].is_object(),
        "the migration made the tables: {migrated}"
    );
}

/// A loader that upserts, as pandas + SQLAlchemy load data (`to_sql` with
/// an `INSERT … ON CONFLICT` method, in chunks): loading the same records
/// twice leaves one copy of each, changed records are updated in place, and
/// events loaded twice with DO NOTHING are kept once.
#[test]
fn a_loader_upserting_the_same_records_twice_leaves_one_copy_of_each() {
    let server = TestServer::start();
    let postgres = crate::oracle::Postgres::start();
    let expected = observe_python("loader_flow_check.py", postgres.port);
    let enishi = observe_python("loader_flow_check.py", server.port);
    assert_same_observations(&enishi, &expected);
    let steps: Vec<Value> = enishi
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON observations"))
        .collect();
    let rows = |step: &Value| step["observed"]["rows"].as_array().map(Vec::len);
    assert_eq!(rows(&steps[0]), Some(5), "first load: {}", steps[0]);
    assert_eq!(rows(&steps[1]), Some(5), "loaded again: {}", steps[1]);
    assert_eq!(rows(&steps[2]), Some(7), "changed and new: {}", steps[2]);
}

/// The Python that has dbt-postgres: an environment of its own (dbt pins its
/// dependencies), made by scripts/test.
fn dbt_python() -> PathBuf {
    match std::env::var_os("ENISHI_DBT_PYTHON") {
        Some(python) => PathBuf::from(python),
        None => Path::new(&std::env::var("HOME").expect("HOME is set"))
            .join(".cache/enishi/dbt/bin/python"),
    }
}

/// dbt (dbt-postgres from PyPI): `dbt seed`, `dbt run` (views, a table, three
/// incremental models, one in a custom schema), a second `dbt run` that
/// loads the next batch through MERGE, DELETE + INSERT and INSERT, and `dbt
/// test` (unique, not_null, relationships, accepted_values); then every
/// relation's columns, types and rows.
#[test]
fn a_dbt_project_builds_and_tests_as_on_postgresql() {
    let python = dbt_python();
    assert!(
        python.exists(),
        "dbt is not installed at {}: run scripts/test",
        python.display()
    );
    let server = TestServer::start();
    let postgres = crate::oracle::Postgres::start();
    let expected = observe_python_with(&python, "dbt_flow_check.py", postgres.port);
    let enishi = observe_python_with(&python, "dbt_flow_check.py", server.port);
    assert_same_observations(&enishi, &expected);
    for line in enishi.lines().filter(|l| !l.contains("\"contents\"")) {
        let step: Value = serde_json::from_str(line).expect("JSON observations");
        assert_eq!(step["observed"]["success"], true, "{step}");
    }
}
