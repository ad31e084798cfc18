//! Tests against ../shared (real captures with ground truth, and the public corpus).
//! They run when FTPFLOW_SHARED points at the shared folder and are skipped otherwise.

mod common;
use common::*;
use serde_json::Value;

fn ip_port(v: &Value) -> (Option<String>, Option<u64>) {
    let a = v.as_array().unwrap();
    (a[0].as_str().map(String::from), a[1].as_u64())
}

/// Whether our endpoint {"ip","port"} agrees with a ground-truth [ip, port] (nulls match anything).
fn endpoint_agrees(ours: &Value, truth: &Value) -> bool {
    if truth.is_null() {
        return true;
    }
    let (ip, port) = ip_port(truth);
    ip.is_none_or(|ip| ours["ip"] == ip.as_str()) && port.is_none_or(|p| ours["port"] == p)
}

#[test]
fn realcap_transfers_equal_ground_truth() {
    let Some(shared) = shared("the corpus tests") else {
        return;
    };
    let dir = shared.join("realcap");
    let truths = realcap_truths(&shared);
    let mut problems = Vec::new();
    let mut checked = 0;
    for truth_path in truths {
        let truth: Value =
            serde_json::from_str(&std::fs::read_to_string(&truth_path).unwrap()).unwrap();
        let capture = dir.join(truth["capture"]["file"].as_str().unwrap());
        let recs = json_records(&[capture.to_str().unwrap()]);
        let ours: Vec<&Value> = recs.iter().filter(|r| r["type"] == "session").collect();
        let unmatched: Vec<&Value> = recs
            .iter()
            .filter(|r| r["type"] == "unmatched_data")
            .collect();
        let mut used = vec![false; ours.len()];
        for ts in truth["sessions"].as_array().unwrap() {
            let sid = ts["id"].as_str().unwrap();
            let ctx = format!(
                "{}:{sid}",
                truth_path.file_name().unwrap().to_string_lossy()
            );
            // The session with the same control endpoints, first unused in start order.
            let mut candidates: Vec<usize> = (0..ours.len())
                .filter(|&i| {
                    !used[i]
                        && endpoint_agrees(&ours[i]["client"], &ts["control"]["client"])
                        && endpoint_agrees(&ours[i]["server"], &ts["control"]["server"])
                })
                .collect();
            candidates.sort_by(|&a, &b| {
                ours[a]["start"]
                    .as_f64()
                    .partial_cmp(&ours[b]["start"].as_f64())
                    .unwrap()
            });
            let Some(&i) = candidates.first() else {
                problems.push(format!("{ctx}: no session with control {}", ts["control"]));
                continue;
            };
            used[i] = true;
            let s = ours[i];
            if s["tls"] != ts["tls"] {
                problems.push(format!("{ctx}: tls {} != {}", s["tls"], ts["tls"]));
            }
            if ts["tls"] == true {
                // Commands are encrypted: the user and the transfer commands cannot be read
                // without the key log. Its data connections must still be shown, linked to it.
                let id = &s["id"];
                let linked: Vec<&&Value> =
                    unmatched.iter().filter(|u| &u["session"] == id).collect();
                let expected = ts["transfers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|t| !t["data_conn"].is_null())
                    .count();
                if linked.len() != expected {
                    problems.push(format!(
                        "{ctx}: {} data connections linked, ground truth has {expected}",
                        linked.len()
                    ));
                }
                for t in ts["transfers"].as_array().unwrap() {
                    let dc = &t["data_conn"];
                    if !linked.iter().any(|u| {
                        endpoint_agrees(&u["server"], &dc["server"])
                            && endpoint_agrees(&u["client"], &dc["client"])
                    }) {
                        problems.push(format!(
                            "{ctx}: no linked data connection for {} {}",
                            t["command"], dc
                        ));
                    }
                }
                checked += 1;
                continue;
            }
            if s["user"] != ts["user"] {
                problems.push(format!("{ctx}: user {} != {}", s["user"], ts["user"]));
            }
            let tt = ts["transfers"].as_array().unwrap();
            let ot = s["transfers"].as_array().unwrap();
            if tt.len() != ot.len() {
                problems.push(format!(
                    "{ctx}: {} transfers, ground truth has {}",
                    ot.len(),
                    tt.len()
                ));
            }
            for (k, (t, o)) in tt.iter().zip(ot).enumerate() {
                let c = format!("{ctx} transfer {k} ({} {})", t["command"], t["arg"]);
                for (ours_key, truth_key) in [
                    ("command", "command"),
                    ("arg", "arg"),
                    ("mode", "mode"),
                    ("final_code", "final_reply"),
                    ("kind", "kind"),
                    ("direction", "direction"),
                    ("rest", "rest"),
                ] {
                    if o[ours_key] != t[truth_key] {
                        problems.push(format!(
                            "{c}: {ours_key} {} != {}",
                            o[ours_key], t[truth_key]
                        ));
                    }
                }
                for key in ["bytes", "sha256", "complete"] {
                    if !t[key].is_null() && o[key] != t[key] {
                        problems.push(format!("{c}: {key} {} != {}", o[key], t[key]));
                    }
                }
                let dc = &t["data_conn"];
                let data_agrees = if dc.is_null() || o["data"].is_null() {
                    dc.is_null() == o["data"].is_null()
                } else {
                    o["data"]["opened_by"] == dc["opened_by"]
                        && endpoint_agrees(&o["data"]["client"], &dc["client"])
                        && endpoint_agrees(&o["data"]["server"], &dc["server"])
                };
                if !data_agrees {
                    problems.push(format!("{c}: data {} vs ground truth {}", o["data"], dc));
                }
                checked += 1;
            }
        }
        if used.iter().any(|u| !u) {
            problems.push(format!(
                "{}: sessions not in the ground truth: {}",
                truth_path.display(),
                used.iter().filter(|u| !**u).count()
            ));
        }
    }
    eprintln!(
        "realcap: {checked} transfers/sessions compared, {} problems",
        problems.len()
    );
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Runs ftpflow on one capture with a time limit; returns (exit code, stdout, stderr).
fn run_with_timeout(args: &[&str], limit: std::time::Duration) -> (i32, String, String) {
    use std::io::Read;
    let mut child = std::process::Command::new(bin())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).ok();
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).ok();
        s
    });
    let start = std::time::Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code().unwrap_or(-1);
        }
        if start.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            break -2;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    (code, reader.join().unwrap(), err_reader.join().unwrap())
}

fn endpoint_str(v: &Value) -> String {
    let ip = v["ip"].as_str().unwrap_or("");
    let port = v["port"].as_u64().unwrap_or(0);
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

#[test]
fn corpus_no_crash_and_announced_data_connections_are_linked() {
    let Some(shared) = shared("the corpus tests") else {
        return;
    };
    let corpus = shared.join("corpus");
    let manifest = std::fs::read_to_string(corpus.join("MANIFEST.tsv")).unwrap();
    let mut header: Vec<&str> = Vec::new();
    let mut problems = Vec::new();
    let (mut files, mut linked_total) = (0, 0);
    for (n, line) in manifest.lines().enumerate() {
        let cols: Vec<&str> = line.split('\t').collect();
        if n == 0 {
            header = cols;
            continue;
        }
        let col = |name: &str| cols[header.iter().position(|h| *h == name).unwrap()];
        let (path, name) = (corpus.join(col("local_path")), col("name"));
        files += 1;
        let (code, out, err) = run_with_timeout(
            &[
                "sessions",
                "--json",
                "--ftp-port",
                "2811",
                path.to_str().unwrap(),
            ],
            std::time::Duration::from_secs(60),
        );
        if code != 0 {
            problems.push(format!("{name}: exit {code}: {}", err.trim()));
            continue;
        }
        let recs: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        // Every data connection ftpflow linked to a transfer, as "a-b" endpoint pairs.
        let mut linked = std::collections::HashSet::new();
        for s in recs.iter().filter(|r| r["type"] == "session") {
            for t in s["transfers"].as_array().unwrap() {
                if !t["data"].is_null() {
                    let (c, sv) = (
                        endpoint_str(&t["data"]["client"]),
                        endpoint_str(&t["data"]["server"]),
                    );
                    linked.insert(format!("{c} {sv}"));
                    linked.insert(format!("{sv} {c}"));
                }
            }
        }
        // A data connection opened for a command the server refused served no transfer (the
        // realcap ground truth says so too): it must still be tied to its session.
        for u in recs
            .iter()
            .filter(|r| r["type"] == "unmatched_data" && !r["session"].is_null())
        {
            if u["reason"].as_str().is_some_and(|r| r.contains("refused")) {
                let (c, sv) = (endpoint_str(&u["client"]), endpoint_str(&u["server"]));
                linked.insert(format!("{c} {sv}"));
                linked.insert(format!("{sv} {c}"));
            }
        }
        let reference = corpus
            .join("tshark_reference")
            .join(format!("{name}.ftpdata.tsv"));
        let Ok(tsv) = std::fs::read_to_string(&reference) else {
            continue;
        };
        let mut rows = tsv.lines();
        let h: Vec<&str> = rows.next().unwrap_or("").split('\t').collect();
        let idx = |k: &str| h.iter().position(|x| *x == k).unwrap();
        for row in rows {
            let c: Vec<&str> = row.split('\t').collect();
            if c.get(idx("announced_by")).is_none_or(|a| a.is_empty()) {
                continue;
            }
            let key = format!("{} {}", c[idx("initiator")], c[idx("responder")]);
            if linked.contains(&key) {
                linked_total += 1;
            } else {
                problems.push(format!(
                    "{name}: data connection {key} ({}) is not linked to a transfer",
                    c[idx("announced_by")]
                ));
            }
        }
    }
    eprintln!(
        "corpus: {files} captures, {linked_total} announced data connections linked, {} problems",
        problems.len()
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
