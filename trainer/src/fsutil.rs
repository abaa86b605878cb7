//! The run folder's file operations: one atomic write (temporary file, fsync, rename, fsync of
//! the folder), PNG output through it, and the lock a trainer holds on its `--out` folder.
use std::fs::File;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// Writes `bytes` to `path` so that a reader (or a crash, or a power loss) sees either the old
/// file or the new one: a temporary file in the same folder, written and fsync'd, renamed over
/// `path`, then the folder fsync'd so the rename itself is durable.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().with_context(|| format!("{} is not a file path", path.display()))?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let res = (|| -> Result<()> {
        let mut f = File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
        f.sync_all().with_context(|| format!("cannot sync {}", tmp.display()))?;
        drop(f);
        std::fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// fsyncs a folder (its entries: a rename into it survives a power loss).
pub fn sync_dir(dir: &Path) -> Result<()> {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    #[cfg(unix)]
    File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("cannot sync folder {}", dir.display()))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Encodes an image as PNG and writes it atomically.
pub fn save_png(path: &Path, img: &image::RgbImage) -> Result<()> {
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .with_context(|| format!("cannot encode {}", path.display()))?;
    write_atomic(path, &bytes)
}

/// An exclusive lock on a run folder (`<out>/.lock`, `flock`), held while a trainer writes it;
/// released when dropped (or when the process dies).
pub struct RunLock {
    _file: File,
}

/// Takes the run folder's lock, or fails naming the folder when another trainer holds it.
pub fn lock_run_folder(dir: &Path) -> Result<RunLock> {
    let path = dir.join(".lock");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open the run folder's lock {}", path.display()))?;
    if !try_lock(&file)? {
        let holder = std::fs::read_to_string(&path).unwrap_or_default();
        bail!(
            "run folder {} is in use by another trainer ({}); wait for it to finish or choose another --out",
            dir.display(),
            if holder.trim().is_empty() { "lock held".to_string() } else { holder.trim().to_string() }
        );
    }
    file.set_len(0)?;
    writeln!(file, "pid {}", std::process::id())?;
    Ok(RunLock { _file: file })
}

#[cfg(unix)]
fn try_lock(f: &File) -> Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a file descriptor this process owns.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e).context("cannot lock the run folder")
    }
}

#[cfg(not(unix))]
fn try_lock(_: &File) -> Result<bool> {
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let d = std::env::temp_dir().join(format!("glow-fsutil-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join("a.bin");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.bin")]);
        let lock = lock_run_folder(&d).unwrap();
        let e = lock_run_folder(&d).err().unwrap().to_string();
        assert!(e.contains("in use by another trainer") && e.contains(&format!("pid {}", std::process::id())), "{e}");
        drop(lock);
        lock_run_folder(&d).unwrap();
        std::fs::remove_dir_all(&d).unwrap();
    }
}
