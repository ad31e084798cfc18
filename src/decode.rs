//! Link / IP / TCP decoding of one captured packet (no state, no allocation).
//!
//! INTERFACE CONTRACT: `decode` and the types below. Parsed by hand from the fixed
//! header layouts: it is the per-packet hot path.

use crate::capture::LinkType;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// TCP header flags as the raw flag byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub fn fin(self) -> bool {
        self.0 & Self::FIN != 0
    }
    pub fn syn(self) -> bool {
        self.0 & Self::SYN != 0
    }
    pub fn rst(self) -> bool {
        self.0 & Self::RST != 0
    }
    pub fn ack(self) -> bool {
        self.0 & Self::ACK != 0
    }
}

/// One decoded TCP segment, borrowing its payload from the packet.
#[derive(Clone, Debug)]
pub struct TcpSegment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    /// Payload bytes present in the capture.
    pub payload: &'a [u8],
    /// Payload bytes the segment carried on the wire but the capture cut off (snap length).
    pub missing: u32,
}

/// One decoded UDP datagram (DNS for the ladder's lookup row).
#[derive(Clone, Debug)]
pub struct UdpDatagram<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub payload: &'a [u8],
}

#[derive(Clone, Debug)]
pub enum Decoded<'a> {
    Tcp(TcpSegment<'a>),
    Udp(UdpDatagram<'a>),
    /// Anything else: ARP, ICMP, IP fragments after the first, other protocols.
    Other,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("malformed {layer} header")]
    Malformed { layer: &'static str },
}

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_IPIP: u8 = 4;
const PROTO_IPV6: u8 = 41;
const MAX_TUNNEL_DEPTH: u8 = 2;

/// Which IP version the link layer says follows, and where it starts.
enum Net {
    V4(usize),
    V6(usize),
    Other,
}

fn malformed(layer: &'static str) -> DecodeError {
    DecodeError::Malformed { layer }
}

#[inline]
fn be16(d: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([d[at], d[at + 1]])
}

#[inline]
fn be32(d: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
}

/// Follows an ethertype at `off - 2`, skipping any stack of VLAN tags.
fn by_ethertype(data: &[u8], mut ethertype: u16, mut off: usize) -> Result<Net, DecodeError> {
    while matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
        if data.len() < off + 4 {
            return Err(malformed("vlan"));
        }
        ethertype = be16(data, off + 2);
        off += 4;
    }
    Ok(match ethertype {
        ETH_IPV4 => Net::V4(off),
        ETH_IPV6 => Net::V6(off),
        _ => Net::Other,
    })
}

/// BSD loopback address family values for IPv4 and IPv6 (they differ per OS).
fn by_family(family: u32) -> Option<bool> {
    match family {
        2 => Some(false),
        24 | 28 | 30 => Some(true),
        _ => None,
    }
}

/// Decodes one packet's link, IP and transport headers.
pub fn decode(link: LinkType, data: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let net = match link {
        LinkType::Ethernet => {
            if data.len() < 14 {
                return Err(malformed("ethernet"));
            }
            by_ethertype(data, be16(data, 12), 14)?
        }
        LinkType::LinuxSll => {
            if data.len() < 16 {
                return Err(malformed("linux sll"));
            }
            by_ethertype(data, be16(data, 14), 16)?
        }
        LinkType::LinuxSll2 => {
            if data.len() < 20 {
                return Err(malformed("linux sll2"));
            }
            by_ethertype(data, be16(data, 0), 20)?
        }
        LinkType::Raw => match data.first() {
            None => return Err(malformed("ip")),
            Some(b) => match b >> 4 {
                4 => Net::V4(0),
                6 => Net::V6(0),
                _ => Net::Other,
            },
        },
        LinkType::Ipv4 => Net::V4(0),
        LinkType::Ipv6 => Net::V6(0),
        LinkType::Null | LinkType::Loop => {
            if data.len() < 4 {
                return Err(malformed("loopback"));
            }
            let b = [data[0], data[1], data[2], data[3]];
            // NULL is in the capturing host's byte order, which the file does not
            // record: accept either. LOOP is always network order.
            let v6 = by_family(u32::from_be_bytes(b)).or_else(|| {
                if link == LinkType::Null {
                    by_family(u32::from_le_bytes(b))
                } else {
                    None
                }
            });
            match v6 {
                Some(false) => Net::V4(4),
                Some(true) => Net::V6(4),
                None => Net::Other,
            }
        }
    };
    match net {
        Net::V4(off) => ipv4(&data[off..], 0),
        Net::V6(off) => ipv6(&data[off..], 0),
        Net::Other => Ok(Decoded::Other),
    }
}

fn ipv4(d: &[u8], depth: u8) -> Result<Decoded<'_>, DecodeError> {
    if d.len() < 20 || d[0] >> 4 != 4 {
        return Err(malformed("ipv4"));
    }
    let ihl = (d[0] & 0x0f) as usize * 4;
    if ihl < 20 || d.len() < ihl {
        return Err(malformed("ipv4"));
    }
    let mut total = be16(d, 2) as usize;
    if total == 0 {
        // Segmentation offload on the capturing host leaves the length 0: use what
        // was captured.
        total = d.len();
    }
    if total < ihl {
        return Err(malformed("ipv4"));
    }
    if be16(d, 6) & 0x1fff != 0 {
        // Later fragments carry no transport header.
        return Ok(Decoded::Other);
    }
    let src = IpAddr::V4(Ipv4Addr::new(d[12], d[13], d[14], d[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(d[16], d[17], d[18], d[19]));
    // Ethernet padding after `total` is dropped; a snapped packet ends early.
    let end = total.min(d.len());
    let missing = (total - end) as u32;
    transport(d[9], src, dst, &d[ihl..end], missing, depth)
}

fn ipv6(d: &[u8], depth: u8) -> Result<Decoded<'_>, DecodeError> {
    if d.len() < 40 || d[0] >> 4 != 6 {
        return Err(malformed("ipv6"));
    }
    let plen = be16(d, 4) as usize;
    // Payload length 0: jumbogram or offload; use what was captured.
    let total = if plen == 0 { d.len() } else { 40 + plen };
    let end = total.min(d.len());
    let missing = (total - end) as u32;
    let mut next = d[6];
    let mut off = 40;
    // Hop-by-hop, routing, fragment, AH, destination options.
    while matches!(next, 0 | 43 | 44 | 51 | 60) {
        if off + 8 > end {
            return Err(malformed("ipv6 extension"));
        }
        let hdr_len = match next {
            44 => {
                if be16(d, off + 2) >> 3 != 0 {
                    // Later fragments carry no transport header.
                    return Ok(Decoded::Other);
                }
                8
            }
            51 => (d[off + 1] as usize + 2) * 4,
            _ => (d[off + 1] as usize + 1) * 8,
        };
        next = d[off];
        off += hdr_len;
        if off > end {
            return Err(malformed("ipv6 extension"));
        }
    }
    let mut a = [0u8; 16];
    a.copy_from_slice(&d[8..24]);
    let src = IpAddr::V6(Ipv6Addr::from(a));
    a.copy_from_slice(&d[24..40]);
    let dst = IpAddr::V6(Ipv6Addr::from(a));
    transport(next, src, dst, &d[off..end], missing, depth)
}

fn transport<'a>(
    proto: u8,
    src: IpAddr,
    dst: IpAddr,
    seg: &'a [u8],
    missing: u32,
    depth: u8,
) -> Result<Decoded<'a>, DecodeError> {
    match proto {
        // IP-in-IP and 6in4 tunnels: the inner packet is the conversation. The depth
        // limit bounds recursion on crafted nesting.
        PROTO_IPIP if depth < MAX_TUNNEL_DEPTH => ipv4(seg, depth + 1),
        PROTO_IPV6 if depth < MAX_TUNNEL_DEPTH => ipv6(seg, depth + 1),
        PROTO_TCP => {
            if seg.len() < 20 {
                return Err(malformed("tcp"));
            }
            let doff = (seg[12] >> 4) as usize * 4;
            if doff < 20 || seg.len() < doff {
                return Err(malformed("tcp"));
            }
            Ok(Decoded::Tcp(TcpSegment {
                src: SocketAddr::new(src, be16(seg, 0)),
                dst: SocketAddr::new(dst, be16(seg, 2)),
                seq: be32(seg, 4),
                ack: be32(seg, 8),
                flags: TcpFlags(seg[13]),
                window: be16(seg, 14),
                payload: &seg[doff..],
                missing,
            }))
        }
        PROTO_UDP => {
            if seg.len() < 8 {
                return Err(malformed("udp"));
            }
            Ok(Decoded::Udp(UdpDatagram {
                src: SocketAddr::new(src, be16(seg, 0)),
                dst: SocketAddr::new(dst, be16(seg, 2)),
                payload: &seg[8..],
            }))
        }
        _ => Ok(Decoded::Other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{PacketBuilder, VlanId};

    const MAC_A: [u8; 6] = [1, 2, 3, 4, 5, 6];
    const MAC_B: [u8; 6] = [7, 8, 9, 10, 11, 12];
    const V4_A: [u8; 4] = [10, 0, 0, 1];
    const V4_B: [u8; 4] = [192, 168, 1, 2];
    const V6_A: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const V6_B: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

    fn tcp(d: Decoded<'_>) -> TcpSegment<'_> {
        match d {
            Decoded::Tcp(t) => t,
            other => panic!("not TCP: {other:?}"),
        }
    }

    /// IPv4 TCP from A:2000 to B:21, seq 1000, ack 77, PSH|ACK.
    fn v4_tcp(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ipv4(V4_A, V4_B, 64)
            .tcp(2000, 21, 1000, 512)
            .psh()
            .ack(77);
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        v
    }

    fn v6_tcp(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ipv6(V6_A, V6_B, 64)
            .tcp(2000, 21, 5, 100)
            .syn();
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        v
    }

    fn check_v4(t: &TcpSegment<'_>, payload: &[u8]) {
        assert_eq!(t.src, "10.0.0.1:2000".parse().unwrap());
        assert_eq!(t.dst, "192.168.1.2:21".parse().unwrap());
        assert_eq!((t.seq, t.ack, t.window), (1000, 77, 512));
        assert_eq!(t.flags.0, TcpFlags::PSH | TcpFlags::ACK);
        assert!(t.flags.ack() && !t.flags.syn() && !t.flags.fin() && !t.flags.rst());
        assert_eq!(t.payload, payload);
        assert_eq!(t.missing, 0);
    }

    #[test]
    fn ethernet_ipv4_tcp() {
        let mut v = Vec::new();
        PacketBuilder::ethernet2(MAC_A, MAC_B)
            .ipv4(V4_A, V4_B, 64)
            .tcp(2000, 21, 1000, 512)
            .psh()
            .ack(77)
            .write(&mut v, b"USER anonymous\r\n")
            .unwrap();
        check_v4(
            &tcp(decode(LinkType::Ethernet, &v).unwrap()),
            b"USER anonymous\r\n",
        );
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        let mut v = Vec::new();
        PacketBuilder::ethernet2(MAC_A, MAC_B)
            .ipv4(V4_A, V4_B, 64)
            .tcp(2000, 21, 1000, 512)
            .psh()
            .ack(77)
            .write(&mut v, b"")
            .unwrap();
        v.extend_from_slice(&[0; 6]); // pad to the 60-byte minimum
        let t = tcp(decode(LinkType::Ethernet, &v).unwrap());
        assert!(t.payload.is_empty());
        assert_eq!(t.missing, 0);
    }

    #[test]
    fn vlan_tags() {
        let mut v = Vec::new();
        PacketBuilder::ethernet2(MAC_A, MAC_B)
            .single_vlan(VlanId::try_new(10).unwrap())
            .ipv4(V4_A, V4_B, 64)
            .tcp(2000, 21, 1000, 512)
            .psh()
            .ack(77)
            .write(&mut v, b"abc")
            .unwrap();
        check_v4(&tcp(decode(LinkType::Ethernet, &v).unwrap()), b"abc");

        let mut v = Vec::new();
        PacketBuilder::ethernet2(MAC_A, MAC_B)
            .double_vlan(VlanId::try_new(1).unwrap(), VlanId::try_new(2).unwrap())
            .ipv6(V6_A, V6_B, 64)
            .udp(53, 5353)
            .write(&mut v, b"dns")
            .unwrap();
        match decode(LinkType::Ethernet, &v).unwrap() {
            Decoded::Udp(u) => {
                assert_eq!(u.src, "[2001:db8::1]:53".parse().unwrap());
                assert_eq!(u.dst.port(), 5353);
                assert_eq!(u.payload, b"dns");
            }
            o => panic!("{o:?}"),
        }

        // Three tags by hand: 0x9100, 0x88a8, 0x8100.
        let mut v = MAC_A.to_vec();
        v.extend_from_slice(&MAC_B);
        for tpid in [0x9100u16, 0x88a8, 0x8100] {
            v.extend_from_slice(&tpid.to_be_bytes());
            v.extend_from_slice(&[0, 5]);
        }
        v.extend_from_slice(&[0x08, 0x00]);
        v.extend(v4_tcp(b"x"));
        check_v4(&tcp(decode(LinkType::Ethernet, &v).unwrap()), b"x");

        // Cut inside the tags.
        assert_eq!(
            decode(LinkType::Ethernet, &v[..16]).unwrap_err(),
            DecodeError::Malformed { layer: "vlan" }
        );
    }

    #[test]
    fn linux_sll_and_sll2() {
        let ip = v4_tcp(b"sll");
        let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(&ip);
        check_v4(&tcp(decode(LinkType::LinuxSll, &sll).unwrap()), b"sll");

        let mut sll2 = vec![
            0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
        ];
        sll2.extend_from_slice(&ip);
        check_v4(&tcp(decode(LinkType::LinuxSll2, &sll2).unwrap()), b"sll");

        // ARP over SLL is not IP.
        sll[14..16].copy_from_slice(&[0x08, 0x06]);
        assert!(matches!(
            decode(LinkType::LinuxSll, &sll),
            Ok(Decoded::Other)
        ));
        assert!(decode(LinkType::LinuxSll2, &sll2[..19]).is_err());
    }

    #[test]
    fn raw_ip_and_ip_link_types() {
        let v4 = v4_tcp(b"raw");
        let v6 = v6_tcp(b"six");
        check_v4(&tcp(decode(LinkType::Raw, &v4).unwrap()), b"raw");
        check_v4(&tcp(decode(LinkType::Ipv4, &v4).unwrap()), b"raw");
        for lt in [LinkType::Raw, LinkType::Ipv6] {
            let t = tcp(decode(lt, &v6).unwrap());
            assert_eq!(t.src, "[2001:db8::1]:2000".parse().unwrap());
            assert_eq!(t.dst, "[2001:db8::2]:21".parse().unwrap());
            assert!(t.flags.syn());
            assert_eq!(t.payload, b"six");
        }
        assert!(matches!(
            decode(LinkType::Raw, &[0x10; 30]),
            Ok(Decoded::Other)
        ));
        assert!(decode(LinkType::Raw, &[]).is_err());
        // IPv6 link type carrying an IPv4 header.
        assert!(decode(LinkType::Ipv6, &v4).is_err());
    }

    #[test]
    fn null_and_loop() {
        let v4 = v4_tcp(b"lo");
        let v6 = v6_tcp(b"lo6");
        for fam in [2u32.to_le_bytes(), 2u32.to_be_bytes()] {
            let mut p = fam.to_vec();
            p.extend_from_slice(&v4);
            check_v4(&tcp(decode(LinkType::Null, &p).unwrap()), b"lo");
        }
        for f in [24u32, 28, 30] {
            for fam in [f.to_le_bytes(), f.to_be_bytes()] {
                let mut p = fam.to_vec();
                p.extend_from_slice(&v6);
                assert_eq!(tcp(decode(LinkType::Null, &p).unwrap()).payload, b"lo6");
            }
        }
        let mut p = 2u32.to_be_bytes().to_vec();
        p.extend_from_slice(&v4);
        check_v4(&tcp(decode(LinkType::Loop, &p).unwrap()), b"lo");
        // LOOP is network order only.
        p[..4].copy_from_slice(&2u32.to_le_bytes());
        assert!(matches!(decode(LinkType::Loop, &p), Ok(Decoded::Other)));
        assert!(decode(LinkType::Null, &[2, 0]).is_err());
    }

    #[test]
    fn snapped_packet_reports_missing() {
        let full = v4_tcp(&[b'z'; 100]);
        let cut = &full[..40 + 30];
        let t = tcp(decode(LinkType::Raw, cut).unwrap());
        assert_eq!(t.payload, &[b'z'; 30]);
        assert_eq!(t.missing, 70);

        let full6 = v6_tcp(&[b'q'; 50]);
        let t = tcp(decode(LinkType::Raw, &full6[..60 + 10]).unwrap());
        assert_eq!((t.payload.len(), t.missing), (10, 40));
    }

    #[test]
    fn cut_inside_headers_is_malformed() {
        let full = v4_tcp(b"data");
        for n in 1..40 {
            let e = decode(LinkType::Raw, &full[..n]).unwrap_err();
            let layer = if n < 20 { "ipv4" } else { "tcp" };
            assert_eq!(e, DecodeError::Malformed { layer }, "cut at {n}");
        }
        let full6 = v6_tcp(b"");
        assert!(decode(LinkType::Raw, &full6[..39]).is_err());
        assert!(decode(LinkType::Raw, &full6[..59]).is_err());
        assert!(decode(LinkType::Ethernet, &[0; 13]).is_err());
    }

    #[test]
    fn ipv4_options_and_fragments() {
        // Insert 4 option bytes (NOP NOP NOP EOL): IHL 6, total length + 4.
        let mut v = v4_tcp(b"opt");
        v.splice(20..20, [1, 1, 1, 0]);
        v[0] = 0x46;
        let total = u16::from_be_bytes([v[2], v[3]]) + 4;
        v[2..4].copy_from_slice(&total.to_be_bytes());
        check_v4(&tcp(decode(LinkType::Raw, &v).unwrap()), b"opt");

        // First fragment (MF set, offset 0) with the TCP header: counts.
        let mut first = v4_tcp(b"frag");
        first[6] = 0x20;
        check_v4(&tcp(decode(LinkType::Raw, &first).unwrap()), b"frag");
        // A later fragment: Other.
        let mut later = v4_tcp(b"frag");
        later[6..8].copy_from_slice(&0x0003u16.to_be_bytes());
        assert!(matches!(decode(LinkType::Raw, &later), Ok(Decoded::Other)));
    }

    /// Inserts an IPv6 extension header right after the fixed header.
    fn with_ext(mut v: Vec<u8>, kind: u8, mut ext: Vec<u8>) -> Vec<u8> {
        ext[0] = v[6];
        v[6] = kind;
        let plen = u16::from_be_bytes([v[4], v[5]]) + ext.len() as u16;
        v[4..6].copy_from_slice(&plen.to_be_bytes());
        v.splice(40..40, ext);
        v
    }

    #[test]
    fn ipv6_extension_headers() {
        // Destination options (PadN), then hop-by-hop is only valid first, but
        // the chain walk does not care.
        let dst_opts = vec![0, 0, 1, 4, 0, 0, 0, 0];
        let v = with_ext(v6_tcp(b"ext"), 60, dst_opts.clone());
        let v = with_ext(v, 0, dst_opts);
        let t = tcp(decode(LinkType::Ipv6, &v).unwrap());
        assert_eq!((t.payload, t.dst.port()), (&b"ext"[..], 21));

        // AH: length in 4-byte units minus 2 (here 12 bytes).
        let v = with_ext(v6_tcp(b"ah"), 51, vec![0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(tcp(decode(LinkType::Raw, &v).unwrap()).payload, b"ah");

        // Fragment header: offset 0 counts, a later fragment does not.
        let first = with_ext(v6_tcp(b"f"), 44, vec![0, 0, 0, 1, 0, 0, 0, 9]);
        assert_eq!(tcp(decode(LinkType::Raw, &first).unwrap()).payload, b"f");
        let later = with_ext(v6_tcp(b"f"), 44, vec![0, 0, 0, 8, 0, 0, 0, 9]);
        assert!(matches!(decode(LinkType::Raw, &later), Ok(Decoded::Other)));

        // Extension header cut off.
        let v = with_ext(v6_tcp(b""), 60, vec![0, 0, 1, 4, 0, 0, 0, 0]);
        assert!(decode(LinkType::Raw, &v[..44]).is_err());
    }

    #[test]
    fn ip_in_ip_tunnels() {
        // 6in4: IPv6 TCP inside IPv4 protocol 41.
        let inner = v6_tcp(b"tun");
        let mut outer = Vec::new();
        PacketBuilder::ipv4(V4_A, V4_B, 64)
            .write(&mut outer, etherparse::IpNumber(41), &inner)
            .unwrap();
        let t = tcp(decode(LinkType::Raw, &outer).unwrap());
        assert_eq!(
            (t.dst, t.payload),
            ("[2001:db8::2]:21".parse().unwrap(), &b"tun"[..])
        );
        // IPv4 in IPv4, snapped: `missing` comes from the inner packet.
        let inner = v4_tcp(&[7; 20]);
        let mut outer = Vec::new();
        PacketBuilder::ipv4(V4_B, V4_A, 64)
            .write(&mut outer, etherparse::IpNumber(4), &inner)
            .unwrap();
        let t = tcp(decode(LinkType::Raw, &outer[..outer.len() - 5]).unwrap());
        check_v4(
            &TcpSegment {
                payload: &[7; 20],
                missing: 0,
                ..t.clone()
            },
            &[7; 20],
        );
        assert_eq!((t.payload.len(), t.missing), (15, 5));
        // Nesting deeper than the limit is not followed.
        let mut p = v4_tcp(b"deep");
        for _ in 0..3 {
            let mut o = Vec::new();
            PacketBuilder::ipv4(V4_A, V4_B, 64)
                .write(&mut o, etherparse::IpNumber(4), &p)
                .unwrap();
            p = o;
        }
        assert!(matches!(decode(LinkType::Raw, &p), Ok(Decoded::Other)));
    }

    #[test]
    fn non_ip_is_other() {
        let mut arp = MAC_A.to_vec();
        arp.extend_from_slice(&MAC_B);
        arp.extend_from_slice(&[0x08, 0x06]);
        arp.extend_from_slice(&[0; 28]);
        assert!(matches!(
            decode(LinkType::Ethernet, &arp),
            Ok(Decoded::Other)
        ));

        let mut icmp = Vec::new();
        PacketBuilder::ipv4(V4_A, V4_B, 64)
            .icmpv4_echo_request(1, 2)
            .write(&mut icmp, b"ping")
            .unwrap();
        assert!(matches!(decode(LinkType::Raw, &icmp), Ok(Decoded::Other)));
    }

    #[test]
    fn never_panics_on_damaged_packets() {
        let mut eth = Vec::new();
        PacketBuilder::ethernet2(MAC_A, MAC_B)
            .single_vlan(VlanId::try_new(3).unwrap())
            .ipv6(V6_A, V6_B, 64)
            .tcp(1, 2, 3, 4)
            .write(&mut eth, b"payload")
            .unwrap();
        let links = [
            LinkType::Null,
            LinkType::Ethernet,
            LinkType::Raw,
            LinkType::Loop,
            LinkType::LinuxSll,
            LinkType::LinuxSll2,
            LinkType::Ipv4,
            LinkType::Ipv6,
        ];
        let bases = [eth, v4_tcp(b"abc"), with_ext(v6_tcp(b"x"), 44, vec![0; 8])];
        for base in &bases {
            for lt in links {
                for n in 0..=base.len() {
                    let _ = decode(lt, &base[..n]);
                }
                for i in 0..base.len() {
                    for bit in 0..8 {
                        let mut b = base.clone();
                        b[i] ^= 1 << bit;
                        let _ = decode(lt, &b);
                    }
                }
            }
        }
    }
}
