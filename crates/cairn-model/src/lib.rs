//! The CloudTrail data model: what an S3 key says ([`key`]), how an object's bytes become
//! events ([`decode`]), the attributes derived from a record ([`record`]), and what an SQS
//! notification names ([`notify`]).
//!
//! This crate knows nothing of I/O runtimes or of the index: it turns bytes and keys into
//! values, and names precisely what is wrong with input it cannot use.

pub mod decode;
pub mod key;
pub mod notify;
pub mod object;
pub mod record;

pub use decode::{
    Event, Limits, Records, Repairs, hex, parse_event, parse_time, synthetic_event_id,
};
pub use key::{KeyInfo, ObjectKind, Route, route};
pub use notify::{Notification, NotifiedObject, NotifyError, Shape, decode_s3_event_key};
pub use object::{Object, ObjectMeta};

/// What can be wrong with an object or one of its records.
///
/// Fatal errors end the object (what was decoded before stays decoded); the others skip one
/// record. Every variant names where (record index, byte offset into the decompressed stream).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("empty file")]
    Empty,
    #[error("not a CloudTrail file: {reason}")]
    NotCloudTrail { reason: String },
    #[error("corrupt gzip at decompressed offset {offset}: {message}")]
    Gzip { offset: u64, message: String },
    #[error("truncated: the data ends inside a value at offset {offset}")]
    Truncated { offset: u64 },
    #[error("trailing bytes after the gzip member (decompressed offset {offset})")]
    TrailingGarbage { offset: u64 },
    #[error("invalid JSON at offset {offset}: {message}")]
    InvalidJson { offset: u64, message: String },
    #[error("object exceeds the limit of {limit} decompressed bytes (max_object_bytes)")]
    ObjectTooLarge { limit: u64 },
    #[error("object holds more than {limit} records (max_records)")]
    TooManyRecords { limit: u64 },
    #[error("record {index} at offset {offset} exceeds {limit} bytes (max_record_bytes)")]
    RecordTooLarge {
        index: u64,
        offset: u64,
        limit: usize,
    },
    #[error("record {index} at offset {offset} is not a JSON object")]
    RecordNotObject { index: u64, offset: u64 },
    #[error("record {index} at offset {offset} has no {field}")]
    MissingField {
        index: u64,
        offset: u64,
        field: &'static str,
    },
    #[error("record {index} at offset {offset} is invalid: {message}")]
    InvalidRecord {
        index: u64,
        offset: u64,
        message: String,
    },
    #[error("read error: {message}")]
    Io { message: String },
}

impl DecodeError {
    /// Whether the error ends the object rather than skipping one record.
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            DecodeError::RecordTooLarge { .. }
                | DecodeError::RecordNotObject { .. }
                | DecodeError::MissingField { .. }
                | DecodeError::InvalidRecord { .. }
        )
    }

    /// A stable, short name of the problem, for summaries grouped by reason.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Empty => "empty",
            DecodeError::NotCloudTrail { .. } => "not_cloudtrail",
            DecodeError::Gzip { .. } => "corrupt_gzip",
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::TrailingGarbage { .. } => "trailing_garbage",
            DecodeError::InvalidJson { .. } => "invalid_json",
            DecodeError::ObjectTooLarge { .. } => "object_too_large",
            DecodeError::TooManyRecords { .. } => "too_many_records",
            DecodeError::RecordTooLarge { .. } => "record_too_large",
            DecodeError::RecordNotObject { .. } => "record_not_object",
            DecodeError::MissingField { .. } => "missing_field",
            DecodeError::InvalidRecord { .. } => "invalid_record",
            DecodeError::Io { .. } => "io",
        }
    }
}
