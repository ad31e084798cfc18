//! The connection table: finds each segment's connection, runs its two reassemblers,
//! and reports what happened to a handler. Memory is bounded by configurable limits.

use super::reassembly::{Chunk, DirLimits, DirStats, Reassembler};
use crate::decode::TcpSegment;
use crate::time::Timestamp;
use std::collections::HashMap;
use std::net::SocketAddr;

/// Limits of the TCP layer; the defaults suit captures of many GB.
#[derive(Clone, Copy, Debug)]
pub struct TcpConfig {
    pub dir: DirLimits,
    /// Out-of-order bytes buffered across all connections.
    pub max_buffered_total: usize,
    /// Connections tracked at once; at the limit the least recently active are closed,
    /// 1/64 of the limit at a time.
    pub max_connections: usize,
    /// A connection silent this long (capture time) is closed.
    pub idle_timeout_ns: i64,
    /// A closed connection is remembered this long, so late ACKs do not open a new one.
    pub closed_linger_ns: i64,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            dir: DirLimits::default(),
            max_buffered_total: 256 << 20,
            max_connections: 250_000,
            idle_timeout_ns: 600 * 1_000_000_000,
            closed_linger_ns: 30 * 1_000_000_000,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Which end sent a segment: the one that opened the connection (sent the SYN) or the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    Initiator,
    Responder,
}

impl Side {
    fn index(self) -> usize {
        self as usize
    }
    pub fn other(self) -> Side {
        match self {
            Side::Initiator => Side::Responder,
            Side::Responder => Side::Initiator,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// Both directions reached their FIN.
    Fin,
    Reset,
    Idle,
    /// Closed to make room (connection limit).
    Evicted,
    /// A new SYN reused the 4-tuple.
    Reused,
    EndOfCapture,
}

/// What the table knows of a connection, shown to the handler with every event.
#[derive(Clone, Debug)]
pub struct ConnInfo {
    pub id: ConnId,
    pub initiator: SocketAddr,
    pub responder: SocketAddr,
    /// The handshake's SYN was captured (false for a connection that began before the capture).
    pub syn_seen: bool,
    pub first_ts: Timestamp,
    pub last_ts: Timestamp,
    pub packets: u64,
    pub stats: [DirStats; 2],
}

impl ConnInfo {
    pub fn addr(&self, side: Side) -> SocketAddr {
        match side {
            Side::Initiator => self.initiator,
            Side::Responder => self.responder,
        }
    }
    pub fn stats(&self, side: Side) -> &DirStats {
        &self.stats[side.index()]
    }
}

#[derive(Debug)]
pub enum TcpEvent<'a> {
    /// The first packet of a new connection (before its Segment event).
    Opened,
    /// Every captured segment, with its headers, for diagrams and anomaly checks.
    Segment {
        from: Side,
        seg: &'a TcpSegment<'a>,
    },
    Data {
        from: Side,
        data: &'a [u8],
    },
    Gap {
        from: Side,
        len: u64,
    },
    /// The direction's FIN was reached in sequence.
    Fin {
        from: Side,
    },
    Reset {
        from: Side,
    },
    Closed {
        reason: CloseReason,
    },
}

/// Whether the handler still wants a connection's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    Bytes,
    /// Stop reassembling (drop buffers); Segment and Closed events still come.
    HeadersOnly,
}

/// The consumer of TCP events. `State` is the handler's own per-connection state.
pub trait ConnectionHandler {
    type State: Default;
    fn event(
        &mut self,
        ts: Timestamp,
        conn: &ConnInfo,
        state: &mut Self::State,
        event: TcpEvent<'_>,
    ) -> Interest;
}

struct Connection<S> {
    info: ConnInfo,
    dirs: [Reassembler; 2],
    isn: [Option<u32>; 2],
    interest: Interest,
    closed: bool,
    state: S,
}

/// Normalised 4-tuple: both directions map to the same key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct FlowKey(SocketAddr, SocketAddr);

impl FlowKey {
    fn new(a: SocketAddr, b: SocketAddr) -> Self {
        if a <= b { FlowKey(a, b) } else { FlowKey(b, a) }
    }
}

/// Counters of the TCP layer.
#[derive(Clone, Copy, Debug, Default)]
pub struct TcpStats {
    pub connections: u64,
    pub evicted: u64,
    pub expired: u64,
    pub budget_skips: u64,
}

pub struct TcpTable<S> {
    config: TcpConfig,
    conns: HashMap<FlowKey, Connection<S>>,
    next_id: u64,
    buffered_total: usize,
    last_sweep: Option<Timestamp>,
    pub stats: TcpStats,
}

impl<S: Default> TcpTable<S> {
    pub fn new(config: TcpConfig) -> Self {
        TcpTable {
            config,
            conns: HashMap::new(),
            next_id: 1,
            buffered_total: 0,
            last_sweep: None,
            stats: TcpStats::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.conns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    pub fn buffered_bytes(&self) -> usize {
        self.buffered_total
    }

    /// Processes one segment.
    pub fn process<H: ConnectionHandler<State = S>>(
        &mut self,
        ts: Timestamp,
        seg: &TcpSegment<'_>,
        handler: &mut H,
    ) {
        self.maybe_sweep(ts, handler);
        let key = FlowKey::new(seg.src, seg.dst);
        let syn_only = seg.flags.syn() && !seg.flags.ack();

        // Only a SYN can start a new connection on a known 4-tuple; the check is off the hot path.
        if syn_only && let Some(conn) = self.conns.get(&key) {
            let new_isn =
                conn.info.initiator == seg.src && conn.isn[0].is_some_and(|isn| isn != seg.seq);
            if conn.closed || new_isn {
                let conn = self.conns.remove(&key).expect("present");
                self.close(conn, ts, CloseReason::Reused, handler);
            }
        }
        if self.conns.len() >= self.config.max_connections && !self.conns.contains_key(&key) {
            self.evict_oldest(ts, handler);
        }
        // One hash lookup per packet in the common case.
        let conn = match self.conns.entry(key) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let (initiator, responder) = orient(seg);
                let id = ConnId(self.next_id);
                self.next_id += 1;
                self.stats.connections += 1;
                let mut conn = Connection {
                    info: ConnInfo {
                        id,
                        initiator,
                        responder,
                        syn_seen: syn_only,
                        first_ts: ts,
                        last_ts: ts,
                        packets: 0,
                        stats: Default::default(),
                    },
                    dirs: Default::default(),
                    isn: [None, None],
                    interest: Interest::Bytes,
                    closed: false,
                    state: S::default(),
                };
                conn.interest = handler.event(ts, &conn.info, &mut conn.state, TcpEvent::Opened);
                v.insert(conn)
            }
        };
        let from = if seg.src == conn.info.initiator {
            Side::Initiator
        } else {
            Side::Responder
        };
        conn.info.last_ts = ts;
        conn.info.packets += 1;
        if seg.flags.syn() {
            conn.isn[from.index()].get_or_insert(seg.seq);
            if from == Side::Initiator && syn_only {
                conn.info.syn_seen = true;
            }
        }
        let i = handler.event(
            ts,
            &conn.info,
            &mut conn.state,
            TcpEvent::Segment { from, seg },
        );
        conn.interest = worst(conn.interest, i);
        if conn.closed {
            return;
        }

        let dir = &mut conn.dirs[from.index()];
        let was_finished = dir.is_finished();
        let mut interest = conn.interest;
        if interest == Interest::Bytes {
            let info = &conn.info;
            let state = &mut conn.state;
            let delta = dir.segment(
                seg.seq,
                seg.flags.syn(),
                seg.flags.fin(),
                seg.payload,
                seg.missing,
                self.config.dir,
                &mut |chunk| {
                    let ev = match chunk {
                        Chunk::Data(data) => TcpEvent::Data { from, data },
                        Chunk::Gap(len) => TcpEvent::Gap { from, len },
                    };
                    interest = worst(interest, handler.event(ts, info, state, ev));
                },
            );
            self.buffered_total = (self.buffered_total as isize + delta).max(0) as usize;
            if self.buffered_total > self.config.max_buffered_total {
                // Over the global budget: give up on this direction's holes first.
                let before = dir.buffered_bytes();
                while dir.skip_hole(&mut |chunk| {
                    let ev = match chunk {
                        Chunk::Data(data) => TcpEvent::Data { from, data },
                        Chunk::Gap(len) => TcpEvent::Gap { from, len },
                    };
                    interest = worst(interest, handler.event(ts, info, state, ev));
                }) {}
                self.stats.budget_skips += 1;
                self.buffered_total -= before - dir.buffered_bytes();
            }
        } else {
            // Headers only: still follow the FIN so the connection's end is known.
            dir.segment(
                seg.seq,
                seg.flags.syn(),
                seg.flags.fin(),
                &[],
                seg.payload.len() as u32 + seg.missing,
                DirLimits {
                    max_bytes: 0,
                    max_segments: 0,
                },
                &mut |_| {},
            );
        }
        conn.interest = interest;
        conn.info.stats[from.index()] = dir.stats;
        if !was_finished && dir.is_finished() {
            handler.event(ts, &conn.info, &mut conn.state, TcpEvent::Fin { from });
        }
        let reset = seg.flags.rst();
        if reset {
            handler.event(ts, &conn.info, &mut conn.state, TcpEvent::Reset { from });
        }
        let both_done = conn.dirs.iter().all(|d| d.is_finished());
        if reset || both_done {
            let reason = if reset {
                CloseReason::Reset
            } else {
                CloseReason::Fin
            };
            Self::finish_conn(conn, ts, reason, handler, &mut self.buffered_total);
        }
    }

    /// Flushes and closes a connection, leaving it in the table to absorb late packets.
    fn finish_conn<H: ConnectionHandler<State = S>>(
        conn: &mut Connection<S>,
        ts: Timestamp,
        reason: CloseReason,
        handler: &mut H,
        buffered_total: &mut usize,
    ) {
        if conn.closed {
            return;
        }
        for side in [Side::Initiator, Side::Responder] {
            let dir = &mut conn.dirs[side.index()];
            *buffered_total = buffered_total.saturating_sub(dir.buffered_bytes());
            let was_finished = dir.is_finished();
            let info = &conn.info;
            let state = &mut conn.state;
            if conn.interest == Interest::Bytes {
                dir.flush(&mut |chunk| {
                    let ev = match chunk {
                        Chunk::Data(data) => TcpEvent::Data { from: side, data },
                        Chunk::Gap(len) => TcpEvent::Gap { from: side, len },
                    };
                    handler.event(ts, info, state, ev);
                });
            } else {
                dir.flush(&mut |_| {});
            }
            conn.info.stats[side.index()] = dir.stats;
            if !was_finished && dir.is_finished() {
                handler.event(
                    ts,
                    &conn.info,
                    &mut conn.state,
                    TcpEvent::Fin { from: side },
                );
            }
        }
        conn.closed = true;
        handler.event(ts, &conn.info, &mut conn.state, TcpEvent::Closed { reason });
    }

    fn close<H: ConnectionHandler<State = S>>(
        &mut self,
        mut conn: Connection<S>,
        ts: Timestamp,
        reason: CloseReason,
        handler: &mut H,
    ) {
        Self::finish_conn(&mut conn, ts, reason, handler, &mut self.buffered_total);
    }

    fn maybe_sweep<H: ConnectionHandler<State = S>>(&mut self, ts: Timestamp, handler: &mut H) {
        const SWEEP_EVERY_NS: i64 = 1_000_000_000;
        match self.last_sweep {
            None => self.last_sweep = Some(ts),
            Some(last) if ts.since(last) >= SWEEP_EVERY_NS => {
                self.last_sweep = Some(ts);
                self.expire(ts, handler);
            }
            _ => {}
        }
    }

    /// Closes connections idle past the timeout and forgets closed ones past their linger.
    pub fn expire<H: ConnectionHandler<State = S>>(&mut self, now: Timestamp, handler: &mut H) {
        let idle = self.config.idle_timeout_ns;
        let linger = self.config.closed_linger_ns;
        let stale: Vec<FlowKey> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                let quiet = now.since(c.info.last_ts);
                if c.closed {
                    quiet >= linger
                } else {
                    quiet >= idle
                }
            })
            .map(|(k, _)| *k)
            .collect();
        for key in stale {
            let conn = self.conns.remove(&key).expect("listed");
            if !conn.closed {
                self.stats.expired += 1;
                self.close(conn, now, CloseReason::Idle, handler);
            }
        }
    }

    /// Makes room at the connection limit. Finding the least recently active connection
    /// means a scan of the whole table, so each scan frees a batch (1/64 of the limit):
    /// one scan per new connection made a flood of new 4-tuples at the limit quadratic
    /// (minutes for a few thousand SYNs beyond 250,000).
    fn evict_oldest<H: ConnectionHandler<State = S>>(&mut self, ts: Timestamp, handler: &mut H) {
        let batch = (self.config.max_connections / 64).max(1);
        // Prefer forgetting closed connections; otherwise close the least recently active
        // (ids break ties, so the order of output does not depend on the hash map).
        let mut order: Vec<(bool, Timestamp, ConnId, FlowKey)> = self
            .conns
            .iter()
            .map(|(k, c)| (!c.closed, c.info.last_ts, c.info.id, *k))
            .collect();
        if order.len() > batch {
            order.select_nth_unstable_by_key(batch - 1, |o| (o.0, o.1, o.2));
            order.truncate(batch);
        }
        order.sort_unstable_by_key(|o| (o.0, o.1, o.2));
        for (open, _, _, key) in order {
            let conn = self.conns.remove(&key).expect("listed");
            if open {
                self.stats.evicted += 1;
                self.close(conn, ts, CloseReason::Evicted, handler);
            }
        }
    }

    /// End of input: every open connection is flushed and closed.
    pub fn finish<H: ConnectionHandler<State = S>>(&mut self, ts: Timestamp, handler: &mut H) {
        let mut conns: Vec<Connection<S>> = self.conns.drain().map(|(_, c)| c).collect();
        // Deterministic output order whatever the hash map's order.
        conns.sort_by_key(|c| c.info.id);
        for conn in conns {
            if !conn.closed {
                self.close(conn, ts, CloseReason::EndOfCapture, handler);
            }
        }
    }
}

fn worst(a: Interest, b: Interest) -> Interest {
    if a == Interest::HeadersOnly || b == Interest::HeadersOnly {
        Interest::HeadersOnly
    } else {
        Interest::Bytes
    }
}

/// Decides who opened a connection from its first captured segment.
fn orient(seg: &TcpSegment<'_>) -> (SocketAddr, SocketAddr) {
    let (src, dst) = (seg.src, seg.dst);
    if seg.flags.syn() {
        return if seg.flags.ack() {
            (dst, src)
        } else {
            (src, dst)
        };
    }
    // Mid-connection: the well-known port is most likely the listening end.
    let (sp, dp) = (src.port(), dst.port());
    if sp < 1024 && dp >= 1024 {
        (dst, src)
    } else {
        (src, dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::TcpFlags;

    /// Records events as text.
    #[derive(Default)]
    struct Log(Vec<String>);

    impl ConnectionHandler for Log {
        type State = ();
        fn event(&mut self, _: Timestamp, c: &ConnInfo, _: &mut (), e: TcpEvent<'_>) -> Interest {
            let id = c.id.0;
            match e {
                TcpEvent::Segment { .. } => {}
                TcpEvent::Data { from, data } => self.0.push(format!(
                    "{id} data {from:?} {}",
                    String::from_utf8_lossy(data)
                )),
                other => self.0.push(format!("{id} {other:?}")),
            }
            Interest::Bytes
        }
    }

    fn seg(src: &str, dst: &str, seq: u32, flags: u8, payload: &[u8]) -> TcpSegment<'static> {
        TcpSegment {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            seq,
            ack: 0,
            flags: TcpFlags(flags),
            window: 0,
            payload: payload.to_vec().leak(),
            missing: 0,
        }
    }

    const C: &str = "10.0.0.2:4000";
    const S: &str = "10.0.0.1:21";
    const SYN: u8 = TcpFlags::SYN;
    const ACK: u8 = TcpFlags::ACK;
    const FIN: u8 = TcpFlags::FIN | TcpFlags::ACK;

    fn run(t: &mut TcpTable<()>, log: &mut Log, at: i64, s: TcpSegment<'static>) {
        t.process(Timestamp(at), &s, log);
    }

    #[test]
    fn lifecycle_fin_close_and_reuse_after_close() {
        let mut t = TcpTable::new(TcpConfig::default());
        let mut log = Log::default();
        run(&mut t, &mut log, 0, seg(C, S, 100, SYN, b""));
        run(&mut t, &mut log, 1, seg(S, C, 500, SYN | ACK, b""));
        run(&mut t, &mut log, 2, seg(S, C, 501, ACK, b"220 hi\r\n"));
        run(&mut t, &mut log, 3, seg(C, S, 101, FIN, b""));
        run(&mut t, &mut log, 4, seg(S, C, 509, FIN, b""));
        run(&mut t, &mut log, 5, seg(C, S, 102, ACK, b"")); // late ACK: no new connection
        run(&mut t, &mut log, 6, seg(C, S, 9000, SYN, b"")); // same 4-tuple, new connection
        assert_eq!(
            log.0,
            [
                "1 Opened",
                "1 data Responder 220 hi\r\n",
                "1 Fin { from: Initiator }",
                "1 Fin { from: Responder }",
                "1 Closed { reason: Fin }",
                "2 Opened",
            ]
        );
        assert_eq!(t.stats.connections, 2);
    }

    #[test]
    fn reset_flushes_and_closes() {
        let mut t = TcpTable::new(TcpConfig::default());
        let mut log = Log::default();
        run(&mut t, &mut log, 0, seg(C, S, 100, ACK, b"ab"));
        run(&mut t, &mut log, 1, seg(C, S, 104, ACK, b"ef")); // hole of 2
        run(&mut t, &mut log, 2, seg(S, C, 7, TcpFlags::RST, b""));
        assert_eq!(
            log.0,
            [
                "1 Opened",
                "1 data Initiator ab",
                "1 Reset { from: Responder }",
                "1 Gap { from: Initiator, len: 2 }",
                "1 data Initiator ef",
                "1 Closed { reason: Reset }",
            ]
        );
        assert_eq!(t.buffered_bytes(), 0);
    }

    #[test]
    fn idle_connections_expire_by_capture_time_and_limit_is_enforced() {
        let config = TcpConfig {
            idle_timeout_ns: 10_000_000_000,
            max_connections: 2,
            ..TcpConfig::default()
        };
        let mut t = TcpTable::new(config);
        let mut log = Log::default();
        run(&mut t, &mut log, 0, seg("10.0.0.2:1", S, 1, SYN, b""));
        run(&mut t, &mut log, 1, seg("10.0.0.2:2", S, 1, SYN, b""));
        run(&mut t, &mut log, 2, seg("10.0.0.2:3", S, 1, SYN, b""));
        assert_eq!(t.len(), 2);
        assert_eq!(t.stats.evicted, 1);
        assert!(log.0.contains(&"1 Closed { reason: Evicted }".to_string()));
        run(
            &mut t,
            &mut log,
            20_000_000_000,
            seg("10.0.0.2:4", S, 1, SYN, b""),
        );
        assert_eq!(t.stats.expired, 2);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn a_flood_of_new_connections_at_the_limit_evicts_the_oldest_in_batches() {
        let config = TcpConfig {
            max_connections: 50_000,
            ..TcpConfig::default()
        };
        let mut t = TcpTable::new(config);
        let mut log = Log::default();
        let started = std::time::Instant::now();
        // 150,000 SYNs from distinct 4-tuples, 1 µs apart: nothing idles out. One table
        // scan per eviction made this take many minutes.
        for i in 0..150_000u32 {
            let src = format!(
                "10.{}.{}.{}:{}",
                i >> 16,
                (i >> 8) & 255,
                i & 255,
                1024 + i % 50_000
            );
            run(
                &mut t,
                &mut log,
                i64::from(i) * 1000,
                seg(&src, S, i, SYN, b""),
            );
        }
        let took = started.elapsed();
        assert!(took < std::time::Duration::from_secs(20), "took {took:?}");
        assert!(t.len() <= 50_000);
        assert_eq!(t.stats.evicted as usize, 150_000 - t.len());
        // The oldest went first: connection 1 was evicted, the newest is still tracked.
        let evicted: Vec<&String> = log.0.iter().filter(|l| l.contains("Evicted")).collect();
        assert_eq!(evicted[0], "1 Closed { reason: Evicted }");
        assert_eq!(evicted[1], "2 Closed { reason: Evicted }");
        assert!(
            !log.0
                .iter()
                .any(|l| l == "150000 Closed { reason: Evicted }")
        );
    }

    #[test]
    fn mid_stream_start_orients_by_well_known_port() {
        let mut t: TcpTable<()> = TcpTable::new(TcpConfig::default());
        let mut log = Log::default();
        run(&mut t, &mut log, 0, seg(S, C, 77, ACK, b"226 ok\r\n"));
        assert_eq!(log.0[1], "1 data Responder 226 ok\r\n");
    }
}
