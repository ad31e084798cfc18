//! Data-connection endpoints from PORT/EPRT/LPRT arguments and 227/228/229 reply texts.
//!
//! All parsers are total: bad input gives None, never a panic, and each does a bounded
//! amount of work per input byte.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Most numbers in any list we look for (LPRT/228 IPv6: 21); one more detects "too many".
const MAX_LIST: usize = 21;

/// A comma-separated list of byte-sized numbers found in text.
struct NumList {
    nums: [u8; MAX_LIST],
    len: usize,
    /// More than MAX_LIST numbers: the list matches nothing.
    too_long: bool,
}

impl NumList {
    fn as_slice(&self) -> Option<&[u8]> {
        (!self.too_long).then_some(&self.nums[..self.len])
    }
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Reads one decimal number 0..=255 at `b[*i..]` (leading zeros allowed), advancing `*i`
/// past all its digits. None if there is no digit or the value exceeds 255.
fn read_byte(b: &[u8], i: &mut usize) -> Option<u8> {
    let start = *i;
    let mut v: u32 = 0;
    while let Some(&d) = b.get(*i).filter(|d| d.is_ascii_digit()) {
        // Saturate instead of overflowing on absurdly long digit runs.
        v = (v * 10 + u32::from(d - b'0')).min(256);
        *i += 1;
    }
    if *i == start {
        return None;
    }
    u8::try_from(v).ok()
}

/// Reads a list "n , n , n …" starting at a digit at `b[start]`; blanks are allowed around
/// the commas. Returns the list (None if a number is out of range) and the index just past
/// its last number.
fn read_list(b: &[u8], start: usize) -> (Option<NumList>, usize) {
    let mut list = NumList {
        nums: [0; MAX_LIST],
        len: 0,
        too_long: false,
    };
    let mut i = start;
    loop {
        let Some(n) = read_byte(b, &mut i) else {
            return (None, i);
        };
        if list.len == MAX_LIST {
            list.too_long = true;
        } else {
            list.nums[list.len] = n;
            list.len += 1;
        }
        let after_num = i;
        let mut j = i;
        while b.get(j).copied().is_some_and(is_blank) {
            j += 1;
        }
        if b.get(j) != Some(&b',') {
            return (Some(list), after_num);
        }
        j += 1;
        while b.get(j).copied().is_some_and(is_blank) {
            j += 1;
        }
        if !b.get(j).is_some_and(u8::is_ascii_digit) {
            // Trailing comma: the list ends at the last number.
            return (Some(list), after_num);
        }
        i = j;
    }
}

/// Parses a whole argument that must be exactly one number list (surrounding blanks allowed).
fn whole_list(arg: &str) -> Option<NumList> {
    let b = arg.as_bytes();
    let start = b.iter().position(|&c| !is_blank(c))?;
    let (list, end) = read_list(b, start);
    if b[end..].iter().all(|&c| is_blank(c)) {
        list
    } else {
        None
    }
}

/// True if the digit at `b[i]` continues a number or follows a comma (so it is part of an
/// earlier list, e.g. the tail of a list whose head was out of range).
fn continues_list(b: &[u8], i: usize) -> bool {
    let before = &b[..i];
    if before.last().is_some_and(u8::is_ascii_digit) {
        return true;
    }
    before.iter().rev().find(|&&c| !is_blank(c)) == Some(&b',')
}

/// Tries `f` on every maximal number list in `text` (each starts at a digit that does not
/// continue a previous number or list) and returns the first success.
fn find_list<T>(text: &str, f: impl Fn(&[u8]) -> Option<T>) -> Option<T> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || continues_list(b, i) {
            i += 1;
            continue;
        }
        let (list, end) = read_list(b, i);
        if let Some(found) = list.as_ref().and_then(NumList::as_slice).and_then(&f) {
            return Some(found);
        }
        // Resume after the whole list so a tail of it is never taken for a list of its own.
        i = end.max(i + 1);
    }
    None
}

fn v4(n: &[u8]) -> Option<SocketAddr> {
    match *n {
        [h1, h2, h3, h4, p1, p2] => Some(SocketAddr::new(
            Ipv4Addr::new(h1, h2, h3, h4).into(),
            u16::from_be_bytes([p1, p2]),
        )),
        _ => None,
    }
}

/// RFC 1639 long address: af, hal, h…, pl, p….
fn long_addr(n: &[u8]) -> Option<SocketAddr> {
    match n {
        [4, 4, h @ .., 2, p1, p2] if h.len() == 4 => Some(SocketAddr::new(
            Ipv4Addr::new(h[0], h[1], h[2], h[3]).into(),
            u16::from_be_bytes([*p1, *p2]),
        )),
        [6, 16, h @ .., 2, p1, p2] => {
            let h: [u8; 16] = h.try_into().ok()?;
            Some(SocketAddr::new(
                Ipv6Addr::from(h).into(),
                u16::from_be_bytes([*p1, *p2]),
            ))
        }
        _ => None,
    }
}

/// PORT h1,h2,h3,h4,p1,p2 (blanks tolerated around numbers; each 0..=255).
pub fn parse_port(arg: &str) -> Option<SocketAddr> {
    v4(whole_list(arg)?.as_slice()?)
}

/// LPRT 4,4,h1..h4,2,p1,p2 or 6,16,h1..h16,2,p1,p2 (RFC 1639).
pub fn parse_lprt(arg: &str) -> Option<SocketAddr> {
    long_addr(whole_list(arg)?.as_slice()?)
}

/// 227 reply text: the six numbers "h1,h2,h3,h4,p1,p2" anywhere in the text, with or without
/// parentheses (e.g. "Entering Passive Mode (10,99,0,1,117,48)." or
/// "Entering Passive Mode=(127,0,0,1,4,1)" or "Entering passive mode 10,99,0,1,117,48").
pub fn parse_227(text: &str) -> Option<SocketAddr> {
    find_list(text, v4)
}

/// 228 reply text (LPSV): "Entering Long Passive Mode (4,4,h1,h2,h3,h4,2,p1,p2)" (or the
/// 21-number IPv6 form), anywhere in the text.
pub fn parse_228(text: &str) -> Option<SocketAddr> {
    find_list(text, long_addr)
}

/// RFC 2428 delimiter: any printable ASCII except space.
fn is_delim(c: u8) -> bool {
    (33..=126).contains(&c)
}

/// The longest field worth reading between EPRT/EPSV delimiters (a textual IPv6 address with
/// an embedded IPv4 part is at most 45 bytes); bounds the work per candidate.
const MAX_FIELD: usize = 45;

/// Splits `b` (starting with delimiter `b[0]`) into the three fields of
/// `d proto d addr d port d`; returns the fields and the index past the last delimiter.
fn delimited(b: &[u8]) -> Option<([&[u8]; 3], usize)> {
    let d = *b.first()?;
    if !is_delim(d) {
        return None;
    }
    let mut fields: [&[u8]; 3] = [&[]; 3];
    let mut i = 1;
    for f in &mut fields {
        let len = b
            .get(i..)?
            .iter()
            .take(MAX_FIELD + 1)
            .position(|&c| c == d)?;
        *f = &b[i..i + len];
        i += len + 1;
    }
    Some((fields, i))
}

fn parse_tcp_port(b: &[u8]) -> Option<u16> {
    if b.is_empty() || b.len() > 5 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// Address in family `proto` ("1" IPv4, "2" IPv6, per RFC 2428).
fn parse_family_addr(proto: &[u8], addr: &[u8]) -> Option<IpAddr> {
    let addr = std::str::from_utf8(addr).ok()?;
    match proto {
        b"1" => addr.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
        b"2" => addr.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
        _ => None,
    }
}

/// EPRT |1|132.235.1.2|6275| or |2|1080::8:800:200C:417A|5282| (any delimiter char in
/// 33..=126, per RFC 2428; net-prt 1 or 2 must match the address family). Surrounding
/// blanks are tolerated; anything else after the last delimiter is not.
pub fn parse_eprt(arg: &str) -> Option<SocketAddr> {
    let b = arg.trim_matches([' ', '\t']).as_bytes();
    let ([proto, addr, port], end) = delimited(b)?;
    if end != b.len() {
        return None;
    }
    Some(SocketAddr::new(
        parse_family_addr(proto, addr)?,
        parse_tcp_port(port)?,
    ))
}

/// 229 reply text: "Entering Extended Passive Mode (|||6446|)" → port; the delimiter may be
/// any char in 33..=126 (letters and digits excluded here, as they would be ambiguous with
/// the text), found anywhere in the text. Some servers put an address in the middle
/// (|1|1.2.3.4|6446| or |2|::1|6446|) → returned too; an empty net-prt with an address
/// is accepted with the family taken from the address.
pub fn parse_229(text: &str) -> Option<(Option<IpAddr>, u16)> {
    let b = text.as_bytes();
    (0..b.len())
        .filter(|&i| is_delim(b[i]) && !b[i].is_ascii_alphanumeric())
        .find_map(|i| {
            let ([proto, addr, port], _) = delimited(&b[i..])?;
            let port = parse_tcp_port(port)?;
            let ip = match (proto, addr) {
                (_, []) if proto.is_empty() || proto == b"1" || proto == b"2" => None,
                ([], a) => Some(std::str::from_utf8(a).ok()?.parse::<IpAddr>().ok()?),
                (p, a) => Some(parse_family_addr(p, a)?),
            };
            Some((ip, port))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> Option<SocketAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn port() {
        assert_eq!(parse_port("10,0,0,1,4,1"), sa("10.0.0.1:1025"));
        assert_eq!(parse_port(" 10 , 0,0 ,1, 255 ,255 "), sa("10.0.0.1:65535"));
        assert_eq!(parse_port("0,0,0,0,0,0"), sa("0.0.0.0:0"));
        assert_eq!(parse_port("010,000,0,1,4,1"), sa("10.0.0.1:1025"));
        for bad in [
            "",
            " ",
            "10,0,0,1,4",
            "10,0,0,1,4,1,7",
            "10,0,0,1,4,256",
            "256,0,0,1,4,1",
            "10,0,0,1,4,-1",
            "10,0,0,1,4,+1",
            "10,0,0,1,4,1x",
            "10,0,0,1,,4,1",
            "10,0,0,1,4,1,",
            "a,b,c,d,e,f",
            "10.0.0.1,4,1",
            "99999999999999999999999999,0,0,1,4,1",
            "(10,0,0,1,4,1)",
        ] {
            assert_eq!(parse_port(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn eprt() {
        assert_eq!(parse_eprt("|1|132.235.1.2|6275|"), sa("132.235.1.2:6275"));
        assert_eq!(
            parse_eprt("|2|1080::8:800:200C:417A|5282|"),
            sa("[1080::8:800:200c:417a]:5282")
        );
        assert_eq!(parse_eprt("!1!10.0.0.1!21!"), sa("10.0.0.1:21"));
        assert_eq!(parse_eprt(" |2|::1|65535| "), sa("[::1]:65535"));
        assert_eq!(parse_eprt("|2|::ffff:1.2.3.4|1|"), sa("[::ffff:1.2.3.4]:1"));
        for bad in [
            "",
            "|",
            "|1|132.235.1.2|6275",
            "|1|132.235.1.2|6275|x",
            "|2|132.235.1.2|6275|",
            "|1|::1|6275|",
            "|3|132.235.1.2|6275|",
            "||132.235.1.2|6275|",
            "|1|132.235.1.2|65536|",
            "|1|132.235.1.2|99999999999999999999|",
            "|1|132.235.1.2||",
            "|1|132.235.1.256|21|",
            "|1|132.235.1|21|",
            "|1|132.235.1.2|-1|",
            "|1|132.235.1.2|+21|",
            "|1|132.235.1.2!21!",
            " 1|132.235.1.2|21|",
            "\u{7f}1\u{7f}1.2.3.4\u{7f}21\u{7f}",
            "é1é1.2.3.4é21é",
        ] {
            assert_eq!(parse_eprt(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn lprt() {
        assert_eq!(parse_lprt("4,4,10,0,0,1,2,4,1"), sa("10.0.0.1:1025"));
        assert_eq!(
            parse_lprt("6,16,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,2,0,21"),
            sa("[::1]:21")
        );
        assert_eq!(parse_lprt(" 4, 4, 10,0,0,1, 2, 4,1 "), sa("10.0.0.1:1025"));
        for bad in [
            "",
            "4,4,10,0,0,1,2,4",
            "4,4,10,0,0,1,2,4,1,1",
            "4,16,10,0,0,1,2,4,1",
            "6,4,10,0,0,1,2,4,1",
            "4,4,10,0,0,1,3,4,1,1",
            "4,4,10,0,0,256,2,4,1",
            "6,16,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2,0,21",
            "6,16,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,1,2,0,21",
            "5,4,10,0,0,1,2,4,1",
            "x",
        ] {
            assert_eq!(parse_lprt(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn pasv_227() {
        assert_eq!(
            parse_227("Entering Passive Mode (10,99,0,1,117,48)."),
            sa("10.99.0.1:30000")
        );
        assert_eq!(
            parse_227("Entering passive mode 10,99,0,1,117,48"),
            sa("10.99.0.1:30000")
        );
        assert_eq!(
            parse_227("Entering Passive Mode=(127,0,0,1,4,1)"),
            sa("127.0.0.1:1025")
        );
        assert_eq!(
            parse_227("Entering Passive Mode (127, 0, 0, 1, 4, 1)"),
            sa("127.0.0.1:1025")
        );
        // Earlier non-matching numbers are skipped.
        assert_eq!(
            parse_227("Mode 2 (1,2) then 10,0,0,1,0,21"),
            sa("10.0.0.1:21")
        );
        for bad in [
            "",
            "Entering Passive Mode",
            "Entering Passive Mode (10,99,0,1,117)",
            "Entering Passive Mode (10,99,0,1,117,256)",
            "Entering Passive Mode (10,99,0,1,117,48,7)",
            "Entering Passive Mode (4,4,10,0,0,1,2,4,1)",
            "(999999999999999999999,99,0,1,117,48)",
            "(10.99.0.1:30000)",
            // The tail of a list with a bad head is not a list of its own.
            "(999,10,0,0,1,4,1)",
            "(1,10,0,0,1,4,1)",
            "(1 , 10,0,0,1,4,1)",
        ] {
            assert_eq!(parse_227(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn lpsv_228() {
        assert_eq!(
            parse_228("Entering Long Passive Mode (4,4,10,0,0,1,2,4,1)"),
            sa("10.0.0.1:1025")
        );
        assert_eq!(
            parse_228(
                "Entering Long Passive Mode (6,16,32,1,13,184,0,0,0,0,0,0,0,0,0,0,0,1,2,0,21)"
            ),
            sa("[2001:db8::1]:21")
        );
        for bad in [
            "",
            "Entering Long Passive Mode (10,99,0,1,117,48)",
            "Entering Long Passive Mode (4,4,10,0,0,1,2,4)",
            "Entering Long Passive Mode (4,4,10,0,0,1,2,4,1,0)",
            "Entering Long Passive Mode (6,4,10,0,0,1,2,4,1)",
        ] {
            assert_eq!(parse_228(bad), None, "{bad:?}");
        }
    }

    /// Inputs that would take quadratic time in a naive scanner finish quickly.
    #[test]
    fn hostile_texts_are_linear() {
        let patterns: [&str; 8] = ["|", "|1", "1,", "1 ,", "1", ", ", "|||", "!|#|$|%"];
        for p in patterns {
            let text = p.repeat(64 * 1024 / p.len());
            assert_eq!(parse_227(&text), None);
            assert_eq!(parse_228(&text), None);
            let _ = parse_229(&text);
            assert_eq!(parse_port(&text), None);
            assert_eq!(parse_lprt(&text), None);
            assert_eq!(parse_eprt(&text), None);
            assert_eq!(crate::ftp::announced_size(&text), None);
        }
    }

    #[test]
    fn epsv_229() {
        assert_eq!(
            parse_229("Entering Extended Passive Mode (|||6446|)"),
            Some((None, 6446))
        );
        assert_eq!(
            parse_229("Entering Extended Passive Mode (!!!21!)"),
            Some((None, 21))
        );
        assert_eq!(parse_229("EPSV ok |||65535|"), Some((None, 65535)));
        assert_eq!(
            parse_229("Entering Extended Passive Mode (|1|1.2.3.4|6446|)"),
            Some((Some("1.2.3.4".parse().unwrap()), 6446))
        );
        assert_eq!(
            parse_229("Entering Extended Passive Mode (|2|::1|6446|)"),
            Some((Some("::1".parse().unwrap()), 6446))
        );
        assert_eq!(
            parse_229("(||10.0.0.1|6446|)"),
            Some((Some("10.0.0.1".parse().unwrap()), 6446))
        );
        for bad in [
            "",
            "Entering Extended Passive Mode",
            "Entering Extended Passive Mode (|||65536|)",
            "Entering Extended Passive Mode (|||0x10|)",
            "Entering Extended Passive Mode (|||999999999999999999|)",
            "Entering Extended Passive Mode (||||)",
            "Entering Extended Passive Mode (|||6446)",
            "Entering Extended Passive Mode (|2|1.2.3.4|6446|)",
            "Entering Extended Passive Mode (|1|::1|6446|)",
            "Entering Extended Passive Mode (|3|1.2.3.4|6446|)",
            "Entering Extended Passive Mode (|1|garbage|6446|)",
        ] {
            assert_eq!(parse_229(bad), None, "{bad:?}");
        }
    }
}
