//! Files received in a call, written to the Downloads folder as their bytes arrive: never held
//! whole in memory. Each goes to `NAME.part` while it comes and gets its own name when finished
//! (`report (1).pdf` if `report.pdf` exists); a cancelled or damaged one is removed.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Files being received at once, at most; another is refused until one ends.
pub const MAX_OPEN: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("{0} files are being received already; wait for one to finish")]
    TooMany(usize),
    #[error("no file is being received under that id")]
    Unknown,
    #[error("the file would be bigger than it was said to be ({0} bytes)")]
    TooBig(u64),
    #[error("the file is {written} bytes, not the {size} it was said to be")]
    Short { written: u64, size: u64 },
    #[error("could not write to {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

struct Open {
    file: File,
    part: PathBuf,
    name: String,
    size: u64,
    written: u64,
}

/// The files being received, by the page's transfer id.
pub struct Downloads {
    folder: PathBuf,
    open: Mutex<HashMap<String, Open>>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DownloadError + '_ {
    move |source| DownloadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The name as saved: its last path component, without control characters; never empty.
fn file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    if clean.is_empty() || clean == "." || clean == ".." {
        "file".into()
    } else {
        clean.chars().take(200).collect()
    }
}

/// `folder/name`, or `folder/stem (N).ext` with the first N that does not exist.
fn unused(folder: &Path, name: &str) -> PathBuf {
    let first = folder.join(name);
    if !first.exists() {
        return first;
    }
    let (stem, ext) = match name.rfind('.') {
        Some(dot) if dot > 0 => (&name[..dot], &name[dot..]),
        _ => (name, ""),
    };
    (1..)
        .map(|n| folder.join(format!("{stem} ({n}){ext}")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}

impl Downloads {
    pub fn new(folder: PathBuf) -> Downloads {
        Downloads {
            folder,
            open: Mutex::new(HashMap::new()),
        }
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<String, Open>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts receiving `name` (`size` bytes) under `id`.
    pub fn begin(&self, id: &str, name: &str, size: u64) -> Result<(), DownloadError> {
        let mut open = self.open();
        if open.len() >= MAX_OPEN && !open.contains_key(id) {
            return Err(DownloadError::TooMany(MAX_OPEN));
        }
        std::fs::create_dir_all(&self.folder).map_err(io(&self.folder))?;
        let name = file_name(name);
        let part = unused(&self.folder, &format!("{name}.part"));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&part)
            .map_err(io(&part))?;
        if let Some(old) = open.insert(
            id.to_string(),
            Open {
                file,
                part,
                name,
                size,
                written: 0,
            },
        ) {
            let _ = std::fs::remove_file(old.part);
        }
        Ok(())
    }

    /// Appends `bytes` to the file received under `id`.
    pub fn write(&self, id: &str, bytes: &[u8]) -> Result<(), DownloadError> {
        let mut open = self.open();
        let file = open.get_mut(id).ok_or(DownloadError::Unknown)?;
        if file.written + bytes.len() as u64 > file.size {
            return Err(DownloadError::TooBig(file.size));
        }
        file.file.write_all(bytes).map_err(io(&file.part))?;
        file.written += bytes.len() as u64;
        Ok(())
    }

    /// Every byte is in: the file gets its own name. Returns where it is.
    pub fn finish(&self, id: &str) -> Result<PathBuf, DownloadError> {
        let mut file = self.open().remove(id).ok_or(DownloadError::Unknown)?;
        if file.written != file.size {
            let _ = std::fs::remove_file(&file.part);
            return Err(DownloadError::Short {
                written: file.written,
                size: file.size,
            });
        }
        file.file.flush().map_err(io(&file.part))?;
        file.file.sync_all().map_err(io(&file.part))?;
        let path = unused(&self.folder, &file.name);
        std::fs::rename(&file.part, &path).map_err(io(&path))?;
        Ok(path)
    }

    /// The file under `id` is not kept (cancelled, or damaged). `false` if there was none.
    pub fn abort(&self, id: &str) -> bool {
        match self.open().remove(id) {
            Some(file) => {
                let _ = std::fs::remove_file(file.part);
                true
            }
            None => false,
        }
    }

    /// Ends everything under way (the app is closing): partial files are removed.
    pub fn abort_all(&self) {
        for (_, file) in self.open().drain() {
            let _ = std::fs::remove_file(file.part);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "hearth-downloads-{}-{}",
            std::process::id(),
            uuid_like()
        ));
        std::fs::create_dir_all(&dir).expect("temp folder");
        dir
    }

    fn uuid_like() -> u128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    }

    #[test]
    fn a_file_is_written_as_it_comes_and_named_when_finished_without_replacing_another() {
        let dir = folder();
        std::fs::write(dir.join("report.pdf"), b"older").expect("an older file");
        let downloads = Downloads::new(dir.clone());
        downloads.begin("t1", "../../report.pdf", 6).expect("begin");
        downloads.write("t1", b"abc").expect("write");
        assert!(dir.join("report.pdf.part").exists(), "written as it comes");
        downloads.write("t1", b"def").expect("write");
        assert!(matches!(
            downloads.write("t1", b"g"),
            Err(DownloadError::TooBig(6))
        ));
        let path = downloads.finish("t1").expect("finish");
        assert_eq!(path, dir.join("report (1).pdf"));
        assert_eq!(std::fs::read(&path).expect("read"), b"abcdef");
        assert_eq!(
            std::fs::read(dir.join("report.pdf")).expect("read"),
            b"older"
        );
        assert!(!dir.join("report.pdf.part").exists());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_cancelled_or_short_file_leaves_nothing_and_the_number_open_is_bounded() {
        let dir = folder();
        let downloads = Downloads::new(dir.clone());
        downloads.begin("a", "a.bin", 10).expect("begin");
        downloads.write("a", b"12345").expect("write");
        assert!(downloads.abort("a"));
        assert!(!downloads.abort("a"));
        downloads.begin("b", "b.bin", 10).expect("begin");
        assert!(matches!(
            downloads.finish("b"),
            Err(DownloadError::Short {
                written: 0,
                size: 10
            })
        ));
        assert!(matches!(
            downloads.write("b", b"x"),
            Err(DownloadError::Unknown)
        ));
        for i in 0..MAX_OPEN {
            downloads
                .begin(&format!("n{i}"), "n.bin", 1)
                .expect("within the bound");
        }
        assert!(matches!(
            downloads.begin("one-more", "n.bin", 1),
            Err(DownloadError::TooMany(MAX_OPEN))
        ));
        downloads.abort_all();
        assert_eq!(
            std::fs::read_dir(&dir).expect("list").count(),
            0,
            "nothing left behind"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
