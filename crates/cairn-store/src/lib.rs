//! The store: a data directory holding the tantivy index of every event, the ledger of
//! ingested objects, and the lock that keeps a second writer out.
//!
//! Layout of a data directory:
//!
//! ```text
//! cairn-data/
//!   index/          tantivy index (meta.json is its atomic commit point)
//!   ledger.jsonl    one line per object read, appended after the commit holding its events
//!   writer.lock     held (flock) by the one process writing
//! ```
//!
//! Reading needs no lock: tantivy readers see the last commit.

pub mod dedupe;
pub mod doc;
pub mod health;
pub mod ingest;
pub mod integrity;
pub mod ledger;
pub mod lower;
pub mod schema;
pub mod scope;
pub mod search;
pub mod tokenizer;

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use tantivy::store::{Compressor, ZstdCompressor};
use tantivy::{Index, IndexReader, IndexSettings, IndexWriter, ReloadPolicy, TantivyDocument};

pub use ingest::{IngestOptions, IngestReport, Progress};
pub use ledger::{Entry, Ledger, Status};
pub use schema::Fields;
pub use scope::Scope;

/// Errors of the store, each naming what it was working on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no cairn store at {0} (run `cairn ingest` first, or pass --data-dir)")]
    NoStore(PathBuf),
    #[error(
        "{path} was written by a different cairn schema; move it away and ingest again ({detail})"
    )]
    Incompatible { path: PathBuf, detail: String },
    #[error("another cairn process ({holder}) is writing to {path}")]
    Locked { path: PathBuf, holder: String },
    #[error("index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("query: {0}")]
    Query(String),
    #[error("detection: {0}")]
    Hook(String),
}

impl StoreError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// An open data directory.
pub struct Store {
    dir: PathBuf,
    index: Index,
    fields: Fields,
    reader: IndexReader,
    /// `integrity.json` as last read, with the modification time and size it had.
    integrity:
        std::sync::Mutex<Option<(IntegrityStamp, Option<std::sync::Arc<integrity::Integrity>>)>>,
    /// `meta.json` as it was when the reader last reloaded (see [`Store::searcher`]).
    loaded: std::sync::Mutex<Option<FileStamp>>,
}

type IntegrityStamp = Option<(Option<std::time::SystemTime>, u64)>;

/// What tells one version of a file from the next: tantivy replaces `meta.json` by a rename on
/// every commit, so its inode changes even when its time and size do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    modified: Option<std::time::SystemTime>,
    len: u64,
    inode: u64,
}

impl FileStamp {
    fn of(path: &Path) -> Option<FileStamp> {
        let m = fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&m);
        #[cfg(not(unix))]
        let inode = 0;
        Some(FileStamp {
            modified: m.modified().ok(),
            len: m.len(),
            inode,
        })
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// What to do when another process holds the writer lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockWait {
    /// Wait for it, saying so once.
    Wait,
    /// Fail at once with [`StoreError::Locked`].
    Fail,
}

impl Store {
    /// Opens an existing store for reading.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let index_dir = dir.join("index");
        if !index_dir.join("meta.json").exists() {
            return Err(StoreError::NoStore(dir.to_path_buf()));
        }
        Self::open_index(dir, Index::open_in_dir(&index_dir)?)
    }

    /// Opens a store, creating it when the directory holds none.
    pub fn open_or_create(dir: &Path) -> Result<Store, StoreError> {
        let index_dir = dir.join("index");
        fs::create_dir_all(&index_dir).map_err(|e| StoreError::io(&index_dir, e))?;
        if index_dir.join("meta.json").exists() {
            return Self::open(dir);
        }
        let settings = IndexSettings {
            docstore_compression: Compressor::Zstd(ZstdCompressor {
                compression_level: Some(3),
            }),
            // Larger blocks compress CloudTrail's repetitive JSON much better (32 KiB blocks
            // made the stored records 65% larger on the serve benchmark's million events, for no
            // gain in its latency: the doc-store cache of a kept searcher serves most reads).
            docstore_blocksize: 256 * 1024,
            ..IndexSettings::default()
        };
        let index = match Index::builder()
            .schema(Fields::build().schema)
            .settings(settings)
            .create_in_dir(&index_dir)
        {
            Ok(index) => index,
            // Another process created it between our check and now.
            Err(tantivy::TantivyError::IndexAlreadyExists) => Index::open_in_dir(&index_dir)?,
            Err(e) => return Err(e.into()),
        };
        Self::open_index(dir, index)
    }

    fn open_index(dir: &Path, index: Index) -> Result<Store, StoreError> {
        let fields = Fields::build();
        if index.schema() != fields.schema {
            return Err(StoreError::Incompatible {
                path: dir.to_path_buf(),
                detail: "the index schema differs from this version's".into(),
            });
        }
        schema::register_tokenizers(&index);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Store {
            dir: dir.to_path_buf(),
            index,
            fields,
            reader,
            integrity: std::sync::Mutex::new(None),
            loaded: std::sync::Mutex::new(None),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    pub fn index(&self) -> &Index {
        &self.index
    }

    /// A searcher on the last commit, by this process or another. The reader reloads only
    /// when `meta.json` changed since it last did: a reload opens every segment afresh and
    /// drops the doc-store caches, which cost a server more than its queries did.
    pub fn searcher(&self) -> Result<tantivy::Searcher, StoreError> {
        // Stamp first: a commit landing during the reload is then seen on the next call.
        let now = FileStamp::of(&self.dir.join("index").join("meta.json"));
        let mut loaded = self.loaded.lock().expect("reader stamp lock");
        if now.is_none() || *loaded != now {
            self.reader.reload()?;
            *loaded = now;
        }
        Ok(self.reader.searcher())
    }

    /// The ledger, read-only.
    pub fn ledger(&self) -> Result<Ledger, StoreError> {
        Ledger::open(&self.dir)
    }

    /// Takes the writer lock and opens the index writer.
    pub fn writer(
        &self,
        threads: usize,
        memory_budget: usize,
        wait: LockWait,
    ) -> Result<Writer<'_>, StoreError> {
        let lock = take_lock(&self.dir, wait)?;
        let threads = threads.clamp(1, 8);
        let budget = memory_budget.max((threads * 16) << 20);
        let iw: IndexWriter<TantivyDocument> =
            self.index.writer_with_num_threads(threads, budget)?;
        Ok(Writer {
            store: self,
            iw,
            ledger: Ledger::open(&self.dir)?,
            dedupe: dedupe::Dedupe::new(64),
            searcher: self.searcher()?,
            pending: Vec::new(),
            uncommitted: 0,
            payload: self.index.load_metas()?.payload,
            _lock: lock,
        })
    }

    /// The payload of the index's last commit (see [`CommitHook`]).
    pub fn commit_payload(&self) -> Result<Option<String>, StoreError> {
        Ok(self.index.load_metas()?.payload)
    }

    /// Bytes on disk of the index and ledger.
    pub fn size_on_disk(&self) -> u64 {
        fn walk(p: &Path) -> u64 {
            let Ok(rd) = fs::read_dir(p) else { return 0 };
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        }
        walk(&self.dir)
    }
}

fn take_lock(dir: &Path, wait: LockWait) -> Result<File, StoreError> {
    let path = dir.join("writer.lock");
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::io(&path, e))?;
    match f.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = f.read_to_string(&mut holder);
            let holder = if holder.trim().is_empty() {
                "unknown pid".to_string()
            } else {
                holder.trim().to_string()
            };
            if wait == LockWait::Fail {
                return Err(StoreError::Locked {
                    path: dir.to_path_buf(),
                    holder,
                });
            }
            tracing::warn!(data_dir = %dir.display(), %holder, "another cairn process is writing here; waiting for it to finish");
            f.lock().map_err(|e| StoreError::io(&path, e))?;
        }
        Err(fs::TryLockError::Error(e)) => return Err(StoreError::io(&path, e)),
    }
    let _ = f.set_len(0);
    let _ = f.rewind();
    let _ = write!(f, "pid {}", std::process::id());
    Ok(f)
}

/// Segments an ingest may leave unmerged at its end (see [`Writer::finish`]).
pub const MAX_SEGMENTS_LEFT: usize = 16;

/// The one writer of a store: adds deduplicated documents and commits them with their
/// ledger entries.
pub struct Writer<'s> {
    store: &'s Store,
    iw: IndexWriter<TantivyDocument>,
    ledger: Ledger,
    dedupe: dedupe::Dedupe,
    searcher: tantivy::Searcher,
    pending: Vec<Entry>,
    uncommitted: u64,
    /// The commit payload: kept from commit to commit until a [`CommitHook`] replaces it.
    payload: Option<String>,
    _lock: File,
}

/// What a commit tells besides the index: the detection pipeline stages the alerts of the
/// events added since the last commit in `prepare`, which returns the payload the index commit
/// carries, and applies them in `committed`. After a crash, the payload of the last commit
/// ([`Store::commit_payload`]) says whether a staged batch made it into the index.
pub trait CommitHook {
    fn prepare(&mut self, previous: Option<&str>) -> Result<String, String>;
    fn committed(&mut self) -> Result<(), String>;
}

impl std::fmt::Debug for Writer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("uncommitted", &self.uncommitted)
            .finish_non_exhaustive()
    }
}

impl Writer<'_> {
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Adds an event unless its `eventID` is already stored; returns whether it was added.
    pub fn add(&mut self, d: doc::EventDoc) -> Result<bool, StoreError> {
        if !self
            .dedupe
            .insert(&self.searcher, &self.store.fields, d.day, d.eid)?
        {
            return Ok(false);
        }
        self.iw.add_document(d.doc)?;
        self.uncommitted += 1;
        Ok(true)
    }

    /// Queues a ledger entry; it is written after the next commit.
    pub fn record(&mut self, e: Entry) {
        self.pending.push(e);
    }

    /// Events added since the last commit.
    pub fn uncommitted(&self) -> u64 {
        self.uncommitted
    }

    /// Makes everything added so far durable, then the ledger entries queued so far.
    pub fn commit(&mut self) -> Result<(), StoreError> {
        self.commit_with(None)
    }

    /// [`Writer::commit`], with the hook's stage and apply around the index commit.
    pub fn commit_with(&mut self, mut hook: Option<&mut dyn CommitHook>) -> Result<(), StoreError> {
        if let Some(h) = hook.as_deref_mut() {
            let p = h
                .prepare(self.payload.as_deref())
                .map_err(StoreError::Hook)?;
            self.payload = Some(p);
        }
        let mut prepared = self.iw.prepare_commit()?;
        if let Some(p) = &self.payload {
            prepared.set_payload(p);
        }
        prepared.commit()?;
        self.store.reader.reload()?;
        self.searcher = self.store.reader.searcher();
        self.ledger.append(std::mem::take(&mut self.pending))?;
        self.dedupe.committed();
        self.uncommitted = 0;
        if let Some(h) = hook {
            h.committed().map_err(StoreError::Hook)?;
        }
        Ok(())
    }

    /// Commits. Merges still running are left to the next writer unless more than
    /// [`MAX_SEGMENTS_LEFT`] segments remain: on a million events, waiting was the last ~25 s
    /// of the run and mapped the index into memory (peak RSS 1.29 GiB with the wait, 0.69 GiB
    /// without; BENCHMARKS.md), while search stays as fast over a dozen segments. The
    /// files of an abandoned merge are removed when the index is next opened for writing.
    pub fn finish(self) -> Result<(), StoreError> {
        self.finish_with(None)
    }

    /// [`Writer::finish`] with a [`CommitHook`].
    pub fn finish_with(mut self, hook: Option<&mut dyn CommitHook>) -> Result<(), StoreError> {
        self.commit_with(hook)?;
        if self.searcher.segment_readers().len() > MAX_SEGMENTS_LEFT {
            self.iw.wait_merging_threads()?;
        }
        Ok(())
    }
}
