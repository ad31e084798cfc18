//! Capture source: pcap / pcapng files (optionally gzip-compressed) and streams on stdin.
//!
//! INTERFACE CONTRACT (other layers depend on exactly this):
//!
//! ```ignore
//! let mut reader = CaptureReader::open(Path::new("a.pcap"))?;   // "-" means stdin
//! while let Some(pkt) = reader.next_packet()? {
//!     // pkt.ts, pkt.link_type, pkt.data (captured bytes), pkt.orig_len
//! }
//! ```
//!
//! Implementation notes:
//! - One growable buffer, refilled from the input only when the next record is not
//!   complete in it, so a live `tcpdump -U -w -` stream yields each packet as soon as
//!   its bytes arrive, and memory stays bounded by the largest record (max 256 MiB).
//! - The hot path (pcap records, EPB/SPB/OPB) is parsed by hand from fixed layouts:
//!   pcap-parser's block parsers allocate an option `Vec` per EPB with options and
//!   report a corrupt inner length as "incomplete", which a streaming reader cannot
//!   tell apart from "wait for more bytes"; its pcap header parser lacks the swapped
//!   "modified" magic. pcap-parser parses the Interface Description Blocks (options).
//! - pcapng: `UnsupportedLinkType` is raised when a packet on such an interface is
//!   met, not when its IDB is read, so a capture listing extra interfaces (e.g. a
//!   Wireshark multi-interface capture) still works as long as those interfaces carry
//!   no packets.
//! - Error offsets (`Corrupt`, `Truncated`) are byte offsets in the decompressed stream.

mod writer;

pub use writer::PcapWriter;

use crate::time::Timestamp;
use std::fs::File;
use std::io::{self, Read};
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
        Some(match n {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            12 | 14 | 101 => LinkType::Raw,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            _ => return None,
        })
    }

    /// The canonical LINKTYPE_ number (e.g. for writing a capture).
    pub fn to_linktype(self) -> u32 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::Raw => 101,
            LinkType::Loop => 108,
            LinkType::LinuxSll => 113,
            LinkType::LinuxSll2 => 276,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
        }
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
    #[error(
        "unsupported link type {0} (ftpflow reads Ethernet, Linux SLL/SLL2, raw IP, BSD NULL/LOOP)"
    )]
    UnsupportedLinkType(u32),
    #[error("corrupt capture at byte {offset}: {reason}")]
    Corrupt { offset: u64, reason: String },
    /// The capture ends in the middle of a packet: a warning, everything before it is valid.
    #[error("capture is truncated: the last packet is incomplete (at byte {offset})")]
    Truncated { offset: u64 },
}

/// The container format, detected from the first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureFormat {
    Pcap,
    PcapNg,
}

/// A pcapng interface as declared by its Interface Description Block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interface {
    /// The raw LINKTYPE_ number.
    pub linktype: u32,
    /// `None` when ftpflow does not decode this link type.
    pub link_type: Option<LinkType>,
    pub snaplen: u32,
    /// Raw `if_tsresol` (default 6: microseconds).
    pub tsresol: u8,
    /// `if_tsoffset` in seconds.
    pub tsoffset: i64,
}

/// Largest record (pcap packet or pcapng block) accepted; a bigger declared length is
/// treated as corruption instead of an allocation.
const MAX_BLOCK: usize = 256 << 20;
/// Initial buffer: large enough that refills are rare and cheap relative to parsing.
const BUF_SIZE: usize = 1 << 20;
/// libpcap's largest snap length; pcap records may claim up to max(snaplen, this).
const MAX_PCAP_SNAPLEN: u32 = 262_144;

const SHB_TYPE: u32 = 0x0A0D_0D0A;
const IDB_TYPE: u32 = 1;
const OPB_TYPE: u32 = 2;
const SPB_TYPE: u32 = 3;
const EPB_TYPE: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// Counts bytes pulled from the underlying input, for `bytes_read`.
struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// The bytes peeked for format detection, replayed before the rest of the input.
type Raw = io::Chain<io::Cursor<Vec<u8>>, Counting<Box<dyn Read + Send>>>;

enum Input {
    Plain(Raw),
    Gzip(Box<flate2::read::MultiGzDecoder<Raw>>),
}

impl Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::Plain(r) => r.read(buf),
            Input::Gzip(r) => r.read(buf),
        }
    }
    fn raw_count(&self) -> u64 {
        match self {
            Input::Plain(r) => r.get_ref().1.count,
            Input::Gzip(r) => r.get_ref().get_ref().1.count,
        }
    }
}

/// Reads until `buf` is full or EOF; returns the number of bytes read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "(empty input)".to_string();
    }
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Clone, Copy, Debug)]
enum State {
    Pcap {
        big_endian: bool,
        nanos: bool,
        /// Record header length: 16, or 24 in the "modified" pcap format.
        rec_hdr: usize,
        link_type: LinkType,
        snaplen: u32,
    },
    PcapNg {
        big_endian: bool,
    },
    /// After the clean end or an error: every further call returns `Ok(None)`.
    Done,
}

/// Streaming reader over one capture.
pub struct CaptureReader {
    input: Input,
    format: CaptureFormat,
    state: State,
    buf: Vec<u8>,
    /// Unconsumed bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    eof: bool,
    /// Stream offset (decompressed) of `buf[start]`.
    offset: u64,
    /// Length of the record returned last; consumed at the next call so that the
    /// returned packet can borrow the buffer.
    pending: usize,
    /// pcapng interfaces of the current section.
    interfaces: Vec<Interface>,
    /// Simple Packet Blocks carry no timestamp: they get the last one seen.
    last_ts: Timestamp,
}

impl CaptureReader {
    /// Opens a file, or stdin when `path` is `-`.
    pub fn open(path: &Path) -> Result<CaptureReader, CaptureError> {
        if path.as_os_str() == "-" {
            return CaptureReader::from_reader(Box::new(io::stdin()));
        }
        let file = File::open(path).map_err(CaptureError::Open)?;
        if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(CaptureError::Open(io::Error::other("is a directory")));
        }
        CaptureReader::from_reader(Box::new(file))
    }

    /// Reads from any byte stream (used for stdin and tests).
    pub fn from_reader(
        reader: Box<dyn std::io::Read + Send>,
    ) -> Result<CaptureReader, CaptureError> {
        let mut counting = Counting {
            inner: reader,
            count: 0,
        };
        // Peek 2 bytes for the gzip magic; they are replayed in front of the stream.
        let mut peek = [0u8; 2];
        let n = read_full(&mut counting, &mut peek).map_err(CaptureError::Io)?;
        let raw = io::Cursor::new(peek[..n].to_vec()).chain(counting);
        let input = if n == 2 && peek == [0x1f, 0x8b] {
            Input::Gzip(Box::new(flate2::read::MultiGzDecoder::new(raw)))
        } else {
            Input::Plain(raw)
        };
        let mut r = CaptureReader {
            input,
            format: CaptureFormat::Pcap,
            state: State::Done,
            buf: vec![0; BUF_SIZE],
            start: 0,
            end: 0,
            eof: false,
            offset: 0,
            pending: 0,
            interfaces: Vec::new(),
            last_ts: Timestamp(0),
        };
        let gzip = matches!(r.input, Input::Gzip(_));
        match r.fill(4) {
            Ok(_) => {}
            // Gzip magic followed by garbage is "not a capture", not a corrupt capture.
            Err(CaptureError::Corrupt { reason, .. }) if gzip => {
                return Err(CaptureError::NotACapture(format!(
                    "1f 8b, invalid {reason}"
                )));
            }
            Err(e) => return Err(e),
        }
        let head = &r.buf[r.start..r.end];
        if head.len() < 4 {
            return Err(CaptureError::NotACapture(hex(head)));
        }
        let magic = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        match magic {
            SHB_TYPE => {
                r.format = CaptureFormat::PcapNg;
                // Endianness is read from the Section Header Block by next_packet.
                r.state = State::PcapNg { big_endian: false };
            }
            0xa1b2_c3d4 | 0xa1b2_3c4d | 0xa1b2_cd34 | 0xd4c3_b2a1 | 0x4d3c_b2a1 | 0x34cd_b2a1 => {
                r.read_pcap_header()?
            }
            _ => {
                let n = r.end.min(r.start + 16);
                return Err(CaptureError::NotACapture(hex(&r.buf[r.start..n])));
            }
        }
        Ok(r)
    }

    /// The detected container format.
    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// The interfaces declared so far in the current pcapng section (empty for pcap).
    pub fn interfaces(&self) -> &[Interface] {
        &self.interfaces
    }

    fn read_pcap_header(&mut self) -> Result<(), CaptureError> {
        if !self.fill(24)? {
            // Not "the last packet is incomplete": there is not even a file header.
            return Err(self.corrupt(
                self.end - self.start,
                format!(
                    "the file ends inside the pcap header ({} of 24 bytes)",
                    self.end - self.start
                ),
            ));
        }
        let h = &self.buf[self.start..self.start + 24];
        let (big_endian, nanos, modified) = match rd32(false, h, 0) {
            0xa1b2_c3d4 => (false, false, false),
            0xa1b2_3c4d => (false, true, false),
            0xa1b2_cd34 => (false, false, true),
            0xd4c3_b2a1 => (true, false, false),
            0x4d3c_b2a1 => (true, true, false),
            0x34cd_b2a1 => (true, false, true),
            _ => return Err(self.corrupt(0, "invalid pcap magic")),
        };
        let snaplen = rd32(big_endian, h, 16);
        // The upper bits of the field carry FCS information (libpcap's LT_LINKTYPE).
        let linktype = rd32(big_endian, h, 20) & 0x03FF_FFFF;
        let link_type =
            LinkType::from_linktype(linktype).ok_or(CaptureError::UnsupportedLinkType(linktype))?;
        self.state = State::Pcap {
            big_endian,
            nanos,
            // Kuznetzov's patched libpcap adds ifindex, protocol and pkt_type.
            rec_hdr: if modified { 24 } else { 16 },
            link_type,
            snaplen,
        };
        self.consume(24);
        Ok(())
    }

    /// The next packet, `Ok(None)` at a clean end of the capture.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        let pending = std::mem::take(&mut self.pending);
        self.consume(pending);
        let res = match self.state {
            State::Pcap {
                big_endian,
                nanos,
                rec_hdr,
                link_type,
                snaplen,
            } => self.next_pcap(big_endian, nanos, rec_hdr, link_type, snaplen),
            State::PcapNg { .. } => self.next_pcapng(),
            State::Done => Ok(None),
        };
        match res {
            Ok(Some(f)) => {
                self.pending = f.record_len;
                let data = &self.buf[self.start + f.data_off..self.start + f.data_off + f.caplen];
                Ok(Some(Packet {
                    ts: f.ts,
                    link_type: f.link_type,
                    data,
                    orig_len: f.orig_len,
                }))
            }
            Ok(None) => {
                self.state = State::Done;
                Ok(None)
            }
            Err(e) => {
                self.state = State::Done;
                Err(e)
            }
        }
    }

    /// Bytes consumed from the underlying (possibly compressed) input so far, for progress.
    pub fn bytes_read(&self) -> u64 {
        self.input.raw_count()
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
    }

    fn corrupt(&self, at: usize, reason: impl Into<String>) -> CaptureError {
        CaptureError::Corrupt {
            offset: self.offset + at as u64,
            reason: reason.into(),
        }
    }

    /// Makes at least `need` unconsumed bytes available; `false` when the input ends first.
    fn fill(&mut self, need: usize) -> Result<bool, CaptureError> {
        if self.end - self.start >= need {
            return Ok(true);
        }
        if need > MAX_BLOCK {
            return Err(self.corrupt(
                0,
                format!("record of {need} bytes exceeds the 256 MiB limit"),
            ));
        }
        if self.start + need > self.buf.len() {
            // Move the partial record to the front of the buffer.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.end - self.start < need {
            if self.eof {
                return Ok(false);
            }
            if self.end == self.buf.len() {
                // Only a record larger than the buffer gets here (start is 0). Grow in
                // steps as bytes arrive, so a bogus length in a short input cannot
                // force a huge allocation.
                let size = (self.buf.len() * 2).min(need);
                self.buf.resize(size, 0);
            }
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // A corrupt gzip stream surfaces as InvalidInput/InvalidData.
                    let gzip = matches!(self.input, Input::Gzip(_));
                    return Err(match e.kind() {
                        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput if gzip => {
                            self.corrupt(self.end - self.start, format!("gzip: {e}"))
                        }
                        io::ErrorKind::UnexpectedEof if gzip => CaptureError::Truncated {
                            offset: self.offset + (self.end - self.start) as u64,
                        },
                        _ => CaptureError::Io(e),
                    });
                }
            }
        }
        Ok(true)
    }

    /// Bytes available but fewer than a record: clean end only when nothing is left.
    fn end_or_truncated(&self) -> Result<Option<Frame>, CaptureError> {
        if self.end == self.start {
            Ok(None)
        } else {
            Err(self.pcapng_truncated())
        }
    }

    /// A pcapng that ends inside a block: a warning, unless it ends inside the very first
    /// section header (then there is no capture at all, as for a cut pcap file header).
    fn pcapng_truncated(&self) -> CaptureError {
        if self.offset == 0 {
            let have = self.end - self.start;
            CaptureError::Corrupt {
                offset: have as u64,
                reason: format!("the file ends inside the pcapng section header ({have} bytes)"),
            }
        } else {
            CaptureError::Truncated {
                offset: self.offset,
            }
        }
    }

    fn next_pcap(
        &mut self,
        be: bool,
        nanos: bool,
        rec_hdr: usize,
        link_type: LinkType,
        snaplen: u32,
    ) -> Result<Option<Frame>, CaptureError> {
        if !self.fill(rec_hdr)? {
            return self.end_or_truncated();
        }
        let h = &self.buf[self.start..self.start + rec_hdr];
        let secs = rd32(be, h, 0);
        let frac = rd32(be, h, 4);
        let caplen = rd32(be, h, 8);
        let orig_len = rd32(be, h, 12);
        if caplen > snaplen.max(MAX_PCAP_SNAPLEN) {
            return Err(self.corrupt(
                0,
                format!("packet length {caplen} exceeds the snap length {snaplen}"),
            ));
        }
        let record_len = rec_hdr + caplen as usize;
        if !self.fill(record_len)? {
            return Err(CaptureError::Truncated {
                offset: self.offset,
            });
        }
        let frac_ns = if nanos {
            frac as i64
        } else {
            frac as i64 * 1000
        };
        Ok(Some(Frame {
            ts: Timestamp::from_secs_nanos(secs as i64, frac_ns),
            link_type,
            data_off: rec_hdr,
            caplen: caplen as usize,
            orig_len,
            record_len,
        }))
    }

    fn next_pcapng(&mut self) -> Result<Option<Frame>, CaptureError> {
        loop {
            let State::PcapNg { big_endian } = self.state else {
                return Ok(None);
            };
            if !self.fill(8)? {
                return self.end_or_truncated();
            }
            let btype_le = rd32(false, &self.buf[self.start..], 0);
            let mut be = big_endian;
            if btype_le == SHB_TYPE {
                // The SHB's own byte-order magic decides the section's endianness.
                if !self.fill(12)? {
                    return self.end_or_truncated();
                }
                let magic = &self.buf[self.start + 8..self.start + 12];
                be = match rd32(false, magic, 0) {
                    BYTE_ORDER_MAGIC => false,
                    0x4D3C_2B1A => true,
                    _ => return Err(self.corrupt(8, "invalid section header byte-order magic")),
                };
            }
            let b = &self.buf[self.start..];
            let btype = rd32(be, b, 0);
            let blen = rd32(be, b, 4) as usize;
            if blen < 12 || !blen.is_multiple_of(4) {
                return Err(self.corrupt(4, format!("invalid block length {blen}")));
            }
            if blen > MAX_BLOCK {
                return Err(self.corrupt(
                    4,
                    format!("block of {blen} bytes exceeds the 256 MiB limit"),
                ));
            }
            if !self.fill(blen)? {
                return Err(self.pcapng_truncated());
            }
            let b = &self.buf[self.start..self.start + blen];
            if rd32(be, b, blen - 4) as usize != blen {
                return Err(self.corrupt(blen - 4, "block trailing length does not match"));
            }
            match btype {
                SHB_TYPE => {
                    if blen < 28 {
                        return Err(self.corrupt(4, "section header block too short"));
                    }
                    let major = rd16(be, b, 12);
                    if major != 1 {
                        return Err(self.corrupt(12, format!("unsupported pcapng version {major}")));
                    }
                    self.state = State::PcapNg { big_endian: be };
                    self.interfaces.clear();
                }
                IDB_TYPE => {
                    let iface = parse_idb(be, b).map_err(|r| self.corrupt(0, r))?;
                    self.interfaces.push(iface);
                }
                EPB_TYPE | OPB_TYPE => {
                    if blen < 32 {
                        return Err(self.corrupt(4, "packet block too short"));
                    }
                    let if_id = if btype == EPB_TYPE {
                        rd32(be, b, 8)
                    } else {
                        rd16(be, b, 8) as u32
                    };
                    let ts_raw = ((rd32(be, b, 12) as u64) << 32) | rd32(be, b, 16) as u64;
                    let caplen = rd32(be, b, 20) as usize;
                    let orig_len = rd32(be, b, 24);
                    if caplen > blen - 32 {
                        return Err(
                            self.corrupt(20, format!("captured length {caplen} exceeds its block"))
                        );
                    }
                    let iface = self.packet_interface(if_id)?;
                    let ts = iface_ts(&iface, ts_raw);
                    self.last_ts = ts;
                    return Ok(Some(Frame {
                        ts,
                        link_type: iface.link_type.unwrap_or(LinkType::Raw),
                        data_off: 28,
                        caplen,
                        orig_len,
                        record_len: blen,
                    }));
                }
                SPB_TYPE => {
                    if blen < 16 {
                        return Err(self.corrupt(4, "simple packet block too short"));
                    }
                    let iface = self.packet_interface(0)?;
                    let orig_len = rd32(be, b, 8);
                    // The captured length is implied: min(original, snaplen), bounded by
                    // the block (snaplen 0 means unlimited).
                    let mut caplen = (orig_len as usize).min(blen - 16);
                    if iface.snaplen != 0 {
                        caplen = caplen.min(iface.snaplen as usize);
                    }
                    return Ok(Some(Frame {
                        ts: self.last_ts,
                        link_type: iface.link_type.unwrap_or(LinkType::Raw),
                        data_off: 12,
                        caplen,
                        orig_len,
                        record_len: blen,
                    }));
                }
                // NRB, ISB, DSB, custom and unknown blocks carry no packets.
                _ => {}
            }
            self.consume(blen);
        }
    }

    /// The interface a packet block refers to; errors when undeclared or unsupported.
    fn packet_interface(&self, if_id: u32) -> Result<Interface, CaptureError> {
        let Some(iface) = self.interfaces.get(if_id as usize) else {
            return Err(self.corrupt(8, format!("packet on undeclared interface {if_id}")));
        };
        if iface.link_type.is_none() {
            return Err(CaptureError::UnsupportedLinkType(iface.linktype));
        }
        Ok(*iface)
    }
}

/// Position of one packet inside the unconsumed buffer (kept as offsets so that the
/// borrow of the buffer is taken once, after all mutation).
struct Frame {
    ts: Timestamp,
    link_type: LinkType,
    data_off: usize,
    caplen: usize,
    orig_len: u32,
    record_len: usize,
}

fn rd32(be: bool, b: &[u8], at: usize) -> u32 {
    let a = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if be {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

fn rd16(be: bool, b: &[u8], at: usize) -> u16 {
    let a = [b[at], b[at + 1]];
    if be {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    }
}

/// Parses an IDB (the whole block) with pcap-parser; tsresol/tsoffset are decoded here
/// because pcap-parser reads `if_tsoffset` as little-endian in big-endian sections.
fn parse_idb(be: bool, block: &[u8]) -> Result<Interface, String> {
    let parsed = if be {
        pcap_parser::parse_interfacedescriptionblock_be(block)
    } else {
        pcap_parser::parse_interfacedescriptionblock_le(block)
    };
    let idb = match parsed {
        Ok((_, idb)) => idb,
        Err(e) => return Err(format!("invalid interface description block: {e:?}")),
    };
    let mut tsresol = 6u8;
    let mut tsoffset = 0i64;
    for opt in &idb.options {
        let v = opt.as_bytes().unwrap_or(&[]);
        match opt.code.0 {
            9 if !v.is_empty() => tsresol = v[0],
            14 if v.len() >= 8 => {
                let a: [u8; 8] = [v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]];
                tsoffset = if be {
                    i64::from_be_bytes(a)
                } else {
                    i64::from_le_bytes(a)
                };
            }
            _ => {}
        }
    }
    let linktype = idb.linktype.0 as u32;
    Ok(Interface {
        linktype,
        link_type: LinkType::from_linktype(linktype),
        snaplen: idb.snaplen,
        tsresol,
        tsoffset,
    })
}

/// Converts a raw pcapng timestamp in the interface's units to epoch nanoseconds.
fn iface_ts(iface: &Interface, raw: u64) -> Timestamp {
    let raw = raw as i128;
    let r = iface.tsresol;
    let ns: i128 = if r & 0x80 == 0 {
        let e = r as u32;
        if e <= 9 {
            raw * 10i128.pow(9 - e)
        } else {
            match 10i128.checked_pow(e - 9) {
                Some(d) => raw / d,
                None => 0,
            }
        }
    } else {
        // Power-of-two units: raw / 2^e seconds. e ≤ 127 and raw·10⁹ < 2^94, so the
        // shift cannot overflow.
        (raw * 1_000_000_000) >> (r & 0x7f) as u32
    };
    let ns = ns + iface.tsoffset as i128 * 1_000_000_000;
    Timestamp(ns.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
}

#[cfg(test)]
mod tests;
