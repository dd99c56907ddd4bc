//! Temp dirs: one fresh directory per use, named after what made it, under the system's
//! temp dir; [`TempDir`] removes its directory when dropped.

use std::path::{Path, PathBuf};

/// A new empty directory `<prefix><uuid>` under the system's temp dir (left in place).
///
/// # Panics
/// When it cannot be made.
pub fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("temp dir {}: {e}", dir.display()));
    dir
}

/// A [`temp_dir`] removed, with what it holds, on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty directory `<prefix><uuid>`.
    pub fn new(prefix: &str) -> Self {
        Self(temp_dir(prefix))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
