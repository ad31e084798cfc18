//! Just enough DNS to find the lookup that resolved an FTP server's address: the question
//! name and the A/AAAA answers of a message. Bounded work on hostile input.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsMessage {
    pub id: u16,
    pub response: bool,
    /// The first question's name, dotted, without the final dot.
    pub name: String,
    /// A and AAAA records in the answer section.
    pub answers: Vec<IpAddr>,
}

/// Most labels a name may have (RFC 1035 bounds a name to 255 bytes).
const MAX_LABELS: usize = 128;
const MAX_ANSWERS: usize = 64;

pub fn parse(msg: &[u8]) -> Option<DnsMessage> {
    if msg.len() < 12 {
        return None;
    }
    let id = u16::from_be_bytes([msg[0], msg[1]]);
    let response = msg[2] & 0x80 != 0;
    let qd = u16::from_be_bytes([msg[4], msg[5]]);
    let an = u16::from_be_bytes([msg[6], msg[7]]);
    if qd == 0 {
        return None;
    }
    let (name, mut pos) = read_name(msg, 12)?;
    pos += 4; // QTYPE, QCLASS
    for _ in 1..qd {
        pos = read_name(msg, pos)?.1 + 4;
    }
    let mut answers = Vec::new();
    for _ in 0..an.min(MAX_ANSWERS as u16) {
        pos = read_name(msg, pos)?.1;
        let rr = msg.get(pos..pos + 10)?;
        let rtype = u16::from_be_bytes([rr[0], rr[1]]);
        let class = u16::from_be_bytes([rr[2], rr[3]]);
        let len = usize::from(u16::from_be_bytes([rr[8], rr[9]]));
        let data = msg.get(pos + 10..pos + 10 + len)?;
        match (rtype, class, len) {
            (1, 1, 4) => answers.push(IpAddr::V4(Ipv4Addr::new(
                data[0], data[1], data[2], data[3],
            ))),
            (28, 1, 16) => {
                let b: [u8; 16] = data.try_into().ok()?;
                answers.push(IpAddr::V6(Ipv6Addr::from(b)));
            }
            _ => {}
        }
        pos += 10 + len;
    }
    Some(DnsMessage {
        id,
        response,
        name,
        answers,
    })
}

/// Reads a possibly compressed name at `pos`; returns it and the position after it.
fn read_name(msg: &[u8], mut pos: usize) -> Option<(String, usize)> {
    let mut name = String::new();
    let mut end = None;
    for _ in 0..MAX_LABELS {
        let len = *msg.get(pos)? as usize;
        match len {
            0 => {
                return Some((name, end.unwrap_or(pos + 1)));
            }
            l if l & 0xc0 == 0xc0 => {
                let ptr = (l & 0x3f) << 8 | *msg.get(pos + 1)? as usize;
                end.get_or_insert(pos + 2);
                // Pointers must go backwards, which also rules out loops.
                if ptr >= pos {
                    return None;
                }
                pos = ptr;
            }
            l if l < 64 => {
                let label = msg.get(pos + 1..pos + 1 + l)?;
                if !name.is_empty() {
                    name.push('.');
                }
                name.push_str(&String::from_utf8_lossy(label));
                pos += 1 + l;
            }
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response() -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0];
        for l in ["ftp", "example", "test"] {
            m.push(l.len() as u8);
            m.extend_from_slice(l.as_bytes());
        }
        m.extend_from_slice(&[0, 0, 1, 0, 1]);
        // Answer 1: CNAME-less A record with a compression pointer to the question name.
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 99, 0, 1]);
        // Answer 2: AAAA.
        m.extend_from_slice(&[0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16]);
        m.extend_from_slice(&"fd00:99::1".parse::<Ipv6Addr>().unwrap().octets());
        m
    }

    #[test]
    fn parses_name_and_addresses() {
        let d = parse(&response()).unwrap();
        assert_eq!(d.id, 0x1234);
        assert!(d.response);
        assert_eq!(d.name, "ftp.example.test");
        assert_eq!(
            d.answers,
            [
                "10.99.0.1".parse::<IpAddr>().unwrap(),
                "fd00:99::1".parse().unwrap()
            ]
        );
    }

    #[test]
    fn hostile_messages_are_rejected_not_panicked_on() {
        let good = response();
        for cut in 0..good.len() {
            let _ = parse(&good[..cut]);
        }
        // A pointer to itself.
        let mut looped = good[..12].to_vec();
        looped.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        assert!(parse(&looped).is_none());
        let mut x = 7u32;
        for _ in 0..2000 {
            let mut m = good.clone();
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let i = x as usize % m.len();
            m[i] = (x >> 8) as u8;
            let _ = parse(&m);
        }
    }
}
