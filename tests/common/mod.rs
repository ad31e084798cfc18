//! Crafted captures for tests: real TCP conversations (handshake, data, teardown) built
//! with etherparse and written with ftpflow's pcap writer.
#![allow(dead_code)]

use etherparse::PacketBuilder;
use ftpflow::capture::PcapWriter;
use ftpflow::time::Timestamp;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// One TCP connection's sequence state.
pub struct Conn {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub cseq: u32,
    pub sseq: u32,
}

/// A capture being built, packet by packet, with a clock that advances 1 ms per packet.
pub struct Net {
    pub packets: Vec<(Timestamp, Vec<u8>)>,
    pub now: i64,
}

pub const START: i64 = 1_795_550_470_000_000_000;

impl Default for Net {
    fn default() -> Self {
        Net {
            packets: Vec::new(),
            now: START,
        }
    }
}

pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;
pub const FIN: u8 = 0x01;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;

impl Net {
    pub fn advance_ms(&mut self, ms: i64) {
        self.now += ms * 1_000_000;
    }

    /// Writes one raw TCP segment.
    #[allow(clippy::too_many_arguments)]
    pub fn segment(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) {
        let builder = match (src.ip(), dst.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => PacketBuilder::ethernet2(
                [2, 0, 0, 0, 0, 1],
                [2, 0, 0, 0, 0, 2],
            )
            .ipv4(s.octets(), d.octets(), 64),
            (IpAddr::V6(s), IpAddr::V6(d)) => PacketBuilder::ethernet2(
                [2, 0, 0, 0, 0, 1],
                [2, 0, 0, 0, 0, 2],
            )
            .ipv6(s.octets(), d.octets(), 64),
            _ => panic!("mixed address families"),
        };
        let mut b = builder.tcp(src.port(), dst.port(), seq, 64240);
        if flags & SYN != 0 {
            b = b.syn();
        }
        if flags & ACK != 0 {
            b = b.ack(ack);
        }
        if flags & FIN != 0 {
            b = b.fin();
        }
        if flags & RST != 0 {
            b = b.rst();
        }
        if flags & PSH != 0 {
            b = b.psh();
        }
        let mut buf = Vec::with_capacity(b.size(payload.len()));
        b.write(&mut buf, payload).unwrap();
        self.packets.push((Timestamp(self.now), buf));
        self.advance_ms(1);
    }

    /// Three-way handshake.
    pub fn connect(&mut self, client: SocketAddr, server: SocketAddr) -> Conn {
        let (cseq, sseq) = (
            1000 + u32::from(client.port()),
            5000 + u32::from(server.port()),
        );
        self.segment(client, server, cseq, 0, SYN, b"");
        self.segment(server, client, sseq, cseq + 1, SYN | ACK, b"");
        self.segment(client, server, cseq + 1, sseq + 1, ACK, b"");
        Conn {
            client,
            server,
            cseq: cseq + 1,
            sseq: sseq + 1,
        }
    }

    pub fn client_sends(&mut self, c: &mut Conn, data: &[u8]) {
        self.segment(c.client, c.server, c.cseq, c.sseq, PSH | ACK, data);
        c.cseq = c.cseq.wrapping_add(data.len() as u32);
    }

    pub fn server_sends(&mut self, c: &mut Conn, data: &[u8]) {
        self.segment(c.server, c.client, c.sseq, c.cseq, PSH | ACK, data);
        c.sseq = c.sseq.wrapping_add(data.len() as u32);
    }

    /// Sends `data` from the server in segments of at most `mss` bytes.
    pub fn server_streams(&mut self, c: &mut Conn, data: &[u8], mss: usize) {
        for chunk in data.chunks(mss) {
            self.server_sends(c, chunk);
        }
    }

    pub fn client_streams(&mut self, c: &mut Conn, data: &[u8], mss: usize) {
        for chunk in data.chunks(mss) {
            self.client_sends(c, chunk);
        }
    }

    /// Orderly close, the server's FIN first (as after a download).
    pub fn close_by_server(&mut self, c: &mut Conn) {
        self.segment(c.server, c.client, c.sseq, c.cseq, FIN | ACK, b"");
        self.segment(c.client, c.server, c.cseq, c.sseq + 1, FIN | ACK, b"");
        self.segment(c.server, c.client, c.sseq + 1, c.cseq + 1, ACK, b"");
    }

    pub fn close_by_client(&mut self, c: &mut Conn) {
        self.segment(c.client, c.server, c.cseq, c.sseq, FIN | ACK, b"");
        self.segment(c.server, c.client, c.sseq, c.cseq + 1, FIN | ACK, b"");
        self.segment(c.client, c.server, c.cseq + 1, c.sseq + 1, ACK, b"");
    }

    pub fn write(&self, path: &Path) {
        self.write_snapped(path, 65535);
    }

    /// Writes the capture as tcpdump -s SNAPLEN would: frames cut, their wire length kept.
    pub fn write_snapped(&self, path: &Path, snaplen: usize) {
        let f = std::fs::File::create(path).unwrap();
        let mut w = PcapWriter::new(std::io::BufWriter::new(f), 1, snaplen as u32).unwrap();
        for (ts, data) in &self.packets {
            w.write_packet(*ts, &data[..data.len().min(snaplen)], data.len() as u32)
                .unwrap();
        }
        w.flush().unwrap();
    }
}

/// Deterministic pseudo-random bytes (xorshift), for file contents.
pub fn bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(data);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ftpflow"))
}

/// Runs ftpflow with arguments; returns (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin()).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `ftpflow sessions --json` and parses each line.
pub fn json_records(args: &[&str]) -> Vec<serde_json::Value> {
    let mut full = vec!["sessions", "--json"];
    full.extend_from_slice(args);
    let (code, out, err) = run(&full);
    assert_eq!(code, 0, "ftpflow failed: {err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect()
}

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// An FTP session being crafted: its capture and its control connection.
pub struct Ftp {
    pub net: Net,
    pub ctl: Conn,
}

impl Ftp {
    pub fn greet(client: &str, server: &str) -> Ftp {
        let mut net = Net::default();
        let mut ctl = net.connect(sa(client), sa(server));
        net.server_sends(&mut ctl, b"220 (vsFTPd 3.0.3)\r\n");
        Ftp { net, ctl }
    }
    pub fn login_as(client: &str, server: &str, user: &str) -> Ftp {
        let mut f = Ftp::greet(client, server);
        f.cmd(&format!("USER {user}"));
        f.reply("331 Please specify the password.");
        f.cmd("PASS secret");
        f.reply("230 Login successful.");
        f
    }
    pub fn login(client: &str, server: &str) -> Ftp {
        Ftp::login_as(client, server, "alice")
    }
    pub fn cmd(&mut self, line: &str) {
        self.net
            .client_sends(&mut self.ctl, format!("{line}\r\n").as_bytes());
    }
    pub fn reply(&mut self, line: &str) {
        self.net
            .server_sends(&mut self.ctl, format!("{line}\r\n").as_bytes());
    }
    pub fn quit(mut self) -> Net {
        self.cmd("QUIT");
        self.reply("221 Goodbye.");
        self.net.close_by_server(&mut self.ctl);
        self.net
    }
    /// PASV to 10.0.0.1:30000 + RETR of `data` (the 150 announces `announce` bytes).
    pub fn pasv_retr(&mut self, name: &str, data: &[u8], announce: usize) {
        self.cmd("PASV");
        self.reply("227 Entering Passive Mode (10,0,0,1,117,48).");
        let mut d = self.net.connect(sa("10.0.0.2:40001"), sa("10.0.0.1:30000"));
        self.cmd(&format!("RETR {name}"));
        self.reply(&format!(
            "150 Opening BINARY mode data connection for {name} ({announce} bytes)."
        ));
        self.net.server_streams(&mut d, data, 1448);
        self.net.close_by_server(&mut d);
        self.reply("226 Transfer complete.");
    }
}

/// The shared corpus folder when FTPFLOW_SHARED points at it; otherwise prints why `what`
/// is skipped and returns None.
pub fn shared(what: &str) -> Option<PathBuf> {
    match std::env::var_os("FTPFLOW_SHARED") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            eprintln!("skipped ({what}): FTPFLOW_SHARED is not set; point it at the shared folder");
            None
        }
    }
}

/// The ground-truth files of the shared realcap captures, sorted.
pub fn realcap_truths(shared: &Path) -> Vec<PathBuf> {
    let mut truths: Vec<PathBuf> = std::fs::read_dir(shared.join("realcap"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    truths.sort();
    assert!(
        !truths.is_empty(),
        "no realcap/*.json in {}",
        shared.display()
    );
    truths
}
