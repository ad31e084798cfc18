//! Every capture in fixtures/ (recorded with real servers and clients by fixtures/record.sh)
//! against the ground truth its client script wrote beside it (NAME.truth.json).

mod common;
use common::*;
use serde_json::Value;

#[test]
fn fixtures_equal_their_ground_truth() {
    let mut truths: Vec<_> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".truth.json"))
        .collect();
    truths.sort();
    assert!(!truths.is_empty(), "no fixtures/*.truth.json");
    let mut problems = Vec::new();
    let mut compared = 0;
    for tp in &truths {
        let truth: Value = serde_json::from_str(&std::fs::read_to_string(tp).unwrap()).unwrap();
        let capture = fixtures().join(truth["capture"].as_str().unwrap());
        let recs = json_records(&[capture.to_str().unwrap()]);
        let mut ours: Vec<&Value> = recs.iter().filter(|r| r["type"] == "session").collect();
        ours.sort_by(|a, b| {
            a["start"]
                .as_f64()
                .partial_cmp(&b["start"].as_f64())
                .unwrap()
        });
        let name = tp.file_name().unwrap().to_string_lossy().to_string();
        let ts = truth["sessions"].as_array().unwrap();
        if ts.len() != ours.len() {
            problems.push(format!(
                "{name}: {} sessions, truth has {}",
                ours.len(),
                ts.len()
            ));
            continue;
        }
        for (k, (t, o)) in ts.iter().zip(&ours).enumerate() {
            let ctx = format!("{name} session {k}");
            if !t["tls"].is_null() && o["tls"] != t["tls"] {
                problems.push(format!("{ctx}: tls {} != {}", o["tls"], t["tls"]));
            }
            if t["tls"] == true {
                continue;
            }
            if !t["user"].is_null() && o["user"] != t["user"] {
                problems.push(format!("{ctx}: user {} != {}", o["user"], t["user"]));
            }
            let tt = t["transfers"].as_array().unwrap();
            let ot = o["transfers"].as_array().unwrap();
            if tt.len() != ot.len() {
                problems.push(format!(
                    "{ctx}: {} transfers, truth has {}",
                    ot.len(),
                    tt.len()
                ));
                continue;
            }
            for (j, (tx, ox)) in tt.iter().zip(ot).enumerate() {
                for key in [
                    "command",
                    "arg",
                    "mode",
                    "direction",
                    "bytes",
                    "sha256",
                    "final_code",
                    "complete",
                    "rest",
                ] {
                    if tx.get(key).is_some_and(|v| !v.is_null()) && ox[key] != tx[key] {
                        problems.push(format!(
                            "{ctx} transfer {j}: {key} {} != {}",
                            ox[key], tx[key]
                        ));
                    }
                }
                compared += 1;
            }
        }
    }
    eprintln!(
        "fixtures: {} captures, {compared} transfers compared",
        truths.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
