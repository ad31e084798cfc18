//! The ladder screen. (Interim: a timeline of the session's commands, replies and
//! transfers; replaced by the ladder layout widget when that lands.)

use super::app::App;
use crate::output::{human_bytes, sanitize};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState};

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let Some(s) = app.session_by_id(app.ladder.session) else {
        return;
    };
    let mut items = Vec::new();
    for c in &s.commands {
        items.push(format!(
            "→ {} {}",
            c.verb,
            sanitize(c.arg.as_deref().unwrap_or(""))
        ));
        for r in &c.replies {
            items.push(format!("  ← {} {}", r.code, sanitize(&r.text)));
        }
    }
    for t in &s.transfers {
        items.push(format!(
            "⇄ {} {} {}",
            t.command,
            sanitize(t.arg.as_deref().unwrap_or("")),
            human_bytes(t.bytes)
        ));
    }
    let title = format!(" Session {} ", s.id);
    app.ladder.rows = items.len();
    app.ladder.page = area.height.saturating_sub(2) as usize;
    let list = List::new(items.into_iter().map(ListItem::new))
        .block(Block::new().borders(Borders::TOP).title(title))
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut state = ListState::default().with_selected(Some(app.ladder.selected));
    frame.render_stateful_widget(list, area, &mut state);
}
