//! The Parquet lake: CloudTrail events as Hive-partitioned Parquet files
//! (`account=<id>/region=<r>/date=<YYYY-MM-DD>/part-*.parquet`, zstd, sorted by `eventTime`
//! with page statistics), for Athena, Trino, Spark and DuckDB.
//!
//! - [`schema`]: the table: typed top-level fields, `userIdentity` as a struct, `resources` as
//!   a list of structs, free-form objects and unknown fields as JSON text, and the original
//!   record.
//! - [`writer`]: buffers per partition, commits whole files through a [`dest::Dest`].
//! - [`pipeline`]: objects decoded straight to the lake (a stateless worker).
//! - [`compact`]: merges a partition's files and drops re-delivered events.
//! - [`ddl`]: the CREATE TABLE each engine needs.

pub mod compact;
pub mod ddl;
pub mod dest;
pub mod pipeline;
pub mod rows;
pub mod schema;
pub mod writer;

pub use dest::{Dest, LocalDest};
pub use rows::{Partition, Row};
pub use writer::{LakeWriter, Options, Written};

/// Errors of the lake, naming the file or object.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{object}: {message}")]
    Record { object: String, message: String },
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("a batch is too large for 32-bit offsets")]
    TooLarge,
    #[error("{0}")]
    Other(String),
}
