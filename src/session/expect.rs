//! Announced data endpoints (PORT/EPRT/LPRT arguments, 227/229/228 replies) waiting for
//! the connection they announce.

use crate::model::Mode;
use crate::time::Timestamp;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

#[derive(Clone, Debug)]
pub struct Expectation {
    pub session: u64,
    pub mode: Mode,
    pub announced: SocketAddr,
    /// The control connection's client and server addresses: a NATed announcement still
    /// pairs by its port on these.
    pub control_client: IpAddr,
    pub control_server: IpAddr,
    pub created: Timestamp,
}

/// How a new connection matched an expectation.
#[derive(Clone, Debug)]
pub struct Match {
    pub expectation: Expectation,
    /// Whether the FTP client is the TCP initiator of the data connection.
    pub client_is_initiator: bool,
}

/// Expectations indexed by announced port, each list in announcement order (keyed by a
/// sequence number, so removing one is cheap wherever it sits). Each session keeps at most
/// `PER_SESSION` unused ones and each port at most `PER_PORT`, so memory is bounded by the
/// number of open sessions and matching a new connection by `PER_PORT`.
#[derive(Default)]
pub struct Expectations {
    by_port: HashMap<u16, BTreeMap<u64, Expectation>>,
    per_session: HashMap<u64, VecDeque<(u16, u64)>>,
    next: u64,
}

const PER_SESSION: usize = 16;
/// Thousands of open sessions announcing one port is no real traffic; without a bound,
/// hostile captures made every new connection scan them all.
const PER_PORT: usize = 1024;

impl Expectations {
    pub fn add(&mut self, e: Expectation) {
        let port = e.announced.port();
        let session = e.session;
        let seq = self.next;
        self.next += 1;
        let list = self.per_session.entry(session).or_default();
        if list.len() >= PER_SESSION
            && let Some((old_port, old_seq)) = list.pop_front()
        {
            Self::remove_from(&mut self.by_port, old_port, old_seq);
        }
        list.push_back((port, seq));
        let by_port = self.by_port.entry(port).or_default();
        by_port.insert(seq, e);
        if by_port.len() > PER_PORT
            && let Some((old_seq, old)) = by_port.pop_first()
            && let Some(l) = self.per_session.get_mut(&old.session)
        {
            l.retain(|&(_, s)| s != old_seq);
        }
    }

    fn remove_from(
        by_port: &mut HashMap<u16, BTreeMap<u64, Expectation>>,
        port: u16,
        seq: u64,
    ) -> Option<Expectation> {
        let list = by_port.get_mut(&port)?;
        let e = list.remove(&seq);
        if list.is_empty() {
            by_port.remove(&port);
        }
        e
    }

    /// Finds (and consumes) the expectation a new connection fulfils: an exact endpoint
    /// match first, then a match by port on the control connection's addresses.
    pub fn take(&mut self, initiator: SocketAddr, responder: SocketAddr) -> Option<Match> {
        let mut best: Option<(u8, u16, u64, bool)> = None;
        for (listener, client_is_initiator_if_passive) in [(responder, true), (initiator, false)] {
            let Some(list) = self.by_port.get(&listener.port()) else {
                continue;
            };
            // Latest announcement first: a client reusing a port replaces the old one.
            for (&seq, e) in list.iter().rev() {
                let (rank, client_is_initiator) = if e.mode.client_connects() {
                    // The server listens on the announced endpoint.
                    let rank = if listener == e.announced {
                        0
                    } else if listener.ip() == e.control_server {
                        1
                    } else {
                        continue;
                    };
                    (rank, client_is_initiator_if_passive)
                } else {
                    let rank = if listener == e.announced {
                        0
                    } else if listener.ip() == e.control_client {
                        1
                    } else {
                        continue;
                    };
                    (rank, !client_is_initiator_if_passive)
                };
                // The listener side being the TCP responder is the normal orientation.
                let rank = rank * 2 + u8::from(!client_is_initiator_if_passive);
                if best.is_none_or(|b| rank < b.0) {
                    best = Some((rank, listener.port(), seq, client_is_initiator));
                }
            }
        }
        let (_, port, seq, client_is_initiator) = best?;
        let expectation = Self::remove_from(&mut self.by_port, port, seq).expect("found above");
        if let Some(l) = self.per_session.get_mut(&expectation.session) {
            l.retain(|&(_, s)| s != seq);
        }
        Some(Match {
            expectation,
            client_is_initiator,
        })
    }

    /// Forgets a finished session's expectations.
    pub fn drop_session(&mut self, session: u64) {
        if let Some(list) = self.per_session.remove(&session) {
            for (port, seq) in list {
                Self::remove_from(&mut self.by_port, port, seq);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.by_port.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_port.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn exp(session: u64, mode: Mode, announced: &str) -> Expectation {
        Expectation {
            session,
            mode,
            announced: sa(announced),
            control_client: "10.0.0.2".parse().unwrap(),
            control_server: "10.0.0.1".parse().unwrap(),
            created: Timestamp(session as i64),
        }
    }

    #[test]
    fn passive_exact_and_consumed() {
        let mut x = Expectations::default();
        x.add(exp(1, Mode::Passive, "10.0.0.1:30000"));
        let m = x.take(sa("10.0.0.2:40000"), sa("10.0.0.1:30000")).unwrap();
        assert_eq!(m.expectation.session, 1);
        assert!(m.client_is_initiator);
        assert!(x.take(sa("10.0.0.2:40001"), sa("10.0.0.1:30000")).is_none());
        assert!(x.is_empty());
    }

    #[test]
    fn passive_nat_pairs_by_port_on_server_address() {
        let mut x = Expectations::default();
        x.add(exp(1, Mode::Passive, "192.168.1.5:30000"));
        let m = x.take(sa("10.0.0.2:40000"), sa("10.0.0.1:30000")).unwrap();
        assert_eq!(m.expectation.session, 1);
        // A connection to another host on that port is not it.
        x.add(exp(2, Mode::Passive, "192.168.1.5:30001"));
        assert!(x.take(sa("10.0.0.2:40000"), sa("10.0.0.9:30001")).is_none());
    }

    #[test]
    fn active_from_any_port() {
        let mut x = Expectations::default();
        x.add(exp(1, Mode::Eprt, "10.0.0.2:45000"));
        let m = x.take(sa("10.0.0.1:38211"), sa("10.0.0.2:45000")).unwrap();
        assert!(!m.client_is_initiator);
        assert_eq!(m.expectation.mode, Mode::Eprt);
    }

    #[test]
    fn bounded_per_session_and_dropped_with_it() {
        let mut x = Expectations::default();
        for p in 0..100u16 {
            let mut e = exp(7, Mode::Passive, &format!("10.0.0.1:{}", 30000 + p));
            e.created = Timestamp(i64::from(p));
            x.add(e);
        }
        assert_eq!(x.len(), PER_SESSION);
        x.drop_session(7);
        assert!(x.is_empty());
    }

    #[test]
    fn thousands_of_sessions_announcing_one_port_stay_cheap_and_bounded() {
        // Once quadratic: every announcement beyond 16 moved the whole port's list.
        let mut x = Expectations::default();
        let started = std::time::Instant::now();
        for round in 0..50 {
            for s in 0..4000u64 {
                let mut e = exp(s, Mode::Passive, "10.0.0.1:30000");
                e.created = Timestamp(round);
                x.add(e);
            }
        }
        assert!(x.len() <= PER_PORT);
        // The latest announcement wins; nothing matches a connection to another host.
        let m = x.take(sa("10.0.0.2:40000"), sa("10.0.0.1:30000")).unwrap();
        assert_eq!(m.expectation.session, 3999);
        assert_eq!(m.expectation.created, Timestamp(49));
        for _ in 0..20_000 {
            assert!(x.take(sa("10.0.0.2:40000"), sa("10.9.9.9:30000")).is_none());
        }
        for s in 0..4000 {
            x.drop_session(s);
        }
        assert!(x.is_empty());
        assert!(x.per_session.is_empty());
        let took = started.elapsed();
        assert!(took < std::time::Duration::from_secs(20), "took {took:?}");
    }
}
