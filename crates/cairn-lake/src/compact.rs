//! Compaction: per partition, many small files become few of a target size, and events
//! delivered twice (same `eventID`) become one.

use std::collections::BTreeMap;

use arrow_array::{Array, StringArray};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::LakeError;
use crate::dest::{Dest, file_name};
use crate::rows::{Partition, Row};
use crate::schema::{OBJECT, RECORD};
use crate::writer::{Options, dedupe, encode};

/// What compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compacted {
    pub partitions: u64,
    pub files_before: u64,
    pub files_after: u64,
    pub rows_before: u64,
    pub rows_after: u64,
    pub duplicates: u64,
    /// Files returned to their partition from a compaction that crashed.
    pub recovered: u64,
}

/// How old a temporary file or a staged partition must be before compaction takes it for the
/// leftover of a crash (a writer or a compaction in progress is younger).
pub const RECOVER_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// Reads the rows of one file back (from its `record` and `cairn_object` columns, so the
/// rewritten rows are built exactly as the first ones were).
pub fn read_rows(bytes: Vec<u8>, path: &str) -> Result<Vec<Row>, LakeError> {
    let b = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))?;
    let mask = ProjectionMask::columns(b.parquet_schema(), [RECORD, OBJECT]);
    let reader = b.with_projection(mask).build()?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch?;
        let col = |name: &str| -> Result<StringArray, LakeError> {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned())
                .ok_or_else(|| LakeError::Record {
                    object: path.to_string(),
                    message: format!("no {name} column of text"),
                })
        };
        let (records, objects) = (col(RECORD)?, col(OBJECT)?);
        for i in 0..batch.num_rows() {
            if records.is_null(i) {
                continue;
            }
            let object = if objects.is_null(i) {
                ""
            } else {
                objects.value(i)
            };
            rows.push(Row::parse(records.value(i).as_bytes(), object)?);
        }
    }
    Ok(rows)
}

/// Compacts every partition of a lake holding more than one file. `target_bytes` is the size
/// of records (uncompressed) per output file.
pub fn compact(dest: &dyn Dest, o: &Options, target_bytes: usize) -> Result<Compacted, LakeError> {
    let recovered = dest.recover(RECOVER_AFTER)?;
    let mut by_partition: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, _) in dest.list()? {
        if let Some((dir, _)) = path.rsplit_once('/')
            && Partition::parse(dir).is_some()
        {
            by_partition.entry(dir.to_string()).or_default().push(path);
        }
    }
    let mut report = Compacted {
        recovered,
        ..Compacted::default()
    };
    for (dir, files) in by_partition {
        report.files_before += files.len() as u64;
        if files.len() < 2 {
            report.files_after += files.len() as u64;
            continue;
        }
        let mut rows = Vec::new();
        for f in &files {
            rows.extend(read_rows(dest.read(f)?, f)?);
        }
        report.rows_before += rows.len() as u64;
        let (mut rows, dropped) = dedupe(rows);
        report.duplicates += dropped;
        report.rows_after += rows.len() as u64;
        rows.sort_by_key(|r| r.time);
        let mut out = Vec::new();
        let mut start = 0;
        while start < rows.len() {
            let mut end = start;
            let mut size = 0;
            while end < rows.len() && (end == start || size < target_bytes) {
                size += rows[end].raw.len();
                end += 1;
            }
            out.push((file_name(), encode(&mut rows[start..end], o)?));
            start = end;
        }
        report.files_after += out.len() as u64;
        report.partitions += 1;
        dest.replace(&dir, &files, out)?;
    }
    Ok(report)
}
