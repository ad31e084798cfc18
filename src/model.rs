//! The analysis result: sessions, their commands, replies and transfers, data connections
//! no command claimed, anomalies. Renderers draw this; nothing here parses or prints.

use crate::time::Timestamp;
use std::collections::BTreeMap;
use std::net::SocketAddr;

pub use crate::ftp::{Direction, TransferKind};

/// How a transfer's data connection was set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// PORT: the server connects to the client.
    Active,
    /// PASV: the client connects to the server.
    Passive,
    Eprt,
    Epsv,
    Lprt,
    Lpsv,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Active => "active",
            Mode::Passive => "passive",
            Mode::Eprt => "eprt",
            Mode::Epsv => "epsv",
            Mode::Lprt => "lprt",
            Mode::Lpsv => "lpsv",
        }
    }
    /// Whether the client opens the data connection.
    pub fn client_connects(self) -> bool {
        matches!(self, Mode::Passive | Mode::Epsv | Mode::Lpsv)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub ts: Timestamp,
    pub code: u16,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub ts: Timestamp,
    /// Upper-cased verb.
    pub verb: String,
    /// The argument as sent (a password is masked unless asked otherwise); `None` when absent.
    pub arg: Option<String>,
    pub replies: Vec<Reply>,
}

impl Command {
    pub fn final_reply(&self) -> Option<&Reply> {
        self.replies.iter().rev().find(|r| r.code >= 200)
    }
}

/// Who opened a data connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opener {
    Client,
    Server,
}

/// One TCP data connection: what crossed it and how it began and ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataConnection {
    /// The TCP connection's id in this run (stable while the run lasts; ties streamed data
    /// to the transfer it turns out to belong to).
    pub id: u64,
    /// The FTP client's end.
    pub client: SocketAddr,
    /// The FTP server's end.
    pub server: SocketAddr,
    pub opened_by: Opener,
    /// The SYN was captured.
    pub syn_seen: bool,
    pub start: Timestamp,
    pub end: Timestamp,
    /// Bytes the server sent and the client sent.
    pub bytes_from_server: u64,
    pub bytes_from_client: u64,
    /// SHA-256 (hex) of the bytes each side sent.
    pub sha256_from_server: String,
    pub sha256_from_client: String,
    /// Bytes missing from the capture, per sender.
    pub gap_bytes_from_server: u64,
    pub gap_bytes_from_client: u64,
    pub retransmitted_bytes: u64,
    pub first_data: Option<Timestamp>,
    pub last_data: Option<Timestamp>,
    pub packets: u64,
    /// Segments carrying payload, per sender (retransmissions included).
    pub data_segments_from_server: u64,
    pub data_segments_from_client: u64,
    /// Ended by a RST rather than FINs.
    pub reset: bool,
    /// Closed by FIN or RST (false: the capture ended or the connection went idle).
    pub closed: bool,
    /// Its segments: handshake and teardown always, every one with `SegmentDetail::All`.
    pub segments: Vec<SegmentRecord>,
    /// The first bytes each side sent (up to `DATA_HEAD` each): enough to tell a TLS
    /// record from cleartext and text from binary content.
    pub head_from_server: Vec<u8>,
    pub head_from_client: Vec<u8>,
}

/// How many leading bytes of each side of a data connection are kept.
pub const DATA_HEAD: usize = 64;

/// One TCP segment as diagrams show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentRecord {
    /// 1-based packet number in its capture file.
    pub frame: u64,
    pub ts: Timestamp,
    pub from_client: bool,
    /// TCP flags byte (see `decode::TcpFlags`).
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    /// Payload length on the wire.
    pub len: u32,
}

/// Which segments are kept in the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SegmentDetail {
    /// Handshake (SYN, SYN-ACK, the first ACK) and teardown (FIN, RST) only.
    #[default]
    Notable,
    /// Every segment (for packet-level ladders), up to a bound per connection.
    All,
}

/// The DNS lookup that resolved the server's address for the client, when captured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsLookup {
    pub name: String,
    /// The client host's resolver end and the DNS server.
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub query_ts: Option<Timestamp>,
    pub response_ts: Timestamp,
    pub answers: Vec<std::net::IpAddr>,
    pub query_frame: Option<u64>,
    pub response_frame: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// Index into the session's `commands` of the transfer command.
    pub command_index: usize,
    pub command: String,
    pub arg: Option<String>,
    pub kind: TransferKind,
    pub direction: Direction,
    /// `None` when no PORT/PASV-like command preceded it.
    pub mode: Option<Mode>,
    /// The endpoint announced by PORT/EPRT/LPRT or the 227/229/228 reply.
    pub announced: Option<SocketAddr>,
    pub data: Option<DataConnection>,
    /// Bytes in the transfer's direction (0 without a data connection).
    pub bytes: u64,
    pub sha256: Option<String>,
    pub rest: Option<u64>,
    /// Size announced by the 150 reply's "(N bytes)".
    pub announced_size: Option<u64>,
    /// TYPE in force ("A", "I", …) when known.
    pub type_code: Option<String>,
    pub final_code: Option<u16>,
    pub complete: bool,
    /// The data connection's bytes are TLS-protected (PROT P after AUTH).
    pub encrypted: bool,
    pub start: Timestamp,
    pub end: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anomaly {
    pub ts: Timestamp,
    pub kind: &'static str,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: u64,
    /// The capture file it came from.
    pub file: String,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub start: Timestamp,
    pub end: Timestamp,
    /// The user that logged in, else the last one tried.
    pub user: Option<String>,
    pub logged_in: bool,
    pub tls: bool,
    /// The greeting (220 or other reply sent before any command).
    pub banner: Option<Reply>,
    pub commands: Vec<Command>,
    pub transfers: Vec<Transfer>,
    pub anomalies: Vec<Anomaly>,
    /// Control connection: SYN captured, closed by FIN/RST, reset.
    pub control_syn_seen: bool,
    pub control_closed: bool,
    pub control_reset: bool,
    pub control_packets: u64,
    /// The control connection's segments (as `DataConnection::segments`).
    pub control_segments: Vec<SegmentRecord>,
    pub dns: Option<DnsLookup>,
    /// When the control connection went back to cleartext after AUTH (CCC: the client sent
    /// a cleartext command inside what was a TLS channel). Those commands are not parsed.
    pub tls_cleared: Option<Timestamp>,
    /// Diagnosis of what went wrong, computed when the session is concluded (`findings`).
    pub findings: Vec<crate::findings::Finding>,
}

/// A data-looking connection no transfer command claimed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnmatchedData {
    pub file: String,
    /// The session whose announced endpoint it matched, if any.
    pub session: Option<u64>,
    pub conn: DataConnection,
    pub reason: String,
}

/// Totals for one run over one or more captures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub files: usize,
    pub packets: u64,
    pub bytes: u64,
    pub sessions: u64,
    pub transfers: u64,
    pub unmatched_data: u64,
    pub tcp_connections: u64,
    /// Packets that could not be decoded (malformed headers).
    pub undecodable_packets: u64,
    /// Anomaly counts by kind, sessions' and global ones.
    pub anomalies: BTreeMap<String, u64>,
    /// Warnings such as a truncated capture.
    pub warnings: Vec<String>,
}

/// A session's overall state, as a support engineer would first ask about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SessionStatus {
    Ok,
    /// Logins were tried and none succeeded.
    FailedLogin,
    /// A transfer failed or is incomplete.
    FailedTransfer,
    /// Commands are encrypted: nothing more can be said.
    Tls,
    /// The control connection did not close within the capture.
    Open,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Ok => "ok",
            SessionStatus::FailedLogin => "failed login",
            SessionStatus::FailedTransfer => "failed transfer",
            SessionStatus::Tls => "tls",
            SessionStatus::Open => "open",
        }
    }
}

impl Session {
    pub fn status(&self) -> SessionStatus {
        let tried_login = self
            .commands
            .iter()
            .any(|c| c.verb == "USER" || c.verb == "PASS");
        if self.transfers.iter().any(|t| !t.complete) {
            SessionStatus::FailedTransfer
        } else if tried_login && !self.logged_in && !self.tls {
            SessionStatus::FailedLogin
        } else if self.tls {
            SessionStatus::Tls
        } else if !self.control_closed {
            SessionStatus::Open
        } else {
            SessionStatus::Ok
        }
    }

    /// Bytes moved by all transfers.
    pub fn transfer_bytes(&self) -> u64 {
        self.transfers.iter().map(|t| t.bytes).sum()
    }
}
