//! End-to-end tests on crafted captures: each builds a capture with real TCP
//! conversations, runs the ftpflow binary on it, and checks the JSON Lines.

mod common;
use common::*;
use serde_json::Value;

fn analyse(net: &Net) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.pcap");
    net.write(&path);
    json_records(&[path.to_str().unwrap()])
}

fn sessions(records: &[Value]) -> Vec<&Value> {
    records.iter().filter(|r| r["type"] == "session").collect()
}

fn anomaly_kinds(s: &Value) -> Vec<String> {
    s["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn passive_retr_with_data_connection_opened_before_the_command() {
    let file = bytes(1, 70_000);
    let mut f = Ftp::login("10.0.0.2:40000", "10.0.0.1:21");
    f.cmd("PASV");
    f.reply("227 Entering Passive Mode (10,0,0,1,117,48).");
    let mut data = f.net.connect(sa("10.0.0.2:40001"), sa("10.0.0.1:30000"));
    f.cmd("RETR big.bin");
    f.reply("150 Opening BINARY mode data connection for big.bin (70000 bytes).");
    f.net.server_streams(&mut data, &file, 1448);
    f.net.close_by_server(&mut data);
    f.reply("226 Transfer complete.");
    let recs = analyse(&f.quit());
    let s = sessions(&recs);
    assert_eq!(s.len(), 1);
    let s = s[0];
    assert_eq!(s["user"], "alice");
    assert_eq!(s["tls"], false);
    assert_eq!(s["client"]["ip"], "10.0.0.2");
    assert_eq!(s["server"]["port"], 21);
    let t = &s["transfers"][0];
    assert_eq!(t["command"], "RETR");
    assert_eq!(t["arg"], "big.bin");
    assert_eq!(t["kind"], "file");
    assert_eq!(t["direction"], "download");
    assert_eq!(t["mode"], "passive");
    assert_eq!(t["bytes"], 70_000);
    assert_eq!(t["sha256"], sha256_hex(&file));
    assert_eq!(t["complete"], true);
    assert_eq!(t["final_code"], 226);
    assert_eq!(t["data"]["server"]["port"], 30000);
    assert_eq!(t["data"]["client"]["port"], 40001);
    assert_eq!(t["data"]["opened_by"], "client");
    // Every command in order, the password masked.
    let cmds: Vec<&str> = s["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap())
        .collect();
    assert_eq!(cmds, ["USER", "PASS", "PASV", "RETR", "QUIT"]);
    assert_eq!(s["commands"][1]["arg"], "****");
    assert_eq!(s["commands"][3]["replies"][0]["code"], 150);
    assert_eq!(s["commands"][3]["replies"][1]["code"], 226);
    let summary = recs.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["sessions"], 1);
    assert_eq!(summary["transfers"], 1);
}

#[test]
fn active_port_from_port_20_and_from_an_ephemeral_port() {
    let a = bytes(2, 5000);
    let b = bytes(3, 123);
    let mut f = Ftp::login("10.0.0.2:40000", "10.0.0.1:21");
    f.cmd("PORT 10,0,0,2,156,64"); // 40000 + ... = 156*256+64 = 40000
    f.reply("200 PORT command successful.");
    f.cmd("RETR a.bin");
    f.reply("150 Opening BINARY mode data connection for a.bin (5000 bytes).");
    let mut d = f.net.connect(sa("10.0.0.1:20"), sa("10.0.0.2:40000"));
    // Server (TCP initiator) sends the file.
    for chunk in a.chunks(1000) {
        f.net.client_sends(&mut d, chunk);
    }
    f.net.close_by_client(&mut d);
    f.reply("226 Transfer complete.");
    f.cmd("EPRT |1|10.0.0.2|41000|");
    f.reply("200 EPRT command successful.");
    f.cmd("STOR up.bin");
    f.reply("150 Ok to send data.");
    let mut d = f.net.connect(sa("10.0.0.1:38211"), sa("10.0.0.2:41000"));
    f.net.server_sends(&mut d, &b); // the FTP client (TCP responder) uploads
    f.net.close_by_server(&mut d);
    f.reply("226 Transfer complete.");
    let recs = analyse(&f.quit());
    let s = sessions(&recs)[0];
    let t = &s["transfers"];
    assert_eq!(t[0]["mode"], "active");
    assert_eq!(t[0]["data"]["opened_by"], "server");
    assert_eq!(t[0]["data"]["server"]["port"], 20);
    assert_eq!(t[0]["sha256"], sha256_hex(&a));
    assert_eq!(t[0]["complete"], true);
    assert_eq!(t[1]["mode"], "eprt");
    assert_eq!(t[1]["direction"], "upload");
    assert_eq!(t[1]["data"]["server"]["port"], 38211);
    assert_eq!(t[1]["bytes"], 123);
    assert_eq!(t[1]["sha256"], sha256_hex(&b));
    assert!(anomaly_kinds(s).is_empty(), "{:?}", s["anomalies"]);
}

#[test]
fn nat_pasv_address_pairs_by_port_and_is_reported() {
    let file = bytes(4, 10);
    let mut f = Ftp::login("10.0.0.2:40000", "10.0.0.1:21");
    f.cmd("PASV");
    f.reply("227 Entering Passive Mode (192,168,1,5,117,49)");
    f.cmd("RETR x");
    f.reply("150 Here it comes.");
    let mut d = f.net.connect(sa("10.0.0.2:40002"), sa("10.0.0.1:30001"));
    f.net.server_sends(&mut d, &file);
    f.net.close_by_server(&mut d);
    f.reply("226 Done.");
    let recs = analyse(&f.quit());
    let s = sessions(&recs)[0];
    assert_eq!(s["transfers"][0]["sha256"], sha256_hex(&file));
    assert_eq!(anomaly_kinds(s), ["pasv-address-mismatch"]);
}

#[test]
fn refused_data_connection_and_unclaimed_data_are_reported() {
    let mut f = Ftp::login("10.0.0.2:40000", "10.0.0.1:21");
    f.cmd("PORT 10,0,0,2,200,0");
    f.reply("200 PORT command successful.");
    f.cmd("RETR gone.bin");
    f.reply("425 Failed to establish connection.");
    let mut net = f.quit();
    // A data connection from port 20 that no captured command announced.
    let mut orphan = net.connect(sa("10.0.0.9:20"), sa("10.0.0.3:50000"));
    net.client_sends(&mut orphan, b"orphan bytes");
    net.close_by_client(&mut orphan);
    let recs = analyse(&net);
    let s = sessions(&recs)[0];
    let t = &s["transfers"][0];
    assert_eq!(t["data"], Value::Null);
    assert_eq!(t["complete"], false);
    assert_eq!(t["final_code"], 425);
    assert!(anomaly_kinds(s).contains(&"data-connection-failed".to_string()));
    let orphans: Vec<&Value> = recs
        .iter()
        .filter(|r| r["type"] == "unmatched_data")
        .collect();
    assert_eq!(orphans.len(), 1);
    assert_eq!(orphans[0]["bytes_from_server"], 12);
    assert_eq!(
        orphans[0]["sha256_from_server"],
        sha256_hex(b"orphan bytes")
    );
    assert_eq!(orphans[0]["session"], Value::Null);
}

#[test]
fn ipv6_epsv_with_pipelined_commands_and_multiline_reply() {
    let file = bytes(5, 3000);
    let mut net = Net::default();
    let mut ctl = net.connect(sa("[fd00::2]:50000"), sa("[fd00::1]:21"));
    net.server_sends(
        &mut ctl,
        b"220-Welcome\r\n 220 is not the end\r\n220 Ready\r\n",
    );
    // Pipelined: two commands in one segment.
    net.client_sends(&mut ctl, b"USER bob\r\nPASS x\r\n");
    net.server_sends(&mut ctl, b"331 Password.\r\n230 OK.\r\n");
    net.client_sends(&mut ctl, b"epsv\r\n");
    net.server_sends(
        &mut ctl,
        b"229 Entering Extended Passive Mode (|||31000|)\r\n",
    );
    let mut d = net.connect(sa("[fd00::2]:50001"), sa("[fd00::1]:31000"));
    net.client_sends(&mut ctl, b"RETR v6.bin\r\n");
    net.server_sends(&mut ctl, b"150 Opening (3000 bytes)\r\n");
    net.server_streams(&mut d, &file, 1000);
    net.close_by_server(&mut d);
    net.server_sends(&mut ctl, b"226 OK\r\n");
    net.close_by_client(&mut ctl);
    let recs = analyse(&net);
    let s = sessions(&recs)[0];
    assert_eq!(s["client"]["ip"], "fd00::2");
    assert_eq!(s["user"], "bob");
    let cmds = s["commands"].as_array().unwrap();
    assert_eq!(cmds[0]["replies"][0]["code"], 331);
    assert_eq!(cmds[1]["replies"][0]["code"], 230);
    assert_eq!(cmds[2]["command"], "EPSV");
    let t = &s["transfers"][0];
    assert_eq!(t["mode"], "epsv");
    assert_eq!(t["data"]["server"]["ip"], "fd00::1");
    assert_eq!(t["sha256"], sha256_hex(&file));
    assert_eq!(t["complete"], true);
    // QUIT never sent: the last command is RETR; the session still closes.
    assert_eq!(cmds.last().unwrap()["command"], "RETR");
}

#[test]
fn reordered_and_retransmitted_data_hashes_correctly_and_gaps_make_incomplete() {
    let file = bytes(6, 4000);
    let mut f = Ftp::login("10.0.0.2:40000", "10.0.0.1:21");
    f.cmd("PASV");
    f.reply("227 Entering Passive Mode (10,0,0,1,117,50).");
    let mut d = f.net.connect(sa("10.0.0.2:40003"), sa("10.0.0.1:30002"));
    f.cmd("RETR r.bin");
    f.reply("150 Opening BINARY mode data connection for r.bin (4000 bytes).");
    let base = d.sseq;
    let (s, c) = (d.server, d.client);
    // Segments 2, 1 (reordered), then 1 again (retransmission), then 3 and 4.
    f.net
        .segment(s, c, base + 1000, d.cseq, ACK, &file[1000..2000]);
    f.net.segment(s, c, base, d.cseq, ACK, &file[..1000]);
    f.net.segment(s, c, base, d.cseq, ACK, &file[..1000]);
    f.net
        .segment(s, c, base + 2000, d.cseq, ACK, &file[2000..4000]);
    d.sseq = base + 4000;
    f.net.close_by_server(&mut d);
    f.reply("226 Transfer complete.");
    // A second download loses a segment.
    f.cmd("PASV");
    f.reply("227 Entering Passive Mode (10,0,0,1,117,51).");
    let mut d = f.net.connect(sa("10.0.0.2:40004"), sa("10.0.0.1:30003"));
    f.cmd("RETR lossy.bin");
    f.reply("150 Opening BINARY mode data connection for lossy.bin (4000 bytes).");
    let base = d.sseq;
    f.net
        .segment(d.server, d.client, base, d.cseq, ACK, &file[..1000]);
    f.net.segment(
        d.server,
        d.client,
        base + 2000,
        d.cseq,
        ACK,
        &file[2000..4000],
    );
    d.sseq = base + 4000;
    f.net.close_by_server(&mut d);
    f.reply("226 Transfer complete.");
    let recs = analyse(&f.quit());
    let s = sessions(&recs)[0];
    let t = &s["transfers"];
    assert_eq!(t[0]["sha256"], sha256_hex(&file));
    assert_eq!(t[0]["complete"], true);
    assert_eq!(t[1]["bytes"], 3000);
    assert_eq!(t[1]["complete"], false);
    assert!(anomaly_kinds(s).contains(&"data-gap".to_string()));
}

#[test]
fn ftp_on_another_port_is_found_by_content_and_tls_stops_parsing() {
    let mut net = Net::default();
    let mut ctl = net.connect(sa("10.0.0.2:40000"), sa("10.0.0.1:2121"));
    net.server_sends(&mut ctl, b"220 FTP ready\r\n");
    net.client_sends(&mut ctl, b"AUTH TLS\r\n");
    net.server_sends(&mut ctl, b"234 Proceed with negotiation.\r\n");
    net.client_sends(&mut ctl, b"\x16\x03\x01\x00\x05hello");
    net.server_sends(&mut ctl, b"\x16\x03\x03\x00\x02hi");
    net.client_sends(&mut ctl, b"USER visible-if-parsed\r\n");
    net.close_by_client(&mut ctl);
    // Not FTP: an HTTP exchange on another port.
    let mut web = net.connect(sa("10.0.0.2:40010"), sa("10.0.0.1:8080"));
    net.client_sends(&mut web, b"GET / HTTP/1.1\r\n\r\n");
    net.server_sends(&mut web, b"HTTP/1.1 200 OK\r\n\r\n");
    net.close_by_server(&mut web);
    let recs = analyse(&net);
    let s = sessions(&recs);
    assert_eq!(s.len(), 1, "{recs:?}");
    assert_eq!(s[0]["server"]["port"], 2121);
    assert_eq!(s[0]["tls"], true);
    assert_eq!(s[0]["user"], Value::Null);
    assert_eq!(s[0]["commands"].as_array().unwrap().len(), 1);
}

#[test]
fn passwords_shown_only_when_asked() {
    let net = Ftp::login("10.0.0.2:40000", "10.0.0.1:21").quit();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.pcap");
    net.write(&path);
    let p = path.to_str().unwrap();
    let masked = json_records(&[p]);
    assert_eq!(masked[0]["commands"][1]["arg"], "****");
    let shown = json_records(&[p, "--show-passwords"]);
    assert_eq!(shown[0]["commands"][1]["arg"], "secret");
}

#[test]
fn hostile_strings_never_reach_the_text_output_raw() {
    let mut f = Ftp::login("10.0.0.2:40000", "10.0.0.1:21");
    f.cmd("PASV");
    f.reply("227 Entering Passive Mode (10,0,0,1,117,52).");
    let mut d = f.net.connect(sa("10.0.0.2:40005"), sa("10.0.0.1:30004"));
    f.cmd("RETR evil\x1b[2J\x1b]0;pwned\x07.txt");
    f.reply("150 ok");
    f.net.server_sends(&mut d, b"x");
    f.net.close_by_server(&mut d);
    f.reply("226 ok");
    let net = f.quit();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.pcap");
    net.write(&path);
    let (code, out, _) = run(&["sessions", path.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out:?}");
    assert!(out.contains("evil\\x1b[2J"), "{out}");
}

#[test]
fn unusable_input_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, b"this is not a capture at all").unwrap();
    let (code, out, err) = run(&["sessions", path.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("notes.txt") && err.contains("not a pcap"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!out.contains("session"));
    let (code, _, err) = run(&["sessions", "/nonexistent/x.pcap"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/x.pcap"), "{err}");
}

#[test]
fn truncated_last_packet_is_a_warning_and_the_rest_is_reported() {
    let net = Ftp::login("10.0.0.2:40000", "10.0.0.1:21").quit();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.pcap");
    net.write(&path);
    let mut data = std::fs::read(&path).unwrap();
    data.truncate(data.len() - 20);
    std::fs::write(&path, &data).unwrap();
    let (code, out, err) = run(&["sessions", "--json", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("truncated"), "{err}");
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["type"], "session");
    assert_eq!(first["user"], "alice");
}

#[test]
fn stdin_gzip_and_file_inputs_agree() {
    use std::io::Write;
    let file = bytes(7, 9000);
    let mut f = Ftp::login("10.0.0.2:40000", "10.0.0.1:21");
    f.cmd("PASV");
    f.reply("227 Entering Passive Mode (10,0,0,1,117,53).");
    let mut d = f.net.connect(sa("10.0.0.2:40006"), sa("10.0.0.1:30005"));
    f.cmd("RETR s.bin");
    f.reply("150 ok");
    f.net.server_streams(&mut d, &file, 1448);
    f.net.close_by_server(&mut d);
    f.reply("226 ok");
    let net = f.quit();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.pcap");
    net.write(&path);
    let raw = std::fs::read(&path).unwrap();
    let gz_path = dir.path().join("s.pcap.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw).unwrap();
    std::fs::write(&gz_path, gz.finish().unwrap()).unwrap();

    let from_file = json_records(&[path.to_str().unwrap()]);
    let from_gz = json_records(&[gz_path.to_str().unwrap()]);
    let mut child = std::process::Command::new(bin())
        .args(["sessions", "--json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&raw).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let from_stdin: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let strip = |recs: &[Value]| -> Vec<Value> {
        recs.iter()
            .map(|r| {
                let mut r = r.clone();
                r.as_object_mut().unwrap().remove("file");
                r
            })
            .collect()
    };
    assert_eq!(from_file[0]["transfers"][0]["sha256"], sha256_hex(&file));
    assert_eq!(strip(&from_file), strip(&from_gz));
    assert_eq!(strip(&from_file), strip(&from_stdin));
    assert_eq!(from_stdin[0]["file"], "-");
}

#[test]
fn rest_resume_and_abor_with_telnet_synch() {
    let file = bytes(8, 6000);
    let mut f = Ftp::login("10.0.0.2:40000", "10.0.0.1:21");
    f.cmd("TYPE I");
    f.reply("200 Switching to Binary mode.");
    f.cmd("PASV");
    f.reply("227 Entering Passive Mode (10,0,0,1,117,54).");
    f.cmd("REST 1000");
    f.reply("350 Restart position accepted (1000).");
    let mut d = f.net.connect(sa("10.0.0.2:40007"), sa("10.0.0.1:30006"));
    f.cmd("RETR part.bin");
    f.reply("150 Opening BINARY mode data connection for part.bin (6000 bytes).");
    f.net.server_streams(&mut d, &file[1000..], 1448);
    f.net.close_by_server(&mut d);
    f.reply("226 Transfer complete.");
    // An aborted download: IAC IP, IAC DM (Synch), then ABOR; 426 for RETR, 226 for ABOR.
    f.cmd("PASV");
    f.reply("227 Entering Passive Mode (10,0,0,1,117,55).");
    let mut d = f.net.connect(sa("10.0.0.2:40008"), sa("10.0.0.1:30007"));
    f.cmd("RETR big.bin");
    f.reply("150 Opening BINARY mode data connection for big.bin (6000 bytes).");
    f.net.server_streams(&mut d, &file[..2896], 1448);
    f.net.client_sends(&mut f.ctl, b"\xff\xf4\xff\xf2ABOR\r\n");
    f.net.segment(d.server, d.client, d.sseq, d.cseq, RST, b"");
    f.reply("426 Failure writing network stream.");
    f.reply("226 ABOR successful.");
    let recs = analyse(&f.quit());
    let s = sessions(&recs)[0];
    let t = &s["transfers"];
    assert_eq!(t[0]["rest"], 1000);
    assert_eq!(t[0]["bytes"], 5000);
    assert_eq!(t[0]["sha256"], sha256_hex(&file[1000..]));
    assert_eq!(t[0]["complete"], true, "{}", t[0]);
    assert_eq!(t[1]["rest"], Value::Null);
    assert_eq!(t[1]["bytes"], 2896);
    assert_eq!(t[1]["final_code"], 426);
    assert_eq!(t[1]["complete"], false);
    let cmds = s["commands"].as_array().unwrap();
    let abor = cmds
        .iter()
        .find(|c| c["command"] == "ABOR")
        .expect("ABOR parsed through IAC");
    assert_eq!(abor["replies"][0]["code"], 226);
    let kinds = anomaly_kinds(s);
    assert!(kinds.contains(&"transfer-aborted".to_string()), "{kinds:?}");
}

#[test]
fn lprt_and_lpsv() {
    let file = bytes(9, 700);
    let mut f = Ftp::login("10.0.0.2:40000", "10.0.0.1:21");
    f.cmd("LPSV");
    f.reply("228 Entering Long Passive Mode (4,4,10,0,0,1,2,117,56)");
    let mut d = f.net.connect(sa("10.0.0.2:40009"), sa("10.0.0.1:30008"));
    f.cmd("RETR l.bin");
    f.reply("150 ok");
    f.net.server_sends(&mut d, &file);
    f.net.close_by_server(&mut d);
    f.reply("226 ok");
    f.cmd("LPRT 4,4,10,0,0,2,2,156,100");
    f.reply("200 LPRT ok");
    f.cmd("STOR u.bin");
    f.reply("150 ok");
    let mut d = f.net.connect(sa("10.0.0.1:20"), sa("10.0.0.2:40036"));
    f.net.server_sends(&mut d, &file);
    f.net.close_by_server(&mut d);
    f.reply("226 ok");
    let recs = analyse(&f.quit());
    let s = sessions(&recs)[0];
    let t = &s["transfers"];
    assert_eq!(t[0]["mode"], "lpsv");
    assert_eq!(t[0]["sha256"], sha256_hex(&file));
    assert_eq!(t[1]["mode"], "lprt");
    assert_eq!(t[1]["data"]["opened_by"], "server");
    assert_eq!(t[1]["sha256"], sha256_hex(&file));
}

#[test]
fn concurrent_sessions_with_interleaved_data_connections() {
    // Two sessions to the same server whose passive data connections overlap in time.
    let a = bytes(10, 3000);
    let b = bytes(11, 4000);
    let mut net = Net::default();
    let mut c1 = net.connect(sa("10.0.0.2:41000"), sa("10.0.0.1:21"));
    let mut c2 = net.connect(sa("10.0.0.3:42000"), sa("10.0.0.1:21"));
    for c in [&mut c1, &mut c2] {
        net.server_sends(c, b"220 hi\r\n");
        net.client_sends(c, b"USER anonymous\r\n");
        net.server_sends(c, b"230 ok\r\n");
        net.client_sends(c, b"PASV\r\n");
    }
    net.server_sends(&mut c1, b"227 Entering Passive Mode (10,0,0,1,117,60).\r\n");
    net.server_sends(&mut c2, b"227 Entering Passive Mode (10,0,0,1,117,61).\r\n");
    let mut d2 = net.connect(sa("10.0.0.3:42001"), sa("10.0.0.1:30013"));
    let mut d1 = net.connect(sa("10.0.0.2:41001"), sa("10.0.0.1:30012"));
    net.client_sends(&mut c2, b"RETR b\r\n");
    net.client_sends(&mut c1, b"RETR a\r\n");
    net.server_sends(&mut c1, b"150 ok\r\n");
    net.server_sends(&mut c2, b"150 ok\r\n");
    for i in 0..4 {
        if i < 3 {
            net.server_sends(&mut d1, &a[i * 1000..(i + 1) * 1000]);
        }
        net.server_sends(&mut d2, &b[i * 1000..(i + 1) * 1000]);
    }
    net.close_by_server(&mut d1);
    net.close_by_server(&mut d2);
    net.server_sends(&mut c1, b"226 ok\r\n");
    net.server_sends(&mut c2, b"226 ok\r\n");
    net.close_by_client(&mut c1);
    net.close_by_client(&mut c2);
    let recs = analyse(&net);
    let s = sessions(&recs);
    assert_eq!(s.len(), 2);
    for s in s {
        let t = &s["transfers"][0];
        let want = if t["arg"] == "a" { &a } else { &b };
        assert_eq!(t["sha256"], sha256_hex(want), "{}", s["id"]);
        assert_eq!(t["data"]["client"]["ip"], s["client"]["ip"]);
    }
}

#[test]
fn corrupted_captures_never_crash_the_binary() {
    // Every kind of damage to a real conversation: flipped bytes, cut files, shuffled packets.
    let mut f = Ftp::login("10.0.0.2:40000", "10.0.0.1:21");
    f.cmd("PASV");
    f.reply("227 Entering Passive Mode (10,0,0,1,117,57).");
    let mut d = f.net.connect(sa("10.0.0.2:40010"), sa("10.0.0.1:30009"));
    f.cmd("RETR x");
    f.reply("150 ok");
    f.net.server_streams(&mut d, &bytes(12, 5000), 700);
    f.net.close_by_server(&mut d);
    f.reply("226 ok");
    let net = f.quit();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("base.pcap");
    net.write(&path);
    let base = std::fs::read(&path).unwrap();
    let noise = bytes(13, 4096);
    let mut ok = 0;
    for round in 0..40usize {
        let mut data = base.clone();
        match round % 4 {
            0 => {
                for k in 0..8 {
                    let i =
                        24 + (noise[round * 8 + k] as usize * 97 + round * 131) % (data.len() - 24);
                    data[i] ^= noise[(round * 8 + k + 1) % noise.len()] | 1;
                }
            }
            1 => data.truncate(24 + (round * 977) % (data.len() - 24)),
            2 => {
                // Garbage appended where the next record header would be.
                data.extend_from_slice(&noise[..round * 37 % 300]);
            }
            _ => {
                let i = 24 + (round * 613) % (data.len() - 64);
                data[i..i + 40].copy_from_slice(&noise[round..round + 40]);
            }
        }
        let p = dir.path().join(format!("m{round}.pcap"));
        std::fs::write(&p, &data).unwrap();
        let (code, out, err) = run(&["sessions", "--json", p.to_str().unwrap()]);
        assert!(code == 0 || code == 2, "round {round}: exit {code}: {err}");
        assert!(!err.contains("panicked"), "round {round}: {err}");
        if code == 0 {
            ok += 1;
            for l in out.lines() {
                serde_json::from_str::<Value>(l).unwrap();
            }
        } else {
            assert_eq!(err.lines().count(), 1, "round {round}: {err}");
        }
    }
    assert!(ok > 0);
}

#[test]
fn snap_length_cuts_are_gaps_not_errors() {
    let file = bytes(14, 4000);
    let mut f = Ftp::login("10.0.0.2:40000", "10.0.0.1:21");
    f.cmd("EPSV");
    f.reply("229 Entering Extended Passive Mode (|||30010|)");
    let mut d = f.net.connect(sa("10.0.0.2:40011"), sa("10.0.0.1:30010"));
    f.cmd("RETR cut.bin");
    f.reply("150 Opening BINARY mode data connection for cut.bin (4000 bytes).");
    f.net.server_streams(&mut d, &file, 1000);
    f.net.close_by_server(&mut d);
    f.reply("226 ok");
    let net = f.quit();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.pcap");
    // 14 Ethernet + 20 IP + 20 TCP + 146 payload bytes kept of each data segment.
    net.write_snapped(&path, 200);
    let recs = json_records(&[path.to_str().unwrap()]);
    let s = sessions(&recs)[0];
    // Control lines are short enough to survive the cut.
    assert_eq!(s["user"], "alice");
    let t = &s["transfers"][0];
    assert_eq!(t["bytes"], 4 * 146);
    assert_eq!(t["complete"], false);
    let gap = s["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "data-gap")
        .unwrap();
    assert!(
        gap["message"]
            .as_str()
            .unwrap()
            .contains(&(4000 - 4 * 146).to_string()),
        "{gap}"
    );
}

#[test]
fn sessions_in_flight_show_a_running_transfers_bytes() {
    use ftpflow::analyzer::{Analyzer, AnalyzerConfig};
    use ftpflow::capture::CaptureReader;
    use ftpflow::model::{Session, UnmatchedData};
    use ftpflow::session::SessionSink;

    #[derive(Default)]
    struct Snapshots(Vec<Vec<(u64, u64)>>);
    impl SessionSink for Snapshots {
        fn session(&mut self, _: Session) {}
        fn unmatched(&mut self, _: UnmatchedData) {}
        fn open_sessions(&mut self, open: &[&Session]) {
            self.0.push(
                open.iter()
                    .flat_map(|s| s.transfers.iter().map(|t| (s.id, t.bytes)))
                    .collect(),
            );
        }
    }

    let file = bytes(15, 10 * 1448);
    let mut f = Ftp::login("10.0.0.2:40000", "10.0.0.1:21");
    f.cmd("PASV");
    f.reply("227 Entering Passive Mode (10,0,0,1,117,70).");
    let mut d = f.net.connect(sa("10.0.0.2:40020"), sa("10.0.0.1:30022"));
    f.cmd("RETR live.bin");
    f.reply("150 ok");
    f.net.server_streams(&mut d, &file, 1448);
    f.net.close_by_server(&mut d);
    f.reply("226 ok");
    let net = f.quit();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.pcap");
    net.write(&path);

    let mut sink = Snapshots::default();
    let mut analyzer = Analyzer::new(AnalyzerConfig::default(), &mut sink);
    analyzer.begin("live.pcap");
    let mut reader = CaptureReader::open(&path).unwrap();
    let mut n = 0;
    while let Some(pkt) = reader.next_packet().unwrap() {
        let ts = pkt.ts;
        analyzer.packet(&pkt);
        n += 1;
        analyzer.tick(ts);
        if n > 200 {
            break;
        }
    }
    analyzer.end_input();
    drop(analyzer);
    // While the data flowed, the snapshots showed the transfer growing, segment by segment.
    let progress: Vec<u64> = sink
        .0
        .iter()
        .filter_map(|snap| snap.first().map(|t| t.1))
        .collect();
    let distinct: std::collections::BTreeSet<u64> = progress.iter().copied().collect();
    assert!(distinct.len() >= 10, "{progress:?}");
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
    assert_eq!(*progress.last().unwrap(), file.len() as u64);
}
