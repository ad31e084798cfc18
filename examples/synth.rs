//! Synthetic FTP capture generator for benchmarks.
//!
//! `cargo run --release --example synth -- OUT.pcap SIZE_MB [--sessions N] [--seed S] [--manifest FILE]`
//!
//! Writes a classic pcap (Ethernet/IPv4/TCP) of about SIZE_MB MiB holding many FTP sessions,
//! N of them open at a time (default 50), their packets interleaved in time. Each session:
//! handshake on port 21, 220 banner, USER/PASS, TYPE I, then 1–3 transfers (RETR or STOR,
//! passive PASV or active PORT from port 20) of 1 KB–min(50 MB, SIZE/20) of pseudo-random bytes sent in
//! 1448-byte segments with the receiver ACKing every second segment, FIN teardown, 226, and
//! finally QUIT/221 and the control connection's teardown. Streams to disk; prints totals and
//! the expected SHA-256 of a few transfers to stderr; `--manifest` writes every transfer's
//! expected bytes and SHA-256 as JSON Lines.

use etherparse::PacketBuilder;
use ftpflow::capture::PcapWriter;
use ftpflow::time::Timestamp;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};

const MSS: usize = 1448;
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;
const PSH: u8 = 0x08;
/// Capture bytes per 1448 bytes of file data: a 1502-byte frame + 16-byte record header,
/// plus half a bare ACK (54 + 16).
const OVERHEAD: f64 = (1518.0 + 35.0) / 1448.0;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone, Copy)]
struct Ep {
    ip: [u8; 4],
    port: u16,
}
impl std::fmt::Display for Ep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c, d] = self.ip;
        write!(f, "{a}.{b}.{c}.{d}:{}", self.port)
    }
}

/// One TCP connection; `a` opened it.
struct Conn {
    a: Ep,
    b: Ep,
    aseq: u32,
    bseq: u32,
}

struct Out {
    w: PcapWriter<BufWriter<File>>,
    now: i64,
    buf: Vec<u8>,
    rng: Rng,
    packets: u64,
    bytes: u64,
}

impl Out {
    fn seg(&mut self, src: Ep, dst: Ep, seq: u32, ack: Option<u32>, flags: u8, payload: &[u8]) {
        let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src.ip, dst.ip, 64)
            .tcp(src.port, dst.port, seq, 64240);
        if flags & SYN != 0 {
            b = b.syn();
        }
        if let Some(a) = ack {
            b = b.ack(a);
        }
        if flags & FIN != 0 {
            b = b.fin();
        }
        if flags & PSH != 0 {
            b = b.psh();
        }
        self.buf.clear();
        b.write(&mut self.buf, payload).unwrap();
        self.w
            .write_packet(Timestamp(self.now), &self.buf, self.buf.len() as u32)
            .unwrap();
        self.packets += 1;
        self.bytes += 16 + self.buf.len() as u64;
        self.now += 2_000 + self.rng.below(30_000) as i64; // 2–32 µs between packets
    }

    /// Sends from one end of `c` (`from_a`), advancing its sequence number.
    fn send(&mut self, c: &mut Conn, from_a: bool, flags: u8, payload: &[u8]) {
        let (src, dst, seq, ack) = if from_a {
            (c.a, c.b, c.aseq, c.bseq)
        } else {
            (c.b, c.a, c.bseq, c.aseq)
        };
        self.seg(src, dst, seq, Some(ack), flags, payload);
        let adv = payload.len() as u32 + u32::from(flags & (SYN | FIN) != 0);
        if from_a {
            c.aseq = c.aseq.wrapping_add(adv)
        } else {
            c.bseq = c.bseq.wrapping_add(adv)
        }
    }

    fn connect(&mut self, a: Ep, b: Ep) -> Conn {
        let (aisn, bisn) = (self.rng.next() as u32, self.rng.next() as u32);
        self.seg(a, b, aisn, None, SYN, b"");
        self.seg(b, a, bisn, Some(aisn.wrapping_add(1)), SYN | ACK, b"");
        let mut c = Conn {
            a,
            b,
            aseq: aisn.wrapping_add(1),
            bseq: bisn.wrapping_add(1),
        };
        self.send(&mut c, true, ACK, b"");
        c
    }

    /// FIN from one side, FIN back, last ACK.
    fn close(&mut self, c: &mut Conn, first_a: bool) {
        self.send(c, first_a, FIN | ACK, b"");
        self.send(c, !first_a, FIN | ACK, b"");
        self.send(c, first_a, ACK, b"");
    }
}

struct Stream {
    from_a: bool,
    left: u64,
    prng: Rng,
    hash: Sha256,
    unacked: u32,
    record: usize,
}

enum Act {
    CtlConnect,
    Say { client: bool, text: String },
    DataConnect { a: Ep, b: Ep },
    Stream(Box<Stream>),
    CloseData { first_a: bool },
    CloseCtl,
}

struct Session {
    client: Ep,
    server: Ep,
    ctl: Option<Conn>,
    data: Option<Conn>,
    acts: VecDeque<Act>,
}

struct Record {
    client: Ep,
    server: Ep,
    command: &'static str,
    arg: String,
    bytes: u64,
    sha256: String,
}

impl Session {
    /// Runs the next step (a few packets at most); false when the session is over.
    fn step(&mut self, out: &mut Out, records: &mut [Record]) -> bool {
        let Some(act) = self.acts.front_mut() else {
            return false;
        };
        let mut done = true;
        match act {
            Act::CtlConnect => self.ctl = Some(out.connect(self.client, self.server)),
            Act::Say { client, text } => out.send(
                self.ctl.as_mut().unwrap(),
                *client,
                PSH | ACK,
                text.as_bytes(),
            ),
            Act::DataConnect { a, b } => self.data = Some(out.connect(*a, *b)),
            Act::CloseData { first_a } => {
                let mut c = self.data.take().unwrap();
                out.close(&mut c, *first_a);
            }
            Act::CloseCtl => out.close(self.ctl.as_mut().unwrap(), true),
            Act::Stream(s) => {
                let c = self.data.as_mut().unwrap();
                let mut chunk = [0u8; MSS];
                for _ in 0..2 {
                    if s.left == 0 {
                        break;
                    }
                    let n = (s.left as usize).min(MSS);
                    for w in chunk.chunks_mut(8) {
                        let v = s.prng.next().to_le_bytes();
                        w.copy_from_slice(&v[..w.len()]);
                    }
                    s.hash.update(&chunk[..n]);
                    out.send(
                        c,
                        s.from_a,
                        ACK | if n < MSS || s.left as usize == n {
                            PSH
                        } else {
                            0
                        },
                        &chunk[..n],
                    );
                    s.left -= n as u64;
                    s.unacked += 1;
                }
                if s.unacked >= 2 || (s.left == 0 && s.unacked > 0) {
                    out.send(c, !s.from_a, ACK, b"");
                    s.unacked = 0;
                }
                if s.left == 0 {
                    let h = std::mem::take(&mut s.hash).finalize();
                    records[s.record].sha256 = h.iter().map(|b| format!("{b:02x}")).collect();
                } else {
                    done = false;
                }
            }
        }
        if done {
            self.acts.pop_front();
        }
        !self.acts.is_empty()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: synth OUT.pcap SIZE_MB [--sessions N] [--seed S] [--manifest FILE]";
    let mut pos = Vec::new();
    let (mut concurrent, mut seed, mut manifest) = (50usize, 1u64, None::<String>);
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--sessions" => concurrent = it.next().and_then(|v| v.parse().ok()).expect(usage),
            "--seed" => seed = it.next().and_then(|v| v.parse().ok()).expect(usage),
            "--manifest" => manifest = Some(it.next().expect(usage)),
            _ => pos.push(a),
        }
    }
    if pos.len() != 2 || concurrent == 0 {
        eprintln!("{usage}");
        std::process::exit(2);
    }
    let target = (pos[1].parse::<f64>().expect(usage) * 1048576.0) as u64;
    let file = File::create(&pos[0]).expect("cannot create output");
    let mut out = Out {
        w: PcapWriter::new(BufWriter::with_capacity(1 << 20, file), 1, 65535).unwrap(),
        now: 1_795_550_470_000_000_000,
        buf: Vec::with_capacity(2048),
        rng: Rng(seed),
        packets: 0,
        bytes: 24,
    };
    let mut plan = Rng(seed ^ 0x5eed);
    let mut records: Vec<Record> = Vec::new();
    let mut active: Vec<Session> = Vec::new();
    let (mut committed, mut sessions, mut file_bytes) = (24.0f64, 0u64, 0u64);
    let (mut passive, mut activ) = (0u64, 0u64);
    let servers = [
        [192, 168, 0, 10],
        [192, 168, 0, 11],
        [192, 168, 0, 12],
        [192, 168, 0, 13],
    ];

    loop {
        while active.len() < concurrent && committed < target as f64 {
            let i = sessions as u32;
            sessions += 1;
            let client = Ep {
                ip: [10, 1 + (i >> 16) as u8, (i >> 8) as u8, i as u8],
                port: 40000 + plan.below(20000) as u16,
            };
            let server = Ep {
                ip: servers[plan.below(4) as usize],
                port: 21,
            };
            let mut acts = VecDeque::new();
            let mut say = |client: bool, t: String| {
                acts.push_back(Act::Say {
                    client,
                    text: t + "\r\n",
                })
            };
            say(false, "220 (vsFTPd 3.0.3)".into());
            say(true, format!("USER user{i}"));
            say(false, "331 Please specify the password.".into());
            say(true, "PASS secret".into());
            say(false, "230 Login successful.".into());
            say(true, "TYPE I".into());
            say(false, "200 Switching to Binary mode.".into());
            committed += 1500.0;
            let mut acts = acts;
            acts.push_front(Act::CtlConnect);
            let ntrans = 1 + plan.below(3);
            for k in 0..ntrans {
                if committed >= target as f64 {
                    break;
                }
                // log-uniform 1 KB .. 50 MB, capped at what is left of the budget
                let lo = 1024f64.ln();
                // at most 50 MB, and at most 1/20 of the capture so that small ones still hold many sessions
                let hi = (50.0 * 1048576.0f64)
                    .min(target as f64 / 20.0)
                    .max(2048.0)
                    .ln();
                let mut size =
                    (lo + (hi - lo) * (plan.next() as f64 / u64::MAX as f64)).exp() as u64;
                let left = ((target as f64 - committed) / OVERHEAD).max(1024.0) as u64;
                size = size.min(left);
                committed += size as f64 * OVERHEAD + 1200.0;
                file_bytes += size;
                let upload = plan.below(3) == 0;
                let is_passive = plan.below(2) == 0;
                let (command, name) = if upload {
                    ("STOR", format!("up-{i}-{k}.bin"))
                } else {
                    ("RETR", format!("file-{i}-{k}.bin"))
                };
                let cport = client.port + 1 + k as u16;
                let say = |acts: &mut VecDeque<Act>, client: bool, t: String| {
                    acts.push_back(Act::Say {
                        client,
                        text: t + "\r\n",
                    })
                };
                let data_ep;
                if is_passive {
                    passive += 1;
                    let sp = 30000 + plan.below(20000) as u16;
                    let [a, b, c, d] = server.ip;
                    say(&mut acts, true, "PASV".into());
                    say(
                        &mut acts,
                        false,
                        format!(
                            "227 Entering Passive Mode ({a},{b},{c},{d},{},{}).",
                            sp >> 8,
                            sp & 255
                        ),
                    );
                    data_ep = (
                        Ep {
                            ip: client.ip,
                            port: cport,
                        },
                        Ep {
                            ip: server.ip,
                            port: sp,
                        },
                    );
                    acts.push_back(Act::DataConnect {
                        a: data_ep.0,
                        b: data_ep.1,
                    });
                    say(&mut acts, true, format!("{command} {name}"));
                } else {
                    activ += 1;
                    let [a, b, c, d] = client.ip;
                    say(
                        &mut acts,
                        true,
                        format!("PORT {a},{b},{c},{d},{},{}", cport >> 8, cport & 255),
                    );
                    say(
                        &mut acts,
                        false,
                        "200 PORT command successful. Consider using PASV.".into(),
                    );
                    say(&mut acts, true, format!("{command} {name}"));
                    data_ep = (
                        Ep {
                            ip: server.ip,
                            port: 20,
                        },
                        Ep {
                            ip: client.ip,
                            port: cport,
                        },
                    );
                }
                if upload {
                    say(&mut acts, false, "150 Ok to send data.".into());
                } else {
                    say(
                        &mut acts,
                        false,
                        format!(
                            "150 Opening BINARY mode data connection for {name} ({size} bytes)."
                        ),
                    );
                }
                if !is_passive {
                    acts.push_back(Act::DataConnect {
                        a: data_ep.0,
                        b: data_ep.1,
                    });
                }
                // The sender is the server for RETR, the client for STOR; `a` opened the connection.
                let from_a = is_passive == upload;
                records.push(Record {
                    client,
                    server,
                    command,
                    arg: name,
                    bytes: size,
                    sha256: String::new(),
                });
                acts.push_back(Act::Stream(Box::new(Stream {
                    from_a,
                    left: size,
                    prng: Rng(plan.next()),
                    hash: Sha256::new(),
                    unacked: 0,
                    record: records.len() - 1,
                })));
                acts.push_back(Act::CloseData { first_a: from_a });
                say(&mut acts, false, "226 Transfer complete.".into());
            }
            acts.push_back(Act::Say {
                client: true,
                text: "QUIT\r\n".into(),
            });
            acts.push_back(Act::Say {
                client: false,
                text: "221 Goodbye.\r\n".into(),
            });
            acts.push_back(Act::CloseCtl);
            active.push(Session {
                client,
                server,
                ctl: None,
                data: None,
                acts,
            });
        }
        if active.is_empty() {
            break;
        }
        let i = out.rng.below(active.len() as u64) as usize;
        if !active[i].step(&mut out, &mut records) {
            active.swap_remove(i);
        }
    }
    out.w.flush().unwrap();

    eprintln!(
        "wrote {}: {} bytes ({:.1} MiB), {} packets, {} sessions, {} transfers ({} passive, {} active, {} RETR, {} STOR), {} bytes of file data",
        pos[0],
        out.bytes,
        out.bytes as f64 / 1048576.0,
        out.packets,
        sessions,
        records.len(),
        passive,
        activ,
        records.iter().filter(|r| r.command == "RETR").count(),
        records.iter().filter(|r| r.command == "STOR").count(),
        file_bytes
    );
    let n = records.len();
    for r in records
        .iter()
        .take(3)
        .chain(records.iter().skip(n.saturating_sub(2).max(3)))
    {
        eprintln!(
            "expect {} {} {} -> {}: {} bytes sha256 {}",
            r.command, r.arg, r.client, r.server, r.bytes, r.sha256
        );
    }
    if let Some(m) = manifest {
        let mut w = BufWriter::new(File::create(m).expect("cannot create manifest"));
        for r in &records {
            writeln!(
                w,
                r#"{{"client":"{}","server":"{}","command":"{}","arg":"{}","bytes":{},"sha256":"{}"}}"#,
                r.client, r.server, r.command, r.arg, r.bytes, r.sha256
            )
            .unwrap();
        }
    }
}
