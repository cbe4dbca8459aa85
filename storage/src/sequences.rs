//! Sequences: `CREATE SEQUENCE`, `serial` columns and identity columns.
//!
//! A sequence's definition (type, bounds, increment, cycle, owning column) is
//! a catalog entry like a table's. The values it hands out are *claimed*: each
//! claim is a numbered object `_sequences/<id>/<n>.json` written with
//! create-if-absent, saying which values its writer now owns (or, after
//! `setval`, where the next claim starts). Two writers can never both win
//! claim `n`, so no value is handed out twice, by one server across restarts
//! and crashes or by several servers sharing the store. A server claims a
//! range at a time and hands it out from memory; values it claimed and never
//! handed out (a restart, another server) are skipped, as PostgreSQL skips a
//! sequence's cached values.

use std::collections::HashMap;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use crate::{Storage, StorageError};

const SEQUENCES_DIR: &str = "_sequences";

/// How many values a server claims at least when it runs out: PostgreSQL
/// logs 32 values ahead, and loses them on a crash just the same. A server
/// that runs out again within [`BUSY`] claims twice as many, up to
/// [`MAX_CLAIM`], so a bulk load makes few claims.
const CLAIM: i64 = 32;
const MAX_CLAIM: i64 = 1 << 16;
const BUSY: std::time::Duration = std::time::Duration::from_secs(1);

/// A sequence as declared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceEntry {
    /// Shares the tables' id space (never reused).
    pub id: u64,
    /// `smallint`, `integer` or `bigint`.
    pub data_type: String,
    pub start: i64,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub cache: i64,
    pub cycle: bool,
    /// The column whose default it feeds (`serial`, identity, `OWNED BY`);
    /// it is dropped with that column's table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<OwnedBy>,
}

/// The table column (of the sequence's schema) a sequence belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnedBy {
    pub table: String,
    pub column: String,
    /// An identity column's sequence (else a serial's or `OWNED BY`'s).
    #[serde(default)]
    pub identity: bool,
}

/// What a sequence relation shows (`SELECT * FROM s`): the last value handed
/// out, and whether one has been since it was created or set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SequenceState {
    pub last_value: i64,
    pub is_called: bool,
    /// How many values ending at `last_value` the claim's writer owns.
    #[serde(default)]
    pub claimed: i64,
}

impl SequenceState {
    fn initial(entry: &SequenceEntry) -> Self {
        Self {
            last_value: entry.start,
            is_called: false,
            claimed: 0,
        }
    }

    /// The value the next claim starts at (may lie past the bounds).
    fn next(&self, entry: &SequenceEntry) -> i128 {
        let last = i128::from(self.last_value);
        match self.is_called {
            true => last + i128::from(entry.increment),
            false => last,
        }
    }
}

/// This server's knowledge of one sequence.
#[derive(Debug, Clone, Copy)]
struct Known {
    /// The newest claim's number and what it says.
    claim: u64,
    state: SequenceState,
    /// Values this server claimed and has not handed out yet.
    next: i128,
    left: i64,
    /// The last value this server handed out from its newest claim.
    handed: Option<i64>,
    /// When this server last claimed, and how many values.
    claimed_at: Option<std::time::Instant>,
    size: i64,
}

/// Sequences' claims as this server knows them.
#[derive(Debug, Default)]
pub(crate) struct Claims {
    known: std::sync::Mutex<HashMap<u64, Known>>,
    /// Serializes this server's claims (other servers are kept apart by
    /// create-if-absent).
    claiming: tokio::sync::Mutex<()>,
}

fn claim_path(id: u64, n: u64) -> Path {
    Path::from(format!("{SEQUENCES_DIR}/{id}/{n:020}.json"))
}

fn claims_dir(id: u64) -> Path {
    Path::from(format!("{SEQUENCES_DIR}/{id}"))
}

impl Storage {
    /// A sequence of a schema, by name.
    pub fn sequence(&self, schema: &str, name: &str) -> Option<SequenceEntry> {
        self.read_catalog(|c| c.schema(schema)?.sequences.get(name).cloned())
    }

    /// Creates a sequence. Returns false when the name is taken and
    /// `if_not_exists` says that is fine.
    pub async fn create_sequence(
        &self,
        schema: &str,
        name: &str,
        entry: SequenceEntry,
        if_not_exists: bool,
    ) -> Result<bool, StorageError> {
        self.change(|c| {
            if c.relation_exists(schema, name) {
                return match if_not_exists {
                    true => Ok(false),
                    false => Err(StorageError::TableExists(name.into())),
                };
            }
            let id = c.next_table_id;
            c.next_table_id += 1;
            c.schemas
                .get_mut(schema)
                .ok_or_else(|| StorageError::SchemaNotFound(schema.into()))?
                .sequences
                .insert(
                    name.to_string(),
                    SequenceEntry {
                        id,
                        ..entry.clone()
                    },
                );
            Ok(true)
        })
        .await
    }

    /// Changes a sequence's definition (ALTER SEQUENCE); what it has handed
    /// out stays handed out.
    pub async fn alter_sequence(
        &self,
        schema: &str,
        name: &str,
        change: impl Fn(&mut SequenceEntry),
    ) -> Result<SequenceEntry, StorageError> {
        let entry = self
            .change(|c| {
                let entry = c
                    .schemas
                    .get_mut(schema)
                    .and_then(|s| s.sequences.get_mut(name))
                    .ok_or_else(|| StorageError::TableNotFound(name.into()))?;
                change(entry);
                Ok(entry.clone())
            })
            .await?;
        // Values claimed under the old definition are not handed out.
        if let Some(known) = self
            .claims
            .known
            .lock()
            .expect("claims lock")
            .get_mut(&entry.id)
        {
            known.left = 0;
        }
        Ok(entry)
    }

    /// Drops sequences of a schema; their claims go after.
    pub async fn drop_sequences(&self, schema: &str, names: &[String]) -> Result<(), StorageError> {
        let dropped = self
            .change(|c| {
                let s = c
                    .schemas
                    .get_mut(schema)
                    .ok_or_else(|| StorageError::SchemaNotFound(schema.into()))?;
                let mut dropped = Vec::new();
                for name in names {
                    let entry = s
                        .sequences
                        .remove(name)
                        .ok_or_else(|| StorageError::TableNotFound(name.clone()))?;
                    dropped.push((name.clone(), entry.id));
                }
                for (name, _) in &dropped {
                    c.forget(&crate::table_key(schema, name));
                }
                Ok(dropped)
            })
            .await?;
        for (_, id) in dropped {
            self.remove_claims(id).await;
        }
        Ok(())
    }

    /// Forgets a dropped sequence's claims. Best effort: claims no catalog
    /// entry names are harmless.
    pub(crate) async fn remove_claims(&self, id: u64) {
        self.claims.known.lock().expect("claims lock").remove(&id);
        let paths = self
            .catalog_store
            .list(Some(&claims_dir(id)))
            .map_ok(|meta| meta.location)
            .boxed();
        let mut deleted = self.catalog_store.delete_stream(paths);
        while let Some(result) = deleted.next().await {
            if let Err(e) = result {
                tracing::warn!(sequence = id, error = %e, "could not remove a dropped sequence's claims");
                return;
            }
        }
    }

    /// Hands out the next `n` values of a sequence, claiming more when this
    /// server has run out. `name` is for the error past the sequence's end.
    pub async fn next_values(
        &self,
        name: &str,
        entry: &SequenceEntry,
        n: usize,
    ) -> Result<Vec<i64>, StorageError> {
        let mut out = Vec::with_capacity(n);
        loop {
            self.take_claimed(entry, n, &mut out);
            if out.len() == n {
                return Ok(out);
            }
            let want = (n - out.len()) as i64;
            self.claim(name, entry, want.max(entry.cache)).await?;
        }
    }

    /// Takes values this server has claimed until `out` holds `n`.
    fn take_claimed(&self, entry: &SequenceEntry, n: usize, out: &mut Vec<i64>) {
        let mut known = self.claims.known.lock().expect("claims lock");
        let Some(k) = known.get_mut(&entry.id) else {
            return;
        };
        while out.len() < n && k.left > 0 {
            let value = k.next as i64;
            out.push(value);
            k.handed = Some(value);
            k.next += i128::from(entry.increment);
            k.left -= 1;
        }
    }

    /// Claims at least `want` values after the newest claim (fewer at the
    /// sequence's end; from its other end again when it cycles).
    async fn claim(
        &self,
        name: &str,
        entry: &SequenceEntry,
        want: i64,
    ) -> Result<(), StorageError> {
        let _claiming = self.claims.claiming.lock().await;
        let size = {
            let known = self.claims.known.lock().expect("claims lock");
            let previous = known.get(&entry.id);
            if previous.is_some_and(|k| k.left > 0) {
                return Ok(()); // another session of this server claimed meanwhile
            }
            match previous {
                Some(k) if k.claimed_at.is_some_and(|at| at.elapsed() < BUSY) => {
                    (k.size * 2).min(MAX_CLAIM)
                }
                _ => CLAIM,
            }
        };
        let want = want.max(size);
        loop {
            let (n, state) = self.newest_claim(entry).await?;
            let first = first_value(name, entry, state.next(entry))?;
            let inc = i128::from(entry.increment);
            let room = match inc > 0 {
                true => (i128::from(entry.max) - first) / inc + 1,
                false => (i128::from(entry.min) - first) / inc + 1,
            };
            let count = i128::from(want).min(room);
            let state = SequenceState {
                last_value: (first + (count - 1) * inc) as i64,
                is_called: true,
                claimed: count as i64,
            };
            if self.write_claim(entry.id, n + 1, &state).await? {
                let mut known = self.claims.known.lock().expect("claims lock");
                known.insert(
                    entry.id,
                    Known {
                        claim: n + 1,
                        state,
                        next: first,
                        left: count as i64,
                        handed: None,
                        claimed_at: Some(std::time::Instant::now()),
                        size,
                    },
                );
                return Ok(());
            }
        }
    }

    /// Sets where a sequence goes on (`setval`, `ALTER SEQUENCE RESTART`):
    /// the next value is `value`'s successor when `is_called`, else `value`.
    pub async fn set_sequence(
        &self,
        entry: &SequenceEntry,
        value: i64,
        is_called: bool,
    ) -> Result<(), StorageError> {
        let _claiming = self.claims.claiming.lock().await;
        let state = SequenceState {
            last_value: value,
            is_called,
            claimed: 0,
        };
        loop {
            let (n, _) = self.newest_claim(entry).await?;
            if self.write_claim(entry.id, n + 1, &state).await? {
                self.claims.known.lock().expect("claims lock").insert(
                    entry.id,
                    Known {
                        claim: n + 1,
                        state,
                        next: 0,
                        left: 0,
                        handed: None,
                        claimed_at: None,
                        size: CLAIM,
                    },
                );
                return Ok(());
            }
        }
    }

    /// What `SELECT * FROM s` shows: the last value this server handed out
    /// from the newest claim, else what that claim says.
    pub async fn sequence_state(
        &self,
        entry: &SequenceEntry,
    ) -> Result<SequenceState, StorageError> {
        let (n, state) = self.newest_claim(entry).await?;
        let known = self.claims.known.lock().expect("claims lock");
        Ok(match known.get(&entry.id) {
            Some(Known {
                claim,
                handed: Some(last),
                ..
            }) if *claim == n => SequenceState {
                last_value: *last,
                ..state
            },
            _ => state,
        })
    }

    /// The newest claim's number and state (0 and the initial state before
    /// the first): those after the newest this server knows are listed, so a
    /// claim another server made is always found.
    async fn newest_claim(
        &self,
        entry: &SequenceEntry,
    ) -> Result<(u64, SequenceState), StorageError> {
        let cached = self
            .claims
            .known
            .lock()
            .expect("claims lock")
            .get(&entry.id)
            .map(|k| (k.claim, k.state));
        let (known, state) = cached.unwrap_or((0, SequenceState::initial(entry)));
        let newer: Vec<_> = self
            .catalog_store
            .list_with_offset(Some(&claims_dir(entry.id)), &claim_path(entry.id, known))
            .try_collect()
            .await?;
        let newest = newer
            .iter()
            .filter_map(|meta| {
                let name = meta.location.filename()?;
                name.strip_suffix(".json")?.parse::<u64>().ok()
            })
            .filter(|n| *n > known)
            .max();
        let Some(n) = newest else {
            return Ok((known, state));
        };
        let bytes = self
            .catalog_store
            .get(&claim_path(entry.id, n))
            .await?
            .bytes()
            .await?;
        let state: SequenceState = serde_json::from_slice(&bytes)
            .map_err(|e| StorageError::Corrupt(format!("sequence claim {n}: {e}")))?;
        // What this server had claimed before is not handed out any more:
        // the sequence has moved on elsewhere.
        if let Some(k) = self
            .claims
            .known
            .lock()
            .expect("claims lock")
            .get_mut(&entry.id)
        {
            k.claim = n;
            k.state = state;
            k.left = 0;
            k.handed = None;
        }
        Ok((n, state))
    }

    /// Writes claim `n`; false when another writer wrote it first. Claims
    /// are kept until the sequence is dropped: a number removed could be
    /// written again by a server that had not seen it.
    async fn write_claim(
        &self,
        id: u64,
        n: u64,
        state: &SequenceState,
    ) -> Result<bool, StorageError> {
        let json = serde_json::to_vec(state).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .catalog_store
            .put_opts(&claim_path(id, n), PutPayload::from(json), opts)
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

/// The first value of the next claim: `next` itself within the bounds;
/// past them the other end when the sequence cycles, else PostgreSQL's
/// 2200H error.
fn first_value(name: &str, entry: &SequenceEntry, next: i128) -> Result<i128, StorageError> {
    let (min, max) = (i128::from(entry.min), i128::from(entry.max));
    if (min..=max).contains(&next) {
        return Ok(next);
    }
    match (entry.cycle, entry.increment > 0) {
        (true, true) => Ok(min),
        (true, false) => Ok(max),
        (false, true) => Err(StorageError::SequenceEnd(format!(
            "nextval: reached maximum value of sequence \"{name}\" ({})",
            entry.max
        ))),
        (false, false) => Err(StorageError::SequenceEnd(format!(
            "nextval: reached minimum value of sequence \"{name}\" ({})",
            entry.min
        ))),
    }
}
