//! The OIDs of catalog objects: PostgreSQL's fixed ones, and stable ones for
//! the objects users create.

use super::*;

/// Well-known OIDs PostgreSQL clients may hard-code.
pub const PG_CATALOG_NAMESPACE_OID: u32 = 11;
pub const PUBLIC_NAMESPACE_OID: u32 = 2200;
pub const PG_TOAST_NAMESPACE_OID: u32 = 99;
/// As a PostgreSQL 15 cluster made by initdb has it.
pub const INFORMATION_SCHEMA_NAMESPACE_OID: u32 = 13207;
pub const DATABASE_OID: u32 = 5;
pub const SUPERUSER_OID: u32 = 10;
/// pg_database_owner, the predefined role owning `public`.
pub const DATABASE_OWNER_OID: u32 = 6171;
pub(super) const FIRST_USER_OID: u32 = 16384;

/// PostgreSQL 15's OIDs of its system catalog tables, which clients compare
/// with (`classoid = 'pg_class'::regclass`) or hard-code (1259).
pub(super) const SYSTEM_CATALOG_OIDS: &[(&str, u32)] = &[
    ("pg_default_acl", 826),
    ("pg_tablespace", 1213),
    ("pg_shdepend", 1214),
    ("pg_type", 1247),
    ("pg_attribute", 1249),
    ("pg_proc", 1255),
    ("pg_class", 1259),
    ("pg_authid", 1260),
    ("pg_auth_members", 1261),
    ("pg_database", 1262),
    ("pg_foreign_server", 1417),
    ("pg_user_mapping", 1418),
    ("pg_sequence", 2224),
    ("pg_foreign_data_wrapper", 2328),
    ("pg_shdescription", 2396),
    ("pg_aggregate", 2600),
    ("pg_am", 2601),
    ("pg_amop", 2602),
    ("pg_amproc", 2603),
    ("pg_attrdef", 2604),
    ("pg_cast", 2605),
    ("pg_constraint", 2606),
    ("pg_conversion", 2607),
    ("pg_depend", 2608),
    ("pg_description", 2609),
    ("pg_index", 2610),
    ("pg_inherits", 2611),
    ("pg_language", 2612),
    ("pg_largeobject", 2613),
    ("pg_namespace", 2615),
    ("pg_opclass", 2616),
    ("pg_operator", 2617),
    ("pg_rewrite", 2618),
    ("pg_statistic", 2619),
    ("pg_trigger", 2620),
    ("pg_opfamily", 2753),
    ("pg_db_role_setting", 2964),
    ("pg_largeobject_metadata", 2995),
    ("pg_extension", 3079),
    ("pg_foreign_table", 3118),
    ("pg_policy", 3256),
    ("pg_partitioned_table", 3350),
    ("pg_statistic_ext", 3381),
    ("pg_init_privs", 3394),
    ("pg_statistic_ext_data", 3429),
    ("pg_collation", 3456),
    ("pg_event_trigger", 3466),
    ("pg_enum", 3501),
    ("pg_range", 3541),
    ("pg_transform", 3576),
    ("pg_shseclabel", 3592),
    ("pg_seclabel", 3596),
    ("pg_ts_dict", 3600),
    ("pg_ts_parser", 3601),
    ("pg_ts_config", 3602),
    ("pg_ts_config_map", 3603),
    ("pg_ts_template", 3764),
    ("pg_replication_origin", 6000),
    ("pg_subscription", 6100),
    ("pg_subscription_rel", 6102),
    ("pg_publication", 6104),
    ("pg_publication_rel", 6106),
    ("pg_publication_namespace", 6237),
    ("pg_parameter_acl", 6243),
];

/// The OID of a system catalog table, as PostgreSQL 15 numbers it.
pub fn system_catalog_oid(name: &str) -> Option<u32> {
    SYSTEM_CATALOG_OIDS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, oid)| *oid)
}

/// Kinds of objects that get OIDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OidKind {
    Namespace,
    Relation,
    Default,
    Constraint,
    /// A view's `_RETURN` rule.
    Rule,
}

/// Stable object identifiers: derived from the object's name, so every connection
/// and every restart sees the same OID for the same object. A hash collision moves
/// the later object to the next free number.
#[derive(Debug, Default)]
pub struct Oids {
    assigned: RwLock<HashMap<(OidKind, String), u32>>,
}

impl Oids {
    pub fn get(&self, kind: OidKind, name: &str) -> u32 {
        if kind == OidKind::Namespace {
            match name {
                "pg_catalog" => return PG_CATALOG_NAMESPACE_OID,
                "public" => return PUBLIC_NAMESPACE_OID,
                "pg_toast" => return PG_TOAST_NAMESPACE_OID,
                "information_schema" => return INFORMATION_SCHEMA_NAMESPACE_OID,
                _ => {}
            }
        }
        if kind == OidKind::Relation
            && let Some(table) = name.strip_prefix("pg_catalog.")
            && let Some(oid) = system_catalog_oid(table)
        {
            return oid;
        }
        let key = (kind, name.to_string());
        if let Some(oid) = self.assigned.read().expect("oid lock").get(&key) {
            return *oid;
        }
        let mut assigned = self.assigned.write().expect("oid lock");
        if let Some(oid) = assigned.get(&key) {
            return *oid;
        }
        let span = (i32::MAX as u32) - FIRST_USER_OID;
        let mut candidate = FIRST_USER_OID + fnv1a(&format!("{kind:?}:{name}")) % span;
        while assigned.values().any(|v| *v == candidate) {
            candidate = FIRST_USER_OID + (candidate - FIRST_USER_OID + 1) % span;
        }
        assigned.insert(key, candidate);
        candidate
    }

    /// OID of a table or view named `schema.table`.
    pub fn relation(&self, schema: &str, table: &str) -> u32 {
        self.get(OidKind::Relation, &format!("{schema}.{table}"))
    }
}

/// A role's OID: PostgreSQL's 10 for the bootstrap superuser, and one
/// derived from the name for the others (stable across restarts).
pub fn role_oid(name: &str) -> u32 {
    if name == crate::constants::SUPERUSER {
        return SUPERUSER_OID;
    }
    FIRST_USER_OID + fnv1a(&format!("Role:{name}")) % ((i32::MAX as u32) - FIRST_USER_OID)
}

pub(super) fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}
