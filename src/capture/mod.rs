//! Capture source: pcap / pcapng files (optionally gzip-compressed) and streams on stdin.
//!
//! INTERFACE CONTRACT (other layers depend on exactly this; the implementation is TODO):
//!
//! ```ignore
//! let mut reader = CaptureReader::open(Path::new("a.pcap"))?;   // "-" means stdin
//! while let Some(pkt) = reader.next_packet()? {
//!     // pkt.ts, pkt.link_type, pkt.data (captured bytes), pkt.orig_len
//! }
//! ```

use crate::time::Timestamp;
use std::path::Path;

/// Link-layer types ftpflow decodes (values are LINKTYPE_* numbers from tcpdump.org).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// LINKTYPE_NULL (0): BSD loopback, 4-byte host-order address family.
    Null,
    /// LINKTYPE_ETHERNET (1), with 802.1Q / QinQ tags.
    Ethernet,
    /// LINKTYPE_RAW (101) and DLT_RAW (12 / 14 on some systems): raw IPv4 or IPv6.
    Raw,
    /// LINKTYPE_LOOP (108): OpenBSD loopback, 4-byte network-order address family.
    Loop,
    /// LINKTYPE_LINUX_SLL (113).
    LinuxSll,
    /// LINKTYPE_LINUX_SLL2 (276).
    LinuxSll2,
    /// LINKTYPE_IPV4 (228).
    Ipv4,
    /// LINKTYPE_IPV6 (229).
    Ipv6,
}

impl LinkType {
    /// Maps a LINKTYPE_/DLT_ number to a supported link type; `None` when unsupported.
    pub fn from_linktype(n: u32) -> Option<LinkType> {
        let _ = n;
        todo!()
    }
}

/// One captured packet, borrowed from the reader's buffer until the next call.
#[derive(Debug)]
pub struct Packet<'a> {
    pub ts: Timestamp,
    pub link_type: LinkType,
    /// The captured bytes (may be shorter than `orig_len` when cut by the snap length).
    pub data: &'a [u8],
    /// The packet's length on the wire.
    pub orig_len: u32,
}

/// Errors reading a capture. Displayed as one line a person can act on; the CLI
/// prefixes the file name.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot open: {0}")]
    Open(std::io::Error),
    #[error("read error: {0}")]
    Io(std::io::Error),
    #[error("not a pcap or pcapng capture (first bytes {0})")]
    NotACapture(String),
    #[error("unsupported link type {0} (ftpflow reads Ethernet, Linux SLL/SLL2, raw IP, BSD NULL/LOOP)")]
    UnsupportedLinkType(u32),
    #[error("corrupt capture at byte {offset}: {reason}")]
    Corrupt { offset: u64, reason: String },
    /// The capture ends in the middle of a packet: a warning, everything before it is valid.
    #[error("capture is truncated: the last packet is incomplete (at byte {offset})")]
    Truncated { offset: u64 },
}

/// Streaming reader over one capture.
pub struct CaptureReader {
    _todo: (),
}

impl CaptureReader {
    /// Opens a file, or stdin when `path` is `-`.
    pub fn open(path: &Path) -> Result<CaptureReader, CaptureError> {
        let _ = path;
        todo!()
    }

    /// Reads from any byte stream (used for stdin and tests).
    pub fn from_reader(reader: Box<dyn std::io::Read + Send>) -> Result<CaptureReader, CaptureError> {
        let _ = reader;
        todo!()
    }

    /// The next packet, `Ok(None)` at a clean end of the capture.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        todo!()
    }

    /// Bytes consumed from the underlying (possibly compressed) input so far, for progress.
    pub fn bytes_read(&self) -> u64 {
        todo!()
    }
}
