//! Integration tests: a spawned `enishi` server driven by real clients.
//! One test binary (each extra binary costs a DataFusion-sized link).

#[path = "../support/s3.rs"]
mod s3;
#[path = "../support/server.rs"]
mod server;

mod answers;
mod cache;
mod clients;
mod copy;
mod datetime;
mod durability;
mod external;
mod front;
mod holes;
mod house;
mod manual;
mod numeric;
mod operations;
mod oracle;
mod packaging;
mod pgadmin;
mod protocol;
mod psql;
mod races;
mod regress;
mod s3_storage;
mod security;
mod sequences;
mod storage_settings;
mod temporary;
mod tool_flows;
mod upserts;
