//! JSON Lines: one `session` record per session, `unmatched_data` records, and a closing
//! `summary`. The keys are a contract (README "JSON Lines output"): change them only
//! with the README and a version note.

use crate::findings::Finding;
use crate::ftp::{Direction, TransferKind};
use crate::model::{
    Anomaly, Command, DataConnection, Opener, Session, Summary, Transfer, UnmatchedData,
};
use crate::session::SessionSink;
use crate::time::Timestamp;
use serde::Serialize;
use serde::ser::Serializer;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;

/// Epoch seconds, serialised as the float nearest to the exact decimal (so a microsecond
/// timestamp prints as its six decimals).
struct Secs(Timestamp);

impl Serialize for Secs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0.nanos();
        let text = format!(
            "{}.{:09}",
            t.div_euclid(1_000_000_000),
            t.rem_euclid(1_000_000_000)
        );
        s.serialize_f64(text.parse().unwrap_or(self.0.as_secs_f64()))
    }
}

#[derive(Serialize)]
struct Endpoint {
    ip: String,
    port: u16,
}

impl From<SocketAddr> for Endpoint {
    fn from(a: SocketAddr) -> Self {
        Endpoint {
            ip: a.ip().to_string(),
            port: a.port(),
        }
    }
}

#[derive(Serialize)]
struct JReply<'a> {
    ts: Secs,
    code: u16,
    text: &'a str,
}

#[derive(Serialize)]
struct JCommand<'a> {
    ts: Secs,
    command: &'a str,
    arg: Option<&'a str>,
    replies: Vec<JReply<'a>>,
}

#[derive(Serialize)]
struct JData {
    client: Endpoint,
    server: Endpoint,
    opened_by: &'static str,
}

#[derive(Serialize)]
struct JTransfer<'a> {
    command: &'a str,
    arg: Option<&'a str>,
    kind: &'static str,
    direction: &'static str,
    mode: Option<&'static str>,
    data: Option<JData>,
    bytes: u64,
    sha256: Option<&'a str>,
    rest: Option<u64>,
    complete: bool,
    final_code: Option<u16>,
    start: Secs,
    end: Secs,
}

#[derive(Serialize)]
struct JAnomaly<'a> {
    kind: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct JEvidence<'a> {
    ts: Secs,
    frame: Option<u64>,
    from: &'static str,
    text: &'a str,
}

#[derive(Serialize)]
struct JFinding<'a> {
    kind: &'a str,
    severity: &'static str,
    transfer: Option<usize>,
    ts: Secs,
    message: &'a str,
    evidence: Vec<JEvidence<'a>>,
}

fn finding(f: &Finding) -> JFinding<'_> {
    JFinding {
        kind: f.kind,
        severity: f.severity.as_str(),
        transfer: f.transfer,
        ts: Secs(f.ts),
        message: &f.message,
        evidence: f
            .evidence
            .iter()
            .map(|e| JEvidence {
                ts: Secs(e.ts),
                frame: e.frame,
                from: if e.from_client { "client" } else { "server" },
                text: &e.text,
            })
            .collect(),
    }
}

#[derive(Serialize)]
struct JSession<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    id: u64,
    file: &'a str,
    client: Endpoint,
    server: Endpoint,
    start: Secs,
    end: Secs,
    user: Option<&'a str>,
    tls: bool,
    commands: Vec<JCommand<'a>>,
    transfers: Vec<JTransfer<'a>>,
    anomalies: Vec<JAnomaly<'a>>,
    findings: Vec<JFinding<'a>>,
}

#[derive(Serialize)]
struct JUnmatched<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    file: &'a str,
    session: Option<u64>,
    client: Endpoint,
    server: Endpoint,
    opened_by: &'static str,
    start: Secs,
    end: Secs,
    bytes_from_client: u64,
    bytes_from_server: u64,
    sha256_from_client: &'a str,
    sha256_from_server: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
struct JSummary<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    files: usize,
    packets: u64,
    bytes: u64,
    sessions: u64,
    transfers: u64,
    unmatched_data: u64,
    tcp_connections: u64,
    undecodable_packets: u64,
    anomalies: &'a BTreeMap<String, u64>,
    warnings: &'a [String],
}

fn opener(o: Opener) -> &'static str {
    match o {
        Opener::Client => "client",
        Opener::Server => "server",
    }
}

fn data(d: &DataConnection) -> JData {
    JData {
        client: d.client.into(),
        server: d.server.into(),
        opened_by: opener(d.opened_by),
    }
}

fn command(c: &Command) -> JCommand<'_> {
    JCommand {
        ts: Secs(c.ts),
        command: &c.verb,
        arg: c.arg.as_deref(),
        replies: c
            .replies
            .iter()
            .map(|r| JReply {
                ts: Secs(r.ts),
                code: r.code,
                text: &r.text,
            })
            .collect(),
    }
}

fn transfer(t: &Transfer) -> JTransfer<'_> {
    JTransfer {
        command: &t.command,
        arg: t.arg.as_deref(),
        kind: match t.kind {
            TransferKind::File => "file",
            TransferKind::Listing => "listing",
        },
        direction: match t.direction {
            Direction::Download => "download",
            Direction::Upload => "upload",
        },
        mode: t.mode.map(|m| m.as_str()),
        data: t.data.as_ref().map(data),
        bytes: t.bytes,
        sha256: t.sha256.as_deref(),
        rest: t.rest,
        complete: t.complete,
        final_code: t.final_code,
        start: Secs(t.start),
        end: Secs(t.end),
    }
}

fn anomaly(a: &Anomaly) -> JAnomaly<'_> {
    JAnomaly {
        kind: a.kind,
        message: &a.message,
    }
}

/// Serialises one session as a JSON object (no trailing newline).
pub fn session_json(s: &Session) -> String {
    let j = JSession {
        ty: "session",
        id: s.id,
        file: &s.file,
        client: s.client.into(),
        server: s.server.into(),
        start: Secs(s.start),
        end: Secs(s.end),
        user: s.user.as_deref(),
        tls: s.tls,
        commands: s.commands.iter().map(command).collect(),
        transfers: s.transfers.iter().map(transfer).collect(),
        anomalies: s.anomalies.iter().map(anomaly).collect(),
        findings: s.findings.iter().map(finding).collect(),
    };
    serde_json::to_string(&j).expect("serialising plain data cannot fail")
}

pub fn unmatched_json(u: &UnmatchedData) -> String {
    let d = &u.conn;
    let j = JUnmatched {
        ty: "unmatched_data",
        file: &u.file,
        session: u.session,
        client: d.client.into(),
        server: d.server.into(),
        opened_by: opener(d.opened_by),
        start: Secs(d.start),
        end: Secs(d.end),
        bytes_from_client: d.bytes_from_client,
        bytes_from_server: d.bytes_from_server,
        sha256_from_client: &d.sha256_from_client,
        sha256_from_server: &d.sha256_from_server,
        reason: &u.reason,
    };
    serde_json::to_string(&j).expect("serialising plain data cannot fail")
}

pub fn summary_json(s: &Summary) -> String {
    let j = JSummary {
        ty: "summary",
        files: s.files,
        packets: s.packets,
        bytes: s.bytes,
        sessions: s.sessions,
        transfers: s.transfers,
        unmatched_data: s.unmatched_data,
        tcp_connections: s.tcp_connections,
        undecodable_packets: s.undecodable_packets,
        anomalies: &s.anomalies,
        warnings: &s.warnings,
    };
    serde_json::to_string(&j).expect("serialising plain data cannot fail")
}

/// Writes records as they come. Write errors (a closed pipe) are kept and reported once.
pub struct JsonLines<W: Write> {
    out: W,
    pub error: Option<std::io::Error>,
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W) -> Self {
        JsonLines { out, error: None }
    }

    fn line(&mut self, text: String) {
        // Flushed per record: a live pipeline (stdin from tcpdump) sees each session as it ends.
        if self.error.is_none()
            && let Err(e) = writeln!(self.out, "{text}").and_then(|()| self.out.flush())
        {
            self.error = Some(e);
        }
    }

    pub fn summary(&mut self, s: &Summary) {
        self.line(summary_json(s));
        if let Err(e) = self.out.flush() {
            self.error.get_or_insert(e);
        }
    }
}

impl<W: Write> SessionSink for JsonLines<W> {
    fn session(&mut self, session: Session) {
        self.line(session_json(&session));
    }
    fn unmatched(&mut self, data: UnmatchedData) {
        self.line(unmatched_json(&data));
    }
}
