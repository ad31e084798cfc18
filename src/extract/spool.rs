//! Temporary files for data-connection bytes as they stream, one per connection and direction,
//! before the session tells which transfer (if any) they belong to.
//!
//! Bytes are written at their stream position as they arrive; a gap moves the position
//! forward, leaving a hole. At most `max_open` files are open at once: when that many are
//! open and another is needed, all are flushed and closed (cheaper than tracking recency, and
//! no worse than LRU when thousands of connections interleave), and reopened on demand.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// One direction of one data connection: (connection id, bytes sent by the server).
pub type Key = (u64, bool);

const WRITE_BUFFER: usize = 64 * 1024;

#[derive(Default)]
struct Stream {
    /// Logical length: bytes written plus gaps.
    pos: u64,
    bytes: u64,
    gaps: u64,
    /// The file exists (it is truncated when first created, reopened afterwards).
    created: bool,
    writer: Option<BufWriter<File>>,
}

/// A spooled stream, closed and ready to be moved or copied.
#[derive(Debug)]
pub struct Spooled {
    /// `None` when no byte and no gap arrived (an empty stream).
    pub path: Option<PathBuf>,
    /// Length of the file: bytes plus holes.
    pub len: u64,
    pub bytes: u64,
    pub gaps: u64,
}

pub struct Spool {
    dir: PathBuf,
    streams: HashMap<Key, Stream>,
    open: usize,
    max_open: usize,
}

impl Spool {
    pub fn new(dir: PathBuf, max_open: usize) -> Spool {
        Spool {
            dir,
            streams: HashMap::new(),
            open: 0,
            max_open: max_open.max(1),
        }
    }

    pub fn path(&self, key: Key) -> PathBuf {
        self.dir
            .join(format!("{}-{}", key.0, if key.1 { 's' } else { 'c' }))
    }

    /// Streams currently spooled (not yet taken or discarded).
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    pub fn open_files(&self) -> usize {
        self.open
    }

    pub fn write(&mut self, key: Key, bytes: &[u8]) -> std::io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        if self.streams.get(&key).is_none_or(|s| s.writer.is_none()) {
            self.open_stream(key)?;
        }
        let s = self.streams.get_mut(&key).expect("opened");
        s.writer.as_mut().expect("opened").write_all(bytes)?;
        s.pos += bytes.len() as u64;
        s.bytes += bytes.len() as u64;
        Ok(())
    }

    /// `len` bytes are missing here: the next bytes go `len` further on.
    pub fn gap(&mut self, key: Key, len: u64) -> std::io::Result<()> {
        let s = self.streams.entry(key).or_default();
        s.pos = s.pos.saturating_add(len);
        s.gaps = s.gaps.saturating_add(len);
        if let Some(w) = s.writer.as_mut() {
            w.seek(SeekFrom::Start(s.pos))?;
        }
        Ok(())
    }

    fn open_stream(&mut self, key: Key) -> std::io::Result<()> {
        if self.open >= self.max_open {
            self.close_all()?;
        }
        let path = self.path(key);
        let s = self.streams.entry(key).or_default();
        let mut f = if s.created {
            OpenOptions::new().write(true).open(&path)?
        } else {
            File::create(&path)?
        };
        s.created = true;
        f.seek(SeekFrom::Start(s.pos))?;
        s.writer = Some(BufWriter::with_capacity(WRITE_BUFFER, f));
        self.open += 1;
        Ok(())
    }

    fn close_all(&mut self) -> std::io::Result<()> {
        for s in self.streams.values_mut() {
            if let Some(mut w) = s.writer.take() {
                w.flush()?;
            }
        }
        self.open = 0;
        Ok(())
    }

    /// Closes a stream and hands its file over (the caller moves or deletes it).
    pub fn take(&mut self, key: Key) -> std::io::Result<Spooled> {
        let Some(mut s) = self.streams.remove(&key) else {
            return Ok(Spooled {
                path: None,
                len: 0,
                bytes: 0,
                gaps: 0,
            });
        };
        let path = self.path(key);
        let file = match s.writer.take() {
            Some(w) => {
                self.open -= 1;
                Some(w.into_inner().map_err(|e| e.into_error())?)
            }
            None if s.created => Some(OpenOptions::new().write(true).open(&path)?),
            // Only gaps: the file is all hole.
            None if s.pos > 0 => Some(File::create(&path)?),
            None => None,
        };
        if let Some(f) = &file {
            // A trailing gap still belongs to the file's length.
            if f.metadata()?.len() < s.pos {
                f.set_len(s.pos)?;
            }
        }
        Ok(Spooled {
            path: file.map(|_| path),
            len: s.pos,
            bytes: s.bytes,
            gaps: s.gaps,
        })
    }

    /// Drops a stream and its file.
    pub fn discard(&mut self, key: Key) -> std::io::Result<()> {
        if let Some(mut s) = self.streams.remove(&key) {
            if s.writer.take().is_some() {
                self.open -= 1;
            }
            if s.created {
                remove_if_present(&self.path(key))?;
            }
        }
        Ok(())
    }

    /// Deletes every file still spooled (end of the run, or after an error).
    pub fn discard_all(&mut self) -> std::io::Result<()> {
        let keys: Vec<Key> = self.streams.keys().copied().collect();
        let mut first = Ok(());
        for k in keys {
            if let Err(e) = self.discard(k)
                && first.is_ok()
            {
                first = Err(e);
            }
        }
        first
    }
}

pub fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_land_at_their_position_and_gaps_leave_holes() {
        let dir = tempfile::tempdir().unwrap();
        let mut sp = Spool::new(dir.path().to_path_buf(), 2);
        sp.write((1, true), b"abc").unwrap();
        sp.gap((1, true), 4).unwrap();
        sp.write((1, true), b"xyz").unwrap();
        sp.gap((1, true), 2).unwrap();
        let s = sp.take((1, true)).unwrap();
        assert_eq!((s.len, s.bytes, s.gaps), (12, 6, 6));
        let content = std::fs::read(s.path.unwrap()).unwrap();
        assert_eq!(content, b"abc\0\0\0\0xyz\0\0");
        assert_eq!(sp.open_files(), 0);
    }

    #[test]
    fn many_interleaved_streams_with_few_open_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut sp = Spool::new(dir.path().to_path_buf(), 3);
        for round in 0..5u8 {
            for conn in 0..20u64 {
                sp.write((conn, conn % 2 == 0), &[round, conn as u8])
                    .unwrap();
                assert!(sp.open_files() <= 3);
            }
            sp.gap((7, false), 1).unwrap();
        }
        for conn in 0..20u64 {
            let s = sp.take((conn, conn % 2 == 0)).unwrap();
            let content = std::fs::read(s.path.unwrap()).unwrap();
            let mut want = Vec::new();
            for round in 0..5u8 {
                want.extend([round, conn as u8]);
                if conn == 7 {
                    want.push(0);
                }
            }
            assert_eq!(content, want, "conn {conn}");
        }
        assert!(sp.is_empty());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 20);
    }

    #[test]
    fn empty_and_discarded_streams() {
        let dir = tempfile::tempdir().unwrap();
        let mut sp = Spool::new(dir.path().to_path_buf(), 4);
        assert!(sp.take((9, true)).unwrap().path.is_none());
        sp.gap((2, true), 5).unwrap();
        let s = sp.take((2, true)).unwrap();
        assert_eq!(std::fs::read(s.path.unwrap()).unwrap(), vec![0; 5]);
        sp.write((3, false), b"x").unwrap();
        sp.write((4, false), b"y").unwrap();
        sp.discard((3, false)).unwrap();
        sp.discard_all().unwrap();
        assert_eq!(sp.open_files(), 0);
        assert!(!dir.path().join("3-c").exists());
        assert!(!dir.path().join("4-c").exists());
    }
}
