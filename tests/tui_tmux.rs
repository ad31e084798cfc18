//! End to end: the real binary in a real terminal (tmux), driven by keys.
//! Skipped with a notice when tmux is not installed.

mod common;
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until the pane shows `needle`; returns the pane.
fn wait_for(session: &str, needle: &str) -> String {
    let start = Instant::now();
    loop {
        let pane = tmux(&["capture-pane", "-p", "-t", session]);
        if pane.contains(needle) {
            return pane;
        }
        if start.elapsed() > Duration::from_secs(20) {
            panic!("timed out waiting for {needle:?}; the pane shows:\n{pane}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn opens_navigates_and_restores_the_terminal() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("skipped: tmux is not installed (apt-get install tmux)");
        return;
    }
    let session = format!("ftpflow-test-{}", std::process::id());
    let fixture = fixtures().join("active.pcap");
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "140",
        "-y",
        "40",
        "bash --norc --noprofile",
    ]);
    let run = format!(
        "{} {} ; echo EXIT=$? ; stty -a | grep -q -- -icanon && echo TTY-RAW || echo TTY-COOKED",
        bin().display(),
        fixture.display()
    );
    tmux(&["send-keys", "-t", &session, &run, "Enter"]);
    let result = std::panic::catch_unwind(|| {
        let pane = wait_for(&session, "Sessions (1)");
        assert!(pane.contains("alice"), "{pane}");
        tmux(&["send-keys", "-t", &session, "Enter"]);
        let pane = wait_for(&session, "FTP session 1:");
        assert!(
            pane.contains("FTP server") && pane.contains("USER alice"),
            "{pane}"
        );
        // j moves the selection; the detail pane follows it.
        tmux(&["send-keys", "-t", &session, "j", "j"]);
        wait_for(&session, "row 3 of");
        tmux(&["send-keys", "-t", &session, "?"]);
        wait_for(&session, "Keys");
        tmux(&["send-keys", "-t", &session, "x"]);
        tmux(&["send-keys", "-t", &session, "q"]);
        wait_for(&session, "Sessions (1)");
        tmux(&["send-keys", "-t", &session, "q"]);
        wait_for(&session, "EXIT=0\n");
        // Canonical mode is back on after the TUI left: the terminal was restored.
        let pane = wait_for(&session, "TTY-COOKED\n");
        assert!(!pane.lines().any(|l| l.trim() == "TTY-RAW"), "{pane}");
        assert!(
            !pane.contains("Sessions (1)"),
            "the alternate screen was left: {pane}"
        );
    });
    tmux(&["kill-session", "-t", &session]);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
