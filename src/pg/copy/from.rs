//! COPY … FROM STDIN: reading the client's data, in any message sizes, in
//! PostgreSQL's text, CSV and binary formats, into batches of text fields.

use super::*;

/// A problem with the client's data, located for the error's CONTEXT line.
#[derive(Debug)]
pub struct DataError {
    pub code: &'static str,
    pub message: String,
    pub line: u64,
    /// What follows the line number in CONTEXT: `: "line text"`.
    pub context: Option<String>,
    /// The DETAIL line.
    pub detail: Option<String>,
}

impl DataError {
    pub fn into_error_info(self, table: &str) -> ErrorInfo {
        let mut info = ErrorInfo::new("ERROR".into(), self.code.into(), self.message);
        info.detail = self.detail;
        info.where_context = Some(match self.context {
            Some(context) => format!("COPY {table}, line {}{context}", self.line),
            None => format!("COPY {table}, line {}", self.line),
        });
        info
    }
}

/// Reads COPY data as it arrives, in messages of any size, into batches of
/// text fields (one Utf8 column per COPY column).
pub struct Decoder {
    options: CopyOptions,
    names: Vec<String>,
    buffer: Vec<u8>,
    /// Lines read so far (1-based number of the next line is `line + 1`).
    line: u64,
    header_pending: bool,
    /// The end-of-data marker `\.` was seen; the rest is ignored.
    ended: bool,
    builders: Vec<StringBuilder>,
    /// The line each buffered row started on (binary: the tuple's number).
    lines: Vec<u64>,
    /// Binary format: each column's type, and whether the header was read.
    types: Vec<Type>,
    binary_header_read: bool,
    /// How far the record at the start of `buffer` has been read.
    scan: Scan,
    /// What the buffer, the scan and the rows not yet handed on hold of the
    /// server's memory pool: a COPY larger than the pool allows fails with
    /// 53200 instead of taking memory from every other session.
    memory: MemoryReservation,
}

impl Decoder {
    /// `types`: the columns' PostgreSQL types (binary input needs them);
    /// `memory`: the reservation the decoder's buffers are counted in.
    pub fn new(
        options: CopyOptions,
        names: Vec<String>,
        types: Vec<Type>,
        memory: MemoryReservation,
    ) -> Self {
        let builders = names.iter().map(|_| StringBuilder::new()).collect();
        Self {
            types,
            scan: Scan::default(),
            memory,
            binary_header_read: false,
            header_pending: options.header,
            options,
            names,
            buffer: Vec::new(),
            line: 0,
            ended: false,
            builders,
            lines: Vec::new(),
        }
    }

    /// Takes in one CopyData message.
    pub fn push(&mut self, data: &[u8]) -> Result<(), DataError> {
        if self.ended {
            return Ok(());
        }
        self.buffer.extend_from_slice(data);
        self.account()?;
        self.parse(false)?;
        // What is left is one record, not yet complete.
        if self.buffer.len() > MAX_RECORD_BYTES {
            return Err(self.out_of_memory(
                "54000",
                format!("A record longer than {MAX_RECORD_BYTES} bytes cannot be read."),
            ));
        }
        self.account()
    }

    /// Brings the reservation to what the decoder holds now.
    fn account(&mut self) -> Result<(), DataError> {
        if self.buffer.capacity() > 4 * self.buffer.len().max(BATCH_BYTES) {
            self.buffer.shrink_to(self.buffer.len().max(BATCH_BYTES));
        }
        let rows: usize = self
            .builders
            .iter()
            .map(|b| b.values_slice().len() + std::mem::size_of_val(b.offsets_slice()))
            .sum();
        let held = self.buffer.capacity() + self.scan.bytes() + rows;
        let grow = held.saturating_sub(self.memory.size());
        self.memory.try_resize(held).map_err(|_| {
            self.out_of_memory(
                "53200",
                format!("Failed on request of size {grow} within performance.memory_limit."),
            )
        })
    }

    /// Text held in rows not yet handed on.
    fn row_bytes(&self) -> usize {
        self.builders.iter().map(|b| b.values_slice().len()).sum()
    }

    /// The rows buffered so far, with the line each started on, once there
    /// are enough for a batch (or any, with `force`).
    pub fn take(&mut self, force: bool) -> Option<(RecordBatch, Vec<u64>)> {
        if self.lines.is_empty()
            || (!force && self.lines.len() < BATCH_ROWS && self.row_bytes() < BATCH_BYTES)
        {
            return None;
        }
        let columns: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        let schema = Arc::new(datafusion::arrow::datatypes::Schema::new(
            self.names
                .iter()
                .map(|n| {
                    datafusion::arrow::datatypes::Field::new(
                        n,
                        datafusion::arrow::datatypes::DataType::Utf8,
                        true,
                    )
                })
                .collect::<Vec<_>>(),
        ));
        let options = datafusion::arrow::array::RecordBatchOptions::new()
            .with_row_count(Some(self.lines.len()));
        let batch = RecordBatch::try_new_with_options(schema, columns, &options).ok()?;
        // The batch is the writer's now; the pool counts what is left here.
        let _ = self.account();
        Some((batch, std::mem::take(&mut self.lines)))
    }

    /// CopyDone: reads what is left (a last line without a line break).
    pub fn finish(&mut self) -> Result<(), DataError> {
        if !self.ended {
            self.parse(true)?;
            if self.options.format == CopyFormat::Binary && !self.buffer.is_empty() {
                return Err(self.error("22P04", "unexpected EOF in COPY data".into(), None));
            }
        }
        Ok(())
    }

    /// One binary tuple (or the header, or the trailer) from `buffer[start..]`;
    /// returns the bytes it took, 0 when more data is needed.
    fn binary(&mut self, start: usize, at_end: bool) -> Result<usize, DataError> {
        let data = &self.buffer[start..];
        if !self.binary_header_read {
            if data.len() < 19 {
                return if at_end && !data.is_empty() {
                    Err(self.error("22P04", "COPY file signature not recognized".into(), None))
                } else {
                    Ok(0)
                };
            }
            if data[..11] != BINARY_HEADER[..11] {
                return Err(self.error("22P04", "COPY file signature not recognized".into(), None));
            }
            let flags = u32::from_be_bytes([data[11], data[12], data[13], data[14]]);
            if flags & 0xffff_0000 != 0 {
                return Err(self.error(
                    "22P04",
                    "invalid COPY file header (unrecognized critical flags)".into(),
                    None,
                ));
            }
            let extension = u32::from_be_bytes([data[15], data[16], data[17], data[18]]) as usize;
            if data.len() < 19 + extension {
                return Ok(0);
            }
            self.binary_header_read = true;
            return Ok(19 + extension);
        }
        if data.len() < 2 {
            return Ok(0);
        }
        let count = i16::from_be_bytes([data[0], data[1]]);
        if count == -1 {
            self.ended = true;
            return Ok(2);
        }
        if count as usize != self.names.len() {
            return Err(self.error(
                "22P04",
                format!("row field count is {count}, expected {}", self.names.len()),
                None,
            ));
        }
        let mut offset = 2;
        let mut fields = Vec::with_capacity(self.names.len());
        for _ in 0..count {
            let Some(header) = data.get(offset..offset + 4) else {
                return Ok(0);
            };
            let len = i32::from_be_bytes([header[0], header[1], header[2], header[3]]);
            offset += 4;
            if len < 0 {
                fields.push(None);
                continue;
            }
            let Some(value) = data.get(offset..offset + len as usize) else {
                return Ok(0);
            };
            fields.push(Some(value));
            offset += len as usize;
        }
        let mut texts = Vec::with_capacity(fields.len());
        for (i, field) in fields.into_iter().enumerate() {
            texts.push(match field {
                None => None,
                Some(bytes) => Some(binary_to_text(&self.types[i], bytes).map_err(|m| {
                    self.error(
                        "22P03",
                        format!("incorrect binary data format: {m}"),
                        Some(format!(", column {}", self.names[i])),
                    )
                })?),
            });
        }
        for (builder, text) in self.builders.iter_mut().zip(texts) {
            builder.append_option(text);
        }
        self.lines.push(self.line + 1);
        self.line += 1;
        Ok(offset)
    }

    /// An error in the data, `context` following the line number.
    fn error(&self, code: &'static str, message: String, context: Option<String>) -> DataError {
        DataError {
            code,
            message,
            line: self.line + 1,
            context,
            detail: None,
        }
    }

    /// PostgreSQL's "out of memory", with what was asked for in DETAIL.
    fn out_of_memory(&self, code: &'static str, detail: String) -> DataError {
        DataError {
            detail: Some(detail),
            ..self.error(code, "out of memory".into(), None)
        }
    }

    fn parse(&mut self, at_end: bool) -> Result<(), DataError> {
        let mut start = 0;
        loop {
            if self.ended {
                self.buffer.clear();
                return Ok(());
            }
            let rest = &self.buffer[start..];
            let parsed = match self.options.format {
                CopyFormat::Text => next_text_line(rest, &mut self.scan, at_end),
                CopyFormat::Csv => {
                    let parsed = next_csv_record(rest, &mut self.scan, &self.options, at_end);
                    parsed.map_err(|m| self.error("22P04", m, None))?
                }
                CopyFormat::Binary => {
                    let consumed = self.binary(start, at_end)?;
                    if consumed == 0 {
                        break;
                    }
                    start += consumed;
                    continue;
                }
            };
            let Some(record) = parsed else { break };
            start += record.consumed;
            self.record(record)?;
        }
        self.buffer.drain(..start);
        Ok(())
    }

    /// One text line or CSV record.
    fn record(&mut self, record: Record) -> Result<(), DataError> {
        let line_text = || String::from_utf8_lossy(&record.raw).into_owned();
        if record.end_marker {
            self.ended = true;
            return Ok(());
        }
        if self.header_pending {
            self.header_pending = false;
            self.line += record.lines;
            return Ok(());
        }
        let fields = match self.options.format {
            CopyFormat::Text => text_fields(&record.raw, &self.options),
            _ => csv_fields(record.fields, &self.options),
        };
        let first_line = self.line + 1;
        if fields.len() < self.names.len()
            && !(self.names.is_empty() && fields.len() == 1 && record.raw.is_empty())
        {
            let column = &self.names[fields.len()];
            return Err(self.error(
                "22P04",
                format!("missing data for column \"{column}\""),
                Some(format!(": \"{}\"", line_text())),
            ));
        }
        if fields.len() > self.names.len() && !self.names.is_empty() {
            return Err(self.error(
                "22P04",
                "extra data after last expected column".into(),
                Some(format!(": \"{}\"", line_text())),
            ));
        }
        for (i, field) in fields.into_iter().take(self.names.len()).enumerate() {
            match field {
                None => self.builders[i].append_null(),
                Some(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => self.builders[i].append_value(text),
                    Err(_) => {
                        return Err(self.error(
                            "22021",
                            "invalid byte sequence for encoding \"UTF8\"".into(),
                            None,
                        ));
                    }
                },
            }
        }
        self.lines.push(first_line);
        self.line += record.lines;
        Ok(())
    }
}

/// A value in PostgreSQL's binary format, as the text its type's input reads.
pub(super) fn binary_to_text(ty: &Type, b: &[u8]) -> Result<String, String> {
    use chrono::{Duration, NaiveDate};
    let fixed = |n: usize| -> Result<&[u8], String> {
        (b.len() == n)
            .then_some(b)
            .ok_or_else(|| format!("{} bytes for {}", b.len(), ty.name()))
    };
    let i64_at = |b: &[u8]| i64::from_be_bytes(b[..8].try_into().expect("8 bytes"));
    let epoch = NaiveDate::from_ymd_opt(2000, 1, 1)
        .expect("a date")
        .and_hms_opt(0, 0, 0)
        .expect("a time");
    let float = |v: f64| -> String {
        if v.is_nan() {
            "NaN".into()
        } else if v.is_infinite() {
            if v > 0.0 { "inf".into() } else { "-inf".into() }
        } else {
            format!("{v:?}")
        }
    };
    Ok(match *ty {
        Type::BOOL => if fixed(1)?[0] != 0 { "t" } else { "f" }.into(),
        Type::INT2 => i16::from_be_bytes(fixed(2)?.try_into().expect("2 bytes")).to_string(),
        Type::INT4 => i32::from_be_bytes(fixed(4)?.try_into().expect("4 bytes")).to_string(),
        Type::INT8 => i64_at(fixed(8)?).to_string(),
        Type::FLOAT4 => float(f32::from_be_bytes(fixed(4)?.try_into().expect("4 bytes")) as f64),
        Type::FLOAT8 => float(f64::from_be_bytes(fixed(8)?.try_into().expect("8 bytes"))),
        Type::NUMERIC => numeric_text(b)?,
        Type::DATE => {
            let days = i32::from_be_bytes(fixed(4)?.try_into().expect("4 bytes"));
            (epoch.date() + Duration::days(days.into())).to_string()
        }
        Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            let at = epoch + Duration::microseconds(i64_at(fixed(8)?));
            let text = at.format("%Y-%m-%d %H:%M:%S%.6f").to_string();
            if *ty == Type::TIMESTAMPTZ {
                format!("{text}+00")
            } else {
                text
            }
        }
        Type::TIME => {
            let micros = i64_at(fixed(8)?);
            let secs = micros / 1_000_000;
            format!(
                "{:02}:{:02}:{:02}.{:06}",
                secs / 3600,
                secs / 60 % 60,
                secs % 60,
                micros % 1_000_000
            )
        }
        Type::INTERVAL => {
            let b = fixed(16)?;
            let micros = i64_at(b);
            let days = i32::from_be_bytes(b[8..12].try_into().expect("4 bytes"));
            let months = i32::from_be_bytes(b[12..16].try_into().expect("4 bytes"));
            let sign = if micros < 0 { "-" } else { "" };
            let abs = micros.unsigned_abs();
            let secs = abs / 1_000_000;
            format!(
                "{months} mons {days} days {sign}{:02}:{:02}:{:02}.{:06}",
                secs / 3600,
                secs / 60 % 60,
                secs % 60,
                abs % 1_000_000
            )
        }
        Type::UUID => {
            let h = hex(fixed(16)?);
            format!(
                "{}-{}-{}-{}-{}",
                &h[..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..]
            )
        }
        Type::BYTEA => format!("\\x{}", hex(b)),
        Type::JSONB => match b.split_first() {
            Some((1, rest)) => String::from_utf8(rest.to_vec()).map_err(|e| e.to_string())?,
            _ => return Err("unsupported jsonb version number".into()),
        },
        _ => String::from_utf8(b.to_vec()).map_err(|e| e.to_string())?,
    })
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// PostgreSQL's binary numeric (digit count, weight, sign, display scale,
/// base-10000 digits) as decimal text.
pub(crate) fn numeric_text(b: &[u8]) -> Result<String, String> {
    if b.len() < 8 {
        return Err("numeric too short".into());
    }
    let word = |i: usize| i16::from_be_bytes([b[2 * i], b[2 * i + 1]]);
    let (ndigits, weight, sign, dscale) = (word(0), word(1), word(2) as u16, word(3));
    match sign {
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        _ => {}
    }
    if b.len() != 8 + 2 * ndigits.max(0) as usize {
        return Err("numeric length".into());
    }
    let digits: Vec<i16> = (0..ndigits as usize).map(|i| word(4 + i)).collect();
    let mut int = String::new();
    for w in 0..=weight.max(-1) {
        let d = digits.get(w as usize).copied().unwrap_or(0);
        if int.is_empty() {
            int = d.to_string();
        } else {
            int.push_str(&format!("{d:04}"));
        }
    }
    if int.is_empty() {
        int.push('0');
    }
    let mut frac = String::new();
    let mut position = weight + 1;
    while (frac.len() as i16) < dscale {
        let d = if position < 0 {
            0
        } else {
            digits.get(position as usize).copied().unwrap_or(0)
        };
        if position < 0 {
            // Leading fraction groups before the first digit.
            frac.push_str("0000");
        } else {
            frac.push_str(&format!("{d:04}"));
        }
        position += 1;
    }
    frac.truncate(dscale.max(0) as usize);
    let sign = if sign == 0x4000 { "-" } else { "" };
    Ok(if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    })
}

/// One input record: its raw bytes (text: the line without its break), its
/// CSV fields, how many bytes and lines it took.
pub(super) struct Record {
    raw: Vec<u8>,
    fields: Vec<(Vec<u8>, bool)>,
    consumed: usize,
    lines: u64,
    end_marker: bool,
}

/// How far an incomplete record has been read: the next CopyData resumes
/// there, so a long record is read once, not again with every message.
#[derive(Default)]
pub(super) struct Scan {
    /// Bytes of the record read so far.
    at: usize,
    /// CSV: the fields finished, the one being read, whether it was quoted,
    /// whether the scan is inside quotes, and the line breaks inside quotes.
    fields: Vec<(Vec<u8>, bool)>,
    field: Vec<u8>,
    quoted: bool,
    in_quotes: bool,
    breaks: u64,
}

impl Scan {
    /// Bytes the scan holds besides the buffer.
    fn bytes(&self) -> usize {
        self.field.capacity() + self.fields.iter().map(|(f, _)| f.capacity()).sum::<usize>()
    }
}

/// The next complete line of text-format data (None: wait for more).
pub(super) fn next_text_line(data: &[u8], scan: &mut Scan, at_end: bool) -> Option<Record> {
    let (line, consumed) = match data[scan.at..].iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..scan.at + i], scan.at + i + 1),
        None if at_end && !data.is_empty() => (data, data.len()),
        None => {
            scan.at = data.len();
            return None;
        }
    };
    scan.at = 0;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Some(Record {
        end_marker: line == b"\\.",
        raw: line.to_vec(),
        fields: Vec::new(),
        consumed,
        lines: 1,
    })
}

/// Splits a text-format line into fields; a field whose raw text is the NULL
/// string is NULL, others lose their backslash escapes.
pub(super) fn text_fields(line: &[u8], options: &CopyOptions) -> Vec<Option<Vec<u8>>> {
    let mut fields = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i <= line.len() {
        if i == line.len() || line[i] == options.delimiter {
            let raw = &line[start..i];
            fields.push((raw != options.null.as_bytes()).then(|| unescape(raw)));
            start = i + 1;
        } else if line[i] == b'\\' {
            i += 1;
        }
        i += 1;
    }
    fields
}

pub(super) fn unescape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        i += 1;
        if b != b'\\' || i == raw.len() {
            out.push(b);
            continue;
        }
        let c = raw[i];
        i += 1;
        match c {
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'0'..=b'7' => {
                let mut value = u32::from(c - b'0');
                for _ in 0..2 {
                    match raw.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(value as u8);
            }
            b'x' if raw.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                let mut value = 0u32;
                for _ in 0..2 {
                    match raw.get(i) {
                        Some(d) if d.is_ascii_hexdigit() => {
                            value = value * 16 + (*d as char).to_digit(16).unwrap_or(0);
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(value as u8);
            }
            other => out.push(other),
        }
    }
    out
}

/// The next complete CSV record (None: wait for more data, `scan` keeps
/// what was read). Quoted values may span lines; an unquoted `\.` alone on
/// its line ends the data.
pub(super) fn next_csv_record(
    data: &[u8],
    scan: &mut Scan,
    options: &CopyOptions,
    at_end: bool,
) -> Result<Option<Record>, String> {
    if data.is_empty() {
        return Ok(None);
    }
    let (quote, escape, delimiter) = (options.quote, options.escape, options.delimiter);
    let mut i = scan.at;
    // Stops the scan before `data[i]` until more data arrives.
    macro_rules! wait {
        () => {{
            scan.at = i;
            return Ok(None);
        }};
    }
    loop {
        if i == data.len() {
            if !at_end {
                wait!();
            }
            if scan.in_quotes {
                return Err("unterminated CSV quoted field".into());
            }
            let field = std::mem::take(&mut scan.field);
            scan.fields.push((field, scan.quoted));
            break;
        }
        let b = data[i];
        if scan.in_quotes {
            if b == escape && escape != quote {
                match data.get(i + 1) {
                    Some(&n) if n == quote || n == escape => {
                        scan.field.push(n);
                        i += 2;
                        continue;
                    }
                    None if !at_end => wait!(),
                    _ => {}
                }
            }
            if b == quote {
                match data.get(i + 1) {
                    // A doubled quote (when the escape is the quote) is one quote.
                    Some(&n) if n == quote && escape == quote => {
                        scan.field.push(quote);
                        i += 2;
                        continue;
                    }
                    None if !at_end && escape == quote => wait!(),
                    _ => {
                        scan.in_quotes = false;
                        i += 1;
                        continue;
                    }
                }
            }
            if b == b'\n' {
                scan.breaks += 1;
            }
            scan.field.push(b);
            i += 1;
            continue;
        }
        if b == quote {
            scan.in_quotes = true;
            scan.quoted = true;
            i += 1;
            continue;
        }
        if b == delimiter {
            let field = std::mem::take(&mut scan.field);
            scan.fields.push((field, scan.quoted));
            scan.quoted = false;
            i += 1;
            continue;
        }
        if b == b'\n' || b == b'\r' {
            let mut end = i + 1;
            if b == b'\r' {
                match data.get(i + 1) {
                    Some(b'\n') => end += 1,
                    None if !at_end => wait!(),
                    _ => {}
                }
            }
            let field = std::mem::take(&mut scan.field);
            scan.fields.push((field, scan.quoted));
            i = end;
            break;
        }
        scan.field.push(b);
        i += 1;
    }
    let Scan { fields, breaks, .. } = std::mem::take(scan);
    let end_marker = fields.len() == 1 && !fields[0].1 && fields[0].0 == b"\\.";
    let raw_end = data[..i]
        .iter()
        .rposition(|&b| b != b'\n' && b != b'\r')
        .map_or(0, |p| p + 1);
    Ok(Some(Record {
        raw: data[..raw_end].to_vec(),
        fields,
        consumed: i,
        lines: breaks + 1,
        end_marker,
    }))
}

/// CSV fields: an unquoted NULL string is NULL (unless FORCE_NOT_NULL); a
/// quoted one is a value (unless FORCE_NULL).
pub(super) fn csv_fields(
    fields: Vec<(Vec<u8>, bool)>,
    options: &CopyOptions,
) -> Vec<Option<Vec<u8>>> {
    fields
        .into_iter()
        .enumerate()
        .map(|(i, (value, quoted))| {
            let is_null_text = value == options.null.as_bytes();
            let null = if quoted {
                is_null_text && options.force_null.contains(&i)
            } else {
                is_null_text && !options.force_not_null.contains(&i)
            };
            (!null).then_some(value)
        })
        .collect()
}
