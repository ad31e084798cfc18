//! Live monitoring: capture on a network interface (Linux AF_PACKET, no libpcap), analyse
//! as packets arrive, write each session the moment it ends.
//!
//! The loop is single-threaded: the kernel socket's receive buffer (`buffer_bytes`) is the
//! only queue between the wire and the analyzer, so every drop is a kernel drop and is
//! counted by the kernel (PACKET_STATISTICS). A poll timeout keeps Ctrl-C, `--duration`
//! and idle-connection expiry working when no packet arrives.

#[cfg(target_os = "linux")]
pub mod afpacket;
pub mod events;
pub mod filter;

use crate::analyzer::{Analyzer, AnalyzerConfig};
use crate::capture::{Packet, PcapWriter};
use crate::model::{Session, Summary, UnmatchedData};
use crate::session::SessionSink;
use crate::time::Timestamp;
use filter::Filter;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Why live capture could not start or go on. One line a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(
        "capturing on {0} needs root or the CAP_NET_RAW capability: run it with sudo, or allow it once with `sudo setcap cap_net_raw+ep $(which ftpflow)`"
    )]
    PermissionDenied(String),
    #[error("there is no network interface named {0:?} (`ftpflow live --list` shows them)")]
    NoSuchInterface(String),
    #[error(
        "cannot capture on {iface}: its link type (ARPHRD {arphrd}) is not supported (Ethernet, loopback and raw-IP interfaces are)"
    )]
    UnsupportedInterface { iface: String, arphrd: u32 },
    #[error("cannot open a capture socket: {0}")]
    Socket(std::io::Error),
    #[error("cannot create {path}: {error}")]
    Write { path: String, error: std::io::Error },
    #[error("cannot list the network interfaces: {0}")]
    List(std::io::Error),
    #[error(
        "live capture is supported on Linux only; elsewhere pipe a capture in: `tcpdump -U -w - | ftpflow -`"
    )]
    NotLinux,
}

#[derive(Clone, Debug)]
pub struct LiveConfig {
    pub interface: String,
    pub analyzer: AnalyzerConfig,
    /// Write every captured packet to this pcap file.
    pub write: Option<PathBuf>,
    pub duration: Option<Duration>,
    /// Stop after this many packets.
    pub count: Option<u64>,
    /// The kernel receive buffer of the socket.
    pub buffer_bytes: usize,
    /// Bytes kept of each packet (longer ones are cut, and their data reported as gaps).
    pub snaplen: usize,
}

impl LiveConfig {
    pub fn new(interface: &str) -> LiveConfig {
        LiveConfig {
            interface: interface.to_string(),
            analyzer: AnalyzerConfig::default(),
            write: None,
            duration: None,
            count: None,
            buffer_bytes: 64 << 20,
            // Offloads (GRO/TSO) hand AF_PACKET frames of up to 64 KiB and more.
            snaplen: 262_144,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    Duration,
    Count,
    /// Ctrl-C or SIGTERM.
    Signal,
    /// The interface went away or the socket failed (see the summary's warnings).
    Error,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Duration => "duration",
            StopReason::Count => "count",
            StopReason::Signal => "signal",
            StopReason::Error => "error",
        }
    }
}

/// What a live capture did, beyond the analysis summary.
#[derive(Clone, Debug)]
pub struct LiveReport {
    pub summary: Summary,
    pub interface: String,
    pub start: Timestamp,
    pub end: Timestamp,
    /// Packets and bytes (on the wire) received from the socket.
    pub packets: u64,
    pub bytes: u64,
    /// Packets the kernel dropped because the socket's queue was full.
    pub kernel_drops: u64,
    /// Packets dropped between the socket and the analyzer: always 0, there is no queue
    /// in between (kept so the report's shape does not change if one is added).
    pub queue_drops: u64,
    pub stopped_by: StopReason,
}

/// The wall clock as a capture timestamp.
pub fn now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_secs_nanos(d.as_secs() as i64, i64::from(d.subsec_nanos()))
}

/// Passes on the sessions and unmatched data connections the filter keeps; counts the rest.
pub struct Filtered<'a> {
    inner: &'a mut dyn SessionSink,
    filter: Filter,
    pub sessions_dropped: u64,
    pub transfers_dropped: u64,
    pub unmatched_dropped: u64,
}

impl<'a> Filtered<'a> {
    pub fn new(inner: &'a mut dyn SessionSink, filter: Filter) -> Self {
        Filtered {
            inner,
            filter,
            sessions_dropped: 0,
            transfers_dropped: 0,
            unmatched_dropped: 0,
        }
    }

    /// Makes the summary count what was written, not what was analysed.
    pub fn adjust(&self, summary: &mut Summary) {
        summary.sessions = summary.sessions.saturating_sub(self.sessions_dropped);
        summary.transfers = summary.transfers.saturating_sub(self.transfers_dropped);
        summary.unmatched_data = summary
            .unmatched_data
            .saturating_sub(self.unmatched_dropped);
    }
}

impl SessionSink for Filtered<'_> {
    fn session(&mut self, s: Session) {
        if self.filter.matches(s.client, s.server) {
            self.inner.session(s);
        } else {
            self.sessions_dropped += 1;
            self.transfers_dropped += s.transfers.len() as u64;
        }
    }
    fn unmatched(&mut self, u: UnmatchedData) {
        if self.filter.matches(u.conn.client, u.conn.server) {
            self.inner.unmatched(u);
        } else {
            self.unmatched_dropped += 1;
        }
    }
    fn wants_data(&self) -> bool {
        self.inner.wants_data()
    }
    fn data(&mut self, conn: u64, from_server: bool, bytes: &[u8]) {
        self.inner.data(conn, from_server, bytes);
    }
    fn data_gap(&mut self, conn: u64, from_server: bool, len: u64) {
        self.inner.data_gap(conn, from_server, len);
    }
    fn open_sessions(&mut self, open: &[&Session]) {
        if self.filter.is_empty() {
            return self.inner.open_sessions(open);
        }
        let kept: Vec<&Session> = open
            .iter()
            .copied()
            .filter(|s| self.filter.matches(s.client, s.server))
            .collect();
        self.inner.open_sessions(&kept);
    }
}

/// The interfaces this host has (`ftpflow live --list`).
#[cfg(target_os = "linux")]
pub fn interfaces() -> Result<Vec<afpacket::InterfaceInfo>, LiveError> {
    afpacket::list_interfaces().map_err(LiveError::List)
}

/// How often idle connections are expired and in-flight sessions shown to the sink.
const TICK: Duration = Duration::from_millis(250);
/// The longest wait for a packet before checking the stop conditions.
const POLL: Duration = Duration::from_millis(100);

/// An open capture socket, ready to run (`LiveCapture::open`, then `run`): opening first
/// lets front ends say "capturing" only once packets are really being received.
#[cfg(target_os = "linux")]
pub struct LiveCapture {
    sock: afpacket::RawSocket,
}

#[cfg(not(target_os = "linux"))]
pub struct LiveCapture {
    _private: (),
}

impl LiveCapture {
    /// Opens the capture socket on `config.interface`.
    pub fn open(config: &LiveConfig) -> Result<LiveCapture, LiveError> {
        #[cfg(target_os = "linux")]
        return Ok(LiveCapture {
            sock: afpacket::RawSocket::open(&config.interface, config.buffer_bytes)?,
        });
        #[cfg(not(target_os = "linux"))]
        {
            let _ = config;
            Err(LiveError::NotLinux)
        }
    }

    /// The link type of the packets (Ethernet or raw IP).
    #[cfg(target_os = "linux")]
    pub fn link_type(&self) -> crate::capture::LinkType {
        self.sock.link_type
    }

    /// Captures until `--duration`, `--count` or `stop` (set by a signal handler), analysing
    /// every packet into `sink`. Sessions are written as they end; those still open at the
    /// stop are written at the end.
    #[cfg(target_os = "linux")]
    pub fn run(
        self,
        config: &LiveConfig,
        sink: &mut dyn SessionSink,
        stop: &AtomicBool,
    ) -> Result<LiveReport, LiveError> {
        run(self.sock, config, sink, stop)
    }

    #[cfg(not(target_os = "linux"))]
    pub fn run(
        self,
        _config: &LiveConfig,
        _sink: &mut dyn SessionSink,
        _stop: &AtomicBool,
    ) -> Result<LiveReport, LiveError> {
        Err(LiveError::NotLinux)
    }
}

#[cfg(target_os = "linux")]
fn run(
    mut sock: afpacket::RawSocket,
    config: &LiveConfig,
    sink: &mut dyn SessionSink,
    stop: &AtomicBool,
) -> Result<LiveReport, LiveError> {
    let link_type = sock.link_type;
    let mut writer = match &config.write {
        None => None,
        Some(path) => {
            let err = |error| LiveError::Write {
                path: path.display().to_string(),
                error,
            };
            let file = std::fs::File::create(path).map_err(err)?;
            let w = std::io::BufWriter::with_capacity(1 << 20, file);
            let snaplen = u32::try_from(config.snaplen).unwrap_or(u32::MAX);
            Some(PcapWriter::new(w, link_type.to_linktype(), snaplen).map_err(err)?)
        }
    };
    let mut warnings = Vec::new();
    let mut analyzer = Analyzer::new(config.analyzer.clone(), sink);
    analyzer.begin(&format!("live:{}", config.interface));

    let mut buf = vec![0u8; config.snaplen.max(64)];
    let started = Instant::now();
    let start = now();
    let deadline = config.duration.map(|d| started + d);
    let mut last_tick = started;
    let (mut packets, mut bytes) = (0u64, 0u64);
    let stopped_by = loop {
        if stop.load(Ordering::Relaxed) {
            break StopReason::Signal;
        }
        if config.count.is_some_and(|c| packets >= c) {
            break StopReason::Count;
        }
        let t = Instant::now();
        let wait = match deadline {
            Some(d) if t >= d => break StopReason::Duration,
            Some(d) => POLL.min(d - t),
            None => POLL,
        };
        match sock.recv(&mut buf, wait) {
            Ok(Some(r)) => {
                let pkt = Packet {
                    ts: now(),
                    link_type,
                    data: &buf[..r.caplen],
                    orig_len: u32::try_from(r.orig_len).unwrap_or(u32::MAX),
                };
                packets += 1;
                bytes += r.orig_len as u64;
                if let Some(w) = &mut writer
                    && let Err(e) = w.write_packet(pkt.ts, pkt.data, pkt.orig_len)
                {
                    warnings.push(write_warning(config, &e));
                    writer = None;
                }
                analyzer.packet(&pkt);
            }
            Ok(None) => {}
            Err(e) => {
                warnings.push(format!(
                    "capture on {} failed: {e}; stopped there",
                    config.interface
                ));
                break StopReason::Error;
            }
        }
        if last_tick.elapsed() >= TICK {
            last_tick = Instant::now();
            analyzer.tick(now());
            // Keep the pcap readable while the capture runs.
            if let Some(w) = &mut writer
                && let Err(e) = w.flush()
            {
                warnings.push(write_warning(config, &e));
                writer = None;
            }
        }
    };
    let end = now();
    analyzer.tick(end);
    analyzer.end_input();
    if let Some(w) = writer
        && let Err(e) = w.into_inner()
    {
        warnings.push(write_warning(config, &e));
    }
    let kernel = sock.stats();
    let mut summary = analyzer.into_summary();
    summary.warnings.extend(warnings);
    if kernel.drops > 0 {
        summary.warnings.push(format!(
            "the kernel dropped {} packets on {} (the analysis could not keep up: raise --buffer, or narrow what reaches the interface)",
            kernel.drops, config.interface
        ));
    }
    Ok(LiveReport {
        summary,
        interface: config.interface.clone(),
        start,
        end,
        packets,
        bytes,
        kernel_drops: kernel.drops,
        queue_drops: 0,
        stopped_by,
    })
}

#[cfg(target_os = "linux")]
fn write_warning(config: &LiveConfig, e: &std::io::Error) -> String {
    let path = config
        .write
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    format!("cannot write {path}: {e}; the capture file stops there, the analysis went on")
}

/// The `capture` JSON record written before the summary of a live run (README "live").
pub fn report_json(
    r: &LiveReport,
    filter: &Filter,
    sessions_filtered: u64,
    unmatched_filtered: u64,
) -> String {
    #[derive(serde::Serialize)]
    struct JCapture<'a> {
        #[serde(rename = "type")]
        ty: &'static str,
        interface: &'a str,
        start: f64,
        end: f64,
        packets: u64,
        bytes: u64,
        kernel_drops: u64,
        queue_drops: u64,
        filter: Option<String>,
        sessions_filtered_out: u64,
        unmatched_filtered_out: u64,
        stopped_by: &'static str,
    }
    let j = JCapture {
        ty: "capture",
        interface: &r.interface,
        start: r.start.as_secs_f64(),
        end: r.end.as_secs_f64(),
        packets: r.packets,
        bytes: r.bytes,
        kernel_drops: r.kernel_drops,
        queue_drops: r.queue_drops,
        filter: (!filter.is_empty()).then(|| filter.describe()),
        sessions_filtered_out: sessions_filtered,
        unmatched_filtered_out: unmatched_filtered,
        stopped_by: r.stopped_by.as_str(),
    };
    serde_json::to_string(&j).expect("serialising plain data cannot fail")
}

/// One human line summing up a live run.
pub fn report_text(r: &LiveReport, sessions_filtered: u64) -> String {
    let secs = r.end.since(r.start) as f64 / 1e9;
    let mut s = format!(
        "{} packets ({}) on {} in {secs:.1} s (stopped by {}); {} sessions, {} transfers; dropped: {} by the kernel, {} in the queue",
        r.packets,
        crate::output::human_bytes(r.bytes),
        r.interface,
        r.stopped_by.as_str(),
        r.summary.sessions,
        r.summary.transfers,
        r.kernel_drops,
        r.queue_drops
    );
    if sessions_filtered > 0 {
        s.push_str(&format!("; {sessions_filtered} sessions filtered out"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Collect;

    #[test]
    fn filtered_counts_what_it_drops() {
        let mut collect = Collect::default();
        let filter = Filter::parse(&["port 2121"]).unwrap();
        let mut f = Filtered::new(&mut collect, filter);
        let mk = |server: &str| crate::model::Session {
            id: 1,
            file: String::new(),
            client: "10.0.0.2:40000".parse().unwrap(),
            server: server.parse().unwrap(),
            start: Timestamp(0),
            end: Timestamp(0),
            user: None,
            logged_in: false,
            tls: false,
            banner: None,
            commands: Vec::new(),
            transfers: Vec::new(),
            anomalies: Vec::new(),
            control_syn_seen: true,
            control_closed: true,
            control_reset: false,
            control_packets: 0,
            control_segments: Vec::new(),
            dns: None,
            tls_cleared: None,
            findings: Vec::new(),
        };
        f.session(mk("10.0.0.1:21"));
        f.session(mk("10.0.0.1:2121"));
        assert_eq!(f.sessions_dropped, 1);
        let mut summary = Summary {
            sessions: 2,
            ..Summary::default()
        };
        f.adjust(&mut summary);
        assert_eq!(summary.sessions, 1);
        assert_eq!(collect.sessions.len(), 1);
        assert_eq!(collect.sessions[0].server.port(), 2121);
    }
}
