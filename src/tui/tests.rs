//! The whole UI driven by scripted input over ratatui's TestBackend, with snapshots.

use super::app::{App, Effect, Msg, Screen};
use super::ui;
use crate::analyzer::{AnalyzerConfig, analyse_files};
use crate::session::Collect;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::path::PathBuf;

/// Relative to the package root (the tests' working directory), so that snapshots do not
/// depend on where the repository is checked out.
fn fixture(name: &str) -> PathBuf {
    PathBuf::from("fixtures").join(name)
}

/// An app fed with everything ftpflow found in the given fixtures, as the runner would.
fn app_with(names: &[&str]) -> App {
    let mut sink = Collect::default();
    let paths: Vec<PathBuf> = names.iter().map(|n| fixture(n)).collect();
    let (summary, errors) = analyse_files(
        &paths,
        super::tui_config(AnalyzerConfig::default()),
        &mut sink,
        &mut |_, _| {},
    );
    assert!(errors.is_empty());
    let mut app = App::default();
    for s in sink.sessions {
        app.update(Msg::Session(Box::new(s)));
    }
    for u in sink.unmatched {
        app.update(Msg::Unmatched(Box::new(u)));
    }
    app.update(Msg::Done {
        summary: Box::new(summary),
        errors: vec![],
    });
    app
}

fn key(app: &mut App, code: KeyCode) -> Effect {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn keys(app: &mut App, s: &str) {
    for c in s.chars() {
        key(app, KeyCode::Char(c));
    }
}

/// Draws the app on a test terminal and returns the screen as text.
fn screen(app: &mut App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| ui::draw(f, app)).unwrap();
    // The screen as lines of text, trailing spaces removed, for readable snapshots.
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn session_list_shows_totals_and_every_session() {
    let mut app = app_with(&["passive.pcap", "errors.pcap"]);
    let s = screen(&mut app, 140, 16);
    insta::assert_snapshot!("list", s);
    assert!(s.contains("6 sessions") || s.contains("sessions"));
}

#[test]
fn sort_reverse_and_filter() {
    let mut app = app_with(&["passive.pcap", "errors.pcap"]);
    // Sort by bytes, largest first.
    for _ in 0..8 {
        key(&mut app, KeyCode::Right);
    }
    assert_eq!(app.list.sort, super::app::SortKey::Bytes);
    key(&mut app, KeyCode::Char('r'));
    let order: Vec<u64> = app
        .visible()
        .iter()
        .map(|&i| app.sessions[i].transfer_bytes())
        .collect();
    assert!(order.windows(2).all(|w| w[0] >= w[1]), "{order:?}");
    insta::assert_snapshot!("sorted_by_bytes_desc", screen(&mut app, 140, 16));
    // Filter on a file name only one session transferred.
    key(&mut app, KeyCode::Char('/'));
    keys(&mut app, "upload.bin");
    let s = screen(&mut app, 140, 16);
    insta::assert_snapshot!("filter_editing", s);
    key(&mut app, KeyCode::Enter);
    assert!(!app.list.editing_filter);
    let visible = app.visible();
    assert!(!visible.is_empty());
    for i in visible {
        let sess = &app.sessions[i];
        assert!(
            sess.transfers
                .iter()
                .any(|t| t.arg.as_deref() == Some("upload.bin"))
        );
    }
    // Esc clears the filter, a second Esc quits.
    assert_eq!(key(&mut app, KeyCode::Esc), Effect::None);
    assert!(app.list.filter.is_empty());
    assert_eq!(key(&mut app, KeyCode::Esc), Effect::Quit);
}

#[test]
fn enter_opens_the_ladder_and_q_goes_back() {
    let mut app = app_with(&["active.pcap"]);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.screen, Screen::Ladder);
    let s = screen(&mut app, 120, 30);
    insta::assert_snapshot!("ladder", s);
    assert!(s.contains("FTP server") && s.contains("FTP client"), "{s}");
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.ladder.selected, 2);
    app.update(Msg::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 0,
        row: 0,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(app.ladder.selected, 5);
    key(&mut app, KeyCode::Char('G'));
    assert_eq!(app.ladder.selected, app.ladder.rows - 1);
    key(&mut app, KeyCode::Char('q'));
    assert_eq!(app.screen, Screen::List);
}

#[test]
fn help_overlay_and_any_key_closes_it() {
    let mut app = app_with(&["active.pcap"]);
    key(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!("help", screen(&mut app, 100, 30));
    key(&mut app, KeyCode::Char('x'));
    assert!(!app.help);
}

#[test]
fn unmatched_connections_are_reachable() {
    let mut app = app_with(&["errors.pcap", "ftps.pcap"]);
    assert!(!app.unmatched.is_empty());
    key(&mut app, KeyCode::Char('u'));
    let s = screen(&mut app, 140, 14);
    insta::assert_snapshot!("unmatched", s);
    assert!(s.contains("Unmatched data connections"));
}

#[test]
fn progress_while_analysing_and_a_narrow_terminal() {
    let mut app = App {
        sizes: vec![("big.pcap".into(), 1000)],
        ..App::default()
    };
    app.update(Msg::Progress {
        file: "big.pcap".into(),
        progress: crate::analyzer::Progress {
            packets: 42,
            bytes_read: 250,
        },
    });
    let s = screen(&mut app, 100, 6);
    assert!(s.contains("analysing big.pcap 25%"), "{s}");
    // Narrow: nothing panics, the table still shows.
    let mut app = app_with(&["passive.pcap"]);
    insta::assert_snapshot!("narrow", screen(&mut app, 40, 12));
}

#[test]
fn hostile_strings_are_escaped_on_screen() {
    let mut app = app_with(&["active.pcap"]);
    app.sessions[0].user = Some("evil\x1b[31mred\x07".into());
    let s = screen(&mut app, 140, 8);
    assert!(!s.contains('\x1b') && !s.contains('\x07'));
    assert!(s.contains("evil\\x1b[31m"), "{s}");
}

#[test]
fn ctrl_c_quits_from_anywhere() {
    let mut app = app_with(&["active.pcap"]);
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('?'));
    let e = app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(e, Effect::Quit);
}

#[test]
fn s_saves_the_sessions_packets_to_a_pcap_that_reads_back_the_same() {
    let mut app = app_with(&["passive.pcap"]);
    let target = app
        .sessions
        .iter()
        .find(|s| s.transfers.len() >= 3)
        .unwrap()
        .id;
    app.open_ladder(target);
    let effect = key(&mut app, KeyCode::Char('s'));
    assert_eq!(effect, Effect::SavePcap { id: target });
    let dir = tempfile::tempdir().unwrap();
    super::perform(&mut app, effect, dir.path());
    let status = app.status.clone().unwrap();
    assert!(status.starts_with("saved "), "{status}");
    let out = dir.path().join(format!("ftpflow-session-{target}.pcap"));
    let mut sink = Collect::default();
    let (summary, errors) =
        analyse_files(&[out], AnalyzerConfig::default(), &mut sink, &mut |_, _| {});
    assert!(errors.is_empty());
    assert_eq!(summary.sessions, 1, "only that session's packets");
    let original = app.session_by_id(target).unwrap();
    let again = &sink.sessions[0];
    assert_eq!(again.client, original.client);
    let hashes = |s: &crate::model::Session| {
        s.transfers
            .iter()
            .map(|t| t.sha256.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(hashes(again), hashes(original));
}

#[test]
fn ladder_jumps_toggles_and_detail_pane() {
    let mut app = app_with(&["errors.pcap"]);
    let aborted = app
        .sessions
        .iter()
        .find(|s| s.transfers.iter().any(|t| t.final_code == Some(426)))
        .unwrap()
        .id;
    app.open_ladder(aborted);
    let _ = screen(&mut app, 130, 40);
    // n walks forward over transfers and anomalies, N back.
    key(&mut app, KeyCode::Char('n'));
    let first = app.ladder.selected;
    assert!(first > 0);
    key(&mut app, KeyCode::Char('n'));
    assert!(app.ladder.selected > first);
    key(&mut app, KeyCode::Char('N'));
    assert_eq!(app.ladder.selected, first);
    // The detail pane shows the selected data row's bytes and SHA-256.
    let s = screen(&mut app, 130, 40);
    assert!(s.contains("sha256") || s.contains("anomaly"), "{s}");
    insta::assert_snapshot!("ladder_detail", s);
    // Jump to an anomaly row: the pane names it.
    for _ in 0..50 {
        key(&mut app, KeyCode::Char('n'));
    }
    let s = screen(&mut app, 130, 40);
    assert!(
        app.status.as_deref() == Some("no further transfer or anomaly") || s.contains("anomaly")
    );
    // Packet detail: more rows, each segment with flags and sequence numbers.
    let rows_summary = app.ladder.rows;
    key(&mut app, KeyCode::Char('g'));
    key(&mut app, KeyCode::Char('p'));
    let s = screen(&mut app, 130, 40);
    assert!(
        app.ladder.rows > rows_summary,
        "{} <= {rows_summary}",
        app.ladder.rows
    );
    key(&mut app, KeyCode::Char('j'));
    let s2 = screen(&mut app, 130, 40);
    assert!(s2.contains("seq="), "{s2}");
    drop(s);
    // Time format: relative → absolute shows a time of day.
    key(&mut app, KeyCode::Char('t'));
    let s = screen(&mut app, 130, 40);
    assert!(s.contains("18:1"), "{s}");
}

#[test]
fn export_keys_write_text_mermaid_and_svg() {
    let mut app = app_with(&["active.pcap"]);
    key(&mut app, KeyCode::Enter);
    let dir = tempfile::tempdir().unwrap();
    for (k, ext, needle) in [
        ('e', "txt", "FTP server"),
        ('m', "mmd", "sequenceDiagram"),
        ('v', "svg", "<svg"),
    ] {
        let effect = key(&mut app, KeyCode::Char(k));
        super::perform(&mut app, effect, dir.path());
        assert!(
            app.status.as_deref().unwrap().starts_with("wrote"),
            "{:?}",
            app.status
        );
        let text =
            std::fs::read_to_string(dir.path().join(format!("ftpflow-session-1.{ext}"))).unwrap();
        assert!(
            text.contains(needle),
            "{ext}: {}",
            &text[..text.len().min(200)]
        );
    }
}

#[test]
fn sessions_in_flight_appear_update_and_finish() {
    let done = app_with(&["active.pcap"]).sessions.remove(0);
    // A picture of the same session in flight: the big download half done, no final reply.
    let mut flying = done.clone();
    flying.control_closed = false;
    let t = flying.transfers.last_mut().unwrap();
    t.final_code = None;
    t.data = None;
    t.bytes = 51_200;
    t.end = crate::time::Timestamp(t.start.nanos() + 100_000_000);
    let mut app = App {
        source: Some("capturing on veth0".into()),
        ..App::default()
    };
    app.update(Msg::Open(vec![flying.clone()]));
    let s = screen(&mut app, 140, 8);
    assert!(
        s.contains("capturing on veth0") && s.contains("1 in flight"),
        "{s}"
    );
    assert!(s.contains("open 500.0 KiB/s"), "{s}");
    // The next picture shows more bytes: the row is replaced, not added.
    flying.transfers.last_mut().unwrap().bytes = 102_400;
    app.update(Msg::Open(vec![flying]));
    assert_eq!(app.sessions.len(), 1);
    assert!(screen(&mut app, 140, 8).contains("open 1000.0 KiB/s"));
    // It ends: the final session replaces the picture.
    app.update(Msg::Session(Box::new(done)));
    app.update(Msg::Open(vec![]));
    assert_eq!(app.sessions.len(), 1);
    assert!(app.open_ids.is_empty());
    let s = screen(&mut app, 140, 8);
    assert!(s.contains(" ok"), "{s}");
}
