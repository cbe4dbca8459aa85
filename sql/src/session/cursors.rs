//! DECLARE, FETCH, MOVE and CLOSE.
//!
//! A cursor is positioned as PostgreSQL's is: before the first row, on a row,
//! or after the last. It reads its query's stream forward and keeps the rows it
//! has read, so that FETCH BACKWARD, PRIOR, FIRST, LAST, ABSOLUTE and RELATIVE
//! can return to them: a `SCROLL` cursor keeps them all; a cursor declared
//! without either word keeps them up to [`KEEP_LIMIT`] bytes and then only moves
//! forward; a `NO SCROLL` cursor keeps none. Moving back without the rows is
//! 55000, as in PostgreSQL.

use datafusion::arrow::array::UInt32Array;
use datafusion::arrow::compute::{concat_batches, take_record_batch};

use super::*;
use crate::statement::{Motion, motion};

/// How much a cursor declared without SCROLL keeps for moving back.
const KEEP_LIMIT: usize = 64 << 20;

/// Whether a cursor may move back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scroll {
    /// SCROLL: every row read is kept.
    Always,
    /// Neither SCROLL nor NO SCROLL: rows are kept up to [`KEEP_LIMIT`].
    WhileSmall,
    /// NO SCROLL, or a default cursor past its limit.
    Never,
}

/// The rows a cursor has read, and where it stands.
pub(super) struct Kept {
    scroll: Scroll,
    /// Kept batches, and the number (1-based) of each one's first row.
    batches: Vec<(usize, RecordBatch)>,
    /// Rows read from the stream so far.
    read: usize,
    /// The stream has ended: `read` is the row count.
    exhausted: bool,
    /// 0 before the first row, k on row k, `read + 1` after the last.
    position: usize,
}

impl Kept {
    fn new(scroll: Scroll) -> Self {
        Kept {
            scroll,
            batches: Vec::new(),
            read: 0,
            exhausted: false,
            position: 0,
        }
    }

    /// The first row still kept.
    fn first_kept(&self) -> usize {
        self.batches
            .first()
            .map_or(self.read + 1, |(start, _)| *start)
    }

    /// Drops what this cursor may not keep: for a cursor that only moves
    /// forward, the rows at or before its position.
    fn trim(&mut self) {
        if self.scroll == Scroll::WhileSmall {
            let bytes: usize = self
                .batches
                .iter()
                .map(|(_, b)| b.get_array_memory_size())
                .sum();
            if bytes > KEEP_LIMIT {
                self.scroll = Scroll::Never;
            }
        }
        if self.scroll != Scroll::Never {
            return;
        }
        let keep_from = self.position + 1;
        self.batches.retain_mut(|(start, batch)| {
            let end = *start + batch.num_rows();
            if end <= keep_from {
                return false;
            }
            if *start < keep_from {
                let skip = keep_from - *start;
                *batch = batch.slice(skip, batch.num_rows() - skip);
                *start = keep_from;
            }
            true
        });
    }

    /// Rows `from..=to` (1-based, kept), in that order or reversed.
    fn rows(
        &self,
        schema: &SchemaRef,
        from: usize,
        to: usize,
        reverse: bool,
    ) -> Result<RecordBatch> {
        let mut slices = Vec::new();
        for (start, batch) in &self.batches {
            let end = start + batch.num_rows();
            if end <= from || *start > to {
                continue;
            }
            let lo = from.max(*start) - start;
            let hi = (to + 1).min(end) - start;
            slices.push(batch.slice(lo, hi - lo));
        }
        let joined = concat_batches(schema, &slices)?;
        if !reverse {
            return Ok(joined);
        }
        let n = joined.num_rows() as u32;
        let order = UInt32Array::from_iter_values((0..n).rev());
        Ok(take_record_batch(&joined, &order)?)
    }
}

impl Cursor {
    /// Reads until row `row` is read or the stream ends.
    async fn read_to(&mut self, row: usize) -> Result<()> {
        while self.rows.read < row && !self.rows.exhausted {
            match self.stream.next().await {
                Some(batch) => {
                    let batch = batch?;
                    if batch.num_rows() > 0 {
                        self.rows.batches.push((self.rows.read + 1, batch.clone()));
                        self.rows.read += batch.num_rows();
                    }
                }
                None => self.rows.exhausted = true,
            }
        }
        Ok(())
    }

    async fn read_all(&mut self) -> Result<()> {
        self.read_to(usize::MAX).await
    }

    /// Moves as `motion` says; returns the rows passed over (for FETCH) as
    /// one batch, in the order they were passed.
    async fn go(&mut self, motion: Motion) -> Result<RecordBatch> {
        let schema = self.schema.clone();
        let here = self.rows.position;
        let back_refused = || Error::Coded {
            code: "55000",
            message: "cursor can only scan forward".into(),
        };
        // The rows the motion returns, as a 1-based range and direction.
        let (range, reverse, position) = match motion {
            Motion::Forward(count) => {
                let wanted = count.unwrap_or(usize::MAX);
                if wanted == 0 {
                    // FETCH FORWARD 0: the current row again.
                    return self.current();
                }
                let last = here.saturating_add(wanted);
                self.read_to(last).await?;
                let end = last.min(self.rows.read);
                let position = if last > self.rows.read {
                    self.rows.read + 1
                } else {
                    last
                };
                ((here < end).then_some((here + 1, end)), false, position)
            }
            Motion::Backward(count) => {
                let wanted = count.unwrap_or(usize::MAX);
                if wanted == 0 {
                    return self.current();
                }
                let first = here.saturating_sub(wanted);
                let start = first.max(1);
                let end = here.saturating_sub(1).min(self.rows.read);
                let rows = (start <= end).then_some((start, end));
                (rows, true, first)
            }
            Motion::Absolute(n) if n < 0 => {
                self.read_all().await?;
                let total = self.rows.read as i64;
                let target = total + 1 + n;
                if target >= 1 {
                    let t = target as usize;
                    (Some((t, t)), false, t)
                } else {
                    (None, false, 0)
                }
            }
            Motion::Absolute(0) => (None, false, 0),
            Motion::Absolute(n) => {
                let t = n as usize;
                self.read_to(t).await?;
                if t <= self.rows.read {
                    (Some((t, t)), false, t)
                } else {
                    (None, false, self.rows.read + 1)
                }
            }
            Motion::Relative(0) => return self.current(),
            Motion::Relative(n) => {
                let target = here as i64 + n;
                if target < 1 {
                    (None, false, 0)
                } else {
                    let t = target as usize;
                    self.read_to(t).await?;
                    if t <= self.rows.read {
                        (Some((t, t)), false, t)
                    } else {
                        (None, false, self.rows.read + 1)
                    }
                }
            }
        };
        if let Some((from, _)) = range
            && from < self.rows.first_kept()
        {
            return Err(back_refused());
        }
        if range.is_none() && position < here && self.rows.scroll == Scroll::Never {
            return Err(back_refused());
        }
        let batch = match range {
            Some((from, to)) => self.rows.rows(&schema, from, to, reverse)?,
            None => RecordBatch::new_empty(schema),
        };
        self.rows.position = position;
        self.rows.trim();
        Ok(batch)
    }

    /// The row the cursor is on, if it is on one.
    fn current(&self) -> Result<RecordBatch> {
        let here = self.rows.position;
        if here >= 1 && here <= self.rows.read && here >= self.rows.first_kept() {
            return self.rows.rows(&self.schema, here, here, false);
        }
        Ok(RecordBatch::new_empty(self.schema.clone()))
    }
}

impl Session {
    /// The columns of the open cursor `name`, if there is one.
    pub async fn cursor_schema(&self, name: &str) -> Option<SchemaRef> {
        let cursor = self.cursors.get(&name.to_lowercase())?;
        Some(cursor.lock().await.schema.clone())
    }

    pub(super) async fn declare(
        &mut self,
        stmts: &[ast::Declare],
        params: Option<ParamValues>,
    ) -> Result<Output> {
        for declare in stmts {
            let hold = declare.hold.unwrap_or(false);
            if !hold {
                self.require_block("DECLARE CURSOR")?;
            }
            let query = declare.for_query.as_ref().ok_or_else(|| {
                Error::syntax("DECLARE needs a query (DECLARE name CURSOR FOR …)")
            })?;
            let scroll = match declare.scroll {
                Some(true) => Scroll::Always,
                Some(false) => Scroll::Never,
                None => Scroll::WhileSmall,
            };
            for name in &declare.names {
                let key = name.value.to_lowercase();
                if self.cursors.contains_key(&key) {
                    return Err(Error::DuplicateCursor(key));
                }
                let stmt = DFStatement::Statement(Box::new(Statement::Query(query.clone())));
                let plan = self.plan_with(&stmt, params.clone()).await?;
                let schema = self.result_schema(&plan).await;
                let stream = self
                    .ctx
                    .execute_logical_plan(plan)
                    .await?
                    .execute_stream()
                    .await?;
                let cursor = Cursor {
                    schema,
                    stream,
                    hold,
                    rows: Kept::new(scroll),
                };
                self.cursors.insert(key, tokio::sync::Mutex::new(cursor));
            }
        }
        Ok(Output::Command(CommandTag::new("DECLARE CURSOR")))
    }

    /// FETCH, or MOVE when `moving` (the rows are passed over, not returned).
    pub(super) async fn fetch(
        &mut self,
        name: &ast::Ident,
        direction: &FetchDirection,
        moving: bool,
    ) -> Result<Output> {
        let key = name.value.to_lowercase();
        let motion = motion(direction)?;
        let cursor = self
            .cursors
            .get_mut(&key)
            .ok_or(Error::UndefinedCursor(key))?
            .get_mut();
        let batch = cursor.go(motion).await?;
        if moving {
            return Ok(Output::Command(
                CommandTag::new("MOVE").with_rows(batch.num_rows()),
            ));
        }
        let schema = cursor.schema.clone();
        Ok(Output::Rows(rows_from_batches(
            schema,
            vec![batch],
            "FETCH",
        )?))
    }

    pub(super) fn close(&mut self, cursor: &CloseCursor) -> Result<Output> {
        match cursor {
            CloseCursor::All => self.cursors.clear(),
            CloseCursor::Specific { name } => {
                let key = name.value.to_lowercase();
                if self.cursors.remove(&key).is_none() {
                    return Err(Error::UndefinedCursor(key));
                }
            }
        }
        Ok(Output::Command(CommandTag::new("CLOSE CURSOR")))
    }
}
