//! Creating the metadata store's redb file so that a crash never leaves a file no later start can open.

use std::path::{Path, PathBuf};

use redb::Database;

use crate::error::{EngineError, Result};

/// Creates a missing database under a scratch name and renames it into place once redb has written and fsynced
/// its header: `Database::create` on the final path, killed before the header reaches the disk, would leave a
/// file that every later start refuses ("magic number mismatch"). A scratch file left by such a crash holds
/// nothing yet and is replaced, and so is a final file whose header was never written (what releases that
/// created the database in place left behind): no commit can have reached it.
pub(super) fn create_atomically(path: &Path, cache_bytes: usize) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source: std::io::Error| EngineError::Io {
        path: path.to_path_buf(),
        source,
    };
    if path.exists() {
        if !never_initialised(path).map_err(io)? {
            return Ok(());
        }
        tracing::warn!(path = %path.display(), "replacing a metadata store whose creation a crash cut short");
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".creating");
    let tmp = PathBuf::from(tmp);
    // redb creates its file with the umask's mode and has no hook for it; it initialises an existing empty file,
    // so the file is created owner-only first.
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(crate::util::FILE_MODE)
        .open(&tmp)
        .map_err(io)?;
    let db = Database::builder()
        .set_cache_size(cache_bytes)
        .create(&tmp)
        .map_err(redb::Error::from)?;
    drop(db);
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    crate::util::sync_dir(dir)
}

/// Whether `path` is empty or starts with zeroes where redb's magic number goes: a creation cut short.
fn never_initialised(path: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 16];
    let mut f = std::fs::File::open(path)?;
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(head[..n].iter().all(|b| *b == 0))
}
