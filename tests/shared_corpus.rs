//! Tests against ../shared (real captures with ground truth, and the public corpus).
//! They run when FTPFLOW_SHARED points at the shared folder and are skipped otherwise.

mod common;
use common::*;
use serde_json::Value;
use std::path::PathBuf;

fn shared() -> Option<PathBuf> {
    match std::env::var_os("FTPFLOW_SHARED") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            eprintln!("skipped: FTPFLOW_SHARED is not set (point it at the shared folder to run the corpus tests)");
            None
        }
    }
}

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
    let Some(shared) = shared() else { return };
    let dir = shared.join("realcap");
    let mut truths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    truths.sort();
    assert!(!truths.is_empty());
    let mut problems = Vec::new();
    let mut checked = 0;
    for truth_path in truths {
        let truth: Value = serde_json::from_str(&std::fs::read_to_string(&truth_path).unwrap()).unwrap();
        let capture = dir.join(truth["capture"]["file"].as_str().unwrap());
        let recs = json_records(&[capture.to_str().unwrap()]);
        let ours: Vec<&Value> = recs.iter().filter(|r| r["type"] == "session").collect();
        let unmatched: Vec<&Value> = recs.iter().filter(|r| r["type"] == "unmatched_data").collect();
        let mut used = vec![false; ours.len()];
        for ts in truth["sessions"].as_array().unwrap() {
            let sid = ts["id"].as_str().unwrap();
            let ctx = format!("{}:{sid}", truth_path.file_name().unwrap().to_string_lossy());
            // The session with the same control endpoints, first unused in start order.
            let mut candidates: Vec<usize> = (0..ours.len())
                .filter(|&i| {
                    !used[i]
                        && endpoint_agrees(&ours[i]["client"], &ts["control"]["client"])
                        && endpoint_agrees(&ours[i]["server"], &ts["control"]["server"])
                })
                .collect();
            candidates.sort_by(|&a, &b| ours[a]["start"].as_f64().partial_cmp(&ours[b]["start"].as_f64()).unwrap());
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
                let linked: Vec<&&Value> = unmatched.iter().filter(|u| &u["session"] == id).collect();
                let expected = ts["transfers"].as_array().unwrap().iter().filter(|t| !t["data_conn"].is_null()).count();
                if linked.len() != expected {
                    problems.push(format!("{ctx}: {} data connections linked, ground truth has {expected}", linked.len()));
                }
                for t in ts["transfers"].as_array().unwrap() {
                    let dc = &t["data_conn"];
                    if !linked.iter().any(|u| endpoint_agrees(&u["server"], &dc["server"]) && endpoint_agrees(&u["client"], &dc["client"])) {
                        problems.push(format!("{ctx}: no linked data connection for {} {}", t["command"], dc));
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
                problems.push(format!("{ctx}: {} transfers, ground truth has {}", ot.len(), tt.len()));
            }
            for (k, (t, o)) in tt.iter().zip(ot).enumerate() {
                let c = format!("{ctx} transfer {k} ({} {})", t["command"], t["arg"]);
                for (ours_key, truth_key) in [("command", "command"), ("arg", "arg"), ("mode", "mode"), ("final_code", "final_reply"), ("kind", "kind"), ("direction", "direction"), ("rest", "rest")] {
                    if o[ours_key] != t[truth_key] {
                        problems.push(format!("{c}: {ours_key} {} != {}", o[ours_key], t[truth_key]));
                    }
                }
                for key in ["bytes", "sha256", "complete"] {
                    if !t[key].is_null() && o[key] != t[key] {
                        problems.push(format!("{c}: {key} {} != {}", o[key], t[key]));
                    }
                }
                let dc = &t["data_conn"];
                if dc.is_null() != o["data"].is_null() {
                    problems.push(format!("{c}: data {} vs ground truth {}", o["data"], dc));
                } else if !dc.is_null() {
                    if o["data"]["opened_by"] != dc["opened_by"]
                        || !endpoint_agrees(&o["data"]["client"], &dc["client"])
                        || !endpoint_agrees(&o["data"]["server"], &dc["server"])
                    {
                        problems.push(format!("{c}: data {} vs ground truth {}", o["data"], dc));
                    }
                }
                checked += 1;
            }
        }
        if used.iter().any(|u| !u) {
            problems.push(format!("{}: sessions not in the ground truth: {}", truth_path.display(), used.iter().filter(|u| !**u).count()));
        }
    }
    eprintln!("realcap: {checked} transfers/sessions compared, {} problems", problems.len());
    assert!(problems.is_empty(), "{} mismatches:\n{}", problems.len(), problems.join("\n"));
}
