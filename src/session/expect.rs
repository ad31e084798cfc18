//! Announced data endpoints (PORT/EPRT/LPRT arguments, 227/229/228 replies) waiting for
//! the connection they announce.

use crate::model::Mode;
use crate::time::Timestamp;
use std::collections::HashMap;
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

/// Expectations indexed by announced port. Each session keeps at most `PER_SESSION`
/// unused ones, so memory is bounded by the number of open sessions.
#[derive(Default)]
pub struct Expectations {
    by_port: HashMap<u16, Vec<Expectation>>,
    per_session: HashMap<u64, Vec<(u16, Timestamp)>>,
}

const PER_SESSION: usize = 16;

impl Expectations {
    pub fn add(&mut self, e: Expectation) {
        let list = self.per_session.entry(e.session).or_default();
        if list.len() >= PER_SESSION {
            let (port, created) = list.remove(0);
            let session = e.session;
            Self::remove_from(&mut self.by_port, port, |x| {
                x.session == session && x.created == created
            });
        }
        list.push((e.announced.port(), e.created));
        self.by_port.entry(e.announced.port()).or_default().push(e);
    }

    fn remove_from(
        by_port: &mut HashMap<u16, Vec<Expectation>>,
        port: u16,
        pred: impl Fn(&Expectation) -> bool,
    ) {
        if let Some(v) = by_port.get_mut(&port) {
            if let Some(i) = v.iter().position(pred) {
                v.remove(i);
            }
            if v.is_empty() {
                by_port.remove(&port);
            }
        }
    }

    /// Finds (and consumes) the expectation a new connection fulfils: an exact endpoint
    /// match first, then a match by port on the control connection's addresses.
    pub fn take(&mut self, initiator: SocketAddr, responder: SocketAddr) -> Option<Match> {
        let mut best: Option<(u8, u16, usize, bool)> = None;
        for (listener, client_is_initiator_if_passive) in [(responder, true), (initiator, false)] {
            let Some(list) = self.by_port.get(&listener.port()) else {
                continue;
            };
            // Latest announcement first: a client reusing a port replaces the old one.
            for (i, e) in list.iter().enumerate().rev() {
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
                    best = Some((rank, listener.port(), i, client_is_initiator));
                }
            }
        }
        let (_, port, i, client_is_initiator) = best?;
        let list = self.by_port.get_mut(&port).expect("found above");
        let expectation = list.remove(i);
        if list.is_empty() {
            self.by_port.remove(&port);
        }
        if let Some(l) = self.per_session.get_mut(&expectation.session)
            && let Some(j) = l
                .iter()
                .position(|(p, c)| *p == port && *c == expectation.created)
        {
            l.remove(j);
        }
        Some(Match {
            expectation,
            client_is_initiator,
        })
    }

    /// Forgets a finished session's expectations.
    pub fn drop_session(&mut self, session: u64) {
        if let Some(list) = self.per_session.remove(&session) {
            for (port, created) in list {
                Self::remove_from(&mut self.by_port, port, |x| {
                    x.session == session && x.created == created
                });
            }
        }
    }

    pub fn len(&self) -> usize {
        self.by_port.values().map(Vec::len).sum()
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
}
