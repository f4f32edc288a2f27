//! Files hull writes and locks: replaced whole (a reader sees the old file
//! or the new one) and container directories locked while changed.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// An exclusive lock on a container directory, held until dropped.
pub struct DirLock {
    file: File,
}

impl DirLock {
    pub fn lock(dir: &Path) -> std::io::Result<DirLock> {
        let file = File::open(dir)?;
        // SAFETY: flock on an fd we own; no memory is touched.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(DirLock { file })
    }
}

impl AsFd for DirLock {
    /// The locked directory's fd: a dup shares the lock (an init holds one).
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

/// Write `bytes` to `path` so that a reader sees the old file or the new one,
/// never a part: temp file, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    replace_file(path, bytes, true)
}

/// `write_atomic`, with the fsyncs only when `durable`.
pub fn replace_file(path: &Path, bytes: &[u8], durable: bool) -> Result<()> {
    let pending = write_pending(path, bytes, durable)?;
    pending.commit()?;
    if durable {
        let dir = path.parent().context("state path has no parent")?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("sync {dir:?}"))?;
    }
    Ok(())
}

/// A file written whole under a temporary name beside where it goes;
/// `commit` puts it in place (one rename). Dropped without a commit, it
/// is removed. Lets the writing be done while something else is awaited.
pub struct PendingFile {
    tmp: PathBuf,
    path: PathBuf,
    committed: bool,
}

impl PendingFile {
    /// Put the file in place. Over an existing file, the two names are
    /// exchanged and the old file unlinked: a rename over it would make
    /// ext4 (auto_da_alloc) write the new file out at once, and its
    /// unlink later free real blocks (0.2 ms more per container here).
    pub fn commit(mut self) -> Result<()> {
        let context = || format!("rename {:?} to {:?}", self.tmp, self.path);
        let placed = match crate::syscall::renameat2(&self.tmp, &self.path, libc::RENAME_NOREPLACE)
        {
            Err(err) if err.raw_os_error() == Some(libc::EEXIST) => {
                // An exchange would move a directory there out of the way,
                // where a rename fails.
                if std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.is_dir()) {
                    let err = std::io::Error::from_raw_os_error(libc::EISDIR);
                    return Err(err).with_context(context);
                }
                // The old file is under the temp name then; left behind,
                // the next write removes it.
                crate::syscall::renameat2(&self.tmp, &self.path, libc::RENAME_EXCHANGE)
                    .map(|()| drop(std::fs::remove_file(&self.tmp)))
            }
            other => other,
        };
        match placed {
            Ok(()) => {}
            // A file system without renameat2's flags.
            Err(err) if err.raw_os_error() == Some(libc::EINVAL) => {
                std::fs::rename(&self.tmp, &self.path).with_context(context)?
            }
            Err(err) => return Err(err).with_context(context),
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// `bytes` in a new file `.NAME.tmp` beside `path` (fsynced when
/// `durable`), for `commit` to rename into place.
pub fn write_pending(path: &Path, bytes: &[u8], durable: bool) -> Result<PendingFile> {
    let dir = path.parent().context("state path has no parent")?;
    let name = path.file_name().context("state path has no file name")?;
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    // A stale temp file (or a planted symlink) is removed, never followed:
    // the new one is created exclusively, without following symlinks.
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("remove stale {tmp:?}")),
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .mode(0o644)
        .open(&tmp)
        .with_context(|| format!("create {tmp:?}"))?;
    // From here on, dropping it removes the temp file (a full disk, say).
    let pending = PendingFile {
        tmp,
        path: path.to_path_buf(),
        committed: false,
    };
    file.write_all(bytes)
        .and_then(|_| if durable { file.sync_all() } else { Ok(()) })
        .with_context(|| format!("write {:?}", pending.tmp))?;
    Ok(pending)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_does_not_follow_a_planted_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join(".x.pid.tmp")).unwrap();
        write_atomic(&dir.path().join("x.pid"), b"42").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("x.pid")).unwrap(),
            "42"
        );
        assert!(!dir.path().join("x.pid").is_symlink());
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replacing_leaves_the_new_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        replace_file(&path, b"one", false).unwrap();
        replace_file(&path, b"two", false).unwrap();
        replace_file(&path, b"three", false).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "three");
        assert_eq!(names(dir.path()), ["state.json"]);
    }

    #[test]
    fn a_directory_in_the_way_is_an_error_and_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.pid");
        std::fs::create_dir(&path).unwrap();
        let err = replace_file(&path, b"42", false).unwrap_err();
        assert!(format!("{err:#}").contains("Is a directory"), "{err:#}");
        assert!(path.is_dir());
        assert_eq!(names(dir.path()), ["x.pid"]);
    }

    #[test]
    fn a_pending_file_is_removed_unless_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        replace_file(&path, b"old", false).unwrap();
        drop(write_pending(&path, b"new", false).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(names(dir.path()), ["state.json"]);
        write_pending(&path, b"new", false)
            .unwrap()
            .commit()
            .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(names(dir.path()), ["state.json"]);
    }
}
