//! Where a lake lives: a local (POSIX) directory here; S3 in `cairn-source`.

use std::path::{Path, PathBuf};

use crate::LakeError;

/// Temporary files are written under this directory of the root, which every engine skips
/// (names starting with `.` or `_` are hidden from Hive, Spark, Trino and Athena, and the
/// files do not end in `.parquet`).
pub const TMP_DIR: &str = ".cairn-tmp";

/// A lake's storage. Paths are relative to the root, with `/` separators.
pub trait Dest: Send + Sync {
    /// Makes `bytes` visible at `path` whole, or not at all.
    fn commit(&self, path: &str, bytes: Vec<u8>) -> Result<(), LakeError>;
    /// Every visible `.parquet` file, with its size.
    fn list(&self) -> Result<Vec<(String, u64)>, LakeError>;
    fn read(&self, path: &str) -> Result<Vec<u8>, LakeError>;
    /// Replaces files of one partition with others: readers see the old files or the new ones,
    /// never both, where the storage allows it (see each implementation).
    fn replace(
        &self,
        partition: &str,
        remove: &[String],
        add: Vec<(String, Vec<u8>)>,
    ) -> Result<(), LakeError>;
    /// How to name it in messages and DDL (`/data/lake`, `s3://bucket/prefix`).
    fn location(&self) -> String;
    /// Cleans up after writers and compactions that crashed more than `age` ago: temporary
    /// files go, and the files of a replacement left half-done return to their partition (as
    /// duplicates at worst, which compaction removes). Returns the files moved back.
    fn recover(&self, _age: std::time::Duration) -> Result<u64, LakeError> {
        Ok(0)
    }
}

fn older_than(p: &Path, age: std::time::Duration) -> bool {
    std::fs::metadata(p)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|e| e > age)
}

/// A lake in a local directory.
#[derive(Debug, Clone)]
pub struct LocalDest {
    root: PathBuf,
}

fn io(path: &Path, e: std::io::Error) -> LakeError {
    LakeError::Io {
        path: path.display().to_string(),
        source: e,
    }
}

fn random_hex(n: usize) -> String {
    use ring::rand::SecureRandom;
    let mut b = vec![0u8; n.div_ceil(2)];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .expect("the system's random source");
    let mut s: String = b.iter().map(|x| format!("{x:02x}")).collect();
    s.truncate(n);
    s
}

/// A new file name: time first, so names sort by when they were written.
pub fn file_name() -> String {
    let ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    format!("part-{ms}-{}.parquet", random_hex(12))
}

impl LocalDest {
    pub fn new(root: &Path) -> Result<LocalDest, LakeError> {
        std::fs::create_dir_all(root.join(TMP_DIR)).map_err(|e| io(root, e))?;
        Ok(LocalDest {
            root: root.to_path_buf(),
        })
    }

    fn tmp(&self) -> PathBuf {
        self.root.join(TMP_DIR).join(random_hex(16))
    }

    fn write_tmp(&self, bytes: &[u8]) -> Result<PathBuf, LakeError> {
        use std::io::Write;
        let tmp = self.tmp();
        let mut f = std::fs::File::create(&tmp).map_err(|e| io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| io(&tmp, e))?;
        f.sync_all().map_err(|e| io(&tmp, e))?;
        Ok(tmp)
    }
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, u64)>) -> std::io::Result<()> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for e in rd {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let ty = e.file_type()?;
        if ty.is_dir() {
            walk(&e.path(), &path, out)?;
        } else if name.ends_with(".parquet") {
            out.push((path, e.metadata()?.len()));
        }
    }
    Ok(())
}

impl Dest for LocalDest {
    fn commit(&self, path: &str, bytes: Vec<u8>) -> Result<(), LakeError> {
        let target = self.root.join(path);
        let dir = target.parent().expect("a file in a partition");
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        // Written and synced under the root, then renamed into place: a reader sees the whole
        // file or none, and a crash leaves only a temporary file no reader looks at.
        let tmp = self.write_tmp(&bytes)?;
        std::fs::rename(&tmp, &target).map_err(|e| io(&target, e))?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io(dir, e))
    }

    fn list(&self) -> Result<Vec<(String, u64)>, LakeError> {
        let mut out = Vec::new();
        walk(&self.root, "", &mut out).map_err(|e| io(&self.root, e))?;
        out.sort();
        Ok(out)
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, LakeError> {
        let p = self.root.join(path);
        std::fs::read(&p).map_err(|e| io(&p, e))
    }

    /// Builds the partition's new directory beside it (hidden), then exchanges the two
    /// directories in one `renameat2(RENAME_EXCHANGE)`: a reader listing the partition sees
    /// the old files or the new ones. Files committed into the old directory meanwhile (a
    /// worker writing while compaction ran) are moved over, then the old directory goes.
    fn replace(
        &self,
        partition: &str,
        remove: &[String],
        add: Vec<(String, Vec<u8>)>,
    ) -> Result<(), LakeError> {
        let live = self.root.join(partition);
        let parent = live.parent().expect("a partition has a parent");
        let leaf = live
            .file_name()
            .expect("a partition has a name")
            .to_string_lossy()
            .into_owned();
        let staged = parent.join(format!(".{leaf}.{}", random_hex(8)));
        std::fs::create_dir_all(&staged).map_err(|e| io(&staged, e))?;
        for (name, bytes) in add {
            let tmp = self.write_tmp(&bytes)?;
            let to = staged.join(&name);
            std::fs::rename(&tmp, &to).map_err(|e| io(&to, e))?;
        }
        // Files of the partition not being replaced (none, unless written since the listing).
        let removed: std::collections::HashSet<&str> =
            remove.iter().filter_map(|r| r.rsplit('/').next()).collect();
        let keep = |dir: &Path| -> std::io::Result<Vec<String>> {
            let mut v = Vec::new();
            for e in std::fs::read_dir(dir)? {
                let n = e?.file_name().to_string_lossy().into_owned();
                if n.ends_with(".parquet") && !removed.contains(n.as_str()) {
                    v.push(n);
                }
            }
            Ok(v)
        };
        for n in keep(&live).map_err(|e| io(&live, e))? {
            std::fs::hard_link(live.join(&n), staged.join(&n)).map_err(|e| io(&live, e))?;
        }
        rustix::fs::renameat_with(
            rustix::fs::CWD,
            &staged,
            rustix::fs::CWD,
            &live,
            rustix::fs::RenameFlags::EXCHANGE,
        )
        .map_err(|e| io(&live, e.into()))?;
        // `staged` now holds the old directory: the replaced files go, any other file (one a
        // writer committed there before the exchange) moves to the live directory. Until the
        // old directory is removed empty, a late commit into it is moved too.
        loop {
            let entries = std::fs::read_dir(&staged).map_err(|e| io(&staged, e))?;
            for e in entries {
                let e = e.map_err(|e| io(&staged, e))?;
                let n = e.file_name().to_string_lossy().into_owned();
                let to = live.join(&n);
                if removed.contains(n.as_str()) || to.exists() {
                    std::fs::remove_file(e.path()).map_err(|e| io(&staged, e))?;
                } else {
                    std::fs::rename(e.path(), &to).map_err(|e| io(&to, e))?;
                }
            }
            match std::fs::remove_dir(&staged) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty => continue,
                Err(e) => return Err(io(&staged, e)),
            }
        }
        std::fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(|e| io(parent, e))
    }

    fn recover(&self, age: std::time::Duration) -> Result<u64, LakeError> {
        let tmp = self.root.join(TMP_DIR);
        for e in std::fs::read_dir(&tmp).map_err(|e| io(&tmp, e))? {
            let p = e.map_err(|e| io(&tmp, e))?.path();
            if older_than(&p, age) {
                std::fs::remove_file(&p).map_err(|e| io(&p, e))?;
            }
        }
        // Staged partitions are `.<date=...>.<random>` beside their partition.
        let mut moved = 0;
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let path = e.path();
                if !path.is_dir() {
                    continue;
                }
                if !name.starts_with('.') {
                    stack.push(path);
                    continue;
                }
                let Some(leaf) = name[1..].rsplit_once('.').map(|(l, _)| l) else {
                    continue;
                };
                if name == TMP_DIR || !leaf.contains('=') || !older_than(&path, age) {
                    continue;
                }
                let live = dir.join(leaf);
                std::fs::create_dir_all(&live).map_err(|e| io(&live, e))?;
                for f in std::fs::read_dir(&path)
                    .map_err(|e| io(&path, e))?
                    .flatten()
                {
                    let to = live.join(f.file_name());
                    if to.exists() {
                        std::fs::remove_file(f.path()).map_err(|e| io(&path, e))?;
                    } else {
                        std::fs::rename(f.path(), &to).map_err(|e| io(&to, e))?;
                        moved += 1;
                    }
                }
                std::fs::remove_dir(&path).map_err(|e| io(&path, e))?;
            }
        }
        Ok(moved)
    }

    fn location(&self) -> String {
        std::fs::canonicalize(&self.root)
            .unwrap_or_else(|_| self.root.clone())
            .display()
            .to_string()
    }
}
