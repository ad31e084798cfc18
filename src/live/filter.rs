//! `--filter`: which sessions to report, by host, network or port, applied in user space.
//!
//! Every packet is still analysed (so the data connections of a session, on ports nobody
//! can know in advance, are always paired with it); the filter decides which finished
//! sessions and unmatched data connections are written. A session is judged by its control
//! connection's two endpoints, so `port 21` keeps the sessions on port 21 with all their
//! data connections.

use std::net::{IpAddr, SocketAddr};

/// One condition on an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    /// An address within a network (a host is a /32 or /128).
    Net {
        addr: IpAddr,
        prefix: u8,
    },
    Port(u16),
}

impl Term {
    fn matches(&self, a: SocketAddr) -> bool {
        match *self {
            Term::Port(p) => a.port() == p,
            Term::Net { addr, prefix } => in_net(a.ip(), addr, prefix),
        }
    }
}

fn in_net(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    // An IPv4-mapped IPv6 address is the IPv4 host it maps.
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// All `--filter` options: each is a list of alternatives (any term may match); every
/// option must match. No option: everything passes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    clauses: Vec<Vec<Term>>,
    text: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "invalid filter {expr:?}: {reason} (terms: `host IP`, `net IP/PREFIX`, `port N`, a bare IP or IP/PREFIX; joined by `or` or commas)"
)]
pub struct FilterError {
    pub expr: String,
    pub reason: String,
}

impl Filter {
    /// Parses the `--filter` options.
    pub fn parse<S: AsRef<str>>(exprs: &[S]) -> Result<Filter, FilterError> {
        let mut f = Filter::default();
        for e in exprs {
            let e = e.as_ref();
            let clause = parse_clause(e).map_err(|reason| FilterError {
                expr: e.to_string(),
                reason,
            })?;
            f.clauses.push(clause);
            f.text.push(e.trim().to_string());
        }
        Ok(f)
    }

    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// Whether a connection between `a` and `b` passes.
    pub fn matches(&self, a: SocketAddr, b: SocketAddr) -> bool {
        self.clauses
            .iter()
            .all(|c| c.iter().any(|t| t.matches(a) || t.matches(b)))
    }

    /// The filter as given, options joined with " and " (for the summary).
    pub fn describe(&self) -> String {
        self.text
            .iter()
            .map(|t| {
                if self.text.len() > 1 {
                    format!("({t})")
                } else {
                    t.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" and ")
    }
}

fn parse_clause(e: &str) -> Result<Vec<Term>, String> {
    let spaced = e.replace(',', " , ");
    let mut words = spaced.split_whitespace().peekable();
    let mut terms = Vec::new();
    let mut want_term = true;
    while let Some(w) = words.next() {
        let lw = w.to_ascii_lowercase();
        if !want_term {
            if lw == "or" || lw == "," {
                want_term = true;
                continue;
            }
            return Err(format!("expected `or` before {w:?}"));
        }
        let term = match lw.as_str() {
            "host" => {
                let v = words.next().ok_or("`host` needs an address")?;
                let addr: IpAddr = v
                    .parse()
                    .map_err(|_| format!("{v:?} is not an IP address"))?;
                Term::Net {
                    addr,
                    prefix: if addr.is_ipv4() { 32 } else { 128 },
                }
            }
            "net" => {
                let v = words.next().ok_or("`net` needs a network")?;
                parse_net(v)?
            }
            "port" => {
                let v = words.next().ok_or("`port` needs a number")?;
                Term::Port(
                    v.parse()
                        .map_err(|_| format!("{v:?} is not a port (0-65535)"))?,
                )
            }
            "or" | "," => return Err("a term is missing".to_string()),
            _ => parse_net(w)?,
        };
        terms.push(term);
        want_term = false;
    }
    if want_term {
        return Err(if terms.is_empty() {
            "empty".to_string()
        } else {
            "a term is missing after `or`".to_string()
        });
    }
    Ok(terms)
}

/// `IP` or `IP/PREFIX`; host bits set below the prefix are ignored.
fn parse_net(v: &str) -> Result<Term, String> {
    let (a, p) = match v.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (v, None),
    };
    let addr: IpAddr = a
        .parse()
        .map_err(|_| format!("{v:?} is not an IP address or network"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match p {
        None => max,
        Some(p) => match p.parse::<u8>() {
            Ok(n) if n <= max => n,
            _ => return Err(format!("{v:?}: the prefix length must be 0-{max}")),
        },
    };
    Ok(Term::Net { addr, prefix })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn hosts_networks_ports() {
        let f = Filter::parse(&["host 10.0.0.5 or net 192.168.0.0/16, port 2121"]).unwrap();
        assert!(f.matches(sa("10.0.0.5:40000"), sa("8.8.8.8:21")));
        assert!(f.matches(sa("1.1.1.1:40000"), sa("192.168.7.9:21")));
        assert!(f.matches(sa("1.1.1.1:40000"), sa("2.2.2.2:2121")));
        assert!(!f.matches(sa("10.0.0.6:40000"), sa("2.2.2.2:21")));
        // Both options must match.
        let f = Filter::parse(&["10.1.0.0/16", "port 21"]).unwrap();
        assert!(f.matches(sa("10.1.2.3:5000"), sa("9.9.9.9:21")));
        assert!(!f.matches(sa("10.1.2.3:5000"), sa("9.9.9.9:2121")));
        assert!(!f.matches(sa("10.2.2.3:5000"), sa("9.9.9.9:21")));
        assert_eq!(f.describe(), "(10.1.0.0/16) and (port 21)");
    }

    #[test]
    fn ipv6_and_mapped() {
        let f = Filter::parse(&["net fd00:77::/64"]).unwrap();
        assert!(f.matches(sa("[fd00:77::2]:5000"), sa("[fd00:99::1]:21")));
        assert!(!f.matches(sa("[fd00:78::2]:5000"), sa("[fd00:99::1]:21")));
        let f = Filter::parse(&["host 10.0.0.1"]).unwrap();
        assert!(f.matches(sa("[::ffff:10.0.0.1]:5000"), sa("[::1]:21")));
        let f = Filter::parse(&["0.0.0.0/0"]).unwrap();
        assert!(f.matches(sa("1.2.3.4:1"), sa("5.6.7.8:2")));
        assert!(
            Filter::parse::<&str>(&[])
                .unwrap()
                .matches(sa("1.2.3.4:1"), sa("5.6.7.8:2"))
        );
    }

    #[test]
    fn errors_name_the_problem() {
        for bad in [
            "",
            "host",
            "host nonsense",
            "port 70000",
            "10.0.0.0/33",
            "10.0.0.1 10.0.0.2",
            "10.0.0.1 or",
            "tcp",
        ] {
            let e = Filter::parse(&[bad]).unwrap_err();
            assert_eq!(e.expr, bad);
            assert!(e.to_string().contains("invalid filter"), "{e}");
        }
    }
}
