//! File extraction (`ftpflow extract`): every transferred file written to a directory as its
//! bytes stream, with a `manifest.jsonl` describing each transfer.
//!
//! Data-connection bytes arrive (through `SessionSink::data`) before anyone knows which
//! transfer they serve, so each connection's directions are spooled to `DIR/.partial/` as
//! they come. When a session ends, its transfers say which spooled stream is which file:
//! that stream is moved (hard link, never overwriting) to its safe final name; the other
//! direction and streams nobody wants are deleted. Memory holds only per-stream counters
//! and a bounded number of open files.
//!
//! Layout (README "extract"):
//! `DIR/manifest.jsonl`, `DIR/session-N/files/NAME`, `DIR/session-N/listings/VERB-I.txt`
//! (with `--listings`), `DIR/unmatched/conn-ID-from-{server,client}.bin` (with `--unmatched`).

pub mod glob;
pub mod names;
pub mod spool;

use crate::ftp::{Direction, TransferKind};
use crate::model::{DataConnection, Session, Transfer, UnmatchedData};
use crate::session::{REASON_TLS_DATA, SessionSink};
use glob::Glob;
use serde::Serialize;
use spool::{Key, Spool, Spooled};
use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

pub const MANIFEST: &str = "manifest.jsonl";
const PARTIAL: &str = ".partial";
/// Files open at once for spooling (each with a 64 KiB buffer).
const MAX_OPEN: usize = 64;
/// A REST offset beyond this is not honoured on disk (a hostile value would make a sparse
/// file of absurd size); the bytes are written from offset 0 and the manifest says so.
pub const MAX_REST_OFFSET: u64 = 1 << 40;
/// Attempts at `name.N` before giving up on a name.
const MAX_SUFFIX: u64 = 1_000_000;

#[derive(Debug, Error)]
pub enum ExtractError {
    #[error("{}: already holds a {MANIFEST} from an earlier extraction; choose another output directory", .0.display())]
    ManifestExists(PathBuf),
    #[error("{}: is a symbolic link or not a directory; choose another output directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ExtractError {
    let path = path.to_path_buf();
    move |source| ExtractError::Io { op, path, source }
}

#[derive(Clone, Debug)]
pub struct ExtractConfig {
    pub dir: PathBuf,
    /// Only this session (its `id`, as in `ftpflow sessions`).
    pub session: Option<u64>,
    /// Only transfers whose server path (or its last component) matches.
    pub filter: Option<Glob>,
    /// Also write directory listings (LIST/NLST/MLSD).
    pub listings: bool,
    /// Also keep data connections no transfer claimed.
    pub unmatched: bool,
}

/// What an extraction did, for the summary line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtractSummary {
    /// Files written (transfers, listings, unmatched streams).
    pub files: u64,
    pub bytes: u64,
    /// Files written whose transfer is not complete (gaps, aborted, size mismatch…).
    pub incomplete: u64,
    /// Manifest entries without a file, by reason.
    pub not_extracted: BTreeMap<&'static str, u64>,
    pub manifest_lines: u64,
}

pub struct Extractor {
    config: ExtractConfig,
    spool: Spool,
    manifest: BufWriter<File>,
    /// Next `.N` suffix to try per (directory, name): keeps repeated names linear.
    next_suffix: HashMap<(PathBuf, String), u64>,
    summary: ExtractSummary,
    /// The first output error: after it nothing more is written.
    error: Option<ExtractError>,
}

const WHY_NO_DATA: &str = "no data connection";
const WHY_ENCRYPTED: &str = "TLS-encrypted data";
const WHY_UNMATCHED: &str = "no transfer command claimed this data connection";

impl Extractor {
    /// Prepares DIR (created if missing; it must not hold a manifest already).
    pub fn create(config: ExtractConfig) -> Result<Extractor, ExtractError> {
        let dir = &config.dir;
        std::fs::create_dir_all(dir).map_err(io("create the directory", dir))?;
        ensure_dir(dir, dir)?;
        let manifest_path = dir.join(MANIFEST);
        let manifest = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&manifest_path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    ExtractError::ManifestExists(dir.clone())
                } else {
                    io("create", &manifest_path)(e)
                }
            })?;
        let partial = dir.join(PARTIAL);
        ensure_dir(dir, &partial)?;
        Ok(Extractor {
            spool: Spool::new(partial, MAX_OPEN),
            manifest: BufWriter::new(manifest),
            config,
            next_suffix: HashMap::new(),
            summary: ExtractSummary::default(),
            error: None,
        })
    }

    /// Writes out the manifest and removes the spool. Returns the first output error.
    pub fn finish(mut self) -> Result<ExtractSummary, ExtractError> {
        let partial = self.config.dir.join(PARTIAL);
        let cleaned = self
            .spool
            .discard_all()
            .map_err(io("remove files in", &partial));
        let flushed = self
            .manifest
            .flush()
            .map_err(io("write", &self.config.dir.join(MANIFEST)));
        // Only ours: fails harmlessly if something else was put there.
        let _ = std::fs::remove_dir(&partial);
        if let Some(e) = self.error {
            return Err(e);
        }
        cleaned?;
        flushed?;
        Ok(self.summary)
    }

    pub fn summary(&self) -> &ExtractSummary {
        &self.summary
    }

    fn fail(&mut self, e: ExtractError) {
        if self.error.is_none() {
            self.error = Some(e);
            // Nothing more will be written: free the spool now.
            let _ = self.spool.discard_all();
        }
    }

    fn wanted_session(&self, id: Option<u64>) -> bool {
        self.config.session.is_none_or(|s| id == Some(s))
    }

    fn wanted_path(&self, path: Option<&str>) -> bool {
        let Some(g) = &self.config.filter else {
            return true;
        };
        let p = path.unwrap_or("");
        let last = p.rsplit(['/', '\\']).next().unwrap_or(p);
        g.matches(p) || g.matches(last)
    }

    fn manifest_line(&mut self, v: Entry) -> Result<(), ExtractError> {
        let path = self.config.dir.join(MANIFEST);
        serde_json::to_writer(&mut self.manifest, &v)
            .map_err(std::io::Error::from)
            .and_then(|()| self.manifest.write_all(b"\n"))
            .map_err(io("write", &path))?;
        self.summary.manifest_lines += 1;
        Ok(())
    }

    fn discard(&mut self, dc: &DataConnection) -> Result<(), ExtractError> {
        for from_server in [true, false] {
            let key = (dc.id, from_server);
            let path = self.spool.path(key);
            self.spool.discard(key).map_err(io("remove", &path))?;
        }
        Ok(())
    }

    fn session_result(&mut self, s: &Session) -> Result<(), ExtractError> {
        let wanted_session = self.wanted_session(Some(s.id));
        for (index, t) in s.transfers.iter().enumerate() {
            let path = server_path(s, t);
            let wanted = wanted_session
                && (t.kind == TransferKind::File || self.config.listings)
                && self.wanted_path(path.as_deref());
            if !wanted {
                if let Some(dc) = &t.data {
                    self.discard(dc)?;
                }
                continue;
            }
            let mut line = transfer_line(s, index, t, path.as_deref());
            let from_server = t.direction == Direction::Download;
            match &t.data {
                None => self.not_extracted(&mut line, WHY_NO_DATA),
                Some(dc) if t.encrypted => {
                    self.discard(dc)?;
                    self.not_extracted(&mut line, WHY_ENCRYPTED);
                }
                Some(dc) => {
                    let (dir, name) = match t.kind {
                        TransferKind::File => {
                            let fallback = format!("{}-{}", t.command, t.command_index);
                            (
                                "files",
                                names::safe_name(path.as_deref().unwrap_or(""), &fallback),
                            )
                        }
                        TransferKind::Listing => {
                            ("listings", format!("{}-{}.txt", t.command, t.command_index))
                        }
                    };
                    let rel_dir = PathBuf::from(format!("session-{}", s.id)).join(dir);
                    let rest = t.rest.unwrap_or(0);
                    let offset = if rest <= MAX_REST_OFFSET { rest } else { 0 };
                    let (disk, spooled) =
                        self.place((dc.id, from_server), &rel_dir, &name, offset)?;
                    self.discard_one((dc.id, !from_server))?;
                    line.offset = Some(offset);
                    line.missing_bytes = spooled.gaps;
                    line.disk = Some(disk);
                    if offset != rest {
                        line.reason = Some(format!(
                            "REST offset {rest} is too large to honour: bytes written from offset 0"
                        ));
                    }
                    self.summary.files += 1;
                    self.summary.bytes += spooled.bytes;
                    if !t.complete {
                        self.summary.incomplete += 1;
                    }
                }
            }
            self.manifest_line(line)?;
        }
        Ok(())
    }

    fn discard_one(&mut self, key: Key) -> Result<(), ExtractError> {
        let path = self.spool.path(key);
        self.spool.discard(key).map_err(io("remove", &path))
    }

    /// Counts a manifest entry without a file; `reason` is set unless one is there already
    /// (an unmatched connection keeps the correlator's explanation).
    fn not_extracted(&mut self, line: &mut Entry, why: &'static str) {
        line.reason.get_or_insert_with(|| why.to_string());
        *self.summary.not_extracted.entry(why).or_default() += 1;
    }

    fn unmatched_result(&mut self, u: &UnmatchedData) -> Result<(), ExtractError> {
        let dc = &u.conn;
        // Unmatched data has no server path: a name filter excludes it.
        if !self.wanted_session(u.session) || self.config.filter.is_some() {
            return self.discard(dc);
        }
        let tls = u.reason == REASON_TLS_DATA;
        if tls {
            self.discard(dc)?;
            let mut line = unmatched_line(u, None);
            self.not_extracted(&mut line, WHY_ENCRYPTED);
            return self.manifest_line(line);
        }
        for from_server in [true, false] {
            let (bytes, gaps) = if from_server {
                (dc.bytes_from_server, dc.gap_bytes_from_server)
            } else {
                (dc.bytes_from_client, dc.gap_bytes_from_client)
            };
            let key = (dc.id, from_server);
            if bytes == 0 && gaps == 0 {
                self.discard_one(key)?;
                continue;
            }
            let mut line = unmatched_line(u, Some(from_server));
            if self.config.unmatched {
                let name = format!(
                    "conn-{}-from-{}.bin",
                    dc.id,
                    if from_server { "server" } else { "client" }
                );
                let (disk, spooled) = self.place(key, Path::new("unmatched"), &name, 0)?;
                line.missing_bytes = spooled.gaps;
                line.offset = Some(0);
                line.disk = Some(disk);
                self.summary.files += 1;
                self.summary.bytes += spooled.bytes;
            } else {
                self.discard_one(key)?;
                self.not_extracted(&mut line, WHY_UNMATCHED);
            }
            self.manifest_line(line)?;
        }
        Ok(())
    }

    /// Moves a spooled stream to `DIR/rel_dir/name` (or `name.N` if taken), its bytes starting
    /// at `offset`. Returns the path relative to DIR (with `/`) and the stream's counts.
    fn place(
        &mut self,
        key: Key,
        rel_dir: &Path,
        name: &str,
        offset: u64,
    ) -> Result<(String, Spooled), ExtractError> {
        let temp_path = self.spool.path(key);
        let spooled = self.spool.take(key).map_err(io("write", &temp_path))?;
        let dir = self.config.dir.join(rel_dir);
        let mut cur = self.config.dir.clone();
        for c in rel_dir.components() {
            cur.push(c);
            ensure_dir(&self.config.dir, &cur)?;
        }
        let slot = (rel_dir.to_path_buf(), name.to_string());
        let mut n = self.next_suffix.get(&slot).copied().unwrap_or(0);
        let mut linked = spooled.path.is_some() && offset == 0;
        let chosen = loop {
            if n > MAX_SUFFIX {
                return Err(io("find a free name in", &dir)(std::io::Error::other(
                    format!("too many files named {name:?}"),
                )));
            }
            let candidate = names::numbered(name, n);
            let target = dir.join(&candidate);
            n += 1;
            // A hard link never replaces an existing name (unlike rename); where the file
            // system has none, the bytes are copied into a file created exclusively.
            let result = if linked {
                match std::fs::hard_link(spooled.path.as_ref().expect("linked"), &target) {
                    Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                        linked = false;
                        n -= 1;
                        continue;
                    }
                    r => r,
                }
            } else {
                copy_into_new(spooled.path.as_deref(), &target, offset, spooled.len)
            };
            match result {
                Ok(()) => break candidate,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io("write", &target)(e)),
            }
        };
        self.next_suffix.insert(slot, n);
        if let Some(p) = &spooled.path {
            spool::remove_if_present(p).map_err(io("remove", p))?;
        }
        let rel = rel_dir.join(&chosen);
        let rel = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        Ok((rel, spooled))
    }
}

/// Creates `target` (failing if it exists) holding `src`'s bytes from `offset` on (a hole
/// before them).
fn copy_into_new(src: Option<&Path>, target: &Path, offset: u64, len: u64) -> std::io::Result<()> {
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(target)?;
    let result = (|| {
        out.set_len(offset.saturating_add(len))?;
        if let Some(src) = src {
            out.seek(SeekFrom::Start(offset))?;
            std::io::copy(&mut File::open(src)?, &mut out)?;
        }
        out.flush()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(target);
    }
    result
}

/// `path` must be a real directory (created if missing), not a symbolic link: a link
/// planted in DIR must not lead writes outside it.
fn ensure_dir(root: &Path, path: &Path) -> Result<(), ExtractError> {
    match std::fs::create_dir(path) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            return Err(io("create the directory", path)(e));
        }
        _ => {}
    }
    let meta = std::fs::symlink_metadata(path).map_err(io("read", path))?;
    // DIR itself may be a link the user chose; what is inside it may not.
    if !(meta.is_dir() || (path == root && path.is_dir())) {
        return Err(ExtractError::NotADirectory(path.to_path_buf()));
    }
    Ok(())
}

/// The server path of a transfer: its argument, or for STOU the name the server chose.
fn server_path(s: &Session, t: &Transfer) -> Option<String> {
    if t.command == "STOU"
        && let Some(cmd) = s.commands.get(t.command_index)
    {
        let texts: Vec<&str> = cmd.replies.iter().map(|r| r.text.as_str()).collect();
        if let Some(n) = names::stou_name(&texts) {
            return Some(n);
        }
    }
    t.arg.clone()
}

/// One line of `manifest.jsonl` (README "extract": the keys are a contract).
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    pub session: Option<u64>,
    /// Index in the session's `transfers` (as in `ftpflow sessions --json`).
    pub transfer: Option<usize>,
    pub capture: String,
    pub command: Option<String>,
    /// The server path as sent (JSON-escaped, not sanitised); for STOU the server's name.
    pub path: Option<String>,
    /// `file`, `listing` or `unmatched`.
    pub kind: &'static str,
    /// `download` (server to client) or `upload`; `null` for a whole TLS connection.
    pub direction: Option<&'static str>,
    #[serde(rename = "type")]
    pub type_code: Option<String>,
    /// Bytes captured (holes not counted).
    pub bytes: u64,
    pub missing_bytes: u64,
    /// SHA-256 of the captured bytes (as `ftpflow sessions`).
    pub sha256: Option<String>,
    pub complete: bool,
    pub final_code: Option<u16>,
    pub rest: Option<u64>,
    pub data: Option<DataEnds>,
    /// Where the file is, relative to DIR with `/`; `null` when none was written.
    pub disk: Option<String>,
    /// Where in that file the transferred bytes start (the REST offset).
    pub offset: Option<u64>,
    /// Why there is no file, or anything else to know about this entry.
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DataEnds {
    pub client: String,
    pub server: String,
}

impl DataEnds {
    fn of(d: &DataConnection) -> DataEnds {
        DataEnds {
            client: d.client.to_string(),
            server: d.server.to_string(),
        }
    }
}

fn transfer_line(s: &Session, index: usize, t: &Transfer, path: Option<&str>) -> Entry {
    Entry {
        session: Some(s.id),
        transfer: Some(index),
        capture: s.file.clone(),
        command: Some(t.command.clone()),
        path: path.map(String::from),
        kind: match t.kind {
            TransferKind::File => "file",
            TransferKind::Listing => "listing",
        },
        direction: Some(match t.direction {
            Direction::Download => "download",
            Direction::Upload => "upload",
        }),
        type_code: t.type_code.clone(),
        bytes: t.bytes,
        missing_bytes: t.data.as_ref().map_or(0, |d| match t.direction {
            Direction::Download => d.gap_bytes_from_server,
            Direction::Upload => d.gap_bytes_from_client,
        }),
        sha256: t.sha256.clone(),
        complete: t.complete,
        final_code: t.final_code,
        rest: t.rest,
        data: t.data.as_ref().map(DataEnds::of),
        disk: None,
        offset: None,
        reason: None,
    }
}

/// One direction (`from_server`) of an unmatched data connection, or the whole connection.
fn unmatched_line(u: &UnmatchedData, from_server: Option<bool>) -> Entry {
    let dc = &u.conn;
    let (bytes, gaps, sha) = match from_server {
        Some(true) => (
            dc.bytes_from_server,
            dc.gap_bytes_from_server,
            Some(dc.sha256_from_server.clone()),
        ),
        Some(false) => (
            dc.bytes_from_client,
            dc.gap_bytes_from_client,
            Some(dc.sha256_from_client.clone()),
        ),
        None => (
            dc.bytes_from_server + dc.bytes_from_client,
            dc.gap_bytes_from_server + dc.gap_bytes_from_client,
            None,
        ),
    };
    Entry {
        session: u.session,
        transfer: None,
        capture: u.file.clone(),
        command: None,
        path: None,
        kind: "unmatched",
        direction: from_server.map(|s| if s { "download" } else { "upload" }),
        type_code: None,
        bytes,
        missing_bytes: gaps,
        sha256: sha,
        complete: gaps == 0 && dc.closed && !dc.reset,
        final_code: None,
        rest: None,
        data: Some(DataEnds::of(dc)),
        disk: None,
        offset: None,
        reason: Some(u.reason.clone()),
    }
}

impl SessionSink for Extractor {
    fn session(&mut self, session: Session) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.session_result(&session) {
            self.fail(e);
        }
    }

    fn unmatched(&mut self, data: UnmatchedData) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.unmatched_result(&data) {
            self.fail(e);
        }
    }

    fn wants_data(&self) -> bool {
        true
    }

    fn data(&mut self, conn: u64, from_server: bool, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        let key = (conn, from_server);
        if let Err(e) = self.spool.write(key, bytes) {
            let path = self.spool.path(key);
            self.fail(io("write", &path)(e));
        }
    }

    fn data_gap(&mut self, conn: u64, from_server: bool, len: u64) {
        if self.error.is_some() {
            return;
        }
        let key = (conn, from_server);
        if let Err(e) = self.spool.gap(key, len) {
            let path = self.spool.path(key);
            self.fail(io("write", &path)(e));
        }
    }
}
