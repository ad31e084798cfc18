//! Findings and `ftpflow check`: every finding kind on a capture that triggers it and on one
//! that does not; check's exit codes, rules and output formats.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const C: &str = "10.0.0.2:40000";
const S: &str = "10.0.0.1:21";

fn write(net: &Net) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.pcap");
    net.write(&path);
    (dir, path)
}

fn sessions_of(path: &Path) -> Vec<Value> {
    json_records(&[path.to_str().unwrap()])
        .into_iter()
        .filter(|r| r["type"] == "session")
        .collect()
}

/// Finding kinds of every session of a capture, in order.
fn kinds_at(path: &Path) -> Vec<String> {
    sessions_of(path)
        .iter()
        .flat_map(|s| s["findings"].as_array().unwrap().clone())
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect()
}

fn kinds(net: &Net) -> Vec<String> {
    let (_dir, path) = write(net);
    kinds_at(&path)
}

fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

fn has(k: &[String], kind: &str) -> bool {
    k.iter().any(|x| x == kind)
}

/// A clean capture: no finding but cleartext credentials.
fn clean() -> Vec<String> {
    kinds_at(&fixture("passive.pcap"))
}

#[test]
fn clean_fixtures_only_have_cleartext_credentials() {
    for f in ["passive.pcap", "active.pcap", "many.pcap"] {
        let k = kinds_at(&fixture(f));
        assert!(k.iter().all(|x| x == "cleartext-credentials"), "{f}: {k:?}");
        assert!(has(&k, "cleartext-credentials"), "{f}");
    }
}

#[test]
fn errors_fixture_findings_with_evidence() {
    let s = sessions_of(&fixture("errors.pcap"));
    let f = s[0]["findings"].as_array().unwrap();
    let kinds: Vec<&str> = f.iter().map(|x| x["kind"].as_str().unwrap()).collect();
    for k in [
        "cleartext-credentials",
        "failed-login",
        "port-unreachable",
        "transfer-failed",
        "transfer-aborted",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    assert!(!kinds.contains(&"brute-force"));
    // The 425: the server's SYN from port 20 and the client's RST, with frame numbers.
    let pu = f.iter().find(|x| x["kind"] == "port-unreachable").unwrap();
    assert_eq!(pu["severity"], "error");
    assert_eq!(pu["transfer"], 0);
    let ev = pu["evidence"].as_array().unwrap();
    let syn = ev
        .iter()
        .find(|e| e["text"].as_str().unwrap().starts_with("SYN "))
        .unwrap();
    assert_eq!(syn["from"], "server");
    assert!(syn["frame"].as_u64().unwrap() > 0);
    assert!(syn["text"].as_str().unwrap().contains("10.77.0.2:41000"));
    assert!(
        ev.iter()
            .any(|e| e["text"].as_str().unwrap().starts_with("RST") && e["from"] == "client")
    );
    assert!(ev.iter().any(|e| e["text"] == "PORT 10,77,0,2,160,40"));
    assert!(
        ev.iter()
            .any(|e| e["text"].as_str().unwrap().starts_with("425 ") && e["frame"].is_null())
    );
    // The failed login: the PASS line (masked) and the 530.
    let fl = f.iter().find(|x| x["kind"] == "failed-login").unwrap();
    let texts: Vec<&str> = fl["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert!(texts.contains(&"PASS ****"), "{texts:?}");
    assert!(texts.iter().any(|t| t.starts_with("530")), "{texts:?}");
    let tf = f.iter().find(|x| x["kind"] == "transfer-failed").unwrap();
    assert_eq!(tf["transfer"], 1);
    assert!(tf["message"].as_str().unwrap().contains("550"));
    // Session 2 (curl): aborted, and the JSON keeps its other keys.
    let k2: Vec<&str> = s[1]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap())
        .collect();
    assert!(k2.contains(&"transfer-aborted"), "{k2:?}");
    assert!(!k2.contains(&"transfer-incomplete"), "{k2:?}");
    for key in ["anomalies", "transfers", "commands", "user", "tls"] {
        assert!(s[1].get(key).is_some(), "{key}");
    }
}

#[test]
fn text_table_lists_findings_under_their_session() {
    let (code, out, _) = run(&["sessions", fixture("errors.pcap").to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(
        out.contains("error port-unreachable (transfer 1): RETR big.bin"),
        "{out}"
    );
    assert!(out.contains("warning failed-login"), "{out}");
}

#[test]
fn anonymous_login() {
    let k = kinds(&Ftp::login_as(C, S, "anonymous").quit());
    assert!(has(&k, "anonymous-login"), "{k:?}");
    assert!(!has(&clean(), "anonymous-login"));
}

#[test]
fn cleartext_credentials_not_under_tls() {
    assert!(has(&clean(), "cleartext-credentials"));
    let k = kinds_at(&fixture("ftps.pcap"));
    assert!(!has(&k, "cleartext-credentials"), "{k:?}");
}

#[test]
fn brute_force_across_sessions() {
    let attempts = |net: &mut Net, client: &str| {
        let mut ctl = net.connect(sa(client), sa(S));
        net.server_sends(&mut ctl, b"220 hi\r\n");
        net.client_sends(&mut ctl, b"USER root\r\n");
        net.server_sends(&mut ctl, b"331 Password?\r\n");
        net.client_sends(&mut ctl, b"PASS guess\r\n");
        net.server_sends(&mut ctl, b"530 Login incorrect.\r\n");
        net.close_by_client(&mut ctl);
    };
    let mut net = Net::default();
    for i in 0..5 {
        attempts(&mut net, &format!("10.0.0.66:{}", 50000 + i));
    }
    let k = kinds(&net);
    assert_eq!(k.iter().filter(|x| *x == "failed-login").count(), 5);
    assert!(has(&k, "brute-force"), "{k:?}");
    // Four attempts, or five from different hosts, are not brute force.
    let mut net = Net::default();
    for i in 0..4 {
        attempts(&mut net, &format!("10.0.0.66:{}", 50000 + i));
    }
    attempts(&mut net, "10.0.0.67:50000");
    let k = kinds(&net);
    assert!(has(&k, "failed-login"));
    assert!(!has(&k, "brute-force"), "{k:?}");
}

#[test]
fn failed_login_only_on_530() {
    assert!(!has(&clean(), "failed-login"));
    let mut f = Ftp::greet(C, S);
    f.cmd("USER bob");
    f.reply("331 Password?");
    f.cmd("PASS nope");
    f.reply("530 Login incorrect.");
    assert!(has(&kinds(&f.quit()), "failed-login"));
}

#[test]
fn data_connection_failed_425_without_attempt() {
    let mut f = Ftp::login(C, S);
    f.cmd("PASV");
    f.reply("227 Entering Passive Mode (10,0,0,1,117,48).");
    f.cmd("RETR x.bin");
    f.reply("425 Can't open data connection.");
    let k = kinds(&f.quit());
    assert!(has(&k, "data-connection-failed"), "{k:?}");
    assert!(!has(&clean(), "data-connection-failed"));
}

/// PASV, then the client's SYN to the announced port; the server answers with `answer`
/// (flags) or not at all.
fn passive_syn(answer: Option<u8>) -> Net {
    let mut f = Ftp::login(C, S);
    f.cmd("PASV");
    f.reply("227 Entering Passive Mode (10,0,0,1,117,48).");
    f.net
        .segment(sa("10.0.0.2:40001"), sa("10.0.0.1:30000"), 777, 0, SYN, b"");
    if let Some(flags) = answer {
        f.net.segment(
            sa("10.0.0.1:30000"),
            sa("10.0.0.2:40001"),
            0,
            778,
            flags,
            b"",
        );
    }
    f.cmd("RETR x.bin");
    f.reply("425 Can't open data connection.");
    f.quit()
}

#[test]
fn data_syn_unanswered_and_reset() {
    let k = kinds(&passive_syn(None));
    assert!(has(&k, "data-syn-unanswered"), "{k:?}");
    assert!(!has(&k, "data-syn-reset"));
    assert!(
        !has(&k, "data-connection-failed"),
        "one finding per failure: {k:?}"
    );
    let k = kinds(&passive_syn(Some(RST | ACK)));
    assert!(has(&k, "data-syn-reset"), "{k:?}");
    assert!(!has(&k, "data-syn-unanswered"));
    let c = clean();
    assert!(!has(&c, "data-syn-reset") && !has(&c, "data-syn-unanswered"));
}

#[test]
fn port_unreachable() {
    assert!(has(&kinds_at(&fixture("errors.pcap")), "port-unreachable"));
    assert!(!has(&kinds_at(&fixture("active.pcap")), "port-unreachable"));
    // A 425 after PORT with no captured attempt is still the PORT endpoint's problem.
    let mut f = Ftp::login(C, S);
    f.cmd("PORT 10,0,0,2,200,0");
    f.reply("200 PORT command successful.");
    f.cmd("RETR gone.bin");
    f.reply("425 Failed to establish connection.");
    let k = kinds(&f.quit());
    assert!(has(&k, "port-unreachable"), "{k:?}");
}

#[test]
fn pasv_foreign_address() {
    let mut f = Ftp::login(C, S);
    f.cmd("PASV");
    f.reply("227 Entering Passive Mode (192,168,1,5,117,49)");
    f.cmd("RETR x");
    f.reply("150 Here it comes.");
    let mut d = f.net.connect(sa("10.0.0.2:40002"), sa("10.0.0.1:30001"));
    f.net.server_sends(&mut d, b"0123456789");
    f.net.close_by_server(&mut d);
    f.reply("226 Done.");
    let k = kinds(&f.quit());
    assert!(has(&k, "pasv-foreign-address"), "{k:?}");
    assert!(!has(&clean(), "pasv-foreign-address"));
}

#[test]
fn port_third_host() {
    let mut f = Ftp::login(C, S);
    f.cmd("PORT 10,0,0,9,156,64");
    f.reply("200 PORT command successful.");
    f.cmd("RETR a.bin");
    f.reply("150 Opening BINARY mode data connection.");
    let mut d = f.net.connect(sa("10.0.0.1:20"), sa("10.0.0.9:40000"));
    f.net.client_sends(&mut d, b"data");
    f.net.close_by_client(&mut d);
    f.reply("226 Transfer complete.");
    let k = kinds(&f.quit());
    assert!(has(&k, "port-third-host"), "{k:?}");
    assert!(!has(&kinds_at(&fixture("active.pcap")), "port-third-host"));
}

#[test]
fn transfer_failed_and_aborted() {
    let k = kinds_at(&fixture("errors.pcap"));
    assert!(has(&k, "transfer-failed") && has(&k, "transfer-aborted"));
    let c = clean();
    assert!(!has(&c, "transfer-failed") && !has(&c, "transfer-aborted"));
}

#[test]
fn transfer_incomplete_when_size_disagrees() {
    let mut f = Ftp::login(C, S);
    f.pasv_retr("short.bin", &bytes(9, 500), 1000);
    let k = kinds(&f.quit());
    assert!(has(&k, "transfer-incomplete"), "{k:?}");
    let mut f = Ftp::login(C, S);
    f.pasv_retr("whole.bin", &bytes(9, 1000), 1000);
    let k = kinds(&f.quit());
    assert!(!has(&k, "transfer-incomplete"), "{k:?}");
    // SIZE disagreeing with the bytes, without a size in the 150 reply.
    let mut f = Ftp::login(C, S);
    f.cmd("SIZE s.bin");
    f.reply("213 2000");
    f.cmd("PASV");
    f.reply("227 Entering Passive Mode (10,0,0,1,117,48).");
    let mut d = f.net.connect(sa("10.0.0.2:40001"), sa("10.0.0.1:30000"));
    f.cmd("RETR s.bin");
    f.reply("150 Opening BINARY mode data connection.");
    f.net.server_sends(&mut d, &bytes(3, 1500));
    f.net.close_by_server(&mut d);
    f.reply("226 Transfer complete.");
    let k = kinds(&f.quit());
    assert!(has(&k, "transfer-incomplete"), "{k:?}");
}

#[test]
fn capture_gap() {
    let mut f = Ftp::login(C, S);
    f.cmd("PASV");
    f.reply("227 Entering Passive Mode (10,0,0,1,117,48).");
    let mut d = f.net.connect(sa("10.0.0.2:40001"), sa("10.0.0.1:30000"));
    f.cmd("RETR g.bin");
    f.reply("150 Opening BINARY mode data connection for g.bin (3000 bytes).");
    f.net.server_sends(&mut d, &bytes(1, 1000));
    d.sseq = d.sseq.wrapping_add(1000); // 1000 bytes never captured
    f.net.server_sends(&mut d, &bytes(2, 1000));
    f.net.close_by_server(&mut d);
    f.reply("226 Transfer complete.");
    let k = kinds(&f.quit());
    assert!(has(&k, "capture-gap"), "{k:?}");
    assert!(!has(&clean(), "capture-gap"));
}

fn ascii_retr(content: &[u8]) -> Net {
    let mut f = Ftp::login(C, S);
    f.cmd("TYPE A");
    f.reply("200 Switching to ASCII mode.");
    f.pasv_retr("f.dat", content, content.len());
    f.quit()
}

#[test]
fn ascii_binary() {
    let k = kinds(&ascii_retr(&bytes(5, 4000)));
    assert!(has(&k, "ascii-binary"), "{k:?}");
    let k = kinds(&ascii_retr(b"plain text\r\nline two\r\n"));
    assert!(!has(&k, "ascii-binary"), "{k:?}");
    // Binary content in TYPE I is fine.
    let mut f = Ftp::login(C, S);
    f.pasv_retr("b.bin", &bytes(5, 4000), 4000);
    assert!(!has(&kinds(&f.quit()), "ascii-binary"));
}

#[test]
fn slow_reply() {
    let mut f = Ftp::login(C, S);
    f.cmd("CWD /deep");
    f.net.advance_ms(6000);
    f.reply("250 Directory successfully changed.");
    let k = kinds(&f.quit());
    assert!(has(&k, "slow-reply"), "{k:?}");
    assert!(!has(&clean(), "slow-reply"));
}

#[test]
fn transfer_stalled() {
    // The data connection opens, then nothing for 40 s.
    let mut f = Ftp::login(C, S);
    f.cmd("PASV");
    f.reply("227 Entering Passive Mode (10,0,0,1,117,48).");
    let mut d = f.net.connect(sa("10.0.0.2:40001"), sa("10.0.0.1:30000"));
    f.cmd("RETR slow.bin");
    f.reply("150 Opening BINARY mode data connection for slow.bin (1000 bytes).");
    f.net.advance_ms(40_000);
    f.net.server_sends(&mut d, &bytes(1, 1000));
    f.net.close_by_server(&mut d);
    f.reply("226 Transfer complete.");
    let k = kinds(&f.quit());
    assert!(has(&k, "transfer-stalled"), "{k:?}");
    assert!(!has(&clean(), "transfer-stalled"));
}

#[test]
fn control_reset() {
    let mut f = Ftp::login(C, S);
    f.cmd("NOOP");
    let (c, s, seq, ack) = (f.ctl.server, f.ctl.client, f.ctl.sseq, f.ctl.cseq);
    f.net.segment(c, s, seq, ack, RST | ACK, b"");
    let k = kinds(&f.net);
    assert!(has(&k, "control-reset"), "{k:?}");
    assert!(!has(&clean(), "control-reset"));
}

/// AUTH TLS, a few TLS records, then (optionally) cleartext commands again (CCC), and a
/// data connection between the hosts carrying `data` first bytes.
fn tls_session(ccc: bool, data: &[u8]) -> Net {
    let mut f = Ftp::greet(C, S);
    f.cmd("AUTH TLS");
    f.reply("234 Proceed with negotiation.");
    let hello = [0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5];
    f.net.client_sends(&mut f.ctl, &hello);
    f.net.server_sends(&mut f.ctl, &hello);
    f.net
        .client_sends(&mut f.ctl, &[0x17, 0x03, 0x03, 0x00, 0x03, 9, 9, 9]);
    if ccc {
        f.cmd("PWD");
        f.reply("257 \"/\" is the current directory");
    }
    let mut d = f.net.connect(sa("10.0.0.2:40005"), sa("10.0.0.1:30005"));
    f.net.client_sends(&mut d, data);
    f.net.server_sends(&mut d, data);
    f.net.close_by_server(&mut d);
    if ccc {
        return f.quit();
    }
    // QUIT inside TLS: records only.
    f.net
        .client_sends(&mut f.ctl, &[0x17, 0x03, 0x03, 0x00, 0x02, 7, 7]);
    f.net.close_by_server(&mut f.ctl);
    f.net
}

#[test]
fn tls_cleared_by_ccc() {
    let tls = [0x16, 0x03, 0x01, 0x00, 0x02, 1, 2];
    let k = kinds(&tls_session(true, &tls));
    assert!(has(&k, "tls-cleared"), "{k:?}");
    let k = kinds(&tls_session(false, &tls));
    assert!(!has(&k, "tls-cleared"), "{k:?}");
    assert!(!has(&kinds_at(&fixture("ftps.pcap")), "tls-cleared"));
    // After CCC the session is still a TLS session whose commands are not listed.
    let (_d, path) = write(&tls_session(true, &tls));
    let s = &sessions_of(&path)[0];
    assert_eq!(s["tls"], true);
    assert_eq!(s["commands"].as_array().unwrap().len(), 1);
}

#[test]
fn cleartext_data_under_tls() {
    let k = kinds(&tls_session(false, b"-rw-r--r-- 1 ftp ftp 12 a.txt\r\n"));
    assert!(has(&k, "cleartext-data"), "{k:?}");
    let k = kinds(&tls_session(false, &[0x16, 0x03, 0x01, 0x00, 0x02, 1, 2]));
    assert!(!has(&k, "cleartext-data"), "{k:?}");
    assert!(!has(&kinds_at(&fixture("ftps.pcap")), "cleartext-data"));
    // Cleartext data without TLS is not this finding.
    assert!(!has(&clean(), "cleartext-data"));
}

#[test]
fn findings_are_bounded_per_session() {
    let mut f = Ftp::login(C, S);
    for i in 0..120 {
        f.cmd(&format!("RETR missing{i}.bin"));
        f.reply("550 Failed to open file.");
    }
    let (_d, path) = write(&f.quit());
    let s = &sessions_of(&path)[0];
    let list = s["findings"].as_array().unwrap();
    assert_eq!(list.len(), 100);
    assert_eq!(list.last().unwrap()["kind"], "findings-truncated");
    assert!(!has(&clean(), "findings-truncated"));
}

// ---- check ----

fn check(args: &[&str]) -> (i32, String, String) {
    let mut full = vec!["check"];
    full.extend_from_slice(args);
    run(&full)
}

fn fx(name: &str) -> String {
    fixture(name).to_str().unwrap().to_string()
}

#[test]
fn check_exit_codes() {
    let (code, out, _) = check(&[&fx("passive.pcap")]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("PASS  no-failed-transfers"));
    let (code, out, _) = check(&[&fx("errors.pcap")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  no-failed-transfers"), "{out}");
    assert!(out.contains("FAIL  no-failed-data-connections"), "{out}");
    assert!(out.contains("PASS  no-incomplete-transfers"), "{out}");
    // Unusable input wins over everything else.
    let (code, _, err) = check(&[&fx("passive.pcap"), "/nonexistent/x.pcap"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/x.pcap"), "{err}");
    let (code, _, _) = check(&[&fx("README.md")]);
    assert_eq!(code, 2);
    let (code, _, err) = check(&[]);
    assert_eq!(code, 2, "{err}");
}

fn rules_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("rules.toml");
    std::fs::write(&p, text).unwrap();
    (dir, p.to_str().unwrap().to_string())
}

#[test]
fn check_rules_file_allow_lists() {
    // Everything wrong in errors.pcap is allowed: it passes.
    let (_d, rules) = rules_file(
        r#"
allow = [
  "transfer-aborted",
  "port-unreachable",
  { kind = "transfer-failed", file = "no-such-file.bin" },
]
"#,
    );
    let (code, out, err) = check(&[&fx("errors.pcap"), "--rules", &rules]);
    assert_eq!(code, 0, "{out}{err}");
    // The scoped allow does not cover another file.
    let (_d, rules) = rules_file(
        r#"
allow = ["transfer-aborted", "port-unreachable", { kind = "transfer-failed", file = "other.bin" }]
"#,
    );
    let (code, out, _) = check(&[&fx("errors.pcap"), "--rules", &rules]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no-such-file.bin"), "{out}");
    // Bad rules files are unusable input.
    for bad in [
        "allow = [\"no-such-kind\"]",
        "max-reply-ms = \"soon\"",
        "typo = 1",
    ] {
        let (_d, rules) = rules_file(bad);
        let (code, _, err) = check(&[&fx("passive.pcap"), "--rules", &rules]);
        assert_eq!(code, 2, "{bad}");
        assert!(err.contains("ftpflow:"), "{err}");
    }
    let (code, _, err) = check(&[&fx("passive.pcap"), "--rules", "/nonexistent/r.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/r.toml"), "{err}");
}

#[test]
fn check_expect_files() {
    let big = "bbeadbd8c7d7e73c2b6d781b6da17f690e64beaf419e4ce612c465ccfca45316";
    let (_d, rules) = rules_file(&format!(
        r#"
min-transfers = 11
[[expect]]
name = "big.bin"
sha256 = "{big}"
size = 102400
direction = "download"
[[expect]]
name = "upload.bin"
direction = "upload"
"#
    ));
    let (code, out, _) = check(&[&fx("passive.pcap"), "--rules", &rules]);
    assert_eq!(code, 0, "{out}");
    let wrong = format!("big.bin:{}:102400", "0".repeat(64));
    let (code, out, _) = check(&[&fx("passive.pcap"), "--expect", &wrong]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  expect"), "{out}");
    let (code, _, _) = check(&[&fx("passive.pcap"), "--expect", &format!("big.bin:{big}")]);
    assert_eq!(code, 0);
    let (code, out, _) = check(&[&fx("passive.pcap"), "--expect", "never.bin"]);
    assert_eq!(code, 1);
    assert!(out.contains("never.bin"), "{out}");
    let (code, _, _) = check(&[&fx("passive.pcap"), "--min-transfers", "12"]);
    assert_eq!(code, 1);
}

#[test]
fn check_optional_rules() {
    // require-tls: FTPS passes, cleartext fails.
    let (code, out, _) = check(&[&fx("ftps.pcap"), "--require-tls"]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = check(&[&fx("passive.pcap"), "--require-tls"]);
    assert_eq!(code, 1);
    assert!(out.contains("FAIL  require-tls"), "{out}");
    let tls = [0x16, 0x03, 0x01, 0x00, 0x02, 1, 2];
    let (_d, path) = write(&tls_session(true, &tls));
    let (code, out, _) = check(&[path.to_str().unwrap(), "--require-tls"]);
    assert_eq!(code, 1, "CCC breaks require-tls: {out}");
    // min-transfers counts a TLS session's data connections.
    let (code, out, _) = check(&[&fx("ftps.pcap"), "--min-transfers", "3"]);
    assert_eq!(code, 0, "{out}");
    // forbid-anonymous.
    let (_d, anon) = write(&Ftp::login_as(C, S, "ftp").quit());
    let anon = anon.to_str().unwrap().to_string();
    assert_eq!(check(&[&anon]).0, 0);
    assert_eq!(check(&[&anon, "--forbid-anonymous"]).0, 1);
    assert_eq!(check(&[&fx("passive.pcap"), "--forbid-anonymous"]).0, 0);
    // max-reply-ms.
    let mut f = Ftp::login(C, S);
    f.cmd("CWD x");
    f.net.advance_ms(300);
    f.reply("250 ok");
    let (_d, slow) = write(&f.quit());
    let slow = slow.to_str().unwrap().to_string();
    let (code, out, _) = check(&[&slow, "--max-reply-ms", "200"]);
    assert_eq!(code, 1);
    assert!(out.contains("CWD answered after 30"), "{out}");
    assert_eq!(check(&[&slow, "--max-reply-ms", "1000"]).0, 0);
    // forbid: any finding kind becomes a violation.
    assert_eq!(
        check(&[&fx("passive.pcap"), "--forbid", "cleartext-credentials"]).0,
        1
    );
    assert_eq!(check(&[&fx("passive.pcap"), "--forbid", "slow-reply"]).0, 0);
    // allow by flag.
    let (code, _, _) = check(&[
        &fx("errors.pcap"),
        "--allow",
        "transfer-failed",
        "--allow",
        "transfer-aborted",
        "--allow",
        "port-unreachable",
    ]);
    assert_eq!(code, 0);
}

#[test]
fn check_json_format() {
    let (code, out, _) = check(&[&fx("errors.pcap"), "--format", "json"]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["type"], "check");
    assert_eq!(v["passed"], false);
    assert_eq!(v["sessions"], 2);
    let rules = v["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 3);
    let failed = rules
        .iter()
        .find(|r| r["name"] == "no-failed-transfers")
        .unwrap();
    assert_eq!(failed["passed"], false);
    let kinds: Vec<&str> = failed["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["transfer-failed", "transfer-aborted", "transfer-aborted"]
    );
    assert_eq!(failed["violations"][0]["session"], 1);
    assert_eq!(failed["violations"][0]["transfer"], 1);
}

/// Parses XML with quick-xml; returns (testcase names, failures' text) and fails on any
/// well-formedness error.
fn parse_junit(xml: &str) -> (Vec<String>, Vec<(String, String)>) {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_str(xml);
    r.config_mut().check_end_names = true;
    let mut cases = Vec::new();
    let mut failures = Vec::new();
    let mut current = String::new();
    let mut in_failure = false;
    let mut text = String::new();
    let mut depth = 0i32;
    loop {
        match r.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == "testcase" => {
                let name = e
                    .try_get_attribute("name")
                    .unwrap()
                    .unwrap()
                    .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                    .unwrap()
                    .into_owned();
                current = name.clone();
                cases.push(name);
                depth += 1;
            }
            Event::Start(e) if e.name().as_ref() == "failure" => {
                in_failure = true;
                text.clear();
            }
            Event::Text(t) if in_failure => text.push_str(&t.xml10_content()),
            Event::GeneralRef(g) if in_failure => {
                if let Some(c) = g.resolve_char_ref().unwrap() {
                    text.push(c);
                    continue;
                }
                let name = g.into_inner();
                text.push_str(match name.as_ref() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "?",
                });
            }
            Event::End(e) if e.name().as_ref() == "failure" => {
                in_failure = false;
                failures.push((current.clone(), text.clone()));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(depth > 0);
    (cases, failures)
}

#[test]
fn check_junit_format_is_well_formed() {
    let (code, out, _) = check(&[&fx("errors.pcap"), "--format", "junit"]);
    assert_eq!(code, 1);
    let (cases, failures) = parse_junit(&out);
    assert_eq!(
        cases,
        [
            "no-failed-transfers",
            "no-incomplete-transfers",
            "no-failed-data-connections"
        ]
    );
    let names: Vec<&str> = failures.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(names, ["no-failed-transfers", "no-failed-data-connections"]);
    assert!(failures[0].1.contains("no-such-file.bin"));
    // The apostrophe in "server's" round-trips through escaping.
    assert!(failures[1].1.contains("server's SYN"), "{}", failures[1].1);
    // Hostile names from the wire: markup and control characters stay escaped.
    let mut f = Ftp::login(C, S);
    f.cmd("RETR <x>&\"]]>\x1b[2J.bin");
    f.reply("550 <nope> & \x07");
    let (_d, path) = write(&f.quit());
    let (code, out, _) = check(&[path.to_str().unwrap(), "--format", "junit"]);
    assert_eq!(code, 1);
    let (_, failures) = parse_junit(&out);
    assert!(
        failures[0].1.contains("<x>&\"]]>\\x1b[2J.bin"),
        "{}",
        failures[0].1
    );
    let (code, out, _) = check(&[&fx("passive.pcap"), "--format", "junit"]);
    assert_eq!(code, 0);
    let (cases, failures) = parse_junit(&out);
    assert_eq!(cases.len(), 3);
    assert!(failures.is_empty());
}

#[test]
fn check_github_format() {
    let (code, out, _) = check(&[&fx("errors.pcap"), "--format", "github"]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = out.lines().collect();
    let errors: Vec<&&str> = lines.iter().filter(|l| l.starts_with("::error ")).collect();
    assert_eq!(errors.len(), 4, "{out}");
    assert!(errors[0].starts_with("::error title=ftpflow check%3A no-failed-transfers::"));
    assert!(lines.last().unwrap().contains("FAILED"));
    // A file name with a newline and a percent sign cannot break the annotation.
    let mut f = Ftp::login(C, S);
    f.cmd("RETR 100%\rdone.bin");
    f.reply("550 no");
    let (_d, path) = write(&f.quit());
    let (_, out, _) = check(&[path.to_str().unwrap(), "--format", "github"]);
    let ann: Vec<&str> = out.lines().filter(|l| l.starts_with("::error")).collect();
    assert_eq!(ann.len(), 1, "{out}");
    assert!(ann[0].contains("100%25"), "{}", ann[0]);
    assert!(!ann[0].contains('\r'));
    let (code, out, _) = check(&[&fx("passive.pcap"), "--format", "github"]);
    assert_eq!(code, 0);
    assert!(!out.contains("::error"));
}
