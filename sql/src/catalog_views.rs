//! pg_catalog views as PostgreSQL 15 shows them, derived from the library's
//! tables where those differ: `pg_roles` with `rolbypassrls`, `pg_user` over
//! it, `pg_settings` with its `boot_val` column; and the views of things
//! Enishi has none of (`pg_policies`, `pg_seclabels`), empty.

use std::sync::Arc;

use datafusion::arrow::array::{
    BooleanArray, Int32Array, RecordBatch, StringArray, new_null_array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::{MemTable, TableType};
use datafusion::error::Result;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::Expr;
use datafusion_pg_catalog::pg_catalog::oid_field::{OID_ALIAS_KEY, kind as oid_kind};

/// A view computed from another table's rows, batch by batch.
#[derive(Debug)]
pub struct Derived {
    source: Arc<dyn TableProvider>,
    schema: SchemaRef,
    map: fn(&RecordBatch, &SchemaRef) -> Result<RecordBatch>,
}

#[async_trait::async_trait]
impl TableProvider for Derived {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let all = self.source.scan(state, None, &[], None).await?;
        let batches = datafusion::physical_plan::collect(all, state.task_ctx()).await?;
        let rows = batches
            .iter()
            .map(|b| (self.map)(b, &self.schema))
            .collect::<Result<Vec<_>>>()?;
        MemTable::try_new(self.schema.clone(), vec![rows])?
            .scan(state, projection, filters, limit)
            .await
    }
}

/// pg_roles with `rolbypassrls` filled in: superusers bypass row-level
/// security (psql's `\du` lists "Bypass RLS"), other roles do not; and each
/// role's OID, which pg_class's and pg_namespace's owners name.
pub fn roles(source: Arc<dyn TableProvider>) -> Derived {
    fn bypass(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
        let mut columns = batch.columns().to_vec();
        if let (Ok(superuser), Ok(bypass)) =
            (schema.index_of("rolsuper"), schema.index_of("rolbypassrls"))
            && let Some(supers) = columns[superuser].as_any().downcast_ref::<BooleanArray>()
        {
            let values: BooleanArray = supers.iter().map(|s| Some(s.unwrap_or(false))).collect();
            columns[bypass] = Arc::new(values);
        }
        if let (Ok(name), Ok(oid)) = (schema.index_of("rolname"), schema.index_of("oid"))
            && let Some(names) = columns[name].as_any().downcast_ref::<StringArray>()
        {
            let oids: Int32Array = names
                .iter()
                .map(|n| n.map(|n| crate::system_tables::role_oid(n) as i32))
                .collect();
            columns[oid] = Arc::new(oids);
        }
        Ok(RecordBatch::try_new(schema.clone(), columns)?)
    }
    // Its `oid` is of type oid, as pg_auth_members' role columns are (which
    // pgAdmin's recursive membership query unites with it).
    let fields: Vec<Field> = source
        .schema()
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "oid" => f
                .as_ref()
                .clone()
                .with_metadata([(OID_ALIAS_KEY.to_string(), oid_kind::OID.to_string())].into()),
            _ => f.as_ref().clone(),
        })
        .collect();
    Derived {
        schema: Arc::new(Schema::new(fields)),
        source,
        map: bypass,
    }
}

/// pg_user: pg_roles as the older view shows it (pgAdmin reads it).
pub fn users(roles: Arc<dyn TableProvider>) -> Derived {
    fn user(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
        let roles = batch.schema();
        let mut columns = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let source = match field.name().as_str() {
                "usename" => "rolname",
                "usesysid" => "oid",
                "usecreatedb" => "rolcreatedb",
                "usesuper" => "rolsuper",
                "userepl" => "rolreplication",
                "usebypassrls" => "rolbypassrls",
                "passwd" => "rolpassword",
                "valuntil" => "rolvaliduntil",
                _ => "rolconfig",
            };
            columns.push(match roles.index_of(source) {
                Ok(i) => datafusion::arrow::compute::cast(batch.column(i), field.data_type())?,
                Err(_) => new_null_array(field.data_type(), batch.num_rows()),
            });
        }
        Ok(RecordBatch::try_new(schema.clone(), columns)?)
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("usename", DataType::Utf8, true),
        Field::new("usesysid", DataType::Int32, true),
        Field::new("usecreatedb", DataType::Boolean, true),
        Field::new("usesuper", DataType::Boolean, true),
        Field::new("userepl", DataType::Boolean, true),
        Field::new("usebypassrls", DataType::Boolean, true),
        Field::new("passwd", DataType::Utf8, true),
        Field::new(
            "valuntil",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        texts("useconfig"),
    ]));
    Derived {
        source: roles,
        schema,
        map: user,
    }
}

/// pg_settings with PostgreSQL's name for the `boot_val` column (the library
/// spells it `bool_val`).
pub fn settings(source: Arc<dyn TableProvider>) -> Derived {
    fn renamed(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
        Ok(RecordBatch::try_new(
            schema.clone(),
            batch.columns().to_vec(),
        )?)
    }
    let fields: Vec<Field> = source
        .schema()
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "bool_val" => f.as_ref().clone().with_name("boot_val"),
            _ => f.as_ref().clone(),
        })
        .collect();
    Derived {
        source,
        schema: Arc::new(Schema::new(fields)),
        map: renamed,
    }
}

/// The views of row-level security policies and security labels, with
/// PostgreSQL's columns: Enishi has neither.
pub fn empty(name: &str) -> Result<MemTable> {
    let text = |n: &str| Field::new(n, DataType::Utf8, true);
    let oid = |n: &str| Field::new(n, DataType::Int32, true);
    let fields = match name {
        "pg_policies" => vec![
            text("schemaname"),
            text("tablename"),
            text("policyname"),
            text("permissive"),
            texts("roles"),
            text("cmd"),
            text("qual"),
            text("with_check"),
        ],
        _ => vec![
            oid("objoid"),
            oid("classoid"),
            oid("objsubid"),
            text("objtype"),
            oid("objnamespace"),
            text("objname"),
            text("provider"),
            text("label"),
        ],
    };
    MemTable::try_new(Arc::new(Schema::new(fields)), vec![vec![]])
}

fn texts(name: &str) -> Field {
    Field::new(
        name,
        DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
        true,
    )
}
