//! `ftpflow extract`: the real binary on fixtures/, on crafted captures (hostile names, gaps,
//! many concurrent data connections) and, with FTPFLOW_SHARED, on ../shared/realcap.

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

struct Ftp {
    net: Net,
    ctl: Conn,
    next_port: u16,
}

impl Ftp {
    fn login(net: Net, client: &str, server: &str) -> Ftp {
        let mut net = net;
        let mut ctl = net.connect(sa(client), sa(server));
        net.server_sends(&mut ctl, b"220 (vsFTPd 3.0.3)\r\n");
        net.client_sends(&mut ctl, b"USER alice\r\n");
        net.server_sends(&mut ctl, b"331 Please specify the password.\r\n");
        net.client_sends(&mut ctl, b"PASS secret\r\n");
        net.server_sends(&mut ctl, b"230 Login successful.\r\n");
        Ftp {
            net,
            ctl,
            next_port: 30000,
        }
    }
    fn cmd(&mut self, line: &[u8]) {
        let mut l = line.to_vec();
        l.extend_from_slice(b"\r\n");
        self.net.client_sends(&mut self.ctl, &l);
    }
    fn reply(&mut self, line: &str) {
        self.net
            .server_sends(&mut self.ctl, format!("{line}\r\n").as_bytes());
    }
    /// PASV, then the data connection; returns it (the client opened it).
    fn pasv(&mut self) -> Conn {
        let port = self.next_port;
        self.next_port += 1;
        let ip = self.ctl.server.ip().to_string().replace('.', ",");
        self.cmd(b"PASV");
        self.reply(&format!(
            "227 Entering Passive Mode ({ip},{},{}).",
            port >> 8,
            port & 255
        ));
        let client = SocketAddr::new(self.ctl.client.ip(), 50000 + port % 10000);
        let server = SocketAddr::new(self.ctl.server.ip(), port);
        self.net.connect(client, server)
    }
    /// A whole passive download of `content` for `RETR arg`.
    fn retr(&mut self, arg: &[u8], content: &[u8]) {
        let mut d = self.pasv();
        let mut line = b"RETR ".to_vec();
        line.extend_from_slice(arg);
        self.cmd(&line);
        self.reply("150 Opening BINARY mode data connection.");
        self.net.server_streams(&mut d, content, 1448);
        self.net.close_by_server(&mut d);
        self.reply("226 Transfer complete.");
    }
    fn quit(mut self) -> Net {
        self.cmd(b"QUIT");
        self.reply("221 Goodbye.");
        self.net.close_by_server(&mut self.ctl);
        self.net
    }
}

use std::net::SocketAddr;

/// Runs `ftpflow extract` on captures into `out` and returns the manifest entries.
fn extract(captures: &[&Path], out: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["extract".to_string()];
    args.extend(captures.iter().map(|c| c.to_str().unwrap().to_string()));
    args.extend(["-o".to_string(), out.to_str().unwrap().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = run(&args);
    assert_eq!(code, 0, "ftpflow extract failed: {err}");
    assert!(err.contains("extracted"), "no summary on stderr: {err}");
    manifest(out)
}

fn manifest(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("manifest.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l}: {e}")))
        .collect()
}

/// Every regular file under `dir`, relative, with `/`.
fn files_under(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap();
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.insert(parts.join("/"));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

/// The files on disk are exactly the manifest's (plus the manifest): nothing left in
/// `.partial`, nothing unlisted.
fn assert_disk_is_manifest(out: &Path, entries: &[Value]) {
    let mut listed: BTreeSet<String> = entries
        .iter()
        .filter_map(|e| e["disk"].as_str().map(String::from))
        .collect();
    listed.insert("manifest.jsonl".into());
    assert_eq!(files_under(out), listed);
    assert!(!out.join(".partial").exists());
}

/// The transferred bytes of an entry's file: from its offset on.
fn disk_bytes(out: &Path, e: &Value) -> Vec<u8> {
    let all = std::fs::read(out.join(e["disk"].as_str().unwrap())).unwrap();
    let off = e["offset"].as_u64().unwrap() as usize;
    all[off..].to_vec()
}

/// Every transfer of a ground truth (fixtures/ or realcap format) with a known SHA-256 has a
/// file whose bytes hash to it; TLS sessions' data is listed without a file.
/// Returns how many transfers were compared.
fn check_against_truth(
    truth: &Value,
    out: &Path,
    entries: &[Value],
    problems: &mut Vec<String>,
) -> usize {
    let mut compared = 0;
    let mut used = vec![false; entries.len()];
    let name = truth["capture"]
        .as_str()
        .or(truth["capture"]["file"].as_str())
        .unwrap()
        .to_string();
    for (k, s) in truth["sessions"].as_array().unwrap().iter().enumerate() {
        let transfers = s["transfers"].as_array().unwrap();
        if s["tls"] == true {
            let n = transfers.len();
            let tls = entries
                .iter()
                .filter(|e| {
                    e["disk"].is_null() && e["reason"].as_str().is_some_and(|r| r.contains("TLS"))
                })
                .count();
            if tls < n {
                problems.push(format!("{name} session {k}: {tls} TLS entries for {n}"));
            }
            compared += n;
            continue;
        }
        for t in transfers {
            let Some(sha) = t["sha256"].as_str() else {
                continue;
            };
            compared += 1;
            let found = (0..entries.len()).find(|&i| {
                let e = &entries[i];
                !used[i]
                    && e["command"] == t["command"]
                    && (t["command"] == "STOU" || e["path"] == t["arg"])
                    && e["direction"] == t["direction"]
                    && !e["disk"].is_null()
                    && sha256_hex(&disk_bytes(out, e)) == sha
            });
            match found {
                Some(i) => {
                    used[i] = true;
                    let e = &entries[i];
                    if e["sha256"] != sha || e["rest"] != t["rest"] {
                        problems.push(format!("{name}: manifest disagrees: {e}"));
                    }
                    if let Some(b) = t["bytes"].as_u64()
                        && disk_bytes(out, e).len() as u64 != b
                    {
                        problems.push(format!("{name}: {} bytes on disk, truth {b}", e["disk"]));
                    }
                }
                None => problems.push(format!(
                    "{name} session {k}: no file with the truth's SHA-256 for {} {} ({sha})",
                    t["command"], t["arg"]
                )),
            }
        }
    }
    compared
}

#[test]
fn fixtures_extract_with_their_ground_truth_hashes() {
    let mut truths: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".truth.json"))
        .collect();
    truths.sort();
    let mut problems = Vec::new();
    let mut compared = 0;
    for tp in &truths {
        let truth: Value = serde_json::from_str(&std::fs::read_to_string(tp).unwrap()).unwrap();
        let capture = fixtures().join(truth["capture"].as_str().unwrap());
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let entries = extract(&[&capture], &out, &["--listings"]);
        assert_disk_is_manifest(&out, &entries);
        compared += check_against_truth(&truth, &out, &entries, &mut problems);
    }
    eprintln!("fixtures: {compared} transfers compared");
    assert!(compared >= 40, "only {compared} transfers compared");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn passive_fixture_names_and_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let entries = extract(&[&fixtures().join("passive.pcap")], &out, &[]);
    // No listings without --listings.
    assert!(entries.iter().all(|e| e["kind"] == "file"), "{entries:?}");
    let spaced: Vec<&Value> = entries
        .iter()
        .filter(|e| e["path"] == "my file.txt")
        .collect();
    assert_eq!(spaced.len(), 2, "RETR 'my file.txt' by ftplib and curl");
    // Two sessions fetched the same name: each in its own session directory.
    let disks: BTreeSet<&str> = spaced.iter().map(|e| e["disk"].as_str().unwrap()).collect();
    assert_eq!(
        disks,
        BTreeSet::from(["session-1/files/my file.txt", "session-2/files/my file.txt"])
    );
    let uploads: Vec<&Value> = entries
        .iter()
        .filter(|e| e["direction"] == "upload")
        .collect();
    assert_eq!(uploads.len(), 3);
    for e in &entries {
        assert_eq!(
            e["sha256"].as_str().unwrap(),
            sha256_hex(&disk_bytes(&out, e))
        );
        assert_eq!(e["complete"], true);
        assert_eq!(e["missing_bytes"], 0);
    }
}

#[test]
fn errors_fixture_rest_offset_and_aborted_retr() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let entries = extract(&[&fixtures().join("errors.pcap")], &out, &[]);
    let rest: Vec<&Value> = entries.iter().filter(|e| e["rest"] == 1000).collect();
    assert_eq!(rest.len(), 1);
    let e = rest[0];
    assert_eq!(e["offset"], 1000);
    assert_eq!(e["bytes"], 101_400);
    let all = std::fs::read(out.join(e["disk"].as_str().unwrap())).unwrap();
    // The resumed part sits where it belongs in big.bin (102400 bytes), a hole before it.
    assert_eq!(all.len(), 102_400);
    assert!(all[..1000].iter().all(|&b| b == 0));
    assert_eq!(
        sha256_hex(&all[1000..]),
        "5ad38a7c3f8598585f1aaaea727e7ac72020721cd1b20a8ecac8ddfa14bdf9ed"
    );
    // The aborted RETR: written, marked incomplete, with its final code.
    let aborted: Vec<&Value> = entries
        .iter()
        .filter(|e| e["path"] == "large.bin" && e["session"] == 1)
        .collect();
    assert_eq!(aborted.len(), 1);
    assert_eq!(aborted[0]["complete"], false);
    assert_eq!(aborted[0]["final_code"], 426);
    assert_eq!(
        std::fs::metadata(out.join(aborted[0]["disk"].as_str().unwrap()))
            .unwrap()
            .len(),
        262_144
    );
    // 425 and 550: listed, no file.
    let none: Vec<&Value> = entries.iter().filter(|e| e["disk"].is_null()).collect();
    assert_eq!(none.len(), 2);
    assert!(none.iter().all(|e| e["reason"] == "no data connection"));
    assert_disk_is_manifest(&out, &entries);
}

#[test]
fn hostile_names_stay_inside_dir_and_never_overwrite() {
    let long = "L".repeat(500);
    let names: Vec<&[u8]> = vec![
        b"../../etc/passwd",
        b"/abs/path",
        b"a\x00b",
        b"CON",
        b"..\\win",
        long.as_bytes(),
        b"dup.txt",
        b"dup.txt",
        b"../../../../../../../../../../tmp/ftpflow-escape-test",
        b"..",
        b"\x1b[31mred\x1b[0m",
        b"-rf",
        b"sub/dir/dup.txt",
    ];
    let mut f = Ftp::login(Net::default(), "10.0.0.2:40000", "10.0.0.1:21");
    let contents: Vec<Vec<u8>> = (0..names.len())
        .map(|i| bytes(100 + i as u64, 500 + 97 * i))
        .collect();
    for (n, c) in names.iter().zip(&contents) {
        f.retr(n, c);
    }
    let net = f.quit();
    let tmp = tempfile::tempdir().unwrap();
    let cap = tmp.path().join("hostile.pcap");
    net.write(&cap);
    let out = tmp.path().join("out");
    // A file already in DIR under a name the capture will use must survive.
    std::fs::create_dir_all(out.join("session-1/files")).unwrap();
    std::fs::write(out.join("session-1/files/dup.txt"), b"precious").unwrap();
    let entries = extract(&[&cap], &out, &[]);
    assert_eq!(entries.len(), names.len());
    assert_eq!(
        std::fs::read(out.join("session-1/files/dup.txt")).unwrap(),
        b"precious"
    );
    // Each transfer has its own file with exactly its bytes.
    let mut disks = BTreeSet::new();
    for (e, c) in entries.iter().zip(&contents) {
        let disk = e["disk"].as_str().unwrap();
        assert!(disks.insert(disk.to_string()), "{disk} used twice");
        assert!(disk.starts_with("session-1/files/"), "{disk}");
        let leaf = &disk["session-1/files/".len()..];
        assert!(!leaf.contains(['/', '\\', '\0']) && leaf != ".." && leaf.len() <= 210);
        assert_eq!(std::fs::read(out.join(disk)).unwrap(), *c, "{disk}");
    }
    // The raw server path is kept in the manifest, JSON-escaped.
    assert_eq!(entries[2]["path"], "a\u{0}b");
    assert_eq!(entries[0]["disk"], "session-1/files/passwd");
    assert_eq!(entries[1]["disk"], "session-1/files/path");
    assert_eq!(entries[2]["disk"], "session-1/files/a_b");
    assert_eq!(entries[3]["disk"], "session-1/files/_CON");
    assert_eq!(entries[4]["disk"], "session-1/files/win");
    assert_eq!(entries[6]["disk"], "session-1/files/dup.txt.1");
    assert_eq!(entries[7]["disk"], "session-1/files/dup.txt.2");
    assert_eq!(entries[12]["disk"], "session-1/files/dup.txt.3");
    assert_eq!(entries[11]["disk"], "session-1/files/_rf");
    // Nothing was written outside DIR: the temp dir holds only the capture and DIR.
    let outside: BTreeSet<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        outside,
        BTreeSet::from(["hostile.pcap".into(), "out".into()])
    );
    assert!(!Path::new("/tmp/ftpflow-escape-test").exists());
    assert!(!Path::new("/abs/path").exists());
    let mut listed: BTreeSet<String> = disks;
    listed.insert("manifest.jsonl".into());
    listed.insert("session-1/files/dup.txt".into());
    assert_eq!(files_under(&out), listed);
}

#[test]
fn a_gap_leaves_a_hole_and_marks_the_file_incomplete() {
    let file = bytes(7, 4000);
    let mut f = Ftp::login(Net::default(), "10.0.0.2:40000", "10.0.0.1:21");
    let mut d = f.pasv();
    f.cmd(b"RETR lossy.bin");
    f.reply("150 Opening BINARY mode data connection for lossy.bin (4000 bytes).");
    let base = d.sseq;
    f.net
        .segment(d.server, d.client, base, d.cseq, ACK, &file[..1000]);
    // Bytes 1000..2000 were never captured.
    f.net
        .segment(d.server, d.client, base + 2000, d.cseq, ACK, &file[2000..]);
    d.sseq = base + 4000;
    f.net.close_by_server(&mut d);
    f.reply("226 Transfer complete.");
    let tmp = tempfile::tempdir().unwrap();
    let cap = tmp.path().join("gap.pcap");
    f.quit().write(&cap);
    let out = tmp.path().join("out");
    let entries = extract(&[&cap], &out, &[]);
    let e = &entries[0];
    assert_eq!(e["complete"], false);
    assert_eq!(e["missing_bytes"], 1000);
    assert_eq!(e["bytes"], 3000);
    let on_disk = std::fs::read(out.join(e["disk"].as_str().unwrap())).unwrap();
    let mut want = file.clone();
    want[1000..2000].fill(0);
    assert_eq!(on_disk, want);
    let mut captured = file[..1000].to_vec();
    captured.extend_from_slice(&file[2000..]);
    assert_eq!(e["sha256"], sha256_hex(&captured));
}

#[test]
fn many_concurrent_data_connections() {
    // 150 sessions whose downloads interleave packet by packet: more than the open-file bound.
    let n = 150usize;
    let mut net = Net::default();
    let mut sessions = Vec::new();
    for i in 0..n {
        let client = format!("10.1.{}.{}:40000", i / 200, i % 200 + 2);
        let mut f = Ftp::login(net, &client, "10.0.0.1:21");
        f.next_port = 30000 + i as u16;
        let d = f.pasv();
        f.cmd(format!("RETR file{i}.bin").as_bytes());
        f.reply("150 Opening BINARY mode data connection.");
        net = std::mem::take(&mut f.net);
        sessions.push((f, d, bytes(1000 + i as u64, 5000)));
    }
    for round in 0..5 {
        for (_, d, content) in sessions.iter_mut() {
            net.server_sends(d, &content[round * 1000..(round + 1) * 1000]);
        }
    }
    for (mut f, mut d, _) in sessions {
        net.close_by_server(&mut d);
        f.net = net;
        f.reply("226 Transfer complete.");
        net = f.quit();
    }
    let tmp = tempfile::tempdir().unwrap();
    let cap = tmp.path().join("many.pcap");
    net.write(&cap);
    let out = tmp.path().join("out");
    let entries = extract(&[&cap], &out, &[]);
    assert_eq!(entries.len(), n);
    for e in &entries {
        let name = e["path"].as_str().unwrap();
        let i: u64 = name["file".len()..name.len() - 4].parse().unwrap();
        assert_eq!(
            std::fs::read(out.join(e["disk"].as_str().unwrap())).unwrap(),
            bytes(1000 + i, 5000),
            "{name}"
        );
    }
    assert_disk_is_manifest(&out, &entries);
}

#[test]
fn stou_names_come_from_the_reply() {
    let mut f = Ftp::login(Net::default(), "10.0.0.2:40000", "10.0.0.1:21");
    let a = bytes(11, 300);
    let b = bytes(12, 400);
    for (reply, content) in [("150 FILE: unique.7", &a), ("150 Ok to send data.", &b)] {
        let mut d = f.pasv();
        f.cmd(b"STOU");
        f.reply(reply);
        f.net.client_streams(&mut d, content, 1448);
        f.net.close_by_client(&mut d);
        f.reply("226 Transfer complete.");
    }
    let tmp = tempfile::tempdir().unwrap();
    let cap = tmp.path().join("stou.pcap");
    f.quit().write(&cap);
    let out = tmp.path().join("out");
    let entries = extract(&[&cap], &out, &[]);
    assert_eq!(entries[0]["path"], "unique.7");
    assert_eq!(entries[0]["disk"], "session-1/files/unique.7");
    assert_eq!(entries[0]["direction"], "upload");
    assert_eq!(entries[1]["path"], Value::Null);
    let generated = entries[1]["disk"].as_str().unwrap();
    assert!(
        generated.starts_with("session-1/files/STOU-"),
        "{generated}"
    );
    assert_eq!(
        std::fs::read(out.join(entries[0]["disk"].as_str().unwrap())).unwrap(),
        a
    );
    assert_eq!(std::fs::read(out.join(generated)).unwrap(), b);
}

#[test]
fn session_and_name_filters() {
    let tmp = tempfile::tempdir().unwrap();
    let passive = fixtures().join("passive.pcap");
    let out = tmp.path().join("s2");
    let entries = extract(&[&passive], &out, &["--session", "2", "--listings"]);
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e["session"] == 2));
    assert_disk_is_manifest(&out, &entries);
    let out = tmp.path().join("glob");
    let entries = extract(&[&passive], &out, &["--filter", "upload*.[bt]*"]);
    let paths: BTreeSet<&str> = entries
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        BTreeSet::from(["upload.bin", "upload-curl.txt", "upload-lftp.bin"])
    );
    assert_disk_is_manifest(&out, &entries);
}

#[test]
fn unmatched_data_is_listed_and_kept_on_request() {
    let mut f = Ftp::login(Net::default(), "10.0.0.2:40000", "10.0.0.1:21");
    f.retr(b"a.bin", b"claimed");
    let mut net = f.quit();
    let mut orphan = net.connect(sa("10.0.0.9:20"), sa("10.0.0.3:50000"));
    net.client_sends(&mut orphan, b"orphan bytes");
    net.close_by_client(&mut orphan);
    let tmp = tempfile::tempdir().unwrap();
    let cap = tmp.path().join("u.pcap");
    net.write(&cap);
    let out = tmp.path().join("plain");
    let entries = extract(&[&cap], &out, &[]);
    let u: Vec<&Value> = entries
        .iter()
        .filter(|e| e["kind"] == "unmatched")
        .collect();
    assert_eq!(u.len(), 1);
    assert_eq!(u[0]["disk"], Value::Null);
    assert_eq!(u[0]["bytes"], 12);
    assert_disk_is_manifest(&out, &entries);
    let out = tmp.path().join("kept");
    let entries = extract(&[&cap], &out, &["--unmatched"]);
    let u: Vec<&Value> = entries
        .iter()
        .filter(|e| e["kind"] == "unmatched")
        .collect();
    let disk = u[0]["disk"].as_str().unwrap();
    assert!(disk.starts_with("unmatched/conn-"), "{disk}");
    assert_eq!(std::fs::read(out.join(disk)).unwrap(), b"orphan bytes");
    assert_disk_is_manifest(&out, &entries);
}

#[test]
fn unusable_input_and_unwritable_output_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.pcap");
    std::fs::write(&bad, b"not a capture at all").unwrap();
    let out = tmp.path().join("out");
    let passive = fixtures().join("passive.pcap");
    let (code, _, err) = run(&[
        "extract",
        bad.to_str().unwrap(),
        passive.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.pcap"), "{err}");
    // The usable capture was still extracted.
    assert!(manifest(&out).len() >= 5);
    // An existing manifest is never overwritten.
    let (code, _, err) = run(&[
        "extract",
        passive.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("manifest.jsonl"), "{err}");
    // DIR is a file.
    let (code, _, err) = run(&[
        "extract",
        passive.to_str().unwrap(),
        "-o",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    // A bad glob.
    let (code, _, err) = run(&[
        "extract",
        passive.to_str().unwrap(),
        "-o",
        tmp.path().join("o2").to_str().unwrap(),
        "--filter",
        "[abc",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("unclosed"), "{err}");
}

#[test]
fn realcap_files_extract_with_the_ground_truth_sha256() {
    let Some(shared) = shared("the realcap extraction test") else {
        return;
    };
    let dir = shared.join("realcap");
    let truths = realcap_truths(&shared);
    let mut problems = Vec::new();
    let (mut files, mut compared) = (0, 0);
    for tp in truths {
        let truth: Value = serde_json::from_str(&std::fs::read_to_string(&tp).unwrap()).unwrap();
        let capture = dir.join(truth["capture"]["file"].as_str().unwrap());
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let entries = extract(&[&capture], &out, &["--listings"]);
        assert_disk_is_manifest(&out, &entries);
        compared += check_against_truth(&truth, &out, &entries, &mut problems);
        files += entries.iter().filter(|e| !e["disk"].is_null()).count();
    }
    eprintln!(
        "realcap: {files} files extracted, {compared} ground-truth transfers compared, {} problems",
        problems.len()
    );
    assert!(compared > 0);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
