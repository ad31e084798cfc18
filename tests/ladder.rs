//! `ftpflow ladder`: text snapshots of the recorded fixtures and of a crafted EventHelix-like
//! session (DNS, login, PORT+LIST, CWD, PORT+RETR), packet detail, Mermaid/PlantUML syntax,
//! SVG well-formedness and rendering, and hostile wire strings in every format.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs ftpflow in `dir` (so capture names in titles are stable); returns (code, stdout, stderr).
fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin())
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ladder_text(capture: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "ladder", capture, "--time", "relative", "--width", "120", "--color", "never",
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = run_in(&manifest(), &args);
    assert_eq!(code, 0, "ftpflow failed: {err}");
    out
}

#[test]
fn snapshot_active() {
    insta::assert_snapshot!("active", ladder_text("fixtures/active.pcap", &[]));
}

#[test]
fn snapshot_passive() {
    insta::assert_snapshot!("passive", ladder_text("fixtures/passive.pcap", &[]));
}

#[test]
fn snapshot_ipv6_epsv_eprt() {
    insta::assert_snapshot!("ipv6", ladder_text("fixtures/ipv6.pcapng", &[]));
}

#[test]
fn snapshot_many_transfers_share_lanes() {
    let out = ladder_text("fixtures/many.pcap", &[]);
    // 30 transfers, none overlapping: one data lane per side, arrows name their ports.
    let ports_line = out.lines().nth(4).unwrap();
    assert_eq!(ports_line.matches("data1").count(), 2, "{ports_line}");
    assert!(out.contains("Download f30.txt (PASV + RETR)"));
    insta::assert_snapshot!("many", out);
}

#[test]
fn snapshot_errors_mark_anomalies() {
    let out = ladder_text("fixtures/errors.pcap", &["--ascii"]);
    assert!(out.is_ascii(), "--ascii output has non-ASCII characters");
    assert!(out.contains("! data-connection-failed"));
    assert!(out.contains("! transfer-aborted"));
    insta::assert_snapshot!("errors_ascii", out);
}

/// A DNS datagram (UDP) appended to the capture.
fn udp(net: &mut Net, src: &str, dst: &str, payload: &[u8]) {
    let (s, d) = (sa(src), sa(dst));
    let (std::net::IpAddr::V4(si), std::net::IpAddr::V4(di)) = (s.ip(), d.ip()) else {
        panic!("IPv4 only")
    };
    let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(si.octets(), di.octets(), 64)
        .udp(s.port(), d.port());
    let mut buf = Vec::new();
    b.write(&mut buf, payload).unwrap();
    net.packets.push((ftpflow::time::Timestamp(net.now), buf));
    net.advance_ms(1);
}

fn dns_message(name: &str, answer: Option<[u8; 4]>) -> Vec<u8> {
    let mut m = vec![0x50, 0x17];
    m.extend_from_slice(if answer.is_some() {
        &[0x81, 0x80]
    } else {
        &[0x01, 0x00]
    });
    m.extend_from_slice(&[0, 1, 0, u8::from(answer.is_some()), 0, 0, 0, 0]);
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    if let Some(ip) = answer {
        m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        m.extend_from_slice(&ip);
    }
    m
}

/// The classic scenario: DNS lookup, login, PORT + LIST from port 20, CWD, PORT + RETR.
/// `name` and `reply` let a test put hostile strings on the wire.
fn eventhelix(name: &str, list_reply: &str) -> Net {
    let mut net = Net::default();
    udp(
        &mut net,
        "10.1.0.2:1030",
        "10.1.0.53:53",
        &dns_message("ftp.example.test", None),
    );
    udp(
        &mut net,
        "10.1.0.53:53",
        "10.1.0.2:1030",
        &dns_message("ftp.example.test", Some([10, 1, 0, 1])),
    );
    let (client, server) = ("10.1.0.2:1175", "10.1.0.1:21");
    let mut ctl = net.connect(sa(client), sa(server));
    let say = |net: &mut Net, ctl: &mut Conn, from_client: bool, line: &str| {
        let bytes = format!("{line}\r\n");
        if from_client {
            net.client_sends(ctl, bytes.as_bytes());
        } else {
            net.server_sends(ctl, bytes.as_bytes());
        }
    };
    say(&mut net, &mut ctl, false, "220 FTP server ready.");
    say(&mut net, &mut ctl, true, "USER alice");
    say(
        &mut net,
        &mut ctl,
        false,
        "331 Password required for alice.",
    );
    say(&mut net, &mut ctl, true, "PASS secret");
    say(&mut net, &mut ctl, false, "230 User alice logged in.");
    say(&mut net, &mut ctl, true, "PORT 10,1,0,2,19,137");
    say(&mut net, &mut ctl, false, "200 PORT command successful.");
    say(&mut net, &mut ctl, true, "LIST");
    let mut d = net.connect(sa("10.1.0.1:20"), sa("10.1.0.2:5001"));
    say(&mut net, &mut ctl, false, list_reply);
    let listing = format!("-rw-r--r-- 1 ftp ftp 1402 Jan 1 00:00 {name}\r\n");
    net.client_sends(&mut d, listing.as_bytes()); // the server is the TCP initiator here
    net.segment(d.client, d.server, d.cseq, d.sseq, FIN | ACK, b"");
    net.segment(d.server, d.client, d.sseq, d.cseq + 1, FIN | ACK, b"");
    net.segment(d.client, d.server, d.cseq + 1, d.sseq + 1, ACK, b"");
    say(&mut net, &mut ctl, false, "226 Transfer complete.");
    say(&mut net, &mut ctl, true, "CWD pub");
    say(&mut net, &mut ctl, false, "250 CWD command successful.");
    say(&mut net, &mut ctl, true, "PORT 10,1,0,2,19,138");
    say(&mut net, &mut ctl, false, "200 PORT command successful.");
    say(&mut net, &mut ctl, true, &format!("RETR {name}"));
    let mut d = net.connect(sa("10.1.0.1:20"), sa("10.1.0.2:5002"));
    say(
        &mut net,
        &mut ctl,
        false,
        &format!("150 Opening BINARY mode data connection for {name} (1402 bytes)."),
    );
    let file = bytes(7, 1402);
    net.client_sends(&mut d, &file[..1000]);
    // The last data segment carries the FIN, as in the classic diagram.
    net.segment(
        d.client,
        d.server,
        d.cseq,
        d.sseq,
        FIN | PSH | ACK,
        &file[1000..],
    );
    d.cseq += 402;
    net.segment(d.server, d.client, d.sseq, d.cseq + 1, FIN | ACK, b"");
    net.segment(d.client, d.server, d.cseq + 1, d.sseq + 1, ACK, b"");
    say(&mut net, &mut ctl, false, "226 Transfer complete.");
    say(&mut net, &mut ctl, true, "QUIT");
    say(&mut net, &mut ctl, false, "221 Goodbye.");
    net.close_by_client(&mut ctl);
    net
}

fn crafted(net: &Net) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    net.write(&dir.path().join("eventhelix.pcap"));
    dir
}

fn crafted_ladder(dir: &Path, extra: &[&str]) -> String {
    let mut args = vec!["ladder", "eventhelix.pcap", "--width", "120"];
    if !extra.contains(&"--time") {
        args.extend(["--time", "relative"]);
    }
    args.extend_from_slice(extra);
    let (code, out, err) = run_in(dir, &args);
    assert_eq!(code, 0, "ftpflow failed: {err}");
    out
}

#[test]
fn snapshot_eventhelix_like_summary_and_packets() {
    let dir = crafted(&eventhelix(
        "readme.txt",
        "150 Opening ASCII mode data connection.",
    ));
    let summary = crafted_ladder(dir.path(), &[]);
    for heading in [
        "DNS lookup of ftp.example.test",
        "Connect and log in as alice (USER/PASS)",
        "List directory (PORT + LIST)",
        "Change directory to pub (CWD)",
        "Download readme.txt (PORT + RETR)",
        "Log out (QUIT)",
    ] {
        assert!(summary.contains(heading), "missing heading {heading}");
    }
    // Lifelines in the classic order: DNS 53; server 20, 21; client 1030, 1175, 5001, 5002.
    let ports: Vec<&str> = summary.lines().nth(4).unwrap().split_whitespace().collect();
    assert_eq!(ports, ["53", "20", "21", "1030", "1175", "5001", "5002"]);
    assert!(summary.contains("readme.txt 1,402 B in 2 segments, 1.0 ms, 11.2 Mbit/s"));
    insta::assert_snapshot!("eventhelix_summary", summary);

    let packets = crafted_ladder(dir.path(), &["--detail", "packets"]);
    assert!(packets.contains("PSH, ACK seq=1 ack=1 len=1000"));
    assert!(packets.contains("FIN, PSH, ACK seq=1001 ack=1 len=402"));
    assert!(packets.contains("readme.txt 1,402 B in 2 segments"));
    insta::assert_snapshot!("eventhelix_packets", packets);

    let delta = crafted_ladder(dir.path(), &["--time", "delta"]);
    assert!(delta.contains("+0.001000"));
    let absolute = crafted_ladder(dir.path(), &["--time", "absolute"]);
    assert!(absolute.contains("20:01:10.000000"), "{absolute}");
}

#[test]
fn colour_only_when_asked() {
    let dir = crafted(&eventhelix("readme.txt", "150 Here it comes."));
    let plain = crafted_ladder(dir.path(), &[]);
    assert!(!plain.contains('\x1b'), "colour without a terminal");
    let coloured = crafted_ladder(dir.path(), &["--color", "always"]);
    assert!(coloured.contains("\x1b[0;36m"));
    // Without the SGR sequences it is the same picture.
    let stripped = strip_sgr(&coloured);
    assert_eq!(stripped, plain);
}

fn strip_sgr(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn text_fits_the_width() {
    let dir = crafted(&eventhelix(
        "a-very-long-file-name-that-goes-on-and-on-and-on-and-on-and-on-and-on-and-on.txt",
        "150 Here it comes.",
    ));
    for w in ["80", "100", "160"] {
        let (code, out, err) = run_in(dir.path(), &["ladder", "eventhelix.pcap", "--width", w]);
        assert_eq!(code, 0, "{err}");
        let w: usize = w.parse().unwrap();
        for line in out.lines() {
            assert!(line.chars().count() <= w, "line wider than {w}: {line:?}");
        }
        assert!(out.contains('…'));
    }
}

const HOSTILE_NAME: &str = "evil\x1b[2J\x1b]0;pwned\x07\u{202e}txt.exe\"<b>&amp;;#%%**x**\\n'`{}$";

fn hostile() -> tempfile::TempDir {
    crafted(&eventhelix(
        HOSTILE_NAME,
        "150 <script>alert(1)</script>; # %% \x1b[31mred\u{9b}\u{2066}",
    ))
}

fn no_raw_controls(what: &str, out: &str) {
    assert!(!out.contains('\x1b'), "{what}: raw ESC");
    assert!(!out.contains('\x07'), "{what}: raw BEL");
    assert!(!out.contains('\u{9b}'), "{what}: raw CSI");
    assert!(!out.contains('\u{202e}'), "{what}: raw RTL override");
    assert!(!out.contains('\u{2066}'), "{what}: raw isolate");
    assert!(!out.contains('\r'), "{what}: raw CR");
}

#[test]
fn hostile_strings_never_reach_any_output_raw() {
    let dir = hostile();
    let text = crafted_ladder(dir.path(), &["--color", "never"]);
    no_raw_controls("text", &text);
    assert!(text.contains("\\x1b[2J"), "escape shown escaped");
    assert!(text.contains("\\u{202e}"));
    let mermaid = crafted_ladder(dir.path(), &["--format", "mermaid"]);
    no_raw_controls("mermaid", &mermaid);
    check_mermaid(&mermaid);
    let puml = crafted_ladder(dir.path(), &["--format", "plantuml"]);
    no_raw_controls("plantuml", &puml);
    check_plantuml(&puml);
    let svg = crafted_ladder(dir.path(), &["--format", "svg"]);
    no_raw_controls("svg", &svg);
    check_xml(&svg);
    assert!(!svg.contains("<script"), "markup from the wire in the SVG");
    assert!(!svg.contains("<b>"), "markup from the wire in the SVG");
}

/// Mermaid `sequenceDiagram` as ftpflow writes it: known statements only, participants
/// declared before use, boxes closed, and message text free of what Mermaid parses
/// (`;` separates statements, `#` starts an entity, `<`/`>`/`&`/`"` are HTML, `%%` comments).
fn check_mermaid(doc: &str) {
    let mut lines = doc.lines();
    assert_eq!(lines.next(), Some("sequenceDiagram"));
    let mut declared = std::collections::HashSet::new();
    let mut open_box = false;
    let id = |s: &str| -> Option<String> {
        let s = s.trim();
        (s.starts_with('L') && s.len() > 1 && s[1..].chars().all(|c| c.is_ascii_digit()))
            .then(|| s.to_string())
    };
    let clean = |text: &str, line: &str| {
        let mut t = text.to_string();
        // Entity codes are the escape mechanism: drop them, then nothing special may remain.
        while let Some(i) = t.find('#') {
            let rest = &t[i + 1..];
            let n = rest.chars().take_while(|c| c.is_ascii_digit()).count();
            assert!(
                n > 0 && rest[n..].starts_with(';'),
                "bad entity in {line:?}"
            );
            t.replace_range(i..i + 1 + n + 1, "");
        }
        for bad in [';', '<', '>', '&', '"', '`', '{', '}', '\\'] {
            assert!(!t.contains(bad), "unescaped {bad:?} in {line:?}");
        }
        assert!(!t.contains("%%"), "comment marker in {line:?}");
    };
    for line in lines {
        let l = line.trim();
        if let Some(t) = l.strip_prefix("title ") {
            clean(t, line);
        } else if let Some(t) = l.strip_prefix("box ") {
            assert!(!open_box, "nested box");
            open_box = true;
            assert!(t.starts_with("rgb("), "box without a colour: {line}");
            clean(t, line);
        } else if l == "end" {
            assert!(open_box, "end without box");
            open_box = false;
        } else if let Some(p) = l.strip_prefix("participant ") {
            let (name, label) = p.split_once(" as ").expect("participant NAME as LABEL");
            declared.insert(id(name).expect("participant id"));
            clean(label, line);
        } else if let Some(rest) = l.strip_prefix("Note ") {
            let (who, text) = rest.split_once(": ").expect("note text");
            let who = who
                .strip_prefix("over ")
                .or_else(|| who.strip_prefix("right of "))
                .expect("note position");
            for p in who.split(',') {
                assert!(declared.contains(&id(p).unwrap()), "undeclared {p}");
            }
            clean(text, line);
        } else {
            let (arrow, text) = l.split_once(": ").expect("message text");
            let ops = ["-->>", "->>", "--)", "--x"];
            let op = ops
                .iter()
                .find(|o| arrow.contains(*o))
                .unwrap_or_else(|| panic!("unknown statement {line:?}"));
            let (a, b) = arrow.split_once(op).unwrap();
            assert!(declared.contains(&id(a).unwrap()), "undeclared {a}");
            assert!(declared.contains(&id(b).unwrap()), "undeclared {b}");
            clean(text, line);
        }
    }
    assert!(!open_box);
    assert!(declared.len() >= 4);
}

/// PlantUML as ftpflow writes it: one @startuml…@enduml per session, known statements, and
/// text in which `<` only starts a `<U+XXXX>` escape and no Creole markup is doubled.
fn check_plantuml(doc: &str) {
    let mut in_diagram = false;
    let mut diagrams = 0;
    let mut declared = std::collections::HashSet::new();
    let clean = |text: &str, line: &str| {
        let mut t = text.to_string();
        while let Some(i) = t.find("<U+") {
            let end = t[i..].find('>').expect("closed escape") + i;
            assert!(
                t[i + 3..end].chars().all(|c| c.is_ascii_hexdigit()),
                "bad escape in {line:?}"
            );
            t.replace_range(i..=end, "");
        }
        for bad in ['<', '>', '"', '\\', '&', '~', '#'] {
            assert!(!t.contains(bad), "unescaped {bad:?} in {line:?}");
        }
        for markup in ["**", "//", "--", "__", "^^", "[[", "]]", "==", "''", "%%"] {
            assert!(!t.contains(markup), "Creole {markup} in {line:?}");
        }
    };
    for line in doc.lines() {
        if line == "@startuml" {
            assert!(!in_diagram);
            in_diagram = true;
            diagrams += 1;
            declared.clear();
            continue;
        }
        assert!(in_diagram, "outside a diagram: {line}");
        if line == "@enduml" {
            in_diagram = false;
        } else if line.starts_with("skinparam ") || line == "end box" {
        } else if let Some(t) = line.strip_prefix("title ") {
            clean(t, line);
        } else if let Some(b) = line.strip_prefix("box \"") {
            let (t, color) = b.split_once("\" #").expect("box \"T\" #COLOUR");
            assert!(color.chars().all(|c| c.is_ascii_hexdigit()));
            clean(t, line);
        } else if let Some(p) = line.strip_prefix("participant \"") {
            let (t, name) = p.split_once("\" as ").expect("participant \"T\" as N");
            declared.insert(name.to_string());
            clean(t, line);
        } else if let Some(h) = line.strip_prefix("== ") {
            clean(h.strip_suffix(" ==").expect("heading =="), line);
        } else if let Some(n) = line.strip_prefix("note right of ") {
            let (who, text) = n.split_once(" : ").expect("note text");
            let who = who.split(' ').next().unwrap();
            assert!(declared.contains(who), "undeclared {who}");
            clean(text, line);
        } else {
            let (arrow, text) = line.split_once(" : ").expect("message");
            let parts: Vec<&str> = arrow.split(' ').collect();
            assert_eq!(parts.len(), 3, "message {line:?}");
            assert!(declared.contains(parts[0]) && declared.contains(parts[2]));
            let op = parts[1];
            assert!(op.starts_with("-[#"), "arrow {op}");
            assert!(
                [">", "->", "->>", "->x"]
                    .iter()
                    .any(|e| op.ends_with(&format!("]{e}"))),
                "arrow {op}"
            );
            clean(text, line);
        }
    }
    assert!(!in_diagram);
    assert!(diagrams >= 1);
}

fn check_xml(doc: &str) {
    let mut reader = quick_xml::Reader::from_str(doc);
    let mut depth = 0i32;
    let mut elements = 0;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(_)) => {
                depth += 1;
                elements += 1;
            }
            Ok(quick_xml::events::Event::End(_)) => depth -= 1,
            Ok(quick_xml::events::Event::Empty(_)) => elements += 1,
            Ok(quick_xml::events::Event::Text(t)) => {
                quick_xml::escape::unescape(&t.into_inner()).expect("entities are known");
            }
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("SVG is not well-formed XML: {e}"),
        }
    }
    assert_eq!(depth, 0, "unbalanced elements");
    assert!(elements > 50);
}

#[test]
fn mermaid_and_plantuml_of_every_fixture_are_valid() {
    for f in ["active.pcap", "ipv6.pcapng", "many.pcap"] {
        let path = format!("fixtures/{f}");
        let (code, out, err) = run_in(
            &manifest(),
            &["ladder", &path, "--format", "mermaid", "--session", "1"],
        );
        assert_eq!(code, 0, "{f}: {err}");
        check_mermaid(&out);
        let (code, out, err) = run_in(&manifest(), &["ladder", &path, "--format", "plantuml"]);
        assert_eq!(code, 0, "{f}: {err}");
        check_plantuml(&out);
    }
    // Several sessions: PlantUML holds one diagram per session; Mermaid asks for --session.
    let (code, out, _) = run_in(
        &manifest(),
        &["ladder", "fixtures/passive.pcap", "--format", "plantuml"],
    );
    assert_eq!(code, 0);
    check_plantuml(&out);
    assert_eq!(out.matches("@startuml").count(), 4);
    let (code, out, err) = run_in(
        &manifest(),
        &["ladder", "fixtures/passive.pcap", "--format", "mermaid"],
    );
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("--session N (sessions: "), "{err}");
    let (code, out, err) = run_in(
        &manifest(),
        &[
            "ladder",
            "fixtures/passive.pcap",
            "--format",
            "mermaid",
            "--session",
            "2",
        ],
    );
    assert_eq!(code, 0, "{err}");
    check_mermaid(&out);
    let (code, _, err) = run_in(
        &manifest(),
        &["ladder", "fixtures/active.pcap", "--session", "9"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("no session 9"), "{err}");
}

#[test]
fn plantuml_renders_with_plantuml_when_installed() {
    if Command::new("plantuml").arg("-version").output().is_err() {
        eprintln!("skipped: plantuml is not installed (apt-get install plantuml)");
        return;
    }
    let dir = hostile();
    let out = crafted_ladder(dir.path(), &["--format", "plantuml"]);
    std::fs::write(dir.path().join("l.puml"), &out).unwrap();
    let status = Command::new("plantuml")
        .args(["-tsvg", "-failfast2"])
        .arg(dir.path().join("l.puml"))
        .status()
        .unwrap();
    assert!(status.success(), "plantuml rejected the diagram");
    let svg = std::fs::read_to_string(dir.path().join("l.svg")).unwrap();
    assert!(!svg.contains("Syntax Error"), "plantuml: syntax error");
    // The escaped characters are shown as themselves.
    assert!(
        svg.contains("txt.exe\"&lt;b&gt;&amp;amp;;#%%**x**"),
        "the escaped name is not shown as itself"
    );
}

#[test]
fn svg_is_well_formed_and_renders() {
    let dir = crafted(&eventhelix("readme.txt", "150 Here it comes."));
    let svg_path = dir.path().join("l.svg");
    let (code, out, err) = run_in(
        dir.path(),
        &[
            "ladder",
            "eventhelix.pcap",
            "--format",
            "svg",
            "-o",
            "l.svg",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty());
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    check_xml(&svg);
    assert!(svg.contains("Download readme.txt (PORT + RETR)"));
    if Command::new("rsvg-convert")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: rsvg-convert is not installed (apt-get install librsvg2-bin)");
        return;
    }
    let png = dir.path().join("l.png");
    let status = Command::new("rsvg-convert")
        .arg(&svg_path)
        .arg("-o")
        .arg(&png)
        .status()
        .unwrap();
    assert!(status.success());
    let data = std::fs::read(&png).unwrap();
    assert_eq!(&data[1..4], b"PNG");
    let w = u32::from_be_bytes(data[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(data[20..24].try_into().unwrap());
    assert!(w > 600 && h > 800, "{w}x{h}");
}

#[test]
fn no_subcommand_prints_every_session_ladder() {
    let (code, out, err) = run_in(&manifest(), &["fixtures/passive.pcap"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("FTP session ").count(), 4);
    assert!(out.contains("Upload upload.bin (PASV + STOR)"));
}

#[test]
fn realcap_eventhelix_has_dns_lifeline_and_phases() {
    let Some(shared) = shared("the EventHelix ladder test") else {
        return;
    };
    let cap = shared.join("realcap/i_eventhelix_dns.pcap");
    let (code, out, err) = run_in(&manifest(), &["ladder", cap.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let header: Vec<&str> = out.lines().take(6).collect();
    assert!(header[2].contains("DNS"), "{header:?}");
    assert!(header[4].trim_start().starts_with("53 "), "{header:?}");
    for heading in [
        "DNS lookup of ftp.example.test",
        "Connect and log in as alice (USER/PASS)",
        "List directory (PORT + LIST)",
        "Change directory to pub (CWD)",
        "Download readme.txt (PORT + RETR)",
        "Log out (QUIT)",
    ] {
        assert!(out.contains(heading), "missing {heading}");
    }
    assert!(out.contains("query A ftp.example.test"));
    assert!(out.contains("readme.txt 1,402 B"));
}
