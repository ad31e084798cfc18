//! One FTP session's control connection: commands paired with replies, login, TLS,
//! data-channel setup, and the transfers that follow.

use super::expect::Expectation;
use crate::ftp::{self, LineSplitter, ReplyAssembler, ReplyEvent};
use crate::model::{Anomaly, Command, DataConnection, Mode, Reply, Session, Transfer};
use crate::tcp::ConnId;
use crate::time::Timestamp;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

/// Bounds on what one session keeps, so a hostile or endless session cannot grow memory.
#[derive(Clone, Copy, Debug)]
pub struct SessionLimits {
    pub max_line: usize,
    pub max_commands: usize,
    pub max_transfers: usize,
    pub max_anomalies: usize,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            max_line: 8192,
            max_commands: 100_000,
            max_transfers: 100_000,
            max_anomalies: 200,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tls {
    Clear,
    /// AUTH sent, reply pending.
    Requested,
    /// AUTH accepted: the rest of the control connection is encrypted.
    Active,
}

/// Things the session asks of the correlator after handling bytes.
pub enum Effect {
    Expect(Expectation),
    /// An anomaly to count globally (it is already recorded in the session).
    Counted(&'static str),
}

pub struct ControlState {
    pub session: Session,
    /// The control connection's segments, moved into the session when it is written.
    pub log: super::segments::SegmentLog,
    limits: SessionLimits,
    show_passwords: bool,
    client_lines: LineSplitter,
    server_lines: LineSplitter,
    replies: ReplyAssembler,
    /// Commands awaiting their final reply, oldest first (pipelining).
    awaiting: VecDeque<usize>,
    /// The last data-channel setup: mode and announced endpoint.
    setup: Option<(Mode, Option<SocketAddr>)>,
    rest: Option<u64>,
    type_code: Option<String>,
    pending_user: Option<String>,
    tls: Tls,
    prot_private: bool,
    /// Data connections of this session still open, and what each serves.
    pub open_data: HashMap<ConnId, Binding>,
    /// Transfer commands still waiting for their data connection.
    waiting: VecDeque<usize>,
    /// Data connections that opened for this session but no transfer has claimed yet (and
    /// ids of some closed since: `pop_unclaimed` skips them).
    unclaimed: VecDeque<ConnId>,
    /// Closed data connections no transfer claimed (yet), with why a refused one is not.
    pub unclaimed_closed: Vec<(DataConnection, Option<String>)>,
    pub control_done: bool,
    dropped_commands: u64,
    dropped_anomalies: u64,
}

impl ControlState {
    pub fn new(session: Session, limits: SessionLimits, show_passwords: bool) -> ControlState {
        ControlState {
            session,
            log: Default::default(),
            limits,
            show_passwords,
            client_lines: LineSplitter::new(limits.max_line),
            server_lines: LineSplitter::new(limits.max_line),
            replies: ReplyAssembler::new(),
            awaiting: VecDeque::new(),
            setup: None,
            rest: None,
            type_code: None,
            pending_user: None,
            tls: Tls::Clear,
            prot_private: false,
            open_data: HashMap::new(),
            waiting: VecDeque::new(),
            unclaimed: VecDeque::new(),
            unclaimed_closed: Vec::new(),
            control_done: false,
            dropped_commands: 0,
            dropped_anomalies: 0,
        }
    }

    pub fn is_tls(&self) -> bool {
        self.tls == Tls::Active
    }

    pub fn anomaly(
        &mut self,
        ts: Timestamp,
        kind: &'static str,
        message: String,
        fx: &mut Vec<Effect>,
    ) {
        fx.push(Effect::Counted(kind));
        if self.session.anomalies.len() < self.limits.max_anomalies {
            self.session.anomalies.push(Anomaly { ts, kind, message });
        } else {
            self.dropped_anomalies += 1;
        }
    }

    /// Bytes the FTP client sent on the control connection.
    pub fn client_bytes(&mut self, ts: Timestamp, data: &[u8], fx: &mut Vec<Effect>) {
        if self.tls == Tls::Active {
            // CCC (its command and reply were encrypted): cleartext commands again. Only
            // noted; parsing does not resume (the JSON contract: not listed after AUTH).
            if self.session.tls_cleared.is_none() && looks_like_cleartext_command(data) {
                self.session.tls_cleared = Some(ts);
            }
            return;
        }
        if self.tls == Tls::Requested && looks_like_tls_record(data) {
            // The 234 was lost from the capture, but the handshake shows AUTH succeeded.
            self.start_tls();
            return;
        }
        let mut lines = Vec::new();
        self.client_lines
            .feed(data, &mut |l| lines.push((l.bytes.to_vec(), l.overlong)));
        for (line, overlong) in lines {
            self.command_line(ts, &line, overlong, fx);
        }
    }

    /// Bytes the FTP server sent on the control connection.
    pub fn server_bytes(&mut self, ts: Timestamp, data: &[u8], fx: &mut Vec<Effect>) {
        if self.tls == Tls::Active {
            return;
        }
        let mut lines = Vec::new();
        self.server_lines
            .feed(data, &mut |l| lines.push((l.bytes.to_vec(), l.overlong)));
        for (line, overlong) in lines {
            if self.tls == Tls::Active {
                break;
            }
            if overlong {
                self.anomaly(
                    ts,
                    "overlong-line",
                    format!("server line longer than {} bytes", self.limits.max_line),
                    fx,
                );
            }
            if let Some(ev) = self.replies.push_line(&line) {
                self.reply_event(ts, ev, fx);
            }
        }
    }

    /// Bytes missing from the control connection: the line in progress is lost.
    pub fn gap(&mut self, ts: Timestamp, from_client: bool, len: u64, fx: &mut Vec<Effect>) {
        if self.tls == Tls::Active {
            return;
        }
        let who = if from_client { "client" } else { "server" };
        self.anomaly(
            ts,
            "control-gap",
            format!(
                "{len} bytes the {who} sent on the control connection are missing from the capture"
            ),
            fx,
        );
        if from_client {
            self.client_lines = LineSplitter::new(self.limits.max_line);
        } else {
            self.server_lines = LineSplitter::new(self.limits.max_line);
            self.replies = ReplyAssembler::new();
        }
    }

    /// The control connection ended: flush unterminated lines.
    pub fn finish(&mut self, ts: Timestamp, fx: &mut Vec<Effect>) {
        if self.tls != Tls::Active {
            let mut lines = Vec::new();
            self.client_lines
                .finish(&mut |l| lines.push((l.bytes.to_vec(), l.overlong)));
            for (line, overlong) in lines {
                self.command_line(ts, &line, overlong, fx);
            }
            let mut lines = Vec::new();
            self.server_lines
                .finish(&mut |l| lines.push(l.bytes.to_vec()));
            for line in lines {
                if let Some(ev) = self.replies.push_line(&line) {
                    self.reply_event(ts, ev, fx);
                }
            }
            if let Some(ev) = self.replies.finish() {
                self.reply_event(ts, ev, fx);
            }
        }
        self.control_done = true;
        if self.dropped_commands > 0 {
            let n = self.dropped_commands;
            self.anomaly(
                ts,
                "commands-truncated",
                format!(
                    "{n} commands beyond the limit of {} were not recorded",
                    self.limits.max_commands
                ),
                fx,
            );
        }
        if self.dropped_anomalies > 0 {
            let n = self.dropped_anomalies;
            self.session.anomalies.push(Anomaly {
                ts,
                kind: "anomalies-truncated",
                message: format!("{n} further anomalies were counted but not listed"),
            });
        }
    }

    fn start_tls(&mut self) {
        self.tls = Tls::Active;
        self.session.tls = true;
        self.awaiting.clear();
    }

    fn command_line(&mut self, ts: Timestamp, line: &[u8], overlong: bool, fx: &mut Vec<Effect>) {
        if overlong {
            self.anomaly(
                ts,
                "overlong-line",
                format!("client line longer than {} bytes", self.limits.max_line),
                fx,
            );
        }
        if line.is_empty() {
            return;
        }
        let Some(cmd) = ftp::parse_command(line) else {
            let shown = String::from_utf8_lossy(&line[..line.len().min(80)]).into_owned();
            self.anomaly(
                ts,
                "malformed-command",
                format!("client sent a line that is not an FTP command: {shown:?}"),
                fx,
            );
            return;
        };
        if self.session.commands.len() >= self.limits.max_commands {
            self.dropped_commands += 1;
            return;
        }
        let verb = cmd.verb;
        let raw_arg = cmd.arg;
        let arg = if raw_arg.is_empty() {
            None
        } else if verb == "PASS" && !self.show_passwords {
            Some("****".to_string())
        } else {
            Some(raw_arg.clone())
        };
        let index = self.session.commands.len();
        self.session.commands.push(Command {
            ts,
            verb: verb.clone(),
            arg: arg.clone(),
            replies: Vec::new(),
        });
        self.awaiting.push_back(index);

        match verb.as_str() {
            "USER" => self.pending_user = arg.clone(),
            "AUTH" => self.tls = Tls::Requested,
            "PROT" => self.prot_private = raw_arg.trim().eq_ignore_ascii_case("P"),
            "TYPE" => {
                let t = raw_arg
                    .trim()
                    .split(' ')
                    .next()
                    .unwrap_or("")
                    .to_ascii_uppercase();
                self.type_code = (!t.is_empty()).then_some(t);
            }
            "REST" => self.rest = raw_arg.trim().parse().ok(),
            "PORT" | "EPRT" | "LPRT" => {
                let (mode, parsed) = match verb.as_str() {
                    "PORT" => (Mode::Active, ftp::parse_port(&raw_arg)),
                    "EPRT" => (Mode::Eprt, ftp::parse_eprt(&raw_arg)),
                    _ => (Mode::Lprt, ftp::parse_lprt(&raw_arg)),
                };
                match parsed {
                    Some(addr) => {
                        if addr.ip() != self.session.client.ip() {
                            self.anomaly(ts, "port-address-mismatch", format!("{verb} announces {addr}, but the client's control connection comes from {} (NAT, or a transfer to a third host)", self.session.client.ip()), fx);
                        }
                        self.setup = Some((mode, Some(addr)));
                        self.expect(ts, mode, addr, fx);
                    }
                    None => {
                        self.setup = Some((mode, None));
                        self.anomaly(
                            ts,
                            "malformed-port",
                            format!("cannot parse the endpoint in {verb} {raw_arg:?}"),
                            fx,
                        );
                    }
                }
            }
            v if ftp::is_transfer_verb(v) => self.transfer_command(ts, index, v, arg),
            _ => {}
        }
    }

    fn expect(&mut self, ts: Timestamp, mode: Mode, announced: SocketAddr, fx: &mut Vec<Effect>) {
        fx.push(Effect::Expect(Expectation {
            session: self.session.id,
            mode,
            announced,
            control_client: self.session.client.ip(),
            control_server: self.session.server.ip(),
            created: ts,
        }));
    }

    fn transfer_command(&mut self, ts: Timestamp, index: usize, verb: &str, arg: Option<String>) {
        let rest = self.rest.take();
        if self.session.transfers.len() >= self.limits.max_transfers {
            return;
        }
        let (mode, announced) = match self.setup.take() {
            Some((m, a)) => (Some(m), a),
            None => (None, None),
        };
        let t = Transfer {
            command_index: index,
            command: verb.to_string(),
            arg,
            kind: ftp::transfer_kind(verb).expect("transfer verb"),
            direction: ftp::transfer_direction(verb).expect("transfer verb"),
            mode,
            announced,
            data: None,
            bytes: 0,
            sha256: None,
            rest,
            announced_size: None,
            type_code: self.type_code.clone(),
            final_code: None,
            complete: false,
            encrypted: self.session.tls && self.prot_private,
            start: ts,
            end: ts,
        };
        let ti = self.session.transfers.len();
        self.session.transfers.push(t);
        // A passive client often connects before it sends the command.
        if let Some(conn) = self.pop_unclaimed() {
            self.bind(conn, ti);
        } else if let Some(pos) = self
            .unclaimed_closed
            .iter()
            .position(|(_, why)| why.is_none())
        {
            let (dc, _) = self.unclaimed_closed.remove(pos);
            self.attach(ti, dc);
        } else {
            self.waiting.push_back(ti);
        }
    }

    /// The oldest data connection still open and unclaimed (ids are never reused).
    fn pop_unclaimed(&mut self) -> Option<ConnId> {
        while let Some(conn) = self.unclaimed.pop_front() {
            if self.open_data.get(&conn) == Some(&Binding::Unclaimed) {
                return Some(conn);
            }
        }
        None
    }

    fn bind(&mut self, conn: ConnId, ti: usize) {
        self.open_data.insert(conn, Binding::Transfer(ti));
    }

    /// A data connection matched one of this session's announcements (or, in a TLS session,
    /// joined the session's hosts).
    pub fn data_opened(&mut self, conn: ConnId) {
        if let Some(ti) = self.waiting.pop_front() {
            self.open_data.insert(conn, Binding::Transfer(ti));
        } else {
            self.open_data.insert(conn, Binding::Unclaimed);
            self.unclaimed.push_back(conn);
        }
    }

    /// A data connection of this session closed. Returns it back when nothing claims it
    /// and no transfer can any longer (the control connection is over).
    pub fn data_closed(&mut self, conn: ConnId, dc: DataConnection) {
        match self.open_data.remove(&conn) {
            Some(Binding::Transfer(ti)) => self.attach(ti, dc),
            Some(Binding::Refused(why)) => self.unclaimed_closed.push((dc, Some(why))),
            // Its id stays in `unclaimed` (removing it was a scan per close: quadratic
            // with thousands open); `pop_unclaimed` skips it.
            Some(Binding::Unclaimed) | None => {
                self.unclaimed_closed.push((dc, None));
            }
        }
    }

    /// The server refused a transfer command before any data moved: a data connection the
    /// client opened for it served nothing.
    fn refuse(&mut self, ti: usize, verb: &str, code: u16) {
        let why = format!("opened for {verb}, which the server refused ({code})");
        for b in self.open_data.values_mut() {
            if *b == Binding::Transfer(ti) {
                *b = Binding::Refused(why.clone());
            }
        }
        let t = &mut self.session.transfers[ti];
        if let Some(dc) = t.data.take() {
            t.bytes = 0;
            t.sha256 = None;
            self.unclaimed_closed.push((dc, Some(why)));
        }
    }

    /// Bytes flowed on a data connection of this session: a transfer in progress counts
    /// them (the exact figures replace these when the connection closes).
    pub fn data_progress(&mut self, conn: ConnId, from_server: bool, n: u64, ts: Timestamp) {
        if let Some(Binding::Transfer(ti)) = self.open_data.get(&conn) {
            let t = &mut self.session.transfers[*ti];
            if from_server == (t.direction == ftp::Direction::Download) {
                t.bytes += n;
                t.end = t.end.max(ts);
            }
        }
    }

    fn attach(&mut self, ti: usize, dc: DataConnection) {
        let t = &mut self.session.transfers[ti];
        let (bytes, sha) = match t.direction {
            ftp::Direction::Download => (dc.bytes_from_server, dc.sha256_from_server.clone()),
            ftp::Direction::Upload => (dc.bytes_from_client, dc.sha256_from_client.clone()),
        };
        t.bytes = bytes;
        t.sha256 = Some(sha);
        t.end = t.end.max(dc.end);
        t.start = t.start.min(dc.start);
        t.data = Some(dc);
    }

    fn reply_event(&mut self, ts: Timestamp, ev: ReplyEvent, fx: &mut Vec<Effect>) {
        let reply = match ev {
            ReplyEvent::Reply(r) => r,
            ReplyEvent::Malformed { line, reason } => {
                let shown: String = line.chars().take(80).collect();
                self.anomaly(
                    ts,
                    "malformed-reply",
                    format!("server sent a reply line that is not valid ({reason}): {shown:?}"),
                    fx,
                );
                return;
            }
        };
        let r = Reply {
            ts,
            code: reply.code,
            text: reply.text,
        };
        let Some(&ci) = self.awaiting.front() else {
            if self.session.banner.is_none() && self.session.commands.is_empty() {
                self.session.banner = Some(r);
            } else {
                self.anomaly(
                    ts,
                    "unexpected-reply",
                    format!(
                        "reply {} {:?} answers no command",
                        r.code,
                        first_line(&r.text)
                    ),
                    fx,
                );
            }
            return;
        };
        let code = r.code;
        let text = r.text.clone();
        self.session.commands[ci].replies.push(r);
        let is_final = !ftp::is_preliminary(code);
        if is_final {
            self.awaiting.pop_front();
        }
        let verb = self.session.commands[ci].verb.clone();
        let transfer = self
            .session
            .transfers
            .iter()
            .rposition(|t| t.command_index == ci);

        match code {
            227..=229 => {
                let (mode, parsed) = match code {
                    227 => (Mode::Passive, ftp::parse_227(&text)),
                    229 => (
                        Mode::Epsv,
                        ftp::parse_229(&text).map(|(ip, port)| {
                            SocketAddr::new(ip.unwrap_or(self.session.server.ip()), port)
                        }),
                    ),
                    _ => (Mode::Lpsv, ftp::parse_228(&text)),
                };
                match parsed {
                    Some(addr) => {
                        if addr.ip() != self.session.server.ip() {
                            self.anomaly(ts, "pasv-address-mismatch", format!("{code} reply to {verb} announces {addr}, but the server is {} (NAT or a private address; clients elsewhere cannot connect); paired by port", self.session.server.ip()), fx);
                        }
                        self.setup = Some((mode, Some(addr)));
                        self.expect(ts, mode, addr, fx);
                    }
                    None => self.anomaly(
                        ts,
                        "malformed-pasv",
                        format!(
                            "cannot parse the endpoint in the {code} reply {:?}",
                            first_line(&text)
                        ),
                        fx,
                    ),
                }
            }
            234 if verb == "AUTH" => self.start_tls(),
            230 => {
                self.session.logged_in = true;
                self.session.user = self.pending_user.clone();
            }
            _ => {}
        }
        if self.tls == Tls::Requested && verb == "AUTH" && is_final && code != 234 {
            self.tls = Tls::Clear;
        }
        if let Some(ti) = transfer {
            let t = &mut self.session.transfers[ti];
            if matches!(code, 125 | 150)
                && let Some(n) = ftp::announced_size(&text)
            {
                t.announced_size = Some(n);
            }
            if is_final {
                t.final_code = Some(code);
                t.end = t.end.max(ts);
                let refused = code >= 400 && !t_started(&self.session.commands[ci]);
                if refused {
                    self.refuse(ti, &verb, code);
                }
                self.waiting.retain(|w| *w != ti);
            }
        }
    }

    /// Whether every data connection of the session is closed and the control connection
    /// is done: the session can be written out.
    pub fn is_finished(&self) -> bool {
        self.control_done && self.open_data.is_empty()
    }

    /// Final bookkeeping before the session is written out: completeness and anomalies.
    pub fn conclude(&mut self, fx: &mut Vec<Effect>) {
        for ti in 0..self.session.transfers.len() {
            let t = &self.session.transfers[ti];
            let ts = t.end;
            let name = t.arg.clone().unwrap_or_default();
            let what = format!("{} {}", t.command, name).trim_end().to_string();
            let mut problems: Vec<(&'static str, String)> = Vec::new();
            let complete = match &t.data {
                None => {
                    if matches!(t.final_code, Some(226 | 250)) {
                        problems.push(("no-data-connection", format!("{what}: the server reported success but no data connection was captured")));
                    } else if t.final_code == Some(425) {
                        problems.push((
                            "data-connection-failed",
                            format!("{what}: the server could not open the data connection (425)"),
                        ));
                    } else if t.final_code.is_none() {
                        problems.push((
                            "no-data-connection",
                            format!("{what}: no data connection and no reply was captured"),
                        ));
                    }
                    false
                }
                Some(dc) => {
                    let gaps = match t.direction {
                        ftp::Direction::Download => dc.gap_bytes_from_server,
                        ftp::Direction::Upload => dc.gap_bytes_from_client,
                    };
                    if gaps > 0 {
                        problems.push(("data-gap", format!("{what}: {gaps} bytes of the data connection are missing from the capture")));
                    }
                    let binary = t.type_code.as_deref() != Some("A");
                    let size_ok = match (t.announced_size, binary) {
                        (Some(n), true) => t.bytes == n || t.bytes + t.rest.unwrap_or(0) == n,
                        _ => true,
                    };
                    if !size_ok {
                        problems.push((
                            "size-mismatch",
                            format!(
                                "{what}: {} bytes transferred but the 150 reply announced {}",
                                t.bytes,
                                t.announced_size.unwrap_or(0)
                            ),
                        ));
                    }
                    if dc.reset {
                        problems.push((
                            "data-connection-reset",
                            format!("{what}: the data connection was reset"),
                        ));
                    }
                    if t.final_code == Some(426) {
                        problems.push((
                            "transfer-aborted",
                            format!("{what}: the transfer was aborted (426)"),
                        ));
                    }
                    gaps == 0 && size_ok && matches!(t.final_code, Some(226 | 250))
                }
            };
            self.session.transfers[ti].complete = complete;
            for (k, m) in problems {
                self.anomaly(ts, k, m, fx);
            }
        }
        self.session.anomalies.sort_by_key(|a| a.ts);
        self.session.control_segments = std::mem::take(&mut self.log.segments);
        let last = self.session.transfers.iter().map(|t| t.end).max();
        if let Some(last) = last {
            self.session.end = self.session.end.max(last);
        }
    }
}

/// What a data connection of the session serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binding {
    Unclaimed,
    Transfer(usize),
    Refused(String),
}

/// A transfer command that got a preliminary (1xx) reply: the server started it.
fn t_started(c: &Command) -> bool {
    c.replies.iter().any(|r| ftp::is_preliminary(r.code))
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// A whole cleartext command line (after CCC) rather than TLS records, which start with a
/// content type byte 0x14..=0x17.
fn looks_like_cleartext_command(data: &[u8]) -> bool {
    data.len() <= 512
        && data.first().is_some_and(u8::is_ascii_alphabetic)
        && data.ends_with(b"\r\n")
        && data[..data.len() - 2]
            .iter()
            .all(|b| b.is_ascii_graphic() || *b == b' ')
        && ftp::parse_command(&data[..data.len() - 2]).is_some()
}

/// A TLS handshake record (ClientHello) rather than an FTP command.
fn looks_like_tls_record(data: &[u8]) -> bool {
    data.len() >= 3 && data[0] == 0x16 && data[1] == 0x03 && data[2] <= 0x04
}
