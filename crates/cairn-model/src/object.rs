//! An object to ingest, wherever it comes from (a local file, stdin, S3).
//!
//! Sources implement [`Object`]; the store reads through it and never learns where the bytes
//! came from.

use std::io::Read;

/// What identifies an object and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// How the object is named to users and in the ledger: `s3://bucket/key`, or a path.
    pub location: String,
    /// The key used for routing: the S3 key, or the path relative to the walked directory.
    pub key: String,
    /// Size in bytes as stored, when known.
    pub size: Option<u64>,
    /// What changes when the object changes (ETag, or size and mtime). Empty for streams
    /// such as stdin, which are always read.
    pub version: String,
}

/// An object that can be opened for reading, once.
pub trait Object: Send {
    fn meta(&self) -> &ObjectMeta;
    /// Opens the object's stored bytes (compressed or not; the decoder sniffs).
    fn open(self: Box<Self>) -> std::io::Result<Box<dyn Read + Send>>;
}
