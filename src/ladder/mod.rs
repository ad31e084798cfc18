//! Ladder diagrams: one renderer-neutral layout (`layout`) drawn as text, Mermaid, PlantUML
//! and SVG. Renderers draw only the `Ladder`; the layout never prints.

pub mod layout;
pub mod mermaid;
pub mod plantuml;
pub mod svg;
pub mod text;

use crate::model::{Session, UnmatchedData};
use crate::session::SessionSink;
use layout::{ConnRef, LayoutOptions, layout_with_unmatched};
use std::io::Write;
use text::TextOptions;

/// The colour of a connection in the graphical formats (SVG, PlantUML).
pub fn conn_color(c: ConnRef) -> &'static str {
    const DATA: [&str; 6] = [
        "#b45309", "#15803d", "#1d4ed8", "#a16207", "#047857", "#4338ca",
    ];
    match c {
        ConnRef::Dns => "#7e22ce",
        ConnRef::Control => "#0e7490",
        ConnRef::Data(n) => DATA[n % DATA.len()],
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Text,
    Mermaid,
    PlantUml,
    Svg,
}

impl Format {
    /// Whether one output holds only one diagram (several sessions need `--session`).
    pub fn single_diagram(self) -> bool {
        matches!(self, Format::Mermaid | Format::Svg)
    }
}

/// Renders one ladder in a format.
pub fn render(ladder: &layout::Ladder, format: Format, text: &TextOptions) -> String {
    match format {
        Format::Text => text::render(ladder, text),
        Format::Mermaid => mermaid::render(ladder),
        Format::PlantUml => plantuml::render(ladder),
        Format::Svg => svg::render(ladder),
    }
}

/// Writes each session's ladder as soon as the session is final (streaming). Formats that
/// hold one diagram per file keep the single one until the end, and refuse several.
pub struct LadderSink<W: Write> {
    out: W,
    format: Format,
    layout: LayoutOptions,
    text: TextOptions,
    /// Only this session, when set.
    only: Option<u64>,
    /// Unclaimed data connections of sessions not yet written.
    held: Vec<UnmatchedData>,
    /// Ids of the sessions drawn, in order.
    pub drawn: Vec<u64>,
    /// The diagram of a single-diagram format, written by `finish`.
    pending: Option<String>,
    pub error: Option<std::io::Error>,
}

impl<W: Write> LadderSink<W> {
    pub fn new(
        out: W,
        format: Format,
        layout: LayoutOptions,
        text: TextOptions,
        only: Option<u64>,
    ) -> Self {
        LadderSink {
            out,
            format,
            layout,
            text,
            only,
            held: Vec::new(),
            drawn: Vec::new(),
            pending: None,
            error: None,
        }
    }

    fn write(&mut self, s: &str) {
        if self.error.is_none()
            && let Err(e) = self
                .out
                .write_all(s.as_bytes())
                .and_then(|()| self.out.flush())
        {
            self.error = Some(e);
        }
    }

    /// Writes what was kept back. Several sessions in a single-diagram format are not drawn.
    pub fn finish(&mut self) {
        if self.drawn.len() == 1
            && let Some(p) = self.pending.take()
        {
            self.write(&p);
        }
        if let Err(e) = self.out.flush() {
            self.error.get_or_insert(e);
        }
    }
}

impl<W: Write> SessionSink for LadderSink<W> {
    fn session(&mut self, session: Session) {
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|u| u.session == Some(session.id));
        self.held = rest;
        if self.only.is_some_and(|id| id != session.id) {
            return;
        }
        self.drawn.push(session.id);
        if self.format.single_diagram() && self.drawn.len() > 1 {
            // Only the ids are of use now (for the error message).
            self.pending = None;
            return;
        }
        let ladder = layout_with_unmatched(&session, &mine, &self.layout);
        let mut doc = render(&ladder, self.format, &self.text);
        if self.format.single_diagram() {
            self.pending = Some(doc);
        } else {
            if self.drawn.len() > 1 && self.format == Format::Text {
                doc.insert(0, '\n');
            }
            self.write(&doc);
        }
    }

    fn unmatched(&mut self, data: UnmatchedData) {
        if data.session.is_some() && self.only.is_none_or(|id| data.session == Some(id)) {
            self.held.push(data);
        }
    }
}
