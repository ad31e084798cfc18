//! Drawing: a pure function of the app state (plus the row counts it reports back for
//! paging). Every string from the wire goes through `output::sanitize`.

use super::app::{App, Screen, SortKey};
use crate::model::{Opener, Session, SessionStatus};
use crate::output::text::{clock, date};
use crate::output::{human_bytes, sanitize};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};

pub fn draw(frame: &mut Frame, app: &mut App) {
    let [header, body, status] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_header(frame, header, app);
    match app.screen {
        Screen::List if app.list.unmatched => draw_unmatched(frame, body, app),
        Screen::List => draw_list(frame, body, app),
        Screen::Ladder => super::ladder_view::draw(frame, body, app),
    }
    draw_status(frame, status, app);
    if app.help {
        draw_help(frame, app);
    }
}

fn status_color(s: SessionStatus) -> Color {
    match s {
        SessionStatus::Ok => Color::Green,
        SessionStatus::FailedLogin | SessionStatus::FailedTransfer => Color::Red,
        SessionStatus::Tls => Color::Cyan,
        SessionStatus::Open => Color::Yellow,
    }
}

fn draw_header(frame: &mut Frame, area: Rect, app: &App) {
    let p = &app.progress;
    let state = match &app.summary {
        Some(s) => format!(
            "{}  {}  {}  {}  {}  {}",
            plural(s.files as u64, "file"),
            plural(s.packets, "packet"),
            human_bytes(s.bytes),
            plural(s.sessions, "session"),
            plural(s.transfers, "transfer"),
            plural(s.unmatched_data, "unmatched data connection"),
        ),
        None if app.source.is_some() => format!(
            "{}  {} ({} in flight)",
            sanitize(app.source.as_deref().unwrap_or_default()),
            plural(app.sessions.len() as u64, "session"),
            app.open_ids.len()
        ),
        None => {
            let pct = p
                .total_bytes
                .filter(|t| *t > 0)
                .map(|t| format!(" {:.0}%", p.bytes_read as f64 * 100.0 / t as f64))
                .unwrap_or_default();
            format!(
                "analysing {}{pct}  {} packets  {} read  {} sessions so far",
                sanitize(&p.file),
                p.packets,
                human_bytes(p.bytes_read),
                app.sessions.len()
            )
        }
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(" ftpflow ", Style::new().bold().reversed()),
        Span::raw(" "),
        Span::raw(state),
    ])];
    let mut second = Vec::new();
    if !app.errors.is_empty() {
        second.push(Span::styled(
            format!(" {} ", sanitize(&app.errors.join("; "))),
            Style::new().fg(Color::Red),
        ));
    }
    if let Some(s) = &app.summary {
        for w in &s.warnings {
            second.push(Span::styled(
                format!(" {} ", sanitize(w)),
                Style::new().fg(Color::Yellow),
            ));
        }
    }
    lines.push(Line::from(second));
    frame.render_widget(Paragraph::new(lines), area);
}

/// The status cell; a session with a transfer in progress shows its rate.
fn status_text(s: &Session) -> String {
    let running: Vec<_> = s
        .transfers
        .iter()
        .filter(|t| t.final_code.is_none() && t.bytes > 0)
        .collect();
    let secs: f64 = running
        .iter()
        .map(|t| t.end.since(t.start) as f64 / 1e9)
        .fold(0.0, f64::max);
    if running.is_empty() || secs <= 0.0 {
        return s.status().as_str().to_string();
    }
    let bytes: u64 = running.iter().map(|t| t.bytes).sum();
    format!(
        "{} {}/s",
        s.status().as_str(),
        human_bytes((bytes as f64 / secs) as u64)
    )
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn duration(s: &Session) -> String {
    let ms = s.end.since(s.start) / 1_000_000;
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 120_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60)
    }
}

fn draw_list(frame: &mut Frame, area: Rect, app: &mut App) {
    let visible = app.visible();
    if app.list.selected >= visible.len() {
        app.list.selected = visible.len().saturating_sub(1);
    }
    let header = Row::new(SortKey::ALL.iter().map(|k| {
        let mut t = k.title().to_string();
        if *k == app.list.sort {
            t.push_str(if app.list.descending { " ▼" } else { " ▲" });
        }
        Cell::from(t)
    }))
    .style(Style::new().bold().underlined());
    let rows = visible.iter().map(|&i| {
        let s = &app.sessions[i];
        let status = s.status();
        Row::new(vec![
            Cell::from(s.id.to_string()),
            Cell::from(format!(
                "{} {}",
                date(s.start).get(5..).unwrap_or(""),
                clock(s.start)
            )),
            Cell::from(s.client.to_string()),
            Cell::from(s.server.to_string()),
            Cell::from(
                s.user
                    .as_deref()
                    .map(sanitize)
                    .unwrap_or_default()
                    .into_owned(),
            ),
            Cell::from(if s.tls { "yes" } else { "" }),
            Cell::from(s.commands.len().to_string()),
            Cell::from(s.transfers.len().to_string()),
            Cell::from(human_bytes(s.transfer_bytes())),
            Cell::from(duration(s)),
            Cell::from(status_text(s)).style(Style::new().fg(status_color(status))),
        ])
    });
    let widths = [
        Constraint::Length(5),
        Constraint::Length(18),
        Constraint::Min(15),
        Constraint::Min(15),
        Constraint::Length(12),
        Constraint::Length(4),
        Constraint::Length(5),
        Constraint::Length(6),
        Constraint::Length(10),
        Constraint::Length(9),
        Constraint::Length(22),
    ];
    let title = if app.list.filter.is_empty() && !app.list.editing_filter {
        format!(" Sessions ({}) ", visible.len())
    } else {
        format!(" Sessions ({} of {}) ", visible.len(), app.sessions.len())
    };
    let table = Table::new(rows, widths)
        .header(header)
        .block(Block::new().borders(Borders::TOP).title(title))
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .highlight_symbol("▶ ");
    let mut state = TableState::default().with_selected(Some(app.list.selected));
    frame.render_stateful_widget(table, area, &mut state);
    app.ladder.page = area.height.saturating_sub(3) as usize;
}

fn draw_unmatched(frame: &mut Frame, area: Rect, app: &mut App) {
    let header = Row::new([
        "Session",
        "Opened by",
        "Client",
        "Server",
        "From server",
        "From client",
        "Why",
    ])
    .style(Style::new().bold().underlined());
    let rows = app.unmatched.iter().map(|u| {
        let d = &u.conn;
        Row::new(vec![
            u.session
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into()),
            match d.opened_by {
                Opener::Client => "client".into(),
                Opener::Server => "server".into(),
            },
            d.client.to_string(),
            d.server.to_string(),
            human_bytes(d.bytes_from_server),
            human_bytes(d.bytes_from_client),
            u.reason.clone(),
        ])
    });
    let widths = [
        Constraint::Length(8),
        Constraint::Length(10),
        Constraint::Min(15),
        Constraint::Min(15),
        Constraint::Length(11),
        Constraint::Length(11),
        Constraint::Min(20),
    ];
    let table = Table::new(rows, widths)
        .header(header)
        .block(Block::new().borders(Borders::TOP).title(format!(
            " Unmatched data connections ({}) ",
            app.unmatched.len()
        )))
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .highlight_symbol("▶ ");
    let mut state = TableState::default().with_selected(Some(app.list.selected));
    frame.render_stateful_widget(table, area, &mut state);
}

fn draw_status(frame: &mut Frame, area: Rect, app: &App) {
    let line = if app.list.editing_filter {
        Line::from(vec![
            Span::styled(" filter: ", Style::new().bold()),
            Span::raw(sanitize(&app.list.filter).into_owned()),
            Span::styled("█", Style::new().fg(Color::Gray)),
            Span::raw("   Enter keep · Esc clear"),
        ])
    } else if let Some(s) = &app.status {
        Line::from(Span::styled(
            format!(" {} ", sanitize(s)),
            Style::new().fg(Color::Yellow),
        ))
    } else {
        let keys = match app.screen {
            Screen::List => {
                " ↑↓/jk move · Enter ladder · / filter · s/←→ sort · r reverse · u unmatched · ? help · q quit"
            }
            Screen::Ladder => {
                " ↑↓/jk move · PgUp/PgDn · g/G · n/N next transfer/anomaly · p packets · t time · e/m/v export · s save pcap · ? help · q back"
            }
        };
        let mut spans = vec![Span::styled(keys, Style::new().fg(Color::DarkGray))];
        if !app.list.filter.is_empty() && app.screen == Screen::List {
            spans.push(Span::styled(
                format!("  [filter: {}]", sanitize(&app.list.filter)),
                Style::new().fg(Color::Yellow),
            ));
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line), area);
}

pub const HELP: &[(&str, &str)] = &[
    ("Session list", ""),
    ("↑ ↓  j k", "move"),
    ("PgUp PgDn  g G", "page, first, last"),
    ("Enter", "open the session's ladder"),
    (
        "/",
        "filter by address, user, file name or status (Enter keeps, Esc clears)",
    ),
    ("s  → ←  > <", "sort by the next / previous column"),
    ("r", "reverse the sort"),
    ("u", "unmatched data connections"),
    ("q  Esc", "quit"),
    ("", ""),
    ("Ladder", ""),
    ("↑ ↓  j k  wheel", "select a row"),
    ("n  N", "next transfer / next anomaly"),
    ("p", "packet detail on / off"),
    ("t", "time: relative, absolute, delta"),
    ("e  m  v", "export the ladder as text, Mermaid, SVG"),
    ("s", "save the session's packets to a pcap"),
    ("q  Esc", "back to the list"),
    ("", ""),
    ("?", "this help (any key closes it)"),
    ("Ctrl-C", "quit from anywhere"),
];

fn draw_help(frame: &mut Frame, _app: &App) {
    let area = frame.area();
    let w = area.width.min(80);
    let h = (HELP.len() as u16 + 2).min(area.height);
    let popup = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    let lines: Vec<Line> = HELP
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                Line::from(Span::styled(*k, Style::new().bold()))
            } else {
                Line::from(vec![
                    Span::styled(format!("  {k:<18}"), Style::new().fg(Color::Cyan)),
                    Span::raw(*v),
                ])
            }
        })
        .collect();
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Keys ")),
        popup,
    );
}
