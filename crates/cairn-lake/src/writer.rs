//! Buffering events per partition and committing them as Parquet files.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::LakeError;
use crate::dest::{Dest, file_name};
use crate::rows::{Partition, Row, batch};
use crate::schema::schema;

/// How files are written.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Estimated memory of the rows held (parsed records weigh about five times their text)
    /// before the largest partition is written out.
    pub max_buffer_bytes: usize,
    /// Rows per row group.
    pub row_group_rows: usize,
    pub zstd_level: i32,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_buffer_bytes: 512 << 20,
            row_group_rows: 64 * 1024,
            zstd_level: 3,
        }
    }
}

/// What a writer did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Files committed.
    pub files: u64,
    pub rows: u64,
    pub bytes: u64,
    /// Events dropped because the same `eventID` was already in the same file.
    pub duplicates: u64,
}

/// Encodes rows (sorted by `eventTime` first) as one Parquet file.
pub fn encode(rows: &mut [Row], o: &Options) -> Result<Vec<u8>, LakeError> {
    rows.sort_by_key(|r| r.time);
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(o.zstd_level).map_err(LakeError::from)?,
        ))
        .set_max_row_group_size(o.row_group_rows)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_created_by(format!("cairn {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, schema(), Some(props))?;
    for chunk in rows.chunks(o.row_group_rows.max(1)) {
        w.write(&batch(chunk)?)?;
    }
    w.close()?;
    Ok(out)
}

/// Keeps the first event of each `eventID` (events without one are all kept).
pub fn dedupe(rows: Vec<Row>) -> (Vec<Row>, u64) {
    let mut seen: HashSet<String> = HashSet::with_capacity(rows.len());
    let before = rows.len();
    let kept: Vec<Row> = rows
        .into_iter()
        .filter(|r| match r.event_id() {
            Some(id) => seen.insert(id.to_string()),
            None => true,
        })
        .collect();
    let dropped = (before - kept.len()) as u64;
    (kept, dropped)
}

/// Events in, Parquet files out: one file per partition per flush.
pub struct LakeWriter {
    dest: Arc<dyn Dest>,
    options: Options,
    parts: BTreeMap<Partition, (Vec<Row>, usize)>,
    buffered: usize,
    written: Written,
}

impl std::fmt::Debug for LakeWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LakeWriter")
            .field("dest", &self.dest.location())
            .field("buffered", &self.buffered)
            .finish_non_exhaustive()
    }
}

impl LakeWriter {
    pub fn new(dest: Arc<dyn Dest>, options: Options) -> LakeWriter {
        LakeWriter {
            dest,
            options,
            parts: BTreeMap::new(),
            buffered: 0,
            written: Written::default(),
        }
    }

    /// Adds one record (its original bytes) read from `object`.
    pub fn add(&mut self, raw: &[u8], object: &str) -> Result<(), LakeError> {
        self.add_row(Row::parse(raw, object)?)
    }

    pub fn add_row(&mut self, row: Row) -> Result<(), LakeError> {
        let size = row.raw.len() * 5 + 256;
        let (rows, bytes) = self.parts.entry(row.partition()).or_default();
        rows.push(row);
        *bytes += size;
        self.buffered += size;
        if self.buffered > self.options.max_buffer_bytes {
            let largest = self
                .parts
                .iter()
                .max_by_key(|(_, (_, b))| *b)
                .map(|(p, _)| p.clone())
                .expect("a partition holds rows");
            self.write(&largest)?;
        }
        Ok(())
    }

    /// Bytes of records held.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    fn write(&mut self, p: &Partition) -> Result<(), LakeError> {
        let Some((rows, bytes)) = self.parts.remove(p) else {
            return Ok(());
        };
        self.buffered -= bytes;
        let (mut rows, dropped) = dedupe(rows);
        self.written.duplicates += dropped;
        let n = rows.len() as u64;
        let file = encode(&mut rows, &self.options)?;
        let path = format!("{}/{}", p.path(), file_name());
        let size = file.len() as u64;
        self.dest.commit(&path, file)?;
        tracing::debug!(file = %path, rows = n, bytes = size, "committed");
        self.written.files += 1;
        self.written.rows += n;
        self.written.bytes += size;
        Ok(())
    }

    /// Writes out and commits everything held: when it returns, every event added is in a
    /// visible file.
    pub fn flush(&mut self) -> Result<(), LakeError> {
        let parts: Vec<Partition> = self.parts.keys().cloned().collect();
        for p in parts {
            self.write(&p)?;
        }
        Ok(())
    }

    /// What was committed so far.
    pub fn written(&self) -> &Written {
        &self.written
    }

    /// Flushes and returns what was committed.
    pub fn finish(mut self) -> Result<Written, LakeError> {
        self.flush()?;
        Ok(self.written)
    }
}
