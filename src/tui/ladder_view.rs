//! The ladder screen: the session's ladder (from `ladder::layout`, drawn by the text
//! renderer) with its host and lifeline headers fixed at the top, a selectable row, and a
//! detail pane for the selected row.

use super::app::{App, LadderCache};
use crate::ladder::layout::{
    Detail, LayoutOptions, Row, RowKind, TimeMode, duration_text, flag_names,
    layout_with_unmatched, rate_text, thousands,
};
use crate::ladder::text::{TextOptions, render_parts};
use crate::model::UnmatchedData;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

/// Lines of the detail pane.
const DETAIL_HEIGHT: u16 = 8;

pub fn time_mode(n: u8) -> TimeMode {
    match n {
        1 => TimeMode::Absolute,
        2 => TimeMode::Delta,
        _ => TimeMode::Relative,
    }
}

/// Builds (or reuses) the ladder of the selected session for the current options and width.
pub fn ensure_cache(app: &mut App, width: usize) {
    let key = (
        app.ladder.session,
        app.ladder.packets,
        app.ladder.time_format,
        width,
    );
    if app.ladder_cache.as_ref().is_some_and(|c| c.key == key) {
        return;
    }
    let Some(s) = app.session_by_id(app.ladder.session) else {
        app.ladder_cache = None;
        return;
    };
    let unmatched: Vec<UnmatchedData> = app
        .unmatched
        .iter()
        .filter(|u| u.session == Some(s.id))
        .cloned()
        .collect();
    let opts = LayoutOptions {
        time: time_mode(app.ladder.time_format),
        detail: if app.ladder.packets {
            Detail::Packets
        } else {
            Detail::Summary
        },
        ..LayoutOptions::default()
    };
    let ladder = layout_with_unmatched(s, &unmatched, &opts);
    let parts = render_parts(
        &ladder,
        &TextOptions {
            width,
            ascii: false,
            color: false,
        },
    );
    app.ladder_cache = Some(LadderCache { key, ladder, parts });
}

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    ensure_cache(app, area.width as usize);
    let Some(cache) = app.ladder_cache.as_ref() else {
        frame.render_widget(Paragraph::new(" this session is no longer available"), area);
        return;
    };
    let header_h = cache.parts.header.len() as u16;
    let [head, body, detail] = Layout::vertical([
        Constraint::Length(header_h.min(area.height / 2)),
        Constraint::Min(3),
        Constraint::Length(DETAIL_HEIGHT),
    ])
    .areas(area);

    let dim = Style::new().fg(Color::DarkGray);
    let header: Vec<Line> = cache
        .parts
        .header
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                Line::from(Span::styled(
                    l.clone(),
                    Style::new().add_modifier(Modifier::BOLD),
                ))
            } else {
                Line::from(Span::styled(l.clone(), Style::new().fg(Color::Cyan)))
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(header), head);

    // The body: every row's lines, the selected row highlighted and kept in view.
    let rows = cache.parts.rows.len();
    app.ladder.rows = rows;
    let selected = app.ladder.selected.min(rows.saturating_sub(1));
    let first_line: Vec<usize> = cache
        .parts
        .rows
        .iter()
        .scan(0usize, |acc, r| {
            let at = *acc;
            *acc += r.len();
            Some(at)
        })
        .collect();
    let total: usize = cache.parts.rows.iter().map(Vec::len).sum();
    let height = body.height as usize;
    app.ladder.page = cache.parts.rows.len().min(height / 2).max(1);
    if let (Some(&sel_start), Some(sel)) =
        (first_line.get(selected), cache.parts.rows.get(selected))
    {
        let sel_end = sel_start + sel.len();
        if sel_start < app.ladder.scroll {
            app.ladder.scroll = sel_start;
        } else if sel_end > app.ladder.scroll + height {
            app.ladder.scroll = sel_end.saturating_sub(height);
        }
    }
    app.ladder.scroll = app.ladder.scroll.min(total.saturating_sub(height));
    let mut lines = Vec::with_capacity(height);
    let mut n = 0usize;
    'rows: for (k, row_lines) in cache.parts.rows.iter().enumerate() {
        for l in row_lines {
            if n >= app.ladder.scroll {
                if lines.len() >= height {
                    break 'rows;
                }
                let row = &cache.ladder.rows[k];
                let style = if k == selected {
                    Style::new().add_modifier(Modifier::REVERSED)
                } else if row.anomaly.is_some() && l.contains('⚠') {
                    Style::new().fg(Color::Red)
                } else if matches!(row.kind, RowKind::Heading(_)) {
                    Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
                } else {
                    Style::new()
                };
                lines.push(Line::from(Span::styled(l.clone(), style)));
            }
            n += 1;
        }
    }
    frame.render_widget(Paragraph::new(lines), body);

    let text = cache
        .ladder
        .rows
        .get(selected)
        .map(detail_lines)
        .unwrap_or_default();
    frame.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: false }).block(
            Block::new()
                .borders(Borders::TOP)
                .border_style(dim)
                .title(format!(" row {} of {} ", selected + 1, rows)),
        ),
        detail,
    );
}

/// The detail pane's text for one row (already sanitised by the layout).
pub fn detail_lines(row: &Row) -> Vec<Line<'static>> {
    let key = |k: &str| Span::styled(format!("{k:<10}"), Style::new().fg(Color::Cyan));
    let mut out = Vec::new();
    match &row.kind {
        RowKind::Heading(t) => out.push(Line::from(vec![key("phase"), Span::raw(t.clone())])),
        RowKind::Note { text, .. } => {
            out.push(Line::from(vec![key("note"), Span::raw(text.clone())]))
        }
        RowKind::Arrow {
            label, detail: d, ..
        } => {
            let text = if d.text.is_empty() {
                label.clone()
            } else {
                d.text.clone()
            };
            for (i, t) in text.lines().enumerate() {
                out.push(Line::from(vec![
                    key(if i == 0 { "text" } else { "" }),
                    Span::raw(t.to_string()),
                ]));
            }
            if !d.endpoints.is_empty() {
                out.push(Line::from(vec![
                    key("endpoints"),
                    Span::raw(d.endpoints.clone()),
                ]));
            }
            let mut facts = Vec::new();
            if let Some(ts) = row.ts {
                facts.push(format!("{} UTC", crate::output::text::clock(ts)));
            }
            if !d.frames.is_empty() {
                let f: Vec<String> = d.frames.iter().take(8).map(|f| f.to_string()).collect();
                let more = if d.frames.len() > 8 {
                    format!(" (+{})", d.frames.len() - 8)
                } else {
                    String::new()
                };
                facts.push(format!("packet {}{more}", f.join(", ")));
            }
            if let Some(sg) = &d.segment {
                facts.push(format!(
                    "{} seq={} ack={} len={} (raw seq {} ack {})",
                    flag_names(sg.flags),
                    sg.rel_seq,
                    sg.rel_ack
                        .map(|a| a.to_string())
                        .unwrap_or_else(|| "-".into()),
                    sg.len,
                    sg.seq,
                    sg.ack
                ));
            }
            if !facts.is_empty() {
                out.push(Line::from(vec![
                    key("packet"),
                    Span::raw(facts.join("  ·  ")),
                ]));
            }
            let mut data = Vec::new();
            if let Some(b) = d.bytes {
                data.push(format!("{} B", thousands(b)));
            }
            if let Some(ns) = d.duration_ns {
                data.push(duration_text(ns));
            }
            if let Some(r) = d.bits_per_sec {
                data.push(rate_text(r));
            }
            if !data.is_empty() {
                out.push(Line::from(vec![key("data"), Span::raw(data.join("  ·  "))]));
            }
            if let Some(h) = &d.sha256 {
                out.push(Line::from(vec![key("sha256"), Span::raw(h.clone())]));
            }
        }
    }
    if let Some(a) = &row.anomaly {
        for t in a.lines() {
            out.push(Line::from(vec![
                key("anomaly"),
                Span::styled(t.to_string(), Style::new().fg(Color::Red)),
            ]));
        }
    }
    out
}
