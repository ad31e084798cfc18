//! The interactive terminal UI: state + update (`app`), draw (`ui`, `ladder_view`), and a
//! runner that owns the real terminal. Analysis runs on a background thread and streams
//! sessions to the UI over a channel, so the UI opens at once and stays responsive.

pub mod app;
pub mod ladder_view;
pub mod ui;

#[cfg(test)]
mod tests;

use crate::analyzer::{AnalyzerConfig, analyse_files};
use crate::model::{Session, UnmatchedData};
use crate::session::SessionSink;
use app::{App, Effect, Msg};
use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::execute;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

/// Segments kept per connection for the packet view: enough for any control connection and
/// the start of a big transfer, while memory stays bounded on multi-GB captures.
const MAX_SEGMENTS_PER_CONN: usize = 2000;

/// The analysis the TUI needs: every segment (bounded per connection) for the packet view.
pub fn tui_config(mut config: AnalyzerConfig) -> AnalyzerConfig {
    config.correlator.segments = crate::model::SegmentDetail::All;
    config.correlator.max_segments = config.correlator.max_segments.min(MAX_SEGMENTS_PER_CONN);
    config
}

/// Sends results to the UI thread as they are found.
struct ChannelSink(Sender<Msg>);

impl SessionSink for ChannelSink {
    fn session(&mut self, session: Session) {
        let _ = self.0.send(Msg::Session(Box::new(session)));
    }
    fn unmatched(&mut self, data: UnmatchedData) {
        let _ = self.0.send(Msg::Unmatched(Box::new(data)));
    }
    fn open_sessions(&mut self, open: &[&Session]) {
        let _ = self
            .0
            .send(Msg::Open(open.iter().map(|s| (*s).clone()).collect()));
    }
}

/// Starts the analysis of `paths` on a background thread.
pub fn spawn_analysis(paths: Vec<PathBuf>, config: AnalyzerConfig) -> Receiver<Msg> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut sink = ChannelSink(tx.clone());
        let progress_tx = tx.clone();
        let (summary, errors) = analyse_files(&paths, config, &mut sink, &mut |file, progress| {
            let _ = progress_tx.send(Msg::Progress {
                file: file.to_string(),
                progress,
            });
        });
        let _ = tx.send(Msg::Done {
            summary: Box::new(summary),
            errors: errors.iter().map(|e| e.to_string()).collect(),
        });
    });
    rx
}

/// Runs the TUI on the real terminal until the user quits. The terminal is restored on
/// exit and on panic.
pub fn run(paths: Vec<PathBuf>, config: AnalyzerConfig) -> std::io::Result<()> {
    let mut app = App {
        sizes: paths
            .iter()
            .filter_map(|p| Some((p.display().to_string(), std::fs::metadata(p).ok()?.len())))
            .collect(),
        ..App::default()
    };
    let config = tui_config(config);
    let rx = spawn_analysis(paths, config);
    run_app(&mut app, &rx)
}

/// Runs the TUI over a live capture until the user quits; then stops the capture and
/// returns its report (packets, drops, why it stopped).
#[cfg(target_os = "linux")]
pub fn run_live(
    capture: crate::live::LiveCapture,
    mut config: crate::live::LiveConfig,
    filter: crate::live::filter::Filter,
) -> std::io::Result<Option<crate::live::LiveReport>> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    config.analyzer = tui_config(config.analyzer);
    let mut app = App {
        source: Some(format!("capturing on {}", config.interface)),
        ..App::default()
    };
    let (tx, rx) = channel();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let worker = std::thread::spawn(move || {
        let mut sink = ChannelSink(tx.clone());
        let mut filtered = crate::live::Filtered::new(&mut sink, filter);
        let report = capture.run(&config, &mut filtered, &flag);
        let (summary, errors) = match &report {
            Ok(r) => {
                let mut summary = r.summary.clone();
                filtered.adjust(&mut summary);
                summary.warnings.push(format!(
                    "capture stopped ({}): {} kernel drops",
                    r.stopped_by.as_str(),
                    r.kernel_drops
                ));
                (summary, vec![])
            }
            Err(e) => (Default::default(), vec![e.to_string()]),
        };
        let _ = tx.send(Msg::Done {
            summary: Box::new(summary),
            errors,
        });
        report.ok()
    });
    let result = run_app(&mut app, &rx);
    stop.store(true, Ordering::Relaxed);
    let report = worker.join().ok().flatten();
    result.map(|()| report)
}

/// The event loop on the real terminal: restored on exit and on panic.
fn run_app(app: &mut App, rx: &Receiver<Msg>) -> std::io::Result<()> {
    let mut terminal = ratatui::try_init()?;
    // ratatui's panic hook restores raw mode and the screen; also release the mouse.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
        hook(info);
    }));
    execute!(std::io::stdout(), EnableMouseCapture)?;
    let result = event_loop(&mut terminal, app, rx);
    let _ = execute!(std::io::stdout(), DisableMouseCapture);
    ratatui::restore();
    result
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    rx: &Receiver<Msg>,
) -> std::io::Result<()> {
    loop {
        terminal.draw(|f| ui::draw(f, app))?;
        // Results first (bounded per frame so keys stay responsive), then input.
        for msg in rx.try_iter().take(1000) {
            app.update(msg);
        }
        if event::poll(Duration::from_millis(50))? {
            let msg = match event::read()? {
                Event::Key(k) if k.kind == event::KeyEventKind::Press => Msg::Key(k),
                Event::Mouse(m) => Msg::Mouse(m),
                Event::Resize(w, h) => Msg::Resize(w, h),
                _ => continue,
            };
            match app.update(msg) {
                Effect::Quit => return Ok(()),
                Effect::None => {}
                other => perform(app, other, std::path::Path::new(".")),
            }
        }
    }
}

/// Carries out an effect the app asked for; the outcome goes to the status line.
pub fn perform(app: &mut App, effect: Effect, dir: &std::path::Path) {
    app.status = Some(match effect {
        Effect::None | Effect::Quit => return,
        Effect::SavePcap { id } => save_pcap(app, id, dir),
        Effect::ExportLadder { id, format } => export_ladder(app, id, format, dir),
    });
}

fn save_pcap(app: &App, id: u64, dir: &std::path::Path) -> String {
    let Some(s) = app.session_by_id(id) else {
        return format!("session {id} is gone");
    };
    let extra: Vec<_> = app
        .unmatched
        .iter()
        .filter(|u| u.session == Some(id))
        .map(|u| (u.conn.client, u.conn.server))
        .collect();
    let out = dir.join(format!("ftpflow-session-{id}.pcap"));
    match crate::export::save_session_pcap(s, &extra, &out) {
        Ok(st) => format!("saved {} packets to {}", st.packets, out.display()),
        Err(e) => format!("cannot save the session's packets: {e}"),
    }
}

fn export_ladder(app: &mut App, id: u64, format: &str, dir: &std::path::Path) -> String {
    use crate::ladder::{Format, layout::layout_with_unmatched, render, text::TextOptions};
    let Some(s) = app.session_by_id(id) else {
        return format!("session {id} is gone");
    };
    let (fmt, ext) = match format {
        "mermaid" => (Format::Mermaid, "mmd"),
        "svg" => (Format::Svg, "svg"),
        _ => (Format::Text, "txt"),
    };
    let unmatched: Vec<_> = app
        .unmatched
        .iter()
        .filter(|u| u.session == Some(id))
        .cloned()
        .collect();
    let opts = crate::ladder::layout::LayoutOptions {
        time: ladder_view::time_mode(app.ladder.time_format),
        detail: if app.ladder.packets {
            crate::ladder::layout::Detail::Packets
        } else {
            crate::ladder::layout::Detail::Summary
        },
        ..Default::default()
    };
    let ladder = layout_with_unmatched(s, &unmatched, &opts);
    let text = render(
        &ladder,
        fmt,
        &TextOptions {
            width: 160,
            ascii: false,
            color: false,
        },
    );
    let out = dir.join(format!("ftpflow-session-{id}.{ext}"));
    match std::fs::write(&out, text) {
        Ok(()) => format!("wrote the ladder to {}", out.display()),
        Err(e) => format!("cannot write {}: {e}", out.display()),
    }
}
