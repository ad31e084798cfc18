//! Hostile and broken input: every front end on captures built to hurt (garbage on the
//! control channel, escape sequences in names, endless replies, floods of commands) must
//! answer with a clear error or a report, never a panic, a hang or raw control characters
//! on a terminal. Each test builds its capture; the regressions found by fuzzing are here.

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

struct Ftp {
    net: Net,
    ctl: Conn,
}

impl Ftp {
    fn login(user: &[u8]) -> Ftp {
        let mut net = Net::default();
        let mut ctl = net.connect(sa("10.0.0.2:40000"), sa("10.0.0.1:21"));
        net.server_sends(&mut ctl, b"220 (vsFTPd 3.0.3)\r\n");
        net.client_sends(&mut ctl, &[b"USER ", user, b"\r\n"].concat());
        net.server_sends(&mut ctl, b"331 Please specify the password.\r\n");
        net.client_sends(&mut ctl, b"PASS secret\r\n");
        net.server_sends(&mut ctl, b"230 Login successful.\r\n");
        Ftp { net, ctl }
    }
    fn cmd(&mut self, line: &[u8]) {
        self.net
            .client_sends(&mut self.ctl, &[line, b"\r\n"].concat());
    }
    fn reply(&mut self, line: &[u8]) {
        self.net
            .server_sends(&mut self.ctl, &[line, b"\r\n"].concat());
    }
    fn quit(mut self) -> Net {
        self.cmd(b"QUIT");
        self.reply(b"221 Goodbye.");
        self.net.close_by_server(&mut self.ctl);
        self.net
    }
}

/// A character a terminal would act on: C0 controls but newline, DEL, C1 controls.
fn raw_control(c: char) -> bool {
    (c < ' ' && c != '\n') || ('\u{7f}'..='\u{9f}').contains(&c)
}

fn assert_clean(what: &str, out: &str) {
    if let Some((i, c)) = out.char_indices().find(|&(_, c)| raw_control(c)) {
        let before: String = out[..i].chars().rev().take(40).collect();
        let before: String = before.chars().rev().collect();
        panic!(
            "{what}: raw U+{:04X} in the output after {before:?}",
            c as u32
        );
    }
}

fn assert_xml(what: &str, doc: &str) {
    let mut reader = quick_xml::Reader::from_str(doc);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("{what}: not well-formed XML: {e}"),
        }
    }
}

/// Runs every front end on `path` and checks what each promises: exit 0 (or 1 for `check`
/// finding violations), no panic, one stderr line per message, parseable JSON and XML, and
/// text free of raw control characters. Returns the JSON Lines records.
fn every_front_end(path: &Path) -> Vec<Value> {
    let p = path.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("x");
    let o = out_dir.to_str().unwrap();
    let runs: &[(&str, &[&str])] = &[
        ("sessions --json", &["sessions", "--json", p]),
        ("sessions", &["sessions", p]),
        ("ladder", &["ladder", p]),
        (
            "ladder --detail packets",
            &["ladder", "--detail", "packets", p],
        ),
        (
            "ladder svg",
            &["ladder", "--format", "svg", "--session", "1", p],
        ),
        (
            "ladder mermaid",
            &["ladder", "--format", "mermaid", "--session", "1", p],
        ),
        ("ladder plantuml", &["ladder", "--format", "plantuml", p]),
        ("check junit", &["check", "--format", "junit", p]),
        (
            "extract",
            &["extract", "-o", o, "--listings", "--unmatched", p],
        ),
    ];
    let mut records = Vec::new();
    for (what, args) in runs {
        let (code, out, err) = run(args);
        assert!(!err.contains("panicked"), "{what}: {err}");
        let ok = if what.starts_with("check") {
            code == 0 || code == 1
        } else {
            code == 0
        };
        assert!(ok, "{what}: exit {code}: {err}");
        assert!(
            err.lines().all(|l| l.starts_with("ftpflow: ")),
            "{what}: {err}"
        );
        assert_clean(&format!("{what} (stderr)"), &err);
        match *what {
            "sessions --json" => {
                records = out
                    .lines()
                    .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
                    .collect();
            }
            "ladder svg" | "check junit" => {
                assert_xml(what, &out);
                assert_clean(what, &out.replace('\t', " "));
            }
            "extract" => {
                let manifest = std::fs::read_to_string(out_dir.join("manifest.jsonl")).unwrap();
                for l in manifest.lines() {
                    serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{l}: {e}"));
                }
                assert!(!out_dir.join(".partial").exists());
            }
            _ => assert_clean(what, &out),
        }
    }
    records
}

fn write(net: &Net, dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    net.write(&path);
    path
}

fn sessions(records: &[Value]) -> Vec<&Value> {
    records.iter().filter(|r| r["type"] == "session").collect()
}

fn anomaly_count(s: &Value, kind: &str) -> usize {
    s["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == kind)
        .count()
}

/// A reply whose text puts a multi-byte character across byte 5 once made `extract` panic
/// while looking for an STOU reply's `FILE: name`.
#[test]
fn stou_reply_with_multibyte_text_is_extracted_under_a_fallback_name() {
    let mut f = Ftp::login(b"alice");
    f.cmd(b"PASV");
    f.reply(b"227 Entering Passive Mode (10,0,0,1,117,48).");
    f.cmd(b"STOU");
    f.reply("150 ééé: ready".as_bytes());
    let mut d = f.net.connect(sa("10.0.0.2:41000"), sa("10.0.0.1:30000"));
    f.net.client_sends(&mut d, b"uploaded");
    f.net.close_by_client(&mut d);
    f.reply("226 fin é".as_bytes());
    let net = f.quit();
    let dir = tempfile::tempdir().unwrap();
    let path = write(&net, dir.path(), "stou.pcap");
    every_front_end(&path);
    let out = dir.path().join("out");
    let (code, _, err) = run(&[
        "extract",
        "-o",
        out.to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let files: Vec<_> = std::fs::read_dir(out.join("session-1/files"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].starts_with("STOU-"), "{files:?}");
    let file = out.join("session-1/files").join(&files[0]);
    assert_eq!(std::fs::read(&file).unwrap(), b"uploaded", "{err}");
}

/// 60,000 transfer commands that never get a reply: the diagnosis once scanned every
/// earlier command for each transfer (quadratic: over a minute here); it is one pass now.
#[test]
fn many_unanswered_transfer_commands_are_analysed_in_linear_time() {
    let mut f = Ftp::login(b"alice");
    let mut blob = Vec::new();
    for i in 0..60_000 {
        blob.extend_from_slice(format!("RETR f{i}\r\n").as_bytes());
    }
    f.net.client_streams(&mut f.ctl, &blob, 1460);
    let net = f.quit();
    let dir = tempfile::tempdir().unwrap();
    let path = write(&net, dir.path(), "flood.pcap");
    let t0 = Instant::now();
    let records = json_records(&[path.to_str().unwrap()]);
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(30), "took {took:?}");
    let s = sessions(&records);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0]["transfers"].as_array().unwrap().len(), 60_000);
    let kinds: Vec<&str> = s[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 100, "findings are capped");
    assert_eq!(kinds.last(), Some(&"findings-truncated"));
}

/// Garbage, NULs, escape sequences, C1 controls, bidi overrides and invalid UTF-8 in the
/// user name, file names, commands and replies: every text output shows them escaped.
#[test]
fn hostile_bytes_on_the_control_channel_never_reach_a_terminal_raw() {
    let evil: &[&[u8]] = &[
        b"\x1b[2J\x1b]0;pwned\x07",
        "\u{202e}exe.txt".as_bytes(),
        b"\x9b31m",
        "\u{85}\u{9b}2J".as_bytes(),
        b"a\x7fb",
        b"\r\rX",
        b"\tT\x00\x01\x08\x0b\x0c",
        "\u{2066}iso\u{2069}".as_bytes(),
        b"\xc2",
        b"\xff\xfe",
    ];
    let mut f = Ftp::login("bob\x1b[31m\u{202e}\u{9b}".as_bytes());
    for (i, e) in evil.iter().enumerate() {
        f.cmd(b"PASV");
        f.reply(format!("227 Entering Passive Mode (10,0,0,1,117,{}).", 48 + i).as_bytes());
        f.cmd(&[b"RETR dir".as_slice(), e, b"/f", e, b".txt"].concat());
        f.reply(&[b"150 ok ".as_slice(), e, b" (3 bytes)"].concat());
        let mut d = f.net.connect(
            sa(&format!("10.0.0.2:{}", 41000 + i)),
            sa(&format!("10.0.0.1:{}", 30000 + i)),
        );
        f.net.server_sends(&mut d, b"abc");
        f.net.close_by_server(&mut d);
        f.reply(&[b"226 done ".as_slice(), e].concat());
        f.cmd(&[b"CWD ".as_slice(), e].concat());
        f.reply(&[b"250-".as_slice(), e, b"\r\n", e, b"\r\n250 ", e].concat());
        f.cmd(&[*e, b" ", e].concat());
        f.reply(&[b"500 ".as_slice(), e].concat());
    }
    // Pure garbage lines both ways.
    let noise = bytes(99, 20_000);
    for chunk in noise.chunks(97) {
        f.cmd(chunk);
        f.reply(chunk);
    }
    let net = f.quit();
    let dir = tempfile::tempdir().unwrap();
    let path = write(&net, dir.path(), "hostile.pcap");
    let records = every_front_end(&path);
    let s = sessions(&records);
    assert_eq!(s.len(), 1);
    // JSON keeps the exact bytes (escaped by JSON itself).
    assert!(
        s[0]["transfers"][0]["arg"]
            .as_str()
            .unwrap()
            .contains("\x1b[2J")
    );
    assert_eq!(
        s[0]["transfers"].as_array().unwrap().len(),
        evil.len(),
        "every RETR is a transfer"
    );
}

/// A 4 MB line without a newline and a multi-line reply that never ends: memory stays
/// bounded (the line is cut and reported, the reply keeps its first lines).
#[test]
fn endless_lines_and_replies_are_cut_and_reported() {
    let mut f = Ftp::login(b"alice");
    f.cmd(b"HELP");
    f.reply(b"214-The following commands are recognized.");
    let mut lines = Vec::new();
    for i in 0..50_000 {
        lines.extend_from_slice(format!(" line {i} of a reply that never ends\r\n").as_bytes());
    }
    f.net.server_streams(&mut f.ctl, &lines, 1460);
    f.net.client_streams(&mut f.ctl, &vec![b'A'; 4 << 20], 1460);
    f.net.close_by_server(&mut f.ctl);
    let dir = tempfile::tempdir().unwrap();
    let path = write(&f.net, dir.path(), "endless.pcap");
    let records = every_front_end(&path);
    let s = sessions(&records);
    assert_eq!(s.len(), 1);
    assert!(
        anomaly_count(s[0], "overlong-line") >= 1,
        "{}",
        s[0]["anomalies"]
    );
    let help = &s[0]["commands"][2];
    assert_eq!(help["command"], "HELP");
    // The unfinished reply is not invented as a reply.
    assert!(help["replies"].as_array().unwrap().len() <= 1);
}

/// Sequence numbers jumping by 2^31 on a data connection, overlapping retransmissions with
/// different bytes, a SYN flood on the control 4-tuple and the same ports reused after RST.
#[test]
fn tcp_abuse_is_reported_not_fatal() {
    let mut f = Ftp::login(b"alice");
    f.cmd(b"PASV");
    f.reply(b"227 Entering Passive Mode (10,0,0,1,117,48).");
    f.cmd(b"RETR jumpy");
    f.reply(b"150 ok");
    let mut d = f.net.connect(sa("10.0.0.2:41000"), sa("10.0.0.1:30000"));
    for _ in 0..100 {
        f.net.server_sends(&mut d, &[b'y'; 1000]);
        d.sseq = d.sseq.wrapping_add(1 << 31);
    }
    f.net.close_by_server(&mut d);
    f.reply(b"226 ok");
    f.cmd(b"PASV");
    f.reply(b"227 Entering Passive Mode (10,0,0,1,117,49).");
    f.cmd(b"RETR overlaps");
    f.reply(b"150 ok");
    let mut d = f.net.connect(sa("10.0.0.2:41001"), sa("10.0.0.1:30001"));
    let base = d.sseq;
    let noise = bytes(5, 4000);
    for i in 0..2000usize {
        let off = (noise[i] as u32) * 300 + (noise[i + 1] as u32);
        let len = 1 + (noise[i + 2] as usize) * 5;
        f.net.segment(
            d.server,
            d.client,
            base + off,
            d.cseq,
            PSH | ACK,
            &vec![noise[i + 3]; len],
        );
    }
    d.sseq = base + 256 * 300 + 256 + 1300;
    f.net.close_by_server(&mut d);
    f.reply(b"226 ok");
    let mut net = f.quit();
    // A SYN flood on the control 4-tuple, then the ports reused for sessions ended by RST.
    for i in 0..5000u32 {
        net.segment(
            sa("10.0.0.2:40000"),
            sa("10.0.0.1:21"),
            i.wrapping_mul(7919),
            0,
            SYN,
            b"",
        );
    }
    for i in 0..200u32 {
        let mut c = net.connect(sa("10.0.0.2:40000"), sa("10.0.0.1:21"));
        net.server_sends(&mut c, b"220 hi\r\n");
        net.client_sends(&mut c, format!("USER u{i}\r\n").as_bytes());
        net.segment(c.client, c.server, c.cseq, c.sseq, RST, b"");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(&net, dir.path(), "tcp.pcap");
    let records = every_front_end(&path);
    let s = sessions(&records);
    // (Each flooding SYN, with its own ISN, is a connection attempt of its own.)
    let logged: Vec<_> = s
        .iter()
        .filter(|s| s["commands"].as_array().is_some_and(|c| !c.is_empty()))
        .collect();
    assert_eq!(
        logged.len(),
        201,
        "the first session and every reuse after RST"
    );
    assert!(
        logged[1..]
            .iter()
            .all(|s| s["commands"][0]["command"] == "USER")
    );
    let first = s.iter().find(|s| s["user"] == "alice").unwrap();
    let t = first["transfers"].as_array().unwrap();
    assert_eq!(t.len(), 2);
    // Jumps of 2^31 are holes or rewinds: the transfer may not claim to be complete.
    assert_eq!(t[0]["complete"], false, "{}", t[0]);
}

/// 40,000 data connections open at once that no command claims, then closed, then a
/// transfer: closing each once scanned the list of the others (quadratic); the transfer
/// must still get its own connection, not a closed one.
#[test]
fn thousands_of_unclaimed_data_connections_close_in_linear_time() {
    let mut f = Ftp::login(b"alice");
    let mut open = Vec::new();
    for i in 0..40_000u32 {
        let port = 1024 + i % 60_000;
        f.cmd(b"PASV");
        f.reply(
            format!(
                "227 Entering Passive Mode (10,0,0,1,{},{}).",
                port >> 8,
                port & 255
            )
            .as_bytes(),
        );
        let client = sa(&format!("10.0.{}.2:{}", i / 60_000 + 1, 1024 + i % 60_000));
        open.push(f.net.connect(client, sa(&format!("10.0.0.1:{port}"))));
    }
    for mut d in open {
        f.net.close_by_server(&mut d);
    }
    f.cmd(b"PASV");
    f.reply(b"227 Entering Passive Mode (10,0,0,1,250,0).");
    let mut d = f.net.connect(sa("10.0.9.2:50000"), sa("10.0.0.1:64000"));
    f.cmd(b"RETR last.bin");
    f.reply(b"150 ok");
    let body = bytes(21, 3000);
    f.net.server_streams(&mut d, &body, 1000);
    f.net.close_by_server(&mut d);
    f.reply(b"226 ok");
    let net = f.quit();
    let dir = tempfile::tempdir().unwrap();
    let path = write(&net, dir.path(), "unclaimed.pcap");
    let t0 = Instant::now();
    let records = json_records(&[path.to_str().unwrap()]);
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(15), "took {took:?}");
    let s = sessions(&records);
    let t = &s[0]["transfers"][0];
    assert_eq!(t["bytes"], 3000, "{t}");
    assert_eq!(t["sha256"], sha256_hex(&body));
    assert_eq!(t["data"]["client"]["port"], 50000);
    let unmatched = records
        .iter()
        .filter(|r| r["type"] == "unmatched_data")
        .count();
    assert_eq!(unmatched, 40_000);
}
