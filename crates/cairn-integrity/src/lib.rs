//! CloudTrail log-file integrity validation (CLOUDTRAIL.md §4): digest files, their RSA
//! signatures and chain, and the SHA-256 of every log file they list.
//!
//! The crate works over bytes and keys. Where the objects come from is a [`Bucket`] (a local
//! copy here, S3 in the binary), and where public keys come from is a [`KeySource`]
//! (`ListPublicKeys` in the binary, a file here). It knows nothing of the index or of HTTP.

pub mod digest;
pub mod keys;
pub mod local;
pub mod report;
pub mod verify;

pub use digest::{Digest, FormatError, LogFile};
pub use keys::{KeyError, PublicKey, PublicKeys, fingerprint, verify_signature};
pub use local::LocalBucket;
pub use report::{Finding, Problem, Subject, Summary, Verdict};
pub use verify::{
    Bucket, BucketError, DigestObject, KeySource, LogHashes, Observer, Options, VerifyError,
    hash_stream, verify, verify_with,
};
