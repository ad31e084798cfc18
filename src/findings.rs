//! Diagnosis: what went wrong in a finished session, said so a person can act on it.
//!
//! `analyse` is a pure function of a concluded `Session` and the data connections of that
//! session no transfer claimed. `Tracker` adds the little state that spans sessions (failed
//! logins per client address, for brute force; findings on a TLS session's data connections,
//! which are handed out before their session) and stays bounded.

use crate::ftp::{self, Direction, TransferKind};
use crate::model::{Command, DataConnection, Opener, SegmentRecord, Session, UnmatchedData};
use crate::time::Timestamp;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One packet or one control line that shows what a finding says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub ts: Timestamp,
    /// Packet number in the session's capture file (packets only; lines span packets).
    pub frame: Option<u64>,
    /// Sent by the FTP client (else by the server).
    pub from_client: bool,
    /// The line as recorded (passwords masked unless asked otherwise), or the packet
    /// described as "SYN 10.0.0.1:20 → 10.0.0.2:41000".
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Stable kebab-case name (README "Findings"; `KINDS`).
    pub kind: &'static str,
    pub severity: Severity,
    /// Index into the session's `transfers`.
    pub transfer: Option<usize>,
    pub ts: Timestamp,
    pub message: String,
    pub evidence: Vec<Evidence>,
}

/// Every finding kind, its severity and what it means (the README table is this list).
pub const KINDS: &[(&str, Severity, &str)] = &[
    (
        "cleartext-credentials",
        Severity::Warning,
        "PASS sent on an unencrypted control connection (info for anonymous logins)",
    ),
    (
        "anonymous-login",
        Severity::Info,
        "logged in as anonymous or ftp",
    ),
    (
        "failed-login",
        Severity::Warning,
        "login attempts answered 530",
    ),
    (
        "brute-force",
        Severity::Error,
        "5 or more failed logins from one client address within 10 minutes, across sessions",
    ),
    (
        "data-connection-failed",
        Severity::Error,
        "425: the server could not open the data connection, no attempt captured",
    ),
    (
        "data-syn-unanswered",
        Severity::Error,
        "the client's SYN to the passive data port got no answer (a firewall drops it)",
    ),
    (
        "data-syn-reset",
        Severity::Error,
        "the client's SYN to the passive data port was answered by RST",
    ),
    (
        "port-unreachable",
        Severity::Error,
        "the server could not connect to the PORT/EPRT/LPRT endpoint (425, SYN reset or unanswered)",
    ),
    (
        "pasv-foreign-address",
        Severity::Warning,
        "a 227/228 reply announces an address other than the server's (NAT, private address)",
    ),
    (
        "port-third-host",
        Severity::Warning,
        "PORT/EPRT/LPRT announces an address other than the client's (NAT, FXP or bounce)",
    ),
    (
        "transfer-failed",
        Severity::Error,
        "a transfer command got a 4xx/5xx reply (other than 425 and 426)",
    ),
    (
        "transfer-aborted",
        Severity::Error,
        "a transfer ended with 426 or was aborted with ABOR",
    ),
    (
        "transfer-incomplete",
        Severity::Error,
        "the bytes disagree with the 150 reply or SIZE, or no final reply was captured",
    ),
    (
        "capture-gap",
        Severity::Warning,
        "data of a transfer is missing from the capture (gaps, or no data connection captured)",
    ),
    (
        "ascii-binary",
        Severity::Warning,
        "TYPE A (ASCII) used for content that looks binary: it may be corrupted",
    ),
    (
        "slow-reply",
        Severity::Warning,
        "the server took more than 5 s to answer a command",
    ),
    (
        "transfer-stalled",
        Severity::Warning,
        "no data moved on a transfer's data connection for more than 30 s",
    ),
    (
        "control-reset",
        Severity::Warning,
        "the control connection was ended by a TCP RST",
    ),
    (
        "tls-cleared",
        Severity::Warning,
        "the control connection went back to cleartext after AUTH (CCC)",
    ),
    (
        "cleartext-data",
        Severity::Warning,
        "a data connection of a TLS session carries cleartext (PROT C)",
    ),
    (
        "findings-truncated",
        Severity::Info,
        "more findings than the per-session limit; the rest were counted",
    ),
];

/// Severity of a kind listed in `KINDS`.
pub fn severity_of(kind: &str) -> Option<Severity> {
    KINDS.iter().find(|k| k.0 == kind).map(|k| k.1)
}

/// A server reply slower than this is a finding.
pub const SLOW_REPLY_NS: i64 = 5_000_000_000;
/// A data connection idle this long within a transfer has stalled.
pub const STALL_NS: i64 = 30_000_000_000;
/// Failed logins from one address within `BRUTE_WINDOW_NS` that make a brute force attempt.
pub const BRUTE_THRESHOLD: usize = 5;
pub const BRUTE_WINDOW_NS: i64 = 600_000_000_000;
/// Findings kept per session.
pub const MAX_FINDINGS: usize = 100;
/// Evidence items kept per finding.
const MAX_EVIDENCE: usize = 12;
/// Client addresses remembered for brute force detection.
const MAX_TRACKED_IPS: usize = 10_000;
/// Findings held per session for its TLS data connections until the session is written.
const MAX_PENDING: usize = 32;

fn finding(
    kind: &'static str,
    transfer: Option<usize>,
    ts: Timestamp,
    message: String,
    mut evidence: Vec<Evidence>,
) -> Finding {
    evidence.truncate(MAX_EVIDENCE);
    Finding {
        kind,
        severity: severity_of(kind).unwrap_or(Severity::Warning),
        transfer,
        ts,
        message,
        evidence,
    }
}

/// The command as a line of evidence, and its replies.
fn command_lines(c: &Command) -> Vec<Evidence> {
    let mut v = vec![Evidence {
        ts: c.ts,
        frame: None,
        from_client: true,
        text: match &c.arg {
            Some(a) => format!("{} {a}", c.verb),
            None => c.verb.clone(),
        },
    }];
    v.extend(c.replies.iter().map(|r| Evidence {
        ts: r.ts,
        frame: None,
        from_client: false,
        text: format!("{} {}", r.code, r.text.lines().next().unwrap_or("")),
    }));
    v
}

fn flag_names(flags: u8) -> String {
    let names = [(0x02, "SYN"), (0x01, "FIN"), (0x04, "RST"), (0x10, "ACK")];
    let v: Vec<&str> = names
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    v.join("+")
}

fn segment_evidence(
    s: &SegmentRecord,
    client: std::net::SocketAddr,
    server: std::net::SocketAddr,
) -> Evidence {
    let (from, to) = if s.from_client {
        (client, server)
    } else {
        (server, client)
    };
    Evidence {
        ts: s.ts,
        frame: Some(s.frame),
        from_client: s.from_client,
        text: format!("{} {from} → {to}", flag_names(s.flags)),
    }
}

const F_SYN: u8 = 0x02;
const F_RST: u8 = 0x04;
const F_ACK: u8 = 0x10;

/// How a data connection's opening went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Opening {
    Ok,
    /// SYNs from the opener, nothing back.
    Unanswered,
    /// The SYN was answered by RST.
    Reset,
}

fn opening(dc: &DataConnection) -> Opening {
    if dc.bytes_from_client > 0 || dc.bytes_from_server > 0 || !dc.syn_seen {
        return Opening::Ok;
    }
    let opener_is_client = dc.opened_by == Opener::Client;
    let mut syn = false;
    let mut answered = false;
    let mut reset = false;
    for s in &dc.segments {
        let from_opener = s.from_client == opener_is_client;
        if from_opener && s.flags & F_SYN != 0 && s.flags & F_ACK == 0 {
            syn = true;
        } else if !from_opener && s.flags & F_SYN != 0 {
            answered = true;
        } else if !from_opener && s.flags & F_RST != 0 && !answered {
            reset = true;
        }
    }
    match (syn, answered, reset) {
        (true, false, true) => Opening::Reset,
        (true, false, false) => Opening::Unanswered,
        _ => Opening::Ok,
    }
}

fn dc_evidence(dc: &DataConnection) -> Vec<Evidence> {
    dc.segments
        .iter()
        .map(|s| segment_evidence(s, dc.client, dc.server))
        .collect()
}

/// Whether a TLS record starts these bytes (content type 0x14..=0x17, version 3.x).
fn looks_like_tls(head: &[u8]) -> bool {
    head.len() >= 2 && (0x14..=0x17).contains(&head[0]) && head[1] == 0x03
}

/// Content that ASCII mode would corrupt: NUL bytes, invalid UTF-8, or many control bytes.
pub fn looks_binary(head: &[u8]) -> bool {
    if head.is_empty() {
        return false;
    }
    if head.contains(&0) {
        return true;
    }
    if let Err(e) = std::str::from_utf8(head)
        && e.error_len().is_some()
    {
        return true;
    }
    let control = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b))
        .count();
    control * 10 >= head.len()
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => {
            v.is_private()
                || v.is_loopback()
                || v.is_link_local()
                || v.octets()[0] == 100 && (64..128).contains(&v.octets()[1])
        }
        IpAddr::V6(v) => {
            v.is_loopback()
                || (v.segments()[0] & 0xfe00) == 0xfc00
                || (v.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// A cleartext data connection under a TLS control channel.
fn cleartext_data(dc: &DataConnection) -> Option<Finding> {
    let heads = [&dc.head_from_client, &dc.head_from_server];
    if heads.iter().all(|h| h.is_empty()) || heads.iter().any(|h| looks_like_tls(h)) {
        return None;
    }
    Some(finding(
        "cleartext-data",
        None,
        dc.first_data.unwrap_or(dc.start),
        format!(
            "data connection {} → {} of a TLS session carries cleartext ({} B from the server, {} B from the client): the data channel is not protected (PROT C); require PROT P on the server (vsftpd: force_local_data_ssl=YES)",
            dc.client, dc.server, dc.bytes_from_server, dc.bytes_from_client
        ),
        dc_evidence(dc),
    ))
}

/// A data connection whose SYN failed, not tied to any transfer.
fn failed_opening(dc: &DataConnection, transfer: Option<usize>) -> Option<Finding> {
    let how = opening(dc);
    if how == Opening::Ok {
        return None;
    }
    let (opener, target) = match dc.opened_by {
        Opener::Client => ("client", dc.server),
        Opener::Server => ("server", dc.client),
    };
    let what = match how {
        Opening::Reset => "was answered by RST: nothing listens there, or a firewall rejects it",
        _ => "was never answered: a firewall drops it, or the address is not reachable",
    };
    let kind = match (dc.opened_by, how) {
        (Opener::Server, _) => "port-unreachable",
        (_, Opening::Reset) => "data-syn-reset",
        _ => "data-syn-unanswered",
    };
    Some(finding(
        kind,
        transfer,
        dc.start,
        format!("the {opener}'s SYN to {target} {what}"),
        dc_evidence(dc),
    ))
}

/// Computes the findings of a finished session. `unclaimed` are its data connections no
/// transfer claimed (refused commands, failed connection attempts).
pub fn analyse(s: &Session, unclaimed: &[&DataConnection]) -> Vec<Finding> {
    let mut out = Vec::new();
    logins(s, &mut out);
    let mut used = vec![false; unclaimed.len()];
    let mut earlier = Earlier::new(&s.commands);
    for ti in 0..s.transfers.len() {
        earlier.advance(s.transfers[ti].command_index);
        transfer(s, ti, &earlier, unclaimed, &mut used, &mut out);
    }
    for (i, dc) in unclaimed.iter().enumerate() {
        if used[i] {
            continue;
        }
        out.extend(failed_opening(dc, None));
        if s.tls {
            out.extend(cleartext_data(dc));
        }
    }
    slow_replies(s, &mut out);
    if s.control_reset {
        let rst: Vec<Evidence> = s
            .control_segments
            .iter()
            .filter(|g| g.flags & F_RST != 0)
            .map(|g| segment_evidence(g, s.client, s.server))
            .collect();
        let by = match rst.first() {
            Some(e) if e.from_client => "the client",
            Some(_) => "the server",
            None => "one side",
        };
        let ts = rst.first().map(|e| e.ts).unwrap_or(s.end);
        out.push(finding(
            "control-reset",
            None,
            ts,
            format!("{by} reset the control connection (TCP RST): a crash, a timeout, or a firewall cutting idle connections; commands in flight were lost"),
            rst,
        ));
    }
    if let Some(ts) = s.tls_cleared {
        out.push(finding(
            "tls-cleared",
            None,
            ts,
            "after AUTH the control connection went back to cleartext (CCC): the commands that follow, file names included, are readable on the network; disable CCC on the client or server".to_string(),
            Vec::new(),
        ));
    }
    out.sort_by_key(|f| f.ts);
    truncate(&mut out);
    out
}

fn truncate(out: &mut Vec<Finding>) {
    if out.len() > MAX_FINDINGS {
        let n = out.len() - (MAX_FINDINGS - 1);
        out.truncate(MAX_FINDINGS - 1);
        let ts = out.last().map(|f| f.ts).unwrap_or_default();
        out.push(finding(
            "findings-truncated",
            None,
            ts,
            format!("{n} further findings were not listed"),
            Vec::new(),
        ));
    }
}

fn is_anonymous(user: &str) -> bool {
    user.eq_ignore_ascii_case("anonymous") || user.eq_ignore_ascii_case("ftp")
}

fn logins(s: &Session, out: &mut Vec<Finding>) {
    let anonymous = s.user.as_deref().is_some_and(is_anonymous);
    let mut user_line: Option<&Command> = None;
    let mut failed: Vec<Evidence> = Vec::new();
    let mut failures = 0usize;
    let mut first_fail = None;
    let mut cleartext_reported = false;
    for c in &s.commands {
        match c.verb.as_str() {
            "USER" => user_line = Some(c),
            "PASS" if !cleartext_reported => {
                cleartext_reported = true;
                let mut ev = user_line.map(command_lines).unwrap_or_default();
                ev.extend(command_lines(c));
                let (sev, msg) = if anonymous {
                    (
                        Severity::Info,
                        "the anonymous password (often an e-mail address) was sent in cleartext"
                            .to_string(),
                    )
                } else {
                    (
                        Severity::Warning,
                        format!(
                            "user {} sent the password in cleartext: anyone on the path can read it; use FTPS (AUTH TLS) or SFTP",
                            user_line.and_then(|u| u.arg.as_deref()).unwrap_or("?")
                        ),
                    )
                };
                let mut f = finding("cleartext-credentials", None, c.ts, msg, ev);
                f.severity = sev;
                out.push(f);
            }
            _ => {}
        }
        if matches!(c.verb.as_str(), "USER" | "PASS" | "ACCT")
            && c.final_reply().is_some_and(|r| r.code == 530)
        {
            failures += 1;
            first_fail.get_or_insert(c.ts);
            if failed.len() + 2 <= MAX_EVIDENCE {
                if c.verb == "PASS"
                    && let Some(u) = user_line
                {
                    failed.push(command_lines(u).remove(0));
                }
                failed.extend(command_lines(c));
            }
        }
    }
    if failures > 0 {
        let after = if s.logged_in {
            format!("; then user {} logged in", s.user.as_deref().unwrap_or("?"))
        } else {
            "; no login succeeded".to_string()
        };
        out.push(finding(
            "failed-login",
            None,
            first_fail.unwrap_or(s.start),
            format!("{failures} login attempt(s) answered 530 (wrong user or password, or the account is not allowed){after}"),
            failed,
        ));
    }
    if s.logged_in && anonymous {
        let ev = s
            .commands
            .iter()
            .filter(|c| c.verb == "USER" || c.verb == "PASS")
            .flat_map(command_lines)
            .collect();
        out.push(finding(
            "anonymous-login",
            None,
            s.commands
                .iter()
                .find(|c| c.verb == "PASS" || c.verb == "USER")
                .map(|c| c.ts)
                .unwrap_or(s.start),
            format!(
                "logged in as {}: anyone can; make sure nothing private is readable or writable",
                s.user.as_deref().unwrap_or("anonymous")
            ),
            ev,
        ));
    }
}

/// What the commands before a transfer command set up: the last PORT/PASV-like command,
/// the last TYPE, the last SIZE of each name. Transfers come in command order, so one
/// forward pass serves them all (a back-scan per transfer made a session of 100,000
/// transfer commands take minutes).
struct Earlier<'a> {
    commands: &'a [Command],
    /// Commands before this index have been seen.
    next: usize,
    setup: Option<&'a Command>,
    type_cmd: Option<&'a Command>,
    size: HashMap<&'a str, &'a Command>,
}

impl<'a> Earlier<'a> {
    fn new(commands: &'a [Command]) -> Self {
        Earlier {
            commands,
            next: 0,
            setup: None,
            type_cmd: None,
            size: HashMap::new(),
        }
    }

    /// Moves to just before command `index`.
    fn advance(&mut self, index: usize) {
        let index = index.min(self.commands.len());
        if index < self.next {
            *self = Earlier::new(self.commands);
        }
        for c in &self.commands[self.next..index] {
            match c.verb.as_str() {
                "PORT" | "EPRT" | "LPRT" | "PASV" | "EPSV" | "LPSV" => self.setup = Some(c),
                "TYPE" => self.type_cmd = Some(c),
                "SIZE" => {
                    if let Some(name) = c.arg.as_deref() {
                        self.size.insert(name, c);
                    }
                }
                _ => {}
            }
        }
        self.next = index;
    }

    /// The size the server reported to the last `SIZE name` (213 reply), and that command.
    fn size_reply(&self, name: Option<&str>) -> Option<(u64, &'a Command)> {
        let c = *self.size.get(name?)?;
        let r = c.final_reply()?;
        (r.code == 213).then_some(())?;
        Some((r.text.trim().parse().ok()?, c))
    }
}

/// Whether an unclaimed data connection matches a transfer's announced endpoint.
fn matches_announced(t: &crate::model::Transfer, dc: &DataConnection) -> bool {
    let (Some(mode), Some(a)) = (t.mode, t.announced) else {
        return false;
    };
    if mode.client_connects() {
        dc.opened_by == Opener::Client && dc.server.port() == a.port()
    } else {
        dc.opened_by == Opener::Server && dc.client.port() == a.port()
    }
}

fn transfer(
    s: &Session,
    ti: usize,
    earlier: &Earlier<'_>,
    unclaimed: &[&DataConnection],
    used: &mut [bool],
    out: &mut Vec<Finding>,
) {
    let t = &s.transfers[ti];
    let cmd = s.commands.get(t.command_index);
    let what = format!("{} {}", t.command, t.arg.as_deref().unwrap_or(""))
        .trim_end()
        .to_string();
    let lines = cmd.map(command_lines).unwrap_or_default();
    let final_ts = cmd
        .and_then(|c| c.final_reply())
        .map(|r| r.ts)
        .unwrap_or(t.end);
    let setup = earlier.setup;
    let active = t.mode.is_some_and(|m| !m.client_connects());

    // Announced endpoints.
    if let (Some(mode), Some(a)) = (t.mode, t.announced) {
        let mut ev = setup.map(command_lines).unwrap_or_default();
        ev.truncate(2);
        if mode.client_connects() && a.ip() != s.server.ip() {
            let why = if is_private(a.ip()) && !is_private(s.client.ip()) {
                "a private address: the server sits behind NAT that does not rewrite the reply, and clients outside cannot connect; set the server's external address (vsftpd: pasv_address)"
            } else if is_private(a.ip()) {
                "a private address (NAT): clients outside that network cannot connect; set the server's external address (vsftpd: pasv_address)"
            } else {
                "another host (NAT or a multi-homed server): clients that follow it may fail"
            };
            out.push(finding(
                "pasv-foreign-address",
                Some(ti),
                setup.map(|c| c.ts).unwrap_or(t.start),
                format!(
                    "{what}: the server announced {a} for the data connection, but it is {}; {a} is {why}",
                    s.server.ip()
                ),
                ev,
            ));
        } else if !mode.client_connects() && a.ip() != s.client.ip() {
            let why = if is_private(a.ip()) {
                "a private address: the client is behind NAT that does not rewrite PORT, so the server's connection will fail; use passive mode"
            } else {
                "a third host: server-to-server transfer (FXP) or an FTP bounce attack; servers should refuse PORT to foreign addresses"
            };
            out.push(finding(
                "port-third-host",
                Some(ti),
                setup.map(|c| c.ts).unwrap_or(t.start),
                format!(
                    "{what}: the client announced {a}, but its control connection comes from {}: {why}",
                    s.client.ip()
                ),
                ev,
            ));
        }
    }

    // The data connection: its own, or a failed attempt left unclaimed.
    let mut attempt = t.data.as_ref();
    if attempt.is_none()
        && let Some(i) =
            (0..unclaimed.len()).find(|&i| !used[i] && matches_announced(t, unclaimed[i]))
    {
        used[i] = true;
        attempt = Some(unclaimed[i]);
        if s.tls {
            out.extend(cleartext_data(unclaimed[i]));
        }
    }
    let code = t.final_code;
    let failed_open = attempt.and_then(|dc| failed_opening(dc, Some(ti)));
    if let Some(mut f) = failed_open {
        f.message = format!("{what}: {}", f.message);
        if active {
            f.message.push_str(
                "; the client's firewall or NAT blocks incoming connections: use passive mode",
            );
        } else {
            f.message
                .push_str("; open the server's passive port range in the firewall");
        }
        let mut ev = setup.map(command_lines).unwrap_or_default();
        ev.append(&mut f.evidence);
        ev.extend(lines.iter().cloned());
        ev.truncate(MAX_EVIDENCE);
        f.evidence = ev;
        out.push(f);
    } else if code == Some(425) {
        let (kind, hint) = if active {
            (
                "port-unreachable",
                format!(
                    "the server could not connect to {} announced by the client: its firewall or NAT blocks incoming connections; use passive mode",
                    t.announced
                        .map(|a| a.to_string())
                        .unwrap_or_else(|| "the announced endpoint".into())
                ),
            )
        } else {
            ("data-connection-failed", "the server could not open the data connection (425) and no connection attempt was captured: the client may never have connected (firewall), or the server refused it".to_string())
        };
        let mut ev = setup.map(command_lines).unwrap_or_default();
        ev.extend(lines.iter().cloned());
        out.push(finding(
            kind,
            Some(ti),
            final_ts,
            format!("{what}: {hint}"),
            ev,
        ));
    }

    // How the transfer ended.
    let abor = s.commands[t.command_index.min(s.commands.len())..]
        .iter()
        .skip(1)
        .take_while(|c| !ftp::is_transfer_verb(&c.verb))
        .find(|c| c.verb == "ABOR");
    let aborted = code == Some(426) || abor.is_some();
    match code {
        Some(c) if (400..600).contains(&c) && c != 425 && c != 426 => {
            let reply = cmd
                .and_then(|c| c.final_reply())
                .map(|r| r.text.lines().next().unwrap_or("").to_string())
                .unwrap_or_default();
            out.push(finding(
                "transfer-failed",
                Some(ti),
                final_ts,
                format!("{what}: the server refused it: {c} {reply}"),
                lines.clone(),
            ));
        }
        _ if aborted => {
            let mut ev = lines.clone();
            if let Some(a) = abor {
                ev.extend(command_lines(a));
            }
            let by = if abor.is_some() {
                "the client sent ABOR"
            } else {
                "the server ended it with 426 (the data connection was closed early)"
            };
            out.push(finding(
                "transfer-aborted",
                Some(ti),
                abor.map(|a| a.ts).unwrap_or(final_ts),
                format!("{what}: aborted after {} bytes: {by}", t.bytes),
                ev,
            ));
        }
        _ => {}
    }

    let Some(dc) = t.data.as_ref() else {
        if matches!(code, Some(226 | 250)) {
            out.push(finding(
                "capture-gap",
                Some(ti),
                final_ts,
                format!("{what}: the server reported success but its data connection is not in the capture: capture all traffic between the hosts, not only port 21"),
                lines,
            ));
        } else if code.is_none() && !aborted {
            out.push(finding(
                "transfer-incomplete",
                Some(ti),
                t.start,
                format!("{what}: no data connection and no final reply were captured: the transfer never finished within the capture"),
                lines,
            ));
        }
        return;
    };
    let gaps = match t.direction {
        Direction::Download => dc.gap_bytes_from_server,
        Direction::Upload => dc.gap_bytes_from_client,
    };
    if gaps > 0 {
        out.push(finding(
            "capture-gap",
            Some(ti),
            dc.end,
            format!("{what}: {gaps} bytes of the data connection are missing from the capture, so its content and hash cannot be verified (capture dropped packets or was cut)"),
            Vec::new(),
        ));
    }
    let binary = t.type_code.as_deref() != Some("A");
    if !aborted && !matches!(code, Some(c) if c >= 400) {
        let mut problems = Vec::new();
        let got = t.bytes + t.rest.unwrap_or(0);
        if let Some(n) = t.announced_size
            && binary
            && t.bytes != n
            && got != n
        {
            problems.push(format!(
                "{} bytes moved, the 150 reply announced {n}",
                t.bytes
            ));
        }
        if let Some((size, size_cmd)) = earlier.size_reply(t.arg.as_deref())
            && binary
            && t.direction == Direction::Download
            && got != size
            && t.announced_size
                .is_none_or(|n| n != size || problems.is_empty())
        {
            problems.push(format!("{got} bytes moved, SIZE reported {size}"));
            let _ = size_cmd;
        }
        if code.is_none() {
            problems.push("no final reply was captured".to_string());
        }
        if dc.reset && gaps == 0 && problems.is_empty() && !matches!(code, Some(226 | 250)) {
            problems.push("the data connection was reset".to_string());
        }
        if !problems.is_empty() {
            let mut ev = lines.clone();
            if let Some((_, c)) = earlier.size_reply(t.arg.as_deref()) {
                ev.extend(command_lines(c));
            }
            out.push(finding(
                "transfer-incomplete",
                Some(ti),
                final_ts,
                format!(
                    "{what}: {}: the file was not transferred whole",
                    problems.join("; ")
                ),
                ev,
            ));
        }
    }
    let head = match t.direction {
        Direction::Download => &dc.head_from_server,
        Direction::Upload => &dc.head_from_client,
    };
    if t.kind == TransferKind::File && !binary && looks_binary(head) {
        out.push(finding(
            "ascii-binary",
            Some(ti),
            dc.first_data.unwrap_or(dc.start),
            format!("{what}: transferred in ASCII mode (TYPE A) but the content looks binary: line endings may have been rewritten and the file corrupted; use TYPE I"),
            earlier.type_cmd.map(command_lines)
                .unwrap_or_default(),
        ));
    }
    if s.tls {
        out.extend(cleartext_data(dc).map(|mut f| {
            f.transfer = Some(ti);
            f
        }));
    }
    // Stalls: long silence before the first byte, or between the last byte and the end.
    let first_wait = dc.first_data.map(|f| f.since(dc.start)).unwrap_or(0);
    let tail = dc
        .last_data
        .map(|l| final_ts.max(dc.end).since(l))
        .unwrap_or(0);
    let idle = first_wait.max(tail);
    if idle > STALL_NS || (!dc.closed && code.is_none()) {
        let msg = if !dc.closed && code.is_none() {
            format!(
                "{what}: the data connection never finished within the capture ({} bytes moved)",
                t.bytes
            )
        } else {
            format!(
                "{what}: no data moved for {:.1} s on the data connection: the server, the client or the network stalled",
                idle as f64 / 1e9
            )
        };
        out.push(finding(
            "transfer-stalled",
            Some(ti),
            dc.last_data.unwrap_or(dc.start),
            msg,
            Vec::new(),
        ));
    }
}

/// How long the server took to answer each command (index into `commands`, nanoseconds).
/// Pipelined commands wait for the ones before them, so the wait starts at the later of the
/// command and the previous final reply. A transfer command answered only by its final reply
/// is left out: that wait includes the transfer.
pub fn reply_waits(s: &Session) -> Vec<(usize, i64)> {
    let mut prev_final: Option<Timestamp> = None;
    let mut out = Vec::new();
    for (i, c) in s.commands.iter().enumerate() {
        let Some(first) = c.replies.first() else {
            continue;
        };
        let from = prev_final.map_or(c.ts, |p| p.max(c.ts));
        let transfer_done = ftp::is_transfer_verb(&c.verb) && !ftp::is_preliminary(first.code);
        if !transfer_done {
            out.push((i, first.ts.since(from)));
        }
        if let Some(r) = c.final_reply() {
            prev_final = Some(r.ts);
        }
    }
    out
}

fn slow_replies(s: &Session, out: &mut Vec<Finding>) {
    let mut reported = 0;
    for (i, wait) in reply_waits(s) {
        let c = &s.commands[i];
        let first = &c.replies[0];
        if wait > SLOW_REPLY_NS && reported < 10 {
            reported += 1;
            out.push(finding(
                "slow-reply",
                None,
                first.ts,
                format!(
                    "the server took {:.1} s to answer {}: an overloaded server, slow storage or a reverse DNS lookup (vsftpd: reverse_lookup_enable=NO)",
                    wait as f64 / 1e9,
                    c.verb
                ),
                command_lines(c),
            ));
        }
    }
}

/// Findings that need more than one session: failed logins per client address, and the
/// data connections of TLS sessions, which are handed out before their session.
#[derive(Default, Debug)]
pub struct Tracker {
    failures: HashMap<IpAddr, VecDeque<Timestamp>>,
    pending: HashMap<u64, Vec<Finding>>,
}

impl Tracker {
    /// A data connection no transfer claimed, about to be written out on its own.
    pub fn unmatched(&mut self, u: &UnmatchedData) {
        let Some(id) = u.session else {
            return;
        };
        // Only TLS sessions' data connections take this path before their session ends;
        // `conclude` drops `cleartext-data` if the session turns out not to be one.
        let mut found: Vec<Finding> = failed_opening(&u.conn, None).into_iter().collect();
        found.extend(cleartext_data(&u.conn));
        if found.is_empty() {
            return;
        }
        if self.pending.len() >= MAX_TRACKED_IPS && !self.pending.contains_key(&id) {
            return;
        }
        let p = self.pending.entry(id).or_default();
        for f in found {
            if p.len() < MAX_PENDING {
                p.push(f);
            }
        }
    }

    /// The findings of a session being written out.
    pub fn conclude(&mut self, s: &Session, unclaimed: &[&DataConnection]) -> Vec<Finding> {
        let mut out = analyse(s, unclaimed);
        if let Some(p) = self.pending.remove(&s.id) {
            out.extend(
                p.into_iter()
                    .filter(|f| s.tls || f.kind != "cleartext-data"),
            );
        }
        self.brute_force(s, &mut out);
        out.sort_by_key(|f| f.ts);
        truncate(&mut out);
        out
    }

    fn brute_force(&mut self, s: &Session, out: &mut Vec<Finding>) {
        let fails: Vec<Timestamp> = s
            .commands
            .iter()
            .filter(|c| matches!(c.verb.as_str(), "USER" | "PASS" | "ACCT"))
            .filter_map(|c| c.final_reply().filter(|r| r.code == 530).map(|r| r.ts))
            .collect();
        let Some(&last) = fails.last() else {
            return;
        };
        let ip = s.client.ip();
        if self.failures.len() >= MAX_TRACKED_IPS && !self.failures.contains_key(&ip) {
            // Forget addresses whose failures are out of the window, or all if none are.
            self.failures
                .retain(|_, q| q.back().is_some_and(|t| last.since(*t) <= BRUTE_WINDOW_NS));
            if self.failures.len() >= MAX_TRACKED_IPS {
                self.failures.clear();
            }
        }
        let q = self.failures.entry(ip).or_default();
        for t in fails.iter() {
            q.push_back(*t);
        }
        // Sessions end out of time order: keep the recent ones, sorted, bounded.
        q.make_contiguous().sort_unstable();
        while q.len() > 64 {
            q.pop_front();
        }
        let recent = q
            .iter()
            .filter(|t| last.since(**t) <= BRUTE_WINDOW_NS && t.since(last) <= BRUTE_WINDOW_NS)
            .count();
        if recent >= BRUTE_THRESHOLD {
            out.push(finding(
                "brute-force",
                None,
                last,
                format!(
                    "{recent} failed logins from {ip} within {} minutes ({} in this session): someone is guessing passwords; block the address (fail2ban) and check which accounts it tried",
                    BRUTE_WINDOW_NS / 60_000_000_000,
                    fails.len()
                ),
                Vec::new(),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_detection() {
        assert!(!looks_binary(b""));
        assert!(!looks_binary(b"hello world\r\nline two\n"));
        assert!(!looks_binary("grüße\n".as_bytes()));
        assert!(looks_binary(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"));
        assert!(looks_binary(b"PK\x03\x04\x14\x00"));
        assert!(looks_binary(&[0xff, 0xfe, 0x41, 0x42]));
        assert!(looks_binary(b"\x01\x02\x03abc"));
    }

    #[test]
    fn tls_detection() {
        assert!(looks_like_tls(&[0x16, 0x03, 0x01, 0x02, 0x00]));
        assert!(looks_like_tls(&[0x17, 0x03, 0x03]));
        assert!(!looks_like_tls(b"-rw-r--r--"));
        assert!(!looks_like_tls(&[0x16]));
    }

    #[test]
    fn private_addresses() {
        for a in [
            "10.1.2.3",
            "192.168.1.5",
            "172.16.0.1",
            "127.0.0.1",
            "100.64.0.1",
            "fd00::1",
            "fe80::1",
        ] {
            assert!(is_private(a.parse().unwrap()), "{a}");
        }
        for a in ["8.8.8.8", "172.32.0.1", "2001:db8::1", "100.128.0.1"] {
            assert!(!is_private(a.parse().unwrap()), "{a}");
        }
    }

    #[test]
    fn every_kind_has_a_severity_and_is_kebab_case() {
        for (k, _, d) in KINDS {
            assert!(k.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{k}");
            assert!(!d.is_empty());
            assert!(severity_of(k).is_some());
        }
        assert_eq!(severity_of("nope"), None);
    }
}
