//! Session correlation: decides what each TCP connection is (FTP control, FTP data, or
//! neither), runs each control connection's state machine, pairs data connections with
//! the transfer commands they served, and hands finished sessions to a sink.

pub mod control;
pub mod data;
pub mod expect;
pub mod segments;

use crate::decode::UdpDatagram;
use crate::dns;
use crate::ftp;
use crate::model::{DnsLookup, SegmentDetail, Session, Summary, UnmatchedData};
use crate::tcp::{CloseReason, ConnInfo, ConnectionHandler, Interest, Side, TcpEvent};
use crate::time::Timestamp;
use control::{ControlState, Effect, SessionLimits};
use data::DataFlow;
use expect::Expectations;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

/// `UnmatchedData::reason` of a data connection of a TLS session (its bytes are encrypted).
pub const REASON_TLS_DATA: &str =
    "data connection of a TLS session: the command it served is encrypted";

/// Receives results as soon as they are final (streaming output).
pub trait SessionSink {
    fn session(&mut self, session: Session);
    fn unmatched(&mut self, data: UnmatchedData);
    /// Whether `data` should be called with every data connection's bytes.
    fn wants_data(&self) -> bool {
        false
    }
    /// Bytes of data connection `conn` (`DataConnection::id`), in stream order, as they arrive.
    fn data(&mut self, conn: u64, from_server: bool, bytes: &[u8]) {
        let _ = (conn, from_server, bytes);
    }
    /// `len` bytes of data connection `conn` are missing from the capture at this point.
    fn data_gap(&mut self, conn: u64, from_server: bool, len: u64) {
        let _ = (conn, from_server, len);
    }
    /// The sessions in flight (not yet written), by id, as they stand now; called from time
    /// to time by live front ends (`Analyzer::tick`) so they can show progress.
    fn open_sessions(&mut self, open: &[&Session]) {
        let _ = open;
    }
}

/// Collects everything in memory (tests, and front ends that need the whole result).
#[derive(Default, Debug)]
pub struct Collect {
    pub sessions: Vec<Session>,
    pub unmatched: Vec<UnmatchedData>,
}

impl SessionSink for Collect {
    fn session(&mut self, session: Session) {
        self.sessions.push(session);
    }
    fn unmatched(&mut self, data: UnmatchedData) {
        self.unmatched.push(data);
    }
}

#[derive(Clone, Debug)]
pub struct CorrelatorConfig {
    /// Ports whose connections are FTP control connections without content detection.
    pub ftp_ports: Vec<u16>,
    pub show_passwords: bool,
    pub limits: SessionLimits,
    pub segments: SegmentDetail,
    /// Segments kept per connection with `SegmentDetail::All`.
    pub max_segments: usize,
    /// Keep `segments` detail only for this session (the others keep `Notable`): a packet
    /// ladder of one session of a huge capture holds only that session's segments.
    pub segments_for: Option<u64>,
}

impl Default for CorrelatorConfig {
    fn default() -> Self {
        CorrelatorConfig {
            ftp_ports: vec![21],
            show_passwords: false,
            limits: SessionLimits::default(),
            segments: SegmentDetail::Notable,
            max_segments: 1_000_000,
            segments_for: None,
        }
    }
}

/// The segment detail kept for a connection of `session`.
fn detail_for(config: &CorrelatorConfig, session: Option<u64>) -> SegmentDetail {
    match config.segments_for {
        Some(id) if session != Some(id) => SegmentDetail::Notable,
        _ => config.segments,
    }
}

/// What one TCP connection is to ftpflow (the per-connection state in the TCP table).
#[derive(Default)]
pub enum Role {
    #[default]
    New,
    /// Not yet known: the first bytes decide whether it speaks FTP.
    Probing(Box<Probe>),
    Control {
        session: u64,
        /// Which TCP side is the FTP client.
        client: Side,
    },
    Data(Box<DataRole>),
    Ignored,
}

pub struct DataRole {
    flow: DataFlow,
    session: Option<u64>,
    client_is_initiator: bool,
    reason: &'static str,
}

/// The first bytes of each direction of a connection that may speak FTP on another port.
#[derive(Default)]
pub struct Probe {
    initiator: Vec<u8>,
    responder: Vec<u8>,
    first_ts: Timestamp,
}

const PROBE_LIMIT: usize = 1024;

enum ProbeVerdict {
    Ftp,
    NotFtp,
    Undecided,
}

impl Probe {
    fn verdict(&self) -> ProbeVerdict {
        let line = |b: &[u8]| b.iter().position(|&c| c == b'\n').map(|i| b[..i].to_vec());
        let server = line(&self.responder);
        if let Some(s) = &server
            && !(s.starts_with(b"220") || s.starts_with(b"120"))
        {
            return ProbeVerdict::NotFtp;
        }
        let client_line = line(&self.initiator);
        if let Some(c) = &client_line {
            let known = ftp::parse_command(c).is_some_and(|cmd| {
                matches!(
                    cmd.verb.as_str(),
                    "USER"
                        | "AUTH"
                        | "FEAT"
                        | "SYST"
                        | "OPTS"
                        | "HOST"
                        | "CLNT"
                        | "PASS"
                        | "QUIT"
                        | "NOOP"
                )
            });
            if !known {
                return ProbeVerdict::NotFtp;
            }
            if server.is_some() {
                return ProbeVerdict::Ftp;
            }
        } else if !self.initiator.is_empty() && server.is_none() {
            // The initiator spoke first: FTP servers always greet first.
            return ProbeVerdict::NotFtp;
        }
        if self.initiator.len() >= PROBE_LIMIT || self.responder.len() >= PROBE_LIMIT {
            return ProbeVerdict::NotFtp;
        }
        ProbeVerdict::Undecided
    }
}

/// The correlator: the TCP table's handler.
pub struct Correlator<'s> {
    config: CorrelatorConfig,
    file: String,
    sessions: HashMap<u64, ControlState>,
    expectations: Expectations,
    /// Open TLS sessions by (client IP, server IP): their data connections cannot be
    /// matched by announcement, so they are claimed by hosts.
    tls_hosts: HashMap<(IpAddr, IpAddr), u64>,
    next_session: u64,
    sink: &'s mut dyn SessionSink,
    wants_data: bool,
    dns: DnsTracker,
    /// Diagnosis state that outlives one session (brute force across sessions).
    findings: crate::findings::Tracker,
    /// Packet number of the packet being processed, in its file (1-based).
    pub frame: u64,
    pub summary: Summary,
}

/// Recent DNS lookups, to open a session's diagram with the one that found its server.
#[derive(Default)]
struct DnsTracker {
    queries: HashMap<(SocketAddr, SocketAddr, u16), (Timestamp, u64)>,
    answers: std::collections::VecDeque<DnsLookup>,
}

const DNS_KEEP: usize = 256;
/// A lookup this long before the control connection opened still counts as its lookup.
const DNS_WINDOW_NS: i64 = 60 * 1_000_000_000;

impl DnsTracker {
    fn datagram(&mut self, ts: Timestamp, frame: u64, udp: &UdpDatagram<'_>) {
        if udp.src.port() != 53 && udp.dst.port() != 53 {
            return;
        }
        let Some(msg) = dns::parse(udp.payload) else {
            return;
        };
        if !msg.response {
            if self.queries.len() >= DNS_KEEP {
                self.queries.clear();
            }
            self.queries.insert((udp.src, udp.dst, msg.id), (ts, frame));
            return;
        }
        if msg.answers.is_empty() {
            return;
        }
        let query = self.queries.remove(&(udp.dst, udp.src, msg.id));
        if self.answers.len() >= DNS_KEEP {
            self.answers.pop_front();
        }
        self.answers.push_back(DnsLookup {
            name: msg.name,
            client: udp.dst,
            server: udp.src,
            query_ts: query.map(|q| q.0),
            response_ts: ts,
            answers: msg.answers,
            query_frame: query.map(|q| q.1),
            response_frame: frame,
        });
    }

    /// The latest lookup that gave `client` the address of `server` shortly before `at`.
    fn find(&self, client: IpAddr, server: IpAddr, at: Timestamp) -> Option<DnsLookup> {
        self.answers
            .iter()
            .rev()
            .find(|l| {
                l.client.ip() == client
                    && l.answers.contains(&server)
                    && l.response_ts <= at
                    && at.since(l.response_ts) <= DNS_WINDOW_NS
            })
            .cloned()
    }
}

impl<'s> Correlator<'s> {
    pub fn new(config: CorrelatorConfig, sink: &'s mut dyn SessionSink) -> Self {
        Correlator {
            config,
            file: String::new(),
            sessions: HashMap::new(),
            expectations: Expectations::default(),
            tls_hosts: HashMap::new(),
            next_session: 1,
            wants_data: sink.wants_data(),
            sink,
            dns: DnsTracker::default(),
            findings: crate::findings::Tracker::default(),
            frame: 0,
            summary: Summary::default(),
        }
    }

    /// Names the capture the following packets come from.
    pub fn set_file(&mut self, file: &str) {
        self.file = file.to_string();
        self.frame = 0;
        self.dns = DnsTracker::default();
    }

    /// A UDP datagram (DNS lookups are remembered for the sessions that follow).
    pub fn udp(&mut self, ts: Timestamp, udp: &UdpDatagram<'_>) {
        self.dns.datagram(ts, self.frame, udp);
    }

    pub fn open_sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Shows the sink the sessions in flight (`SessionSink::open_sessions`), by id.
    pub fn report_open(&mut self) {
        let mut open: Vec<&Session> = self.sessions.values().map(|s| &s.session).collect();
        open.sort_unstable_by_key(|s| s.id);
        self.sink.open_sessions(&open);
    }

    fn count(&mut self, kind: &str) {
        *self.summary.anomalies.entry(kind.to_string()).or_default() += 1;
    }

    fn apply(&mut self, fx: Vec<Effect>) {
        for e in fx {
            match e {
                Effect::Expect(x) => self.expectations.add(x),
                Effect::Counted(kind) => self.count(kind),
            }
        }
    }

    fn new_session(&mut self, ts: Timestamp, info: &ConnInfo, client: Side) -> u64 {
        let id = self.next_session;
        self.next_session += 1;
        let session = Session {
            id,
            file: self.file.clone(),
            client: info.addr(client),
            server: info.addr(client.other()),
            start: ts,
            end: ts,
            user: None,
            logged_in: false,
            tls: false,
            banner: None,
            commands: Vec::new(),
            transfers: Vec::new(),
            anomalies: Vec::new(),
            control_syn_seen: info.syn_seen,
            control_closed: false,
            control_reset: false,
            control_packets: 0,
            control_segments: Vec::new(),
            dns: self
                .dns
                .find(info.addr(client).ip(), info.addr(client.other()).ip(), ts),
            tls_cleared: None,
            findings: Vec::new(),
        };
        let state = ControlState::new(session, self.config.limits, self.config.show_passwords);
        self.sessions.insert(id, state);
        id
    }

    /// Decides the role of a new connection.
    fn classify(&mut self, ts: Timestamp, info: &ConnInfo) -> Role {
        let (i, r) = (info.initiator, info.responder);
        let ftp_port = |a: SocketAddr| self.config.ftp_ports.contains(&a.port());
        if ftp_port(r) || ftp_port(i) {
            let client = if ftp_port(r) {
                Side::Initiator
            } else {
                Side::Responder
            };
            let session = self.new_session(ts, info, client);
            return Role::Control { session, client };
        }
        if let Some(m) = self.expectations.take(i, r) {
            let session = m.expectation.session;
            if let Some(s) = self.sessions.get_mut(&session) {
                s.data_opened(info.id);
            }
            return Role::Data(Box::new(DataRole {
                flow: DataFlow::default(),
                session: Some(session),
                client_is_initiator: m.client_is_initiator,
                reason: "",
            }));
        }
        let tls_session = self
            .tls_hosts
            .get(&(i.ip(), r.ip()))
            .map(|s| (*s, true))
            .or_else(|| self.tls_hosts.get(&(r.ip(), i.ip())).map(|s| (*s, false)));
        if let Some((session, client_is_initiator)) = tls_session {
            return Role::Data(Box::new(DataRole {
                flow: DataFlow::default(),
                session: Some(session),
                client_is_initiator,
                reason: REASON_TLS_DATA,
            }));
        }
        if i.port() == 20 || r.port() == 20 {
            return Role::Data(Box::new(DataRole {
                flow: DataFlow::default(),
                session: None,
                client_is_initiator: i.port() != 20,
                reason: "from the FTP data port 20, but no captured command announced it",
            }));
        }
        Role::Probing(Box::new(Probe {
            first_ts: ts,
            ..Probe::default()
        }))
    }

    fn control_event(
        &mut self,
        ts: Timestamp,
        info: &ConnInfo,
        session: u64,
        client: Side,
        event: TcpEvent<'_>,
    ) {
        let mut fx = Vec::new();
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        match event {
            TcpEvent::Segment { from, seg } => {
                s.session.end = ts;
                s.session.control_packets = info.packets;
                s.log.record(
                    detail_for(&self.config, Some(session)),
                    self.config.max_segments,
                    self.frame,
                    ts,
                    from == client,
                    from == Side::Initiator,
                    seg,
                );
            }
            TcpEvent::Data { from, data } => {
                let was_tls = s.is_tls();
                if from == client {
                    s.client_bytes(ts, data, &mut fx);
                } else {
                    s.server_bytes(ts, data, &mut fx);
                }
                if !was_tls && s.is_tls() {
                    self.tls_hosts
                        .insert((s.session.client.ip(), s.session.server.ip()), session);
                }
            }
            TcpEvent::Gap { from, len } => s.gap(ts, from == client, len, &mut fx),
            TcpEvent::Reset { .. } => s.session.control_reset = true,
            TcpEvent::Closed { reason } => {
                s.session.control_closed = matches!(reason, CloseReason::Fin | CloseReason::Reset);
                s.finish(ts, &mut fx);
            }
            TcpEvent::Opened | TcpEvent::Fin { .. } => {}
        }
        self.apply(fx);
        self.maybe_emit(session);
    }

    fn data_closed(&mut self, info: &ConnInfo, role: &mut DataRole, closed: bool) {
        let dc = role.flow.finish(info, role.client_is_initiator, closed);
        let owner = role
            .session
            .and_then(|id| self.sessions.get_mut(&id).map(|s| (id, s)));
        match owner {
            Some((id, s)) if role.reason.is_empty() => {
                s.data_closed(info.id, dc);
                self.maybe_emit(id);
            }
            _ => {
                self.summary.unmatched_data += 1;
                let data = UnmatchedData {
                    file: self.file.clone(),
                    session: role.session,
                    conn: dc,
                    reason: role.reason.to_string(),
                };
                self.findings.unmatched(&data);
                self.sink.unmatched(data);
            }
        }
    }

    /// Writes a session out once its control connection and all its data connections are done.
    fn maybe_emit(&mut self, id: u64) {
        if !self.sessions.get(&id).is_some_and(|s| s.is_finished()) {
            return;
        }
        let mut s = self.sessions.remove(&id).expect("checked");
        let mut fx = Vec::new();
        s.conclude(&mut fx);
        self.apply(fx);
        self.expectations.drop_session(id);
        self.tls_hosts.retain(|_, v| *v != id);
        // Diagnosis, before its unclaimed data connections are handed out.
        let unclaimed: Vec<&crate::model::DataConnection> =
            s.unclaimed_closed.iter().map(|(dc, _)| dc).collect();
        s.session.findings = self.findings.conclude(&s.session, &unclaimed);
        for (dc, why) in std::mem::take(&mut s.unclaimed_closed) {
            self.summary.unmatched_data += 1;
            self.sink.unmatched(UnmatchedData {
                file: self.file.clone(),
                session: Some(id),
                conn: dc,
                reason: why.unwrap_or_else(|| {
                    "matched an endpoint the session announced, but no transfer command used it"
                        .to_string()
                }),
            });
        }
        self.summary.sessions += 1;
        self.summary.transfers += s.session.transfers.len() as u64;
        self.sink.session(s.session);
    }

    /// End of all input: sessions still waiting (their data connections were flushed by the
    /// TCP table already) are written out.
    pub fn finish(&mut self) {
        let mut ids: Vec<u64> = self.sessions.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            if let Some(s) = self.sessions.get_mut(&id) {
                if !s.control_done {
                    let mut fx = Vec::new();
                    let end = s.session.end;
                    s.finish(end, &mut fx);
                    self.apply(fx);
                }
                let s = self.sessions.get_mut(&id).expect("present");
                s.open_data.clear();
            }
            self.maybe_emit(id);
        }
    }
}

impl ConnectionHandler for Correlator<'_> {
    type State = Role;

    fn event(
        &mut self,
        ts: Timestamp,
        info: &ConnInfo,
        role: &mut Role,
        event: TcpEvent<'_>,
    ) -> Interest {
        if let TcpEvent::Opened = event {
            *role = self.classify(ts, info);
        }
        match role {
            Role::New | Role::Ignored => Interest::HeadersOnly,
            Role::Control { session, client } => {
                let (session, client) = (*session, *client);
                self.control_event(ts, info, session, client, event);
                Interest::Bytes
            }
            Role::Data(d) => {
                let from_server = |from: Side| (from == Side::Initiator) != d.client_is_initiator;
                match event {
                    TcpEvent::Segment { from, seg } => {
                        let from_client = !from_server(from);
                        d.flow.log.record(
                            detail_for(&self.config, d.session),
                            self.config.max_segments,
                            self.frame,
                            ts,
                            from_client,
                            from == Side::Initiator,
                            seg,
                        );
                    }
                    TcpEvent::Data { from, data } => {
                        d.flow.data(ts, from, data);
                        // In-flight sessions (live views) show a running transfer's progress.
                        if let Some(s) = d.session.and_then(|id| self.sessions.get_mut(&id)) {
                            s.data_progress(info.id, from_server(from), data.len() as u64, ts);
                        }
                        if self.wants_data {
                            self.sink.data(info.id.0, from_server(from), data);
                        }
                    }
                    TcpEvent::Gap { from, len } => {
                        d.flow.gap(from, len);
                        if self.wants_data {
                            self.sink.data_gap(info.id.0, from_server(from), len);
                        }
                    }
                    TcpEvent::Reset { .. } => d.flow.reset(),
                    TcpEvent::Closed { reason } => {
                        let closed = matches!(reason, CloseReason::Fin | CloseReason::Reset);
                        self.data_closed(info, d, closed);
                    }
                    _ => {}
                }
                Interest::Bytes
            }
            Role::Probing(p) => {
                match event {
                    TcpEvent::Data { from, data } => {
                        let buf = match from {
                            Side::Initiator => &mut p.initiator,
                            Side::Responder => &mut p.responder,
                        };
                        let room = PROBE_LIMIT.saturating_sub(buf.len());
                        buf.extend_from_slice(&data[..data.len().min(room)]);
                    }
                    TcpEvent::Gap { .. } => {
                        *role = Role::Ignored;
                        return Interest::HeadersOnly;
                    }
                    _ => return Interest::Bytes,
                }
                match p.verdict() {
                    ProbeVerdict::Undecided => Interest::Bytes,
                    ProbeVerdict::NotFtp => {
                        *role = Role::Ignored;
                        Interest::HeadersOnly
                    }
                    ProbeVerdict::Ftp => {
                        let probe = std::mem::take(p);
                        let session = self.new_session(probe.first_ts, info, Side::Initiator);
                        *role = Role::Control {
                            session,
                            client: Side::Initiator,
                        };
                        // Replay what the probe saw. Its bytes are in stream order per direction;
                        // the greeting is first on the server side.
                        self.control_event(
                            probe.first_ts,
                            info,
                            session,
                            Side::Initiator,
                            TcpEvent::Data {
                                from: Side::Responder,
                                data: &probe.responder,
                            },
                        );
                        self.control_event(
                            ts,
                            info,
                            session,
                            Side::Initiator,
                            TcpEvent::Data {
                                from: Side::Initiator,
                                data: &probe.initiator,
                            },
                        );
                        Interest::Bytes
                    }
                }
            }
        }
    }
}
