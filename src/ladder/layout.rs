//! The renderer-neutral ladder: lifelines, time-ordered rows (headings, arrows, notes) built
//! from one session. Every string that came off the wire is sanitised here, once, so every
//! renderer (text, Mermaid, PlantUML, SVG, the TUI) starts from safe text; renderers still
//! apply their own format's escaping.

use crate::decode::TcpFlags;
use crate::ftp::Direction;
use crate::model::{DataConnection, SegmentRecord, Session, TransferKind, UnmatchedData};
use crate::output::sanitize;
use crate::output::text::{clock, date};
use crate::time::Timestamp;
use std::net::IpAddr;

/// How the time column reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimeMode {
    /// Seconds since the ladder's first row.
    #[default]
    Relative,
    /// Time of day (UTC); the date is in the title.
    Absolute,
    /// Seconds since the previous row.
    Delta,
}

/// How much of the data connections is drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Detail {
    /// One arrow per data connection and direction that carried bytes.
    #[default]
    Summary,
    /// Every recorded TCP segment (needs `SegmentDetail::All` in the correlator).
    Packets,
}

#[derive(Clone, Debug)]
pub struct LayoutOptions {
    pub time: TimeMode,
    pub detail: Detail,
    /// Up to this many distinct data ports per side get a lifeline each; beyond it,
    /// connections that do not overlap in time share lanes (and arrows name their ports).
    pub private_lanes: usize,
}

impl Default for LayoutOptions {
    fn default() -> Self {
        LayoutOptions {
            time: TimeMode::Relative,
            detail: Detail::Summary,
            private_lanes: 3,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostRole {
    Dns,
    FtpServer,
    FtpClient,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostGroup {
    /// "DNS", "FTP server", "FTP client".
    pub label: String,
    pub role: HostRole,
    pub addr: IpAddr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifelineKind {
    Control,
    Data,
    Dns,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lifeline {
    /// Index into `Ladder::hosts`.
    pub host: usize,
    /// The port, or "dataN" for a lane shared by several ports.
    pub label: String,
    pub kind: LifelineKind,
    /// `None` for a shared lane.
    pub port: Option<u16>,
}

/// Which connection a row belongs to (renderers colour by it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnRef {
    Dns,
    Control,
    /// The n-th data connection of the session (0-based, in order of start).
    Data(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArrowStyle {
    Handshake,
    Command,
    Reply,
    Data,
    /// A TCP segment drawn with `--detail packets` that is not handshake or teardown.
    Segment,
    Teardown,
    Dns,
}

/// A TCP segment as the detail pane shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    /// Relative to the sender's initial sequence number (as Wireshark shows them).
    pub rel_seq: u32,
    pub rel_ack: Option<u32>,
    pub len: u32,
}

/// Everything known about a row, for a detail pane (the TUI) or a tooltip (SVG).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RowDetail {
    /// The full text (a multi-line reply unfolded), sanitised.
    pub text: String,
    /// Capture frame numbers (1-based) when known.
    pub frames: Vec<u64>,
    pub segment: Option<SegmentInfo>,
    pub bytes: Option<u64>,
    pub duration_ns: Option<i64>,
    pub bits_per_sec: Option<f64>,
    pub sha256: Option<String>,
    /// "client:port → server:port" of the connection.
    pub endpoints: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RowKind {
    /// A phase of what the user did ("Download readme.txt (PORT + RETR)").
    Heading(String),
    Arrow {
        from: usize,
        to: usize,
        label: String,
        style: ArrowStyle,
        conn: ConnRef,
        detail: Box<RowDetail>,
    },
    /// A remark anchored on a lifeline (a transfer summary in packets mode, an omission).
    Note {
        lifeline: usize,
        text: String,
        conn: Option<ConnRef>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub ts: Option<Timestamp>,
    /// Empty for headings.
    pub time_label: String,
    pub kind: RowKind,
    /// The anomalies that happened at this row (sanitised; several are separated by `\n`).
    pub anomaly: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ladder {
    pub title: String,
    pub hosts: Vec<HostGroup>,
    pub lifelines: Vec<Lifeline>,
    pub rows: Vec<Row>,
}

/// The ladder of one session.
pub fn layout(session: &Session, opts: &LayoutOptions) -> Ladder {
    layout_with_unmatched(session, &[], opts)
}

/// The ladder of one session, with the data connections no transfer claimed that belong to it
/// (a refused transfer's connection, a TLS session's data).
pub fn layout_with_unmatched(
    session: &Session,
    unmatched: &[UnmatchedData],
    opts: &LayoutOptions,
) -> Ladder {
    Builder::new(session, unmatched, opts).build()
}

/// One data connection to draw and what it carried.
struct DataItem<'a> {
    conn: &'a DataConnection,
    /// "readme.txt", "directory listing", "unclaimed data".
    what: String,
    sha_transfer: Option<&'a str>,
    /// Set for an unclaimed connection.
    unclaimed: Option<String>,
}

struct Builder<'a> {
    s: &'a Session,
    opts: &'a LayoutOptions,
    data: Vec<DataItem<'a>>,
    hosts: Vec<HostGroup>,
    lifelines: Vec<Lifeline>,
    /// Per data item: (server-side lifeline, client-side lifeline, lanes shared?).
    data_lines: Vec<(usize, usize, bool)>,
    dns_lines: Option<(usize, usize)>,
    ctl_server: usize,
    ctl_client: usize,
    /// (ts, tie-break class, row); class 0 sorts headings before arrows at the same instant.
    events: Vec<(Timestamp, u8, Row)>,
}

fn row(ts: Timestamp, kind: RowKind) -> Row {
    Row {
        ts: Some(ts),
        time_label: String::new(),
        kind,
        anomaly: None,
    }
}

impl<'a> Builder<'a> {
    fn new(s: &'a Session, unmatched: &'a [UnmatchedData], opts: &'a LayoutOptions) -> Self {
        let mut data: Vec<DataItem<'a>> = Vec::new();
        for t in &s.transfers {
            let Some(conn) = &t.data else { continue };
            let what = match (t.kind, t.arg.as_deref()) {
                (TransferKind::File, Some(a)) => sanitize(a).into_owned(),
                (TransferKind::File, None) => t.command.clone(),
                (TransferKind::Listing, _) => "directory listing".to_string(),
            };
            data.push(DataItem {
                conn,
                what,
                sha_transfer: t.sha256.as_deref(),
                unclaimed: None,
            });
        }
        for u in unmatched.iter().filter(|u| u.session == Some(s.id)) {
            data.push(DataItem {
                conn: &u.conn,
                what: "unclaimed data".to_string(),
                sha_transfer: None,
                unclaimed: Some(sanitize(&u.reason).into_owned()),
            });
        }
        data.sort_by_key(|d| (d.conn.start, d.conn.id));
        Builder {
            s,
            opts,
            data,
            hosts: Vec::new(),
            lifelines: Vec::new(),
            data_lines: Vec::new(),
            dns_lines: None,
            ctl_server: 0,
            ctl_client: 0,
            events: Vec::new(),
        }
    }

    fn build(mut self) -> Ladder {
        self.lifelines();
        self.dns_rows();
        self.control_rows();
        self.headings();
        for i in 0..self.data.len() {
            self.data_rows(i);
        }
        let mut events = std::mem::take(&mut self.events);
        events.sort_by_key(|(ts, class, _)| (*ts, *class));
        let mut rows: Vec<Row> = events.into_iter().map(|(_, _, r)| r).collect();
        self.place_anomalies(&mut rows);
        self.time_labels(&mut rows);
        Ladder {
            title: self.title(),
            hosts: self.hosts,
            lifelines: self.lifelines,
            rows,
        }
    }

    fn title(&self) -> String {
        let s = self.s;
        let mut t = format!("FTP session {}: {} → {}", s.id, s.client, s.server);
        if let Some(u) = &s.user {
            t.push_str(&format!(", user {}", sanitize(u)));
        }
        if s.tls {
            t.push_str(", TLS");
        }
        t.push_str(&format!(
            ", {} {} UTC, {}",
            date(s.start),
            clock(s.start),
            sanitize(&s.file)
        ));
        t
    }

    fn host(&mut self, label: &str, role: HostRole, addr: IpAddr) -> usize {
        self.hosts.push(HostGroup {
            label: label.to_string(),
            role,
            addr,
        });
        self.hosts.len() - 1
    }

    fn line(&mut self, host: usize, port: Option<u16>, kind: LifelineKind, label: String) -> usize {
        self.lifelines.push(Lifeline {
            host,
            label,
            kind,
            port,
        });
        self.lifelines.len() - 1
    }

    /// Order as in the classic diagram: DNS; the server's data ports, its control port; the
    /// client's resolver port, control port, data ports.
    fn lifelines(&mut self) {
        let s = self.s;
        if let Some(d) = &s.dns {
            let h = self.host("DNS", HostRole::Dns, d.server.ip());
            let l = self.line(
                h,
                Some(d.server.port()),
                LifelineKind::Dns,
                d.server.port().to_string(),
            );
            self.dns_lines = Some((l, usize::MAX));
        }
        let server_host = self.host("FTP server", HostRole::FtpServer, s.server.ip());
        let server_lanes = self.lanes(true);
        let mut server_ids = Vec::new();
        for (label, port) in &server_lanes.labels {
            server_ids.push(self.line(server_host, *port, LifelineKind::Data, label.clone()));
        }
        self.ctl_server = self.line(
            server_host,
            Some(s.server.port()),
            LifelineKind::Control,
            s.server.port().to_string(),
        );
        let client_host = self.host("FTP client", HostRole::FtpClient, s.client.ip());
        if let Some(d) = &s.dns {
            let l = self.line(
                client_host,
                Some(d.client.port()),
                LifelineKind::Dns,
                d.client.port().to_string(),
            );
            if let Some(pair) = &mut self.dns_lines {
                pair.1 = l;
            }
        }
        self.ctl_client = self.line(
            client_host,
            Some(s.client.port()),
            LifelineKind::Control,
            s.client.port().to_string(),
        );
        let client_lanes = self.lanes(false);
        let mut client_ids = Vec::new();
        for (label, port) in &client_lanes.labels {
            client_ids.push(self.line(client_host, *port, LifelineKind::Data, label.clone()));
        }
        self.data_lines = (0..self.data.len())
            .map(|i| {
                (
                    server_ids[server_lanes.of[i]],
                    client_ids[client_lanes.of[i]],
                    server_lanes.shared || client_lanes.shared,
                )
            })
            .collect();
    }

    /// Assigns the data connections of one side to lanes: one per port when there are few
    /// ports (or one port, like 20), else the fewest lanes such that connections sharing a
    /// lane do not overlap in time, at most `MAX_SHARED_LANES`: beyond that, connections
    /// share the lane that frees first even though they overlap (arrows on shared lanes
    /// name their ports). Thousands of connections open at once once made thousands of
    /// columns, and the text grid gigabytes.
    fn lanes(&self, server: bool) -> Lanes {
        let port = |d: &DataConnection| {
            if server {
                d.server.port()
            } else {
                d.client.port()
            }
        };
        let private = self.opts.private_lanes.max(1);
        let mut ports: Vec<u16> = Vec::new();
        for d in &self.data {
            let p = port(d.conn);
            if !ports.contains(&p) {
                ports.push(p);
                if ports.len() > private {
                    break;
                }
            }
        }
        if ports.len() <= private {
            return Lanes {
                labels: ports.iter().map(|p| (p.to_string(), Some(*p))).collect(),
                of: self
                    .data
                    .iter()
                    .map(|d| ports.iter().position(|p| *p == port(d.conn)).unwrap_or(0))
                    .collect(),
                shared: false,
            };
        }
        // Interval partitioning: items are sorted by start; each takes the first lane free.
        let mut lane_end: Vec<Timestamp> = Vec::new();
        // Per lane: its first port, and whether other ports use it too.
        let mut lane_port: Vec<(u16, bool)> = Vec::new();
        let mut of = Vec::with_capacity(self.data.len());
        for d in &self.data {
            let (start, end) = (d.conn.start, d.conn.end.max(d.conn.start));
            let p = port(d.conn);
            let lane = match lane_end.iter().position(|e| *e < start) {
                Some(l) => l,
                None if lane_end.len() < MAX_SHARED_LANES => {
                    lane_end.push(start);
                    lane_port.push((p, false));
                    lane_end.len() - 1
                }
                None => (0..lane_end.len())
                    .min_by_key(|&l| lane_end[l])
                    .expect("lanes exist"),
            };
            lane_end[lane] = lane_end[lane].max(end);
            if lane_port[lane].0 != p {
                lane_port[lane].1 = true;
            }
            of.push(lane);
        }
        let labels = lane_port
            .iter()
            .enumerate()
            .map(|(i, &(p, several))| {
                if several {
                    (format!("data{}", i + 1), None)
                } else {
                    (p.to_string(), Some(p))
                }
            })
            .collect();
        Lanes {
            labels,
            of,
            shared: true,
        }
    }

    fn push(&mut self, ts: Timestamp, class: u8, r: Row) {
        self.events.push((ts, class, r));
    }

    #[allow(clippy::too_many_arguments)]
    fn arrow(
        &mut self,
        ts: Timestamp,
        from: usize,
        to: usize,
        label: String,
        style: ArrowStyle,
        conn: ConnRef,
        detail: RowDetail,
    ) {
        self.push(
            ts,
            1,
            row(
                ts,
                RowKind::Arrow {
                    from,
                    to,
                    label,
                    style,
                    conn,
                    detail: Box::new(detail),
                },
            ),
        );
    }

    fn dns_rows(&mut self) {
        let (Some(d), Some((server, client))) = (&self.s.dns, self.dns_lines) else {
            return;
        };
        let name = sanitize(&d.name).into_owned();
        let rtype = if d.answers.iter().all(|a| a.is_ipv4()) {
            "A"
        } else {
            "AAAA"
        };
        let endpoints = format!("{} → {}", d.client, d.server);
        let start = d.query_ts.unwrap_or(d.response_ts);
        self.push(
            start,
            0,
            row(start, RowKind::Heading(format!("DNS lookup of {name}"))),
        );
        if let Some(q) = d.query_ts {
            self.arrow(
                q,
                client,
                server,
                format!("query {rtype} {name}"),
                ArrowStyle::Dns,
                ConnRef::Dns,
                RowDetail {
                    text: format!("DNS query: {rtype} {name}"),
                    frames: d.query_frame.into_iter().collect(),
                    endpoints: endpoints.clone(),
                    ..RowDetail::default()
                },
            );
        }
        let answers: Vec<String> = d.answers.iter().map(|a| a.to_string()).collect();
        self.arrow(
            d.response_ts,
            server,
            client,
            format!("{name} {rtype} {}", answers.join(", ")),
            ArrowStyle::Dns,
            ConnRef::Dns,
            RowDetail {
                text: format!("DNS response: {name} {rtype} {}", answers.join(", ")),
                frames: vec![d.response_frame],
                endpoints,
                ..RowDetail::default()
            },
        );
    }

    fn control_rows(&mut self) {
        let s = self.s;
        let endpoints = format!("{} → {}", s.client, s.server);
        let (cs, cc) = (self.ctl_server, self.ctl_client);
        let packets = self.opts.detail == Detail::Packets;
        let segs = &s.control_segments;
        let bases = SeqBases::new(segs);
        // Payload segments that a command or reply row already stands for.
        let mut covered = vec![false; segs.len()];
        let mut frame_of = |ts: Timestamp, from_client: bool| -> Vec<u64> {
            let mut frames = Vec::new();
            for (i, g) in segs.iter().enumerate() {
                if g.len > 0 && g.ts == ts && g.from_client == from_client {
                    covered[i] = true;
                    frames.push(g.frame);
                }
            }
            frames
        };
        let mut replies = Vec::new();
        if let Some(b) = &s.banner {
            replies.push((b, frame_of(b.ts, false)));
        }
        let mut commands = Vec::new();
        for c in &s.commands {
            commands.push((c, frame_of(c.ts, true)));
            for r in &c.replies {
                replies.push((r, frame_of(r.ts, false)));
            }
        }
        for (c, frames) in commands {
            let text = match &c.arg {
                Some(a) => format!("{} {}", sanitize(&c.verb), sanitize(a)),
                None => sanitize(&c.verb).into_owned(),
            };
            self.arrow(
                c.ts,
                cc,
                cs,
                text.clone(),
                ArrowStyle::Command,
                ConnRef::Control,
                RowDetail {
                    text,
                    frames,
                    endpoints: endpoints.clone(),
                    ..RowDetail::default()
                },
            );
        }
        for (r, frames) in replies {
            let mut lines = r.text.split('\n');
            let first = sanitize(lines.next().unwrap_or("")).into_owned();
            let more = lines.count();
            let label = if more > 0 {
                format!("{} {first} (+{more} lines)", r.code)
            } else {
                format!("{} {first}", r.code)
            };
            let full: Vec<String> = r
                .text
                .split('\n')
                .map(|l| sanitize(l).into_owned())
                .collect();
            self.arrow(
                r.ts,
                cs,
                cc,
                label,
                ArrowStyle::Reply,
                ConnRef::Control,
                RowDetail {
                    text: format!("{} {}", r.code, full.join("\n")),
                    frames,
                    endpoints: endpoints.clone(),
                    ..RowDetail::default()
                },
            );
        }
        for (i, g) in segs.iter().enumerate() {
            let f = TcpFlags(g.flags);
            let third = is_third_ack(segs, i);
            let notable = f.syn() || f.fin() || f.rst() || third;
            if covered[i] || !(notable || packets) {
                continue;
            }
            let (from, to) = if g.from_client { (cc, cs) } else { (cs, cc) };
            let info = bases.info(g);
            let style = segment_style(g, third);
            let label = segment_label(&info, packets || style == ArrowStyle::Segment);
            self.arrow(
                g.ts,
                from,
                to,
                label,
                style,
                ConnRef::Control,
                RowDetail {
                    text: format!("control connection segment: {}", segment_label(&info, true)),
                    frames: vec![g.frame],
                    segment: Some(info),
                    endpoints: endpoints.clone(),
                    ..RowDetail::default()
                },
            );
        }
    }

    fn data_rows(&mut self, i: usize) {
        let packets = self.opts.detail == Detail::Packets;
        let item = &self.data[i];
        let d = item.conn;
        let (sl, cl, shared) = self.data_lines[i];
        let conn = ConnRef::Data(i);
        let endpoints = match d.opened_by {
            crate::model::Opener::Client => format!("{} → {}", d.client, d.server),
            crate::model::Opener::Server => format!("{} → {}", d.server, d.client),
        };
        let ports = |from_client: bool| {
            if !shared {
                String::new()
            } else if from_client {
                format!("{}→{} ", d.client.port(), d.server.port())
            } else {
                format!("{}→{} ", d.server.port(), d.client.port())
            }
        };
        let bases = SeqBases::new(&d.segments);
        let mut rows = Vec::new();
        for (k, g) in d.segments.iter().enumerate() {
            let f = TcpFlags(g.flags);
            let third = is_third_ack(&d.segments, k);
            let notable = f.syn() || f.fin() || f.rst() || third;
            if !(notable || packets) {
                continue;
            }
            let info = bases.info(g);
            let style = segment_style(g, third);
            let label = format!(
                "{}{}",
                ports(g.from_client),
                segment_label(&info, packets || style == ArrowStyle::Segment)
            );
            let (from, to) = if g.from_client { (cl, sl) } else { (sl, cl) };
            rows.push((
                g.ts,
                from,
                to,
                label,
                style,
                RowDetail {
                    text: format!("{} segment: {}", item.what, segment_label(&info, true)),
                    frames: vec![g.frame],
                    segment: Some(info),
                    endpoints: endpoints.clone(),
                    ..RowDetail::default()
                },
            ));
        }
        let first_data = d.first_data.unwrap_or(d.start);
        let duration = match (d.first_data, d.last_data) {
            (Some(a), Some(b)) if b > a => Some(b.since(a)),
            _ => None,
        };
        let mut notes = Vec::new();
        for (from_client, bytes) in [(false, d.bytes_from_server), (true, d.bytes_from_client)] {
            if bytes == 0 {
                continue;
            }
            let n = if from_client {
                d.data_segments_from_client
            } else {
                d.data_segments_from_server
            };
            let segs = if n > 0 {
                format!(" in {n} segment{}", if n == 1 { "" } else { "s" })
            } else {
                String::new()
            };
            let rate = duration.map(|ns| bytes as f64 * 8.0 / (ns as f64 / 1e9));
            let mut label = format!(
                "{}{} {}{segs}",
                ports(from_client),
                item.what,
                thousands(bytes)
            );
            if let (Some(ns), Some(r)) = (duration, rate) {
                label.push_str(&format!(", {}, {}", duration_text(ns), rate_text(r)));
            }
            let sha = if from_client {
                &d.sha256_from_client
            } else {
                &d.sha256_from_server
            };
            let detail = RowDetail {
                text: format!(
                    "{} {} from the {} ({} packets on the connection)",
                    item.what,
                    thousands(bytes),
                    if from_client { "client" } else { "server" },
                    d.packets
                ),
                bytes: Some(bytes),
                duration_ns: duration,
                bits_per_sec: rate,
                sha256: Some(
                    item.sha_transfer
                        .filter(|_| !from_client || d.bytes_from_server == 0)
                        .unwrap_or(sha)
                        .to_string(),
                ),
                endpoints: endpoints.clone(),
                ..RowDetail::default()
            };
            if packets {
                // The segments are drawn; the summary is a note after the last one.
                let at = d.last_data.unwrap_or(first_data);
                notes.push((at, if from_client { sl } else { cl }, label));
            } else {
                let (from, to) = if from_client { (cl, sl) } else { (sl, cl) };
                rows.push((first_data, from, to, label, ArrowStyle::Data, detail));
            }
        }
        let mut first = true;
        for (ts, from, to, label, style, detail) in rows {
            self.arrow(ts, from, to, label, style, conn, detail);
            if first && let Some(why) = &self.data[i].unclaimed {
                let why = format!("data connection claimed by no transfer: {why}");
                if let Some((_, _, r)) = self.events.last_mut() {
                    r.anomaly = Some(why);
                }
            }
            first = false;
        }
        for (ts, lifeline, text) in notes {
            self.push(
                ts,
                2,
                row(
                    ts,
                    RowKind::Note {
                        lifeline,
                        text,
                        conn: Some(conn),
                    },
                ),
            );
        }
        let d = self.data[i].conn;
        if d.retransmitted_bytes > 0 {
            let at = d.last_data.unwrap_or(d.end);
            let lifeline = self.data_lines[i].1;
            let mut r = row(
                at,
                RowKind::Note {
                    lifeline,
                    text: format!("{} retransmitted", thousands(d.retransmitted_bytes)),
                    conn: Some(conn),
                },
            );
            r.anomaly = Some(format!(
                "{} retransmitted on this data connection",
                thousands(d.retransmitted_bytes)
            ));
            self.push(at, 2, r);
        }
    }

    /// Phase headings derived from the commands.
    fn headings(&mut self) {
        let s = self.s;
        let cmds = &s.commands;
        let mut out: Vec<(Timestamp, String)> = Vec::new();
        // The opening phase: connect, then the login prefix of commands.
        let mut i = 0;
        let mut login_verbs: Vec<&str> = Vec::new();
        let mut auth = None;
        while i < cmds.len() && LOGIN.contains(&cmds[i].verb.as_str()) {
            let v = cmds[i].verb.as_str();
            if matches!(v, "USER" | "PASS" | "ACCT") && !login_verbs.contains(&v) {
                login_verbs.push(v);
            }
            if v == "AUTH" {
                auth = Some(arg_text(&cmds[i].arg));
            }
            i += 1;
        }
        let mut opening = "Connect".to_string();
        if let Some(a) = auth {
            opening.push_str(&format!(", secure (AUTH {})", a.trim()));
        }
        if !login_verbs.is_empty() {
            opening.push_str(" and log in");
            if s.logged_in
                && let Some(u) = &s.user
            {
                opening.push_str(&format!(" as {}", sanitize(u)));
            }
            opening.push_str(&format!(" ({})", login_verbs.join("/")));
        }
        let start = s
            .control_segments
            .first()
            .map(|g| g.ts)
            .unwrap_or(s.start)
            .min(s.start);
        out.push((start, opening));
        while i < cmds.len() {
            let c = &cmds[i];
            let v = c.verb.as_str();
            if PREP.contains(&v) || crate::ftp::is_transfer_verb(v) {
                let mut j = i;
                // Clients ask SIZE/MDTM between PASV and RETR (curl): part of the transfer.
                while j < cmds.len()
                    && (PREP.contains(&cmds[j].verb.as_str())
                        || matches!(cmds[j].verb.as_str(), "SIZE" | "MDTM"))
                {
                    j += 1;
                }
                if j < cmds.len() && crate::ftp::is_transfer_verb(&cmds[j].verb) {
                    let mut verbs: Vec<&str> = cmds[i..j]
                        .iter()
                        .map(|c| c.verb.as_str())
                        .filter(|v| SETUP.contains(v) || *v == "REST")
                        .collect();
                    verbs.dedup();
                    verbs.push(&cmds[j].verb);
                    out.push((c.ts, transfer_heading(&cmds[j], &verbs.join(" + "))));
                    i = j + 1;
                    continue;
                }
                // Preparation not followed by a transfer (up to the first SIZE/MDTM).
                let j = (i..j)
                    .find(|&k| !PREP.contains(&cmds[k].verb.as_str()))
                    .unwrap_or(j)
                    .max(i + 1);
                let verbs: Vec<&str> = cmds[i..j].iter().map(|c| c.verb.as_str()).collect();
                out.push((c.ts, format!("Prepare a transfer ({})", list_verbs(&verbs))));
                i = j;
                continue;
            }
            let arg = arg_text(&c.arg);
            let with = |what: &str| {
                if arg.is_empty() {
                    format!("{what} ({v})")
                } else {
                    format!("{what} {arg} ({v})")
                }
            };
            let (title, n) = match v {
                "CWD" | "XCWD" => (with("Change directory to"), 1),
                "CDUP" | "XCUP" => ("Change to the parent directory (CDUP)".to_string(), 1),
                "PWD" | "XPWD" => ("Print the working directory (PWD)".to_string(), 1),
                "QUIT" => ("Log out (QUIT)".to_string(), 1),
                "REIN" => ("Reinitialise (REIN)".to_string(), 1),
                "ABOR" => ("Abort the transfer (ABOR)".to_string(), 1),
                "DELE" => (with("Delete"), 1),
                "MKD" | "XMKD" => (with("Make directory"), 1),
                "RMD" | "XRMD" => (with("Remove directory"), 1),
                "SIZE" | "MDTM" => (with("Ask about"), 1),
                "RNFR" => {
                    if cmds.get(i + 1).is_some_and(|n| n.verb == "RNTO") {
                        let to = arg_text(&cmds[i + 1].arg);
                        (format!("Rename {arg} to {to} (RNFR + RNTO)"), 2)
                    } else {
                        (with("Rename"), 1)
                    }
                }
                "USER" | "PASS" | "ACCT" => {
                    let mut j = i;
                    while j < cmds.len()
                        && matches!(cmds[j].verb.as_str(), "USER" | "PASS" | "ACCT")
                    {
                        j += 1;
                    }
                    let user = if v == "USER" && !arg.is_empty() {
                        format!(" as {arg}")
                    } else {
                        String::new()
                    };
                    (format!("Log in{user} (USER/PASS)"), j - i)
                }
                "AUTH" | "PBSZ" | "PROT" | "CCC" => {
                    let mut j = i;
                    while j < cmds.len()
                        && matches!(cmds[j].verb.as_str(), "AUTH" | "PBSZ" | "PROT" | "CCC")
                    {
                        j += 1;
                    }
                    let verbs: Vec<&str> = cmds[i..j].iter().map(|c| c.verb.as_str()).collect();
                    (format!("Security ({})", list_verbs(&verbs)), j - i)
                }
                _ => {
                    // A run of other commands shares one heading.
                    let mut j = i;
                    while j < cmds.len() && is_other(&cmds[j].verb) {
                        j += 1;
                    }
                    let j = j.max(i + 1);
                    let verbs: Vec<&str> = cmds[i..j].iter().map(|c| c.verb.as_str()).collect();
                    (format!("Other commands ({})", list_verbs(&verbs)), j - i)
                }
            };
            out.push((c.ts, title));
            i += n;
        }
        for (ts, title) in out {
            self.push(ts, 0, row(ts, RowKind::Heading(title)));
        }
    }

    /// Marks each session anomaly on the last row at or before its time (the reply or
    /// segment that revealed it).
    fn place_anomalies(&self, rows: &mut [Row]) {
        for a in &self.s.anomalies {
            let text = format!("{}: {}", a.kind, sanitize(&a.message));
            let target = rows
                .iter()
                .rposition(|r| {
                    !matches!(r.kind, RowKind::Heading(_)) && r.ts.is_some_and(|t| t <= a.ts)
                })
                .or_else(|| {
                    rows.iter()
                        .position(|r| !matches!(r.kind, RowKind::Heading(_)))
                });
            if let Some(k) = target {
                let slot = &mut rows[k].anomaly;
                match slot {
                    Some(prev) => {
                        prev.push('\n');
                        prev.push_str(&text);
                    }
                    None => *slot = Some(text),
                }
            }
        }
    }

    fn time_labels(&self, rows: &mut [Row]) {
        let t0 = rows.iter().filter_map(|r| r.ts).min();
        let mut prev = t0;
        for r in rows.iter_mut() {
            if matches!(r.kind, RowKind::Heading(_)) {
                continue;
            }
            let Some(ts) = r.ts else { continue };
            r.time_label = match self.opts.time {
                TimeMode::Relative => secs(ts.since(t0.unwrap_or(ts))),
                TimeMode::Delta => format!("+{}", secs(ts.since(prev.unwrap_or(ts)))),
                TimeMode::Absolute => {
                    let micros = ts.nanos().rem_euclid(1_000_000_000) / 1000;
                    format!("{}{:03}", clock(ts), micros % 1000)
                }
            };
            prev = Some(ts);
        }
    }
}

/// Lanes per side for data connections beyond `private_lanes` ports.
const MAX_SHARED_LANES: usize = 16;

struct Lanes {
    /// Per lane: its label and its port when it has only one.
    labels: Vec<(String, Option<u16>)>,
    /// Per data item: its lane.
    of: Vec<usize>,
    shared: bool,
}

/// Commands of a login prefix (the opening phase).
const LOGIN: &[&str] = &[
    "USER", "PASS", "ACCT", "AUTH", "PBSZ", "PROT", "FEAT", "SYST", "OPTS", "HOST", "CLNT",
];
/// Commands that prepare a transfer.
const PREP: &[&str] = &[
    "TYPE", "MODE", "STRU", "REST", "ALLO", "PORT", "PASV", "EPRT", "EPSV", "LPRT", "LPSV",
];
const SETUP: &[&str] = &["PORT", "PASV", "EPRT", "EPSV", "LPRT", "LPSV"];

fn is_other(v: &str) -> bool {
    !(PREP.contains(&v)
        || crate::ftp::is_transfer_verb(v)
        || matches!(
            v,
            "CWD"
                | "XCWD"
                | "CDUP"
                | "XCUP"
                | "PWD"
                | "XPWD"
                | "QUIT"
                | "REIN"
                | "ABOR"
                | "DELE"
                | "MKD"
                | "XMKD"
                | "RMD"
                | "XRMD"
                | "SIZE"
                | "MDTM"
                | "RNFR"
                | "USER"
                | "PASS"
                | "ACCT"
                | "AUTH"
                | "PBSZ"
                | "PROT"
                | "CCC"
        ))
}

fn list_verbs(verbs: &[&str]) -> String {
    let mut v: Vec<&str> = verbs.to_vec();
    v.dedup();
    if v.len() > 5 {
        let more = v.len() - 4;
        v.truncate(4);
        format!("{}, … {more} more", v.join(", "))
    } else {
        v.join(", ")
    }
}

fn arg_text(arg: &Option<String>) -> String {
    arg.as_deref()
        .map(|a| sanitize(a).into_owned())
        .unwrap_or_default()
}

fn transfer_heading(c: &crate::model::Command, verbs: &str) -> String {
    let arg = arg_text(&c.arg);
    match crate::ftp::transfer_kind(&c.verb) {
        Some(TransferKind::Listing) => {
            if arg.is_empty() || arg.starts_with('-') {
                format!("List directory ({verbs})")
            } else {
                format!("List {arg} ({verbs})")
            }
        }
        _ => {
            let what = match crate::ftp::transfer_direction(&c.verb) {
                Some(Direction::Download) => "Download",
                _ if c.verb == "APPE" => "Append to",
                _ => "Upload",
            };
            if arg.is_empty() {
                format!("{what} ({verbs})")
            } else {
                format!("{what} {arg} ({verbs})")
            }
        }
    }
}

/// Whether segment `i` is the third step of a handshake (the first ACK after a SYN-ACK, from
/// the SYN's sender).
fn is_third_ack(segs: &[SegmentRecord], i: usize) -> bool {
    let g = &segs[i];
    let f = TcpFlags(g.flags);
    if f.syn() || f.fin() || f.rst() || !f.ack() {
        return false;
    }
    let Some(synack) = segs[..i]
        .iter()
        .position(|s| TcpFlags(s.flags).syn() && TcpFlags(s.flags).ack())
    else {
        return false;
    };
    let from = !segs[synack].from_client;
    g.from_client == from
        && !segs[synack + 1..i]
            .iter()
            .any(|s| s.from_client == from && TcpFlags(s.flags).ack())
}

fn segment_style(g: &SegmentRecord, third_ack: bool) -> ArrowStyle {
    let f = TcpFlags(g.flags);
    if f.syn() || third_ack {
        ArrowStyle::Handshake
    } else if f.fin() || f.rst() {
        ArrowStyle::Teardown
    } else {
        ArrowStyle::Segment
    }
}

/// Initial sequence numbers per direction, for relative numbers.
struct SeqBases {
    client: Option<u32>,
    server: Option<u32>,
}

impl SeqBases {
    fn new(segs: &[SegmentRecord]) -> Self {
        let base = |from_client: bool| {
            segs.iter()
                .find(|g| g.from_client == from_client && TcpFlags(g.flags).syn())
                .or_else(|| segs.iter().find(|g| g.from_client == from_client))
                .map(|g| {
                    if TcpFlags(g.flags).syn() {
                        g.seq
                    } else {
                        // No SYN seen: count from the first byte seen (as Wireshark does).
                        g.seq.wrapping_sub(1)
                    }
                })
        };
        SeqBases {
            client: base(true),
            server: base(false),
        }
    }

    fn info(&self, g: &SegmentRecord) -> SegmentInfo {
        let (own, peer) = if g.from_client {
            (self.client, self.server)
        } else {
            (self.server, self.client)
        };
        let has_ack = TcpFlags(g.flags).ack();
        SegmentInfo {
            flags: g.flags,
            seq: g.seq,
            ack: g.ack,
            rel_seq: g.seq.wrapping_sub(own.unwrap_or(0)),
            rel_ack: if has_ack {
                Some(peer.map_or(g.ack, |p| g.ack.wrapping_sub(p)))
            } else {
                None
            },
            len: g.len,
        }
    }
}

/// "SYN, ACK" in Wireshark's order.
pub fn flag_names(flags: u8) -> String {
    let mut v = Vec::new();
    for (bit, name) in [
        (TcpFlags::FIN, "FIN"),
        (TcpFlags::SYN, "SYN"),
        (TcpFlags::RST, "RST"),
        (TcpFlags::PSH, "PSH"),
        (TcpFlags::ACK, "ACK"),
        (TcpFlags::URG, "URG"),
    ] {
        if flags & bit != 0 {
            v.push(name);
        }
    }
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

/// "SYN" (brief) or "SYN, ACK seq=0 ack=1" / "PSH, ACK seq=1 ack=1 len=1402" (full).
fn segment_label(info: &SegmentInfo, full: bool) -> String {
    let mut s = flag_names(info.flags);
    if full {
        s.push_str(&format!(" seq={}", info.rel_seq));
        if let Some(a) = info.rel_ack {
            s.push_str(&format!(" ack={a}"));
        }
    }
    if info.len > 0 {
        s.push_str(&format!(" len={}", info.len));
    }
    s
}

/// "1,234 B".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 2);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out.push_str(" B");
    out
}

/// "0.012345" seconds with microseconds.
fn secs(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let ns = ns.unsigned_abs();
    format!(
        "{sign}{}.{:06}",
        ns / 1_000_000_000,
        ns % 1_000_000_000 / 1000
    )
}

/// "12 ms", "850 µs", "2.41 s".
pub fn duration_text(ns: i64) -> String {
    let ns = ns.max(0) as f64;
    if ns < 1e6 {
        format!("{:.0} µs", ns / 1e3)
    } else if ns < 1e9 {
        let ms = ns / 1e6;
        if ms < 10.0 {
            format!("{ms:.1} ms")
        } else {
            format!("{ms:.0} ms")
        }
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

/// "0.8 Mbit/s".
pub fn rate_text(bps: f64) -> String {
    if bps >= 1e9 {
        format!("{:.1} Gbit/s", bps / 1e9)
    } else if bps >= 1e6 {
        format!("{:.1} Mbit/s", bps / 1e6)
    } else if bps >= 1e3 {
        format!("{:.1} kbit/s", bps / 1e3)
    } else {
        format!("{bps:.0} bit/s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Command, DataConnection, Opener, Reply, Transfer};

    fn ts(ms: i64) -> Timestamp {
        Timestamp(ms * 1_000_000)
    }

    fn conn(id: u64, cport: u16, sport: u16, start: i64, end: i64) -> DataConnection {
        DataConnection {
            id,
            client: format!("10.0.0.2:{cport}").parse().unwrap(),
            server: format!("10.0.0.1:{sport}").parse().unwrap(),
            opened_by: Opener::Client,
            syn_seen: true,
            start: ts(start),
            end: ts(end),
            bytes_from_server: 10,
            bytes_from_client: 0,
            sha256_from_server: String::new(),
            sha256_from_client: String::new(),
            gap_bytes_from_server: 0,
            gap_bytes_from_client: 0,
            retransmitted_bytes: 0,
            first_data: Some(ts(start + 1)),
            last_data: Some(ts(start + 1)),
            packets: 5,
            data_segments_from_server: 1,
            data_segments_from_client: 0,
            reset: false,
            closed: true,
            segments: Vec::new(),
            head_from_server: Vec::new(),
            head_from_client: Vec::new(),
        }
    }

    fn session(conns: Vec<DataConnection>) -> Session {
        let mut commands = Vec::new();
        let mut transfers = Vec::new();
        for (i, d) in conns.into_iter().enumerate() {
            commands.push(Command {
                ts: d.start,
                verb: "PASV".into(),
                arg: None,
                replies: vec![],
            });
            commands.push(Command {
                ts: d.start,
                verb: "RETR".into(),
                arg: Some(format!("f{i}\u{1b}[2J")),
                replies: vec![Reply {
                    ts: d.end,
                    code: 226,
                    text: "OK\nsecond line".into(),
                }],
            });
            transfers.push(Transfer {
                command_index: commands.len() - 1,
                command: "RETR".into(),
                arg: commands.last().unwrap().arg.clone(),
                kind: TransferKind::File,
                direction: Direction::Download,
                mode: Some(crate::model::Mode::Passive),
                announced: None,
                bytes: 10,
                sha256: None,
                rest: None,
                announced_size: None,
                type_code: None,
                final_code: Some(226),
                complete: true,
                encrypted: false,
                start: d.start,
                end: d.end,
                data: Some(d),
            });
        }
        Session {
            id: 1,
            file: "t.pcap".into(),
            client: "10.0.0.2:40000".parse().unwrap(),
            server: "10.0.0.1:21".parse().unwrap(),
            start: ts(0),
            end: ts(1000),
            user: None,
            logged_in: false,
            tls: false,
            banner: None,
            commands,
            transfers,
            anomalies: vec![],
            control_syn_seen: true,
            control_closed: true,
            control_reset: false,
            control_packets: 0,
            control_segments: vec![],
            dns: None,
            tls_cleared: None,
            findings: Vec::new(),
        }
    }

    #[test]
    fn lanes_are_shared_only_by_connections_that_do_not_overlap() {
        // Five connections: 0-10, 5-15 overlap; the rest follow one another.
        let conns = vec![
            conn(1, 50001, 30001, 0, 10),
            conn(2, 50002, 30002, 5, 15),
            conn(3, 50003, 30003, 20, 30),
            conn(4, 50004, 30004, 31, 40),
            conn(5, 50005, 30005, 41, 50),
        ];
        let l = layout(&session(conns), &LayoutOptions::default());
        let data: Vec<&Lifeline> = l
            .lifelines
            .iter()
            .filter(|l| l.kind == LifelineKind::Data)
            .collect();
        // Two lanes per side, not five; a lane used by one connection keeps its port.
        assert_eq!(data.len(), 4, "{data:?}");
        let labels: Vec<&str> = l.lifelines.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels, ["data1", "30002", "21", "40000", "data1", "50002"]);
        // Arrows on shared lanes name their ports.
        assert!(l.rows.iter().any(|r| matches!(&r.kind,
            RowKind::Arrow { label, .. } if label.starts_with("30002→50002 "))));
        // Few ports: one lifeline each, labelled by port.
        let l = layout(
            &session(vec![
                conn(1, 50001, 30001, 0, 10),
                conn(2, 50002, 30002, 20, 30),
            ]),
            &LayoutOptions::default(),
        );
        let labels: Vec<&str> = l.lifelines.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels, ["30001", "30002", "21", "40000", "50001", "50002"]);
    }

    #[test]
    fn thousands_of_overlapping_connections_share_a_bounded_number_of_lanes() {
        // 3,000 connections open at once: once 3,000 lanes per side (a text grid of
        // gigabytes); now at most MAX_SHARED_LANES, each arrow naming its ports.
        let conns: Vec<DataConnection> = (0..3000u16)
            .map(|i| {
                conn(
                    u64::from(i) + 1,
                    20000 + i,
                    30000 + i,
                    i64::from(i),
                    100_000,
                )
            })
            .collect();
        let l = layout(&session(conns), &LayoutOptions::default());
        let data = l
            .lifelines
            .iter()
            .filter(|l| l.kind == LifelineKind::Data)
            .count();
        assert_eq!(data, 2 * MAX_SHARED_LANES);
        assert!(l.rows.iter().any(|r| matches!(&r.kind,
            RowKind::Arrow { label, .. } if label.starts_with("32999→22999 "))));
    }

    #[test]
    fn wire_strings_are_sanitised_and_replies_folded() {
        let l = layout(
            &session(vec![conn(1, 50001, 30001, 0, 10)]),
            &LayoutOptions::default(),
        );
        for r in &l.rows {
            let text = match &r.kind {
                RowKind::Heading(t) => t.clone(),
                RowKind::Arrow { label, detail, .. } => format!("{label}{}", detail.text),
                RowKind::Note { text, .. } => text.clone(),
            };
            assert!(!text.contains('\u{1b}'), "{text}");
        }
        assert!(l.rows.iter().any(|r| matches!(&r.kind,
            RowKind::Arrow { label, .. } if label == "226 OK (+1 lines)")));
        assert!(l.rows.iter().any(|r| matches!(&r.kind,
            RowKind::Heading(h) if h == "Download f0\\x1b[2J (PASV + RETR)")));
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0 B");
        assert_eq!(thousands(1402), "1,402 B");
        assert_eq!(thousands(1_234_567), "1,234,567 B");
        assert_eq!(duration_text(12_000_000), "12 ms");
        assert_eq!(duration_text(850_000), "850 µs");
        assert_eq!(rate_text(800_000.0), "800.0 kbit/s");
        assert_eq!(flag_names(0x12), "SYN, ACK");
        assert_eq!(flag_names(0x19), "FIN, PSH, ACK");
    }
}
