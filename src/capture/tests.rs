use super::*;
use std::io::{Cursor, Write};
use std::sync::mpsc;

fn reader(bytes: Vec<u8>) -> Result<CaptureReader, CaptureError> {
    CaptureReader::from_reader(Box::new(Cursor::new(bytes)))
}

/// (ts, link, data, orig_len) of every packet, then the terminating error if any.
type Pkt = (i64, LinkType, Vec<u8>, u32);

fn read_all(r: &mut CaptureReader) -> (Vec<Pkt>, Option<CaptureError>) {
    let mut out = Vec::new();
    loop {
        match r.next_packet() {
            Ok(Some(p)) => out.push((p.ts.nanos(), p.link_type, p.data.to_vec(), p.orig_len)),
            Ok(None) => return (out, None),
            Err(e) => return (out, Some(e)),
        }
    }
}

/// A classic pcap, hand-built: `be` byte order, `nanos` resolution.
fn pcap(be: bool, nanos: bool, linktype: u32, pkts: &[(u32, u32, &[u8])]) -> Vec<u8> {
    let w32 = |v: &mut Vec<u8>, x: u32| {
        v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() })
    };
    let mut v = Vec::new();
    w32(&mut v, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
    let (maj, min) = if be {
        ([0, 2], [0, 4])
    } else {
        ([2, 0], [4, 0])
    };
    v.extend_from_slice(&maj);
    v.extend_from_slice(&min);
    w32(&mut v, 0);
    w32(&mut v, 0);
    w32(&mut v, 65535);
    w32(&mut v, linktype);
    for (secs, frac, data) in pkts {
        w32(&mut v, *secs);
        w32(&mut v, *frac);
        w32(&mut v, data.len() as u32);
        w32(&mut v, data.len() as u32 + 10);
        v.extend_from_slice(data);
    }
    v
}

#[test]
fn linktype_mapping() {
    let cases = [
        (0, LinkType::Null),
        (1, LinkType::Ethernet),
        (12, LinkType::Raw),
        (14, LinkType::Raw),
        (101, LinkType::Raw),
        (108, LinkType::Loop),
        (113, LinkType::LinuxSll),
        (276, LinkType::LinuxSll2),
        (228, LinkType::Ipv4),
        (229, LinkType::Ipv6),
    ];
    for (n, lt) in cases {
        assert_eq!(LinkType::from_linktype(n), Some(lt));
    }
    for n in [2, 105, 127, 147, 65535] {
        assert_eq!(LinkType::from_linktype(n), None);
    }
}

#[test]
fn pcap_all_byte_orders_and_resolutions() {
    for be in [false, true] {
        for nanos in [false, true] {
            let bytes = pcap(be, nanos, 1, &[(10, 5, b"abc"), (11, 999, b"defgh")]);
            let mut r = reader(bytes.clone()).unwrap();
            assert_eq!(r.format(), CaptureFormat::Pcap);
            let (pkts, err) = read_all(&mut r);
            assert!(err.is_none(), "{err:?}");
            let unit = if nanos { 1 } else { 1000 };
            assert_eq!(
                pkts,
                vec![
                    (
                        10_000_000_000 + 5 * unit,
                        LinkType::Ethernet,
                        b"abc".to_vec(),
                        13
                    ),
                    (
                        11_000_000_000 + 999 * unit,
                        LinkType::Ethernet,
                        b"defgh".to_vec(),
                        15
                    ),
                ]
            );
            assert_eq!(r.bytes_read(), bytes.len() as u64);
            // Clean end is sticky.
            assert!(r.next_packet().unwrap().is_none());
        }
    }
}

#[test]
fn pcap_modified_format() {
    for be in [false, true] {
        let std = pcap(be, false, 1, &[(7, 8, b"mod")]);
        let mut m = std[..24].to_vec();
        m[..4].copy_from_slice(&if be {
            [0xa1, 0xb2, 0xcd, 0x34]
        } else {
            [0x34, 0xcd, 0xb2, 0xa1]
        });
        m.extend_from_slice(&std[24..40]);
        m.extend_from_slice(&[0; 8]); // ifindex, protocol, pkt_type, pad
        m.extend_from_slice(b"mod");
        let (pkts, err) = read_all(&mut reader(m).unwrap());
        assert!(err.is_none(), "{err:?}");
        assert_eq!(
            pkts,
            vec![(7_000_008_000, LinkType::Ethernet, b"mod".to_vec(), 13)]
        );
    }
}

#[test]
fn pcap_truncated_last_packet() {
    let mut bytes = pcap(false, false, 1, &[(1, 0, b"first"), (2, 0, b"second")]);
    bytes.truncate(bytes.len() - 3);
    let mut r = reader(bytes).unwrap();
    let (pkts, err) = read_all(&mut r);
    assert_eq!(pkts.len(), 1);
    assert_eq!(pkts[0].2, b"first");
    match err {
        Some(CaptureError::Truncated { offset }) => assert_eq!(offset, 24 + 16 + 5),
        e => panic!("{e:?}"),
    }
    assert!(r.next_packet().unwrap().is_none());
}

#[test]
fn not_a_capture_and_empty() {
    match reader(b"GET / HTTP/1.1\r\n".to_vec()) {
        Err(CaptureError::NotACapture(s)) => assert!(s.starts_with("47 45 54 20"), "{s}"),
        Err(e) => panic!("{e:?}"),
        Ok(_) => panic!("accepted"),
    }
    assert!(matches!(
        reader(Vec::new()),
        Err(CaptureError::NotACapture(_))
    ));
    assert!(matches!(
        reader(vec![0xd4]),
        Err(CaptureError::NotACapture(_))
    ));
    // gzip of something that is not a capture
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"hello world").unwrap();
    let e = reader(gz.finish().unwrap()).err().unwrap();
    assert!(matches!(e, CaptureError::NotACapture(_)), "{e:?}");
    // gzip magic, garbage after it
    let e = reader(vec![0x1f, 0x8b, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8])
        .err()
        .unwrap();
    assert!(matches!(e, CaptureError::NotACapture(_)), "{e:?}");
}

#[test]
fn pcap_unsupported_link_type() {
    let e = reader(pcap(false, false, 147, &[])).err().unwrap();
    assert!(matches!(e, CaptureError::UnsupportedLinkType(147)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "unsupported link type 147 (ftpflow reads Ethernet, Linux SLL/SLL2, raw IP, BSD NULL/LOOP)"
    );
}

#[test]
fn pcap_oversized_record_is_corrupt() {
    let mut bytes = pcap(false, false, 1, &[(1, 0, b"abcd")]);
    bytes[24 + 8..24 + 12].copy_from_slice(&0x4000_0000u32.to_le_bytes());
    let (pkts, err) = read_all(&mut reader(bytes).unwrap());
    assert!(pkts.is_empty());
    assert!(
        matches!(err, Some(CaptureError::Corrupt { offset: 24, .. })),
        "{err:?}"
    );
}

#[test]
fn gzip_transparent_and_counts_compressed_bytes() {
    let plain = pcap(false, true, 101, &[(1, 2, b"\x45xyz"), (3, 4, b"\x60")]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    let mut r = reader(gz.clone()).unwrap();
    let (pkts, err) = read_all(&mut r);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(pkts.len(), 2);
    assert_eq!(
        pkts[1],
        (3_000_000_004, LinkType::Raw, b"\x60".to_vec(), 11)
    );
    assert_eq!(r.bytes_read(), gz.len() as u64);

    // Concatenated gzip members (MultiGzDecoder) and a truncated gzip stream.
    let (a, b) = plain.split_at(30);
    let mut cat = Vec::new();
    for part in [a, b] {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(part).unwrap();
        cat.extend(e.finish().unwrap());
    }
    let (pkts, err) = read_all(&mut reader(cat).unwrap());
    assert!(err.is_none() && pkts.len() == 2, "{err:?}");

    let mut cut = gz.clone();
    cut.truncate(gz.len() - 12);
    let (pkts, err) = read_all(&mut reader(cut).unwrap());
    assert!(pkts.len() <= 2);
    assert!(
        matches!(err, Some(CaptureError::Truncated { .. })) || (err.is_none() && pkts.len() == 2),
        "{err:?}"
    );
}

#[test]
fn writer_round_trip() {
    let mut w = PcapWriter::new(Vec::new(), 113, 1000).unwrap();
    w.write_packet(Timestamp(1_700_000_000_123_456_789), &[1, 2, 3], 60)
        .unwrap();
    w.write_packet(Timestamp(5), &[], 0).unwrap();
    let bytes = w.into_inner().unwrap();
    let (pkts, err) = read_all(&mut reader(bytes).unwrap());
    assert!(err.is_none());
    assert_eq!(
        pkts,
        vec![
            (
                1_700_000_000_123_456_000,
                LinkType::LinuxSll,
                vec![1, 2, 3],
                60
            ),
            (0, LinkType::LinuxSll, vec![], 0),
        ]
    );
}

// ---------- pcapng, built block by block ----------

struct Ng {
    be: bool,
    out: Vec<u8>,
}

impl Ng {
    fn new(be: bool) -> Ng {
        let mut ng = Ng {
            be,
            out: Vec::new(),
        };
        ng.shb();
        ng
    }
    fn u16(&self, x: u16) -> [u8; 2] {
        if self.be {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        }
    }
    fn u32(&self, x: u32) -> [u8; 4] {
        if self.be {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        }
    }
    fn block(&mut self, btype: u32, mut body: Vec<u8>) {
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
        let len = 12 + body.len() as u32;
        let (t, l) = (self.u32(btype), self.u32(len));
        self.out.extend_from_slice(&t);
        self.out.extend_from_slice(&l);
        self.out.extend_from_slice(&body);
        self.out.extend_from_slice(&l);
    }
    fn shb(&mut self) {
        let mut b = self.u32(0x1A2B_3C4D).to_vec();
        b.extend_from_slice(&self.u16(1));
        b.extend_from_slice(&self.u16(0));
        b.extend_from_slice(&[0xff; 8]);
        self.block(SHB_TYPE, b);
    }
    fn option(&self, b: &mut Vec<u8>, code: u16, value: &[u8]) {
        b.extend_from_slice(&self.u16(code));
        b.extend_from_slice(&self.u16(value.len() as u16));
        b.extend_from_slice(value);
        while !b.len().is_multiple_of(4) {
            b.push(0);
        }
    }
    fn idb(&mut self, linktype: u16, snaplen: u32, tsresol: Option<u8>, tsoffset: Option<i64>) {
        let mut b = self.u16(linktype).to_vec();
        b.extend_from_slice(&self.u16(0));
        b.extend_from_slice(&self.u32(snaplen));
        self.option(&mut b, 2, b"eth0");
        if let Some(r) = tsresol {
            self.option(&mut b, 9, &[r]);
        }
        if let Some(o) = tsoffset {
            let v = if self.be {
                o.to_be_bytes()
            } else {
                o.to_le_bytes()
            };
            self.option(&mut b, 14, &v);
        }
        self.option(&mut b, 0, &[]);
        self.block(IDB_TYPE, b);
    }
    fn epb(&mut self, if_id: u32, ts: u64, data: &[u8], orig: u32) {
        let mut b = self.u32(if_id).to_vec();
        b.extend_from_slice(&self.u32((ts >> 32) as u32));
        b.extend_from_slice(&self.u32(ts as u32));
        b.extend_from_slice(&self.u32(data.len() as u32));
        b.extend_from_slice(&self.u32(orig));
        b.extend_from_slice(data);
        while !b.len().is_multiple_of(4) {
            b.push(0);
        }
        // an epb_flags option, to show options are skipped
        self.option(&mut b, 2, &self.u32(1));
        self.option(&mut b, 0, &[]);
        self.block(EPB_TYPE, b);
    }
    fn opb(&mut self, if_id: u16, ts: u64, data: &[u8], orig: u32) {
        let mut b = self.u16(if_id).to_vec();
        b.extend_from_slice(&self.u16(0));
        b.extend_from_slice(&self.u32((ts >> 32) as u32));
        b.extend_from_slice(&self.u32(ts as u32));
        b.extend_from_slice(&self.u32(data.len() as u32));
        b.extend_from_slice(&self.u32(orig));
        b.extend_from_slice(data);
        self.block(OPB_TYPE, b);
    }
    fn spb(&mut self, data: &[u8], orig: u32) {
        let mut b = self.u32(orig).to_vec();
        b.extend_from_slice(data);
        self.block(SPB_TYPE, b);
    }
    fn other(&mut self, btype: u32) {
        let b = vec![0u8; 12];
        self.block(btype, b);
    }
}

fn sample_ng() -> Vec<u8> {
    let mut ng = Ng::new(false);
    ng.idb(1, 65535, None, None); // Ethernet, µs
    ng.idb(101, 4, Some(9), Some(100)); // raw IP, ns, +100 s, snaplen 4
    ng.epb(0, 1_500_000, b"pkt0", 60);
    ng.other(4); // NRB
    ng.epb(1, 2_000_000_001, b"p1", 2);
    ng.other(5); // ISB
    ng.spb(b"simple", 6); // snaplen 65535 → 6 bytes, ts of the last packet
    ng.other(0x0000_000A); // DSB
    ng.other(0x0000_0BAD); // custom
    ng.opb(1, 7_000_000_000, b"old", 3);
    // Second section, big-endian: interfaces reset.
    let mut be = Ng::new(true);
    be.idb(113, 0, Some(0x80 | 10), Some(-1)); // SLL, 1/1024 s, -1 s
    be.idb(147, 0, None, None); // unsupported, carries a packet at the end
    be.epb(0, 3 * 1024 + 512, b"sll!", 4);
    be.spb(b"simplepacket", 100); // snaplen 0 = unlimited, cut by block
    be.epb(1, 0, b"usb", 3);
    ng.out.extend(be.out);
    ng.out
}

#[test]
fn pcapng_sections_interfaces_and_blocks() {
    let bytes = sample_ng();
    let mut r = reader(bytes).unwrap();
    assert_eq!(r.format(), CaptureFormat::PcapNg);
    let (pkts, err) = read_all(&mut r);
    assert!(
        matches!(err, Some(CaptureError::UnsupportedLinkType(147))),
        "{err:?}"
    );
    let ts1 = 102_000_000_001;
    assert_eq!(
        pkts,
        vec![
            (1_500_000_000, LinkType::Ethernet, b"pkt0".to_vec(), 60),
            (ts1, LinkType::Raw, b"p1".to_vec(), 2),
            (ts1, LinkType::Ethernet, b"simple".to_vec(), 6),
            (107_000_000_000, LinkType::Raw, b"old".to_vec(), 3),
            (2_500_000_000, LinkType::LinuxSll, b"sll!".to_vec(), 4),
            (
                2_500_000_000,
                LinkType::LinuxSll,
                b"simplepacket".to_vec(),
                100
            ),
        ]
    );
    assert_eq!(r.interfaces().len(), 2);
    assert_eq!(r.interfaces()[0].tsoffset, -1);
}

#[test]
fn pcapng_unsupported_interface_without_packets_is_fine() {
    let mut ng = Ng::new(false);
    ng.idb(147, 0, None, None);
    ng.idb(1, 0, Some(3), None); // milliseconds
    ng.epb(1, 1234, b"x", 1);
    let (pkts, err) = read_all(&mut reader(ng.out).unwrap());
    assert!(err.is_none(), "{err:?}");
    assert_eq!(
        pkts,
        vec![(1_234_000_000, LinkType::Ethernet, b"x".to_vec(), 1)]
    );
}

#[test]
fn pcapng_errors() {
    // packet on an undeclared interface
    let mut ng = Ng::new(false);
    ng.epb(0, 0, b"x", 1);
    let (_, err) = read_all(&mut reader(ng.out).unwrap());
    assert!(
        matches!(err, Some(CaptureError::Corrupt { offset: 36, .. })),
        "{err:?}"
    );

    // caplen larger than the block
    let mut ng = Ng::new(false);
    ng.idb(1, 0, None, None);
    let at = ng.out.len();
    ng.epb(0, 0, b"abcd", 4);
    ng.out[at + 20..at + 24].copy_from_slice(&400u32.to_le_bytes());
    let (_, err) = read_all(&mut reader(ng.out).unwrap());
    assert!(matches!(err, Some(CaptureError::Corrupt { .. })), "{err:?}");

    // huge block length: corrupt, not an allocation
    let mut ng = Ng::new(false);
    let at = ng.out.len();
    ng.idb(1, 0, None, None);
    ng.out[at + 4..at + 8].copy_from_slice(&0x7000_0000u32.to_le_bytes());
    let (_, err) = read_all(&mut reader(ng.out).unwrap());
    assert!(matches!(err, Some(CaptureError::Corrupt { .. })), "{err:?}");

    // truncated in the middle of the last block
    let mut ng = Ng::new(false);
    ng.idb(1, 0, None, None);
    ng.epb(0, 0, b"one", 3);
    let at = ng.out.len();
    ng.epb(0, 0, b"two", 3);
    ng.out.truncate(ng.out.len() - 1);
    let (pkts, err) = read_all(&mut reader(ng.out).unwrap());
    assert_eq!(pkts.len(), 1);
    assert!(
        matches!(err, Some(CaptureError::Truncated { offset }) if offset == at as u64),
        "{err:?}"
    );
}

#[test]
fn block_larger_than_buffer_grows() {
    let big = vec![0x5a; BUF_SIZE * 3 + 5];
    let mut ng = Ng::new(false);
    ng.idb(1, 0, None, None);
    ng.epb(0, 0, b"small", 5);
    ng.epb(0, 0, &big, big.len() as u32);
    ng.epb(0, 0, b"after", 5);
    let (pkts, err) = read_all(&mut reader(ng.out).unwrap());
    assert!(err.is_none(), "{err:?}");
    assert_eq!(pkts.len(), 3);
    assert_eq!(pkts[1].2, big);
    assert_eq!(pkts[2].2, b"after");
}

/// A live stream: each packet must come out as soon as its bytes have arrived,
/// without reading further (the reader panics if read while no data is queued).
struct Live {
    rx: mpsc::Receiver<Vec<u8>>,
    cur: Cursor<Vec<u8>>,
}

impl Read for Live {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.cur.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            match self.rx.try_recv() {
                Ok(chunk) => self.cur = Cursor::new(chunk),
                Err(mpsc::TryRecvError::Empty) => panic!("read while no data is available"),
                Err(mpsc::TryRecvError::Disconnected) => return Ok(0),
            }
        }
    }
}

#[test]
fn live_stream_returns_packets_as_they_arrive() {
    for ng in [false, true] {
        let bytes = if ng {
            let mut n = Ng::new(false);
            n.idb(1, 0, None, None);
            n.epb(0, 1, b"first", 5);
            n.epb(0, 2, b"second", 6);
            n.out
        } else {
            pcap(false, false, 1, &[(1, 0, b"first"), (2, 0, b"second")])
        };
        let first_end = bytes.len() - if ng { 44 } else { 22 };
        let (tx, rx) = mpsc::channel();
        // The first packet arrives in small pieces.
        for chunk in bytes[..first_end].chunks(3) {
            tx.send(chunk.to_vec()).unwrap();
        }
        let mut r = CaptureReader::from_reader(Box::new(Live {
            rx,
            cur: Cursor::new(Vec::new()),
        }))
        .unwrap();
        assert_eq!(r.next_packet().unwrap().unwrap().data, b"first");
        tx.send(bytes[first_end..].to_vec()).unwrap();
        drop(tx);
        assert_eq!(r.next_packet().unwrap().unwrap().data, b"second");
        assert!(r.next_packet().unwrap().is_none());
    }
}

// ---------- robustness: no panic, no hang on damaged input ----------

/// Reads everything; bounded so that a loop would fail the test instead of hanging.
fn exhaust(bytes: Vec<u8>) {
    if let Ok(mut r) = reader(bytes) {
        for _ in 0..10_000 {
            match r.next_packet() {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return,
            }
        }
        panic!("reader does not terminate");
    }
}

fn damaged_inputs_of(base: &[u8]) {
    for cut in 0..base.len() {
        exhaust(base[..cut].to_vec());
    }
    for i in 0..base.len() {
        for bit in 0..8 {
            let mut b = base.to_vec();
            b[i] ^= 1 << bit;
            exhaust(b);
        }
    }
}

#[test]
fn fuzz_truncations_and_bit_flips_pcap() {
    damaged_inputs_of(&pcap(true, true, 1, &[(1, 2, b"abcdef"), (3, 4, b"gh")]));
}

#[test]
fn fuzz_truncations_and_bit_flips_pcapng() {
    damaged_inputs_of(&sample_ng());
}

#[test]
fn fuzz_random_bytes() {
    // xorshift: deterministic, no dependency.
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let prefixes: [&[u8]; 4] = [
        &[],
        &[0x0a, 0x0d, 0x0d, 0x0a],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        &[0x1f, 0x8b],
    ];
    for round in 0..400 {
        let len = (next() % 200) as usize;
        let mut b = prefixes[round % 4].to_vec();
        b.extend((0..len).map(|_| next() as u8));
        exhaust(b);
    }
}

/// Throughput check, run by hand: `cargo test --release --lib throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput() {
    /// Repeats one chunk of records up to `left` bytes, after a header.
    struct Repeat {
        head: Cursor<Vec<u8>>,
        chunk: Vec<u8>,
        pos: usize,
        left: usize,
    }
    impl Read for Repeat {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.head.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            let n = buf.len().min(self.left).min(self.chunk.len() - self.pos);
            buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
            self.pos = (self.pos + n) % self.chunk.len();
            self.left -= n;
            Ok(n)
        }
    }
    for (name, size) in [("small (80 B)", 20usize), ("mixed (~600 B)", 0)] {
        let mut recs = Vec::new();
        for i in 0..64 {
            let plen = if size > 0 {
                size
            } else {
                [0, 1448, 40, 1000][i % 4]
            };
            let mut p = Vec::new();
            etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
                .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
                .tcp(2000, 21, i as u32, 100)
                .ack(1)
                .write(&mut p, &vec![b'a'; plen])
                .unwrap();
            recs.push((1u32, i as u32, p));
        }
        let refs: Vec<(u32, u32, &[u8])> = recs.iter().map(|(a, b, p)| (*a, *b, &p[..])).collect();
        let file = pcap(false, false, 1, &refs);
        let total = 1usize << 30;
        let mut r = CaptureReader::from_reader(Box::new(Repeat {
            head: Cursor::new(file[..24].to_vec()),
            chunk: file[24..].to_vec(),
            pos: 0,
            left: total / (file.len() - 24) * (file.len() - 24),
        }))
        .unwrap();
        let t = std::time::Instant::now();
        let (mut n, mut payload) = (0u64, 0u64);
        while let Some(p) = r.next_packet().unwrap() {
            n += 1;
            if let Ok(crate::decode::Decoded::Tcp(s)) = crate::decode::decode(p.link_type, p.data) {
                payload += s.payload.len() as u64;
            }
        }
        let secs = t.elapsed().as_secs_f64();
        eprintln!(
            "{name}: {n} packets, {payload} payload bytes, {:.0} MB/s, {:.1} Mpkt/s",
            total as f64 / secs / 1e6,
            n as f64 / secs / 1e6
        );
    }
}

#[test]
fn open_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.pcap.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(&pcap(false, false, 1, &[(1, 0, b"file")]))
        .unwrap();
    gz.finish().unwrap();
    let mut r = CaptureReader::open(&path).unwrap();
    assert_eq!(r.next_packet().unwrap().unwrap().data, b"file");
    assert!(r.next_packet().unwrap().is_none());
    assert_eq!(r.bytes_read(), std::fs::metadata(&path).unwrap().len());

    let e = CaptureReader::open(&dir.path().join("missing.pcap"))
        .err()
        .unwrap();
    assert!(matches!(e, CaptureError::Open(_)), "{e:?}");
    let e = CaptureReader::open(dir.path()).err().unwrap();
    assert!(matches!(e, CaptureError::Open(_)), "{e:?}");
}

#[test]
fn a_file_cut_inside_the_pcap_header_says_so() {
    let mut header = Vec::new();
    header.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    header.extend_from_slice(&[
        2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
    ]);
    for cut in [4, 10, 23] {
        let err = reader(header[..cut].to_vec()).err().expect("unusable");
        let msg = err.to_string();
        assert!(
            msg.contains("pcap header") && msg.contains(&format!("{cut} of 24")),
            "{msg}"
        );
    }
    assert!(reader(header).is_ok());
}

#[test]
fn pcapng_cut_inside_its_first_section_header_is_not_a_capture() {
    let ng = Ng::new(false);
    for cut in [10, 20, ng.out.len() - 1] {
        let data = ng.out[..cut].to_vec();
        let err = match reader(data) {
            Err(e) => Some(e),
            Ok(mut r) => read_all(&mut r).1,
        };
        assert!(
            matches!(&err, Some(CaptureError::Corrupt { reason, .. }) if reason.contains("section header")),
            "cut at {cut}: {err:?}"
        );
    }
}
