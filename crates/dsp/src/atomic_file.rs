//! Files that users keep, written whole or not at all: a temporary file
//! beside the target, renamed over it only when everything is written. A
//! reader never sees half a file, and a failure (or a panic, or an early
//! return) leaves the old file as it was and no temporary behind.
//!
//! This is the workspace's one atomic writer: MIDI files (kmidi-groove),
//! rendered WAVs (kmidi-engine) and the lab's baselines, histories and
//! reports (kmidi-perf) all go through it. It is not for the audio thread.
//!
//! ```
//! use kmidi_dsp::atomic_file::{AtomicFile, write_atomic};
//! use std::io::Write;
//!
//! let dir = std::env::temp_dir().join(format!("kmidi-atomic-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("take.txt");
//! write_atomic(&path, b"first")?;
//!
//! // Streamed: nothing appears at `path` until commit.
//! let (pending, mut file) = AtomicFile::create(&path)?;
//! file.write_all(b"second")?;
//! drop(file);
//! assert_eq!(std::fs::read(&path)?, b"first");
//! pending.commit()?;
//! assert_eq!(std::fs::read(&path)?, b"second");
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Tells apart the temporary files of one process.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A file being written beside its target; it replaces the target on
/// [`commit`](Self::commit), and is removed if dropped uncommitted.
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    committed: bool,
}

impl AtomicFile {
    /// Creates the temporary file beside `target` (creating the directory
    /// if needed) and returns the pending rename with the open file.
    ///
    /// # Errors
    /// The OS error if the directory cannot be made or written, or
    /// `InvalidInput` if `target` names no file.
    pub fn create(target: impl AsRef<Path>) -> io::Result<(Self, File)> {
        let target = target.as_ref().to_path_buf();
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?;
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let temp = target.with_file_name(format!(
            ".{}.{}-{}.tmp",
            name.to_string_lossy(),
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let file = File::options().write(true).create_new(true).open(&temp)?;
        Ok((
            Self {
                target,
                temp,
                committed: false,
            },
            file,
        ))
    }

    /// The temporary file's path (for a writer that opens files itself).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// The file it will replace.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Moves the written file over the target. Close (drop) every handle
    /// to it first.
    ///
    /// # Errors
    /// The OS error of the rename; the temporary file is then removed and
    /// the target left as it was.
    pub fn commit(mut self) -> io::Result<()> {
        std::fs::rename(&self.temp, &self.target)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Writes `bytes` to `path` atomically (see [`AtomicFile`]).
///
/// # Errors
/// The OS error; `path` is then untouched.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let (pending, mut file) = AtomicFile::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    pending.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("kmidi-atomic-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn an_uncommitted_file_leaves_the_target_and_no_temporary() {
        let dir = scratch("drop");
        let path = dir.join("keep.json");
        std::fs::write(&path, "old").unwrap();
        {
            let (pending, file) = AtomicFile::create(&path).unwrap();
            assert!(pending.temp_path().exists());
            drop(file);
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "a temporary was left"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_rename_keeps_the_target_and_removes_the_temporary() {
        let dir = scratch("fail");
        // The target is a non-empty directory: rename over it fails.
        let path = dir.join("occupied");
        std::fs::create_dir_all(path.join("inside")).unwrap();
        assert!(write_atomic(&path, b"x").is_err());
        assert!(path.join("inside").is_dir());
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "a temporary was left"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_directories_are_made_and_two_writers_do_not_collide() {
        let dir = scratch("dirs");
        let path = dir.join("a/b/c.txt");
        let (p1, _f1) = AtomicFile::create(&path).unwrap();
        let (p2, _f2) = AtomicFile::create(&path).unwrap();
        assert_ne!(p1.temp_path(), p2.temp_path());
        drop((p1, p2));
        write_atomic(&path, b"done").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"done");
        let e = write_atomic(Path::new("/"), b"x").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
