//! The ladder as a Mermaid `sequenceDiagram` (renders on GitHub and in Markdown docs).
//! Message text is sanitised, then every character Mermaid could read as syntax (`;` and `#`
//! end or start things, `<`/`>` become HTML) is written as an entity code `#NNN;`.

use super::layout::{ArrowStyle, HostRole, Ladder, RowKind};
use crate::output::sanitize;
use std::fmt::Write;

/// Characters written as they are; every other ASCII punctuation becomes `#NNN;`.
fn plain(c: char) -> bool {
    c.is_alphanumeric() && !c.is_control()
        || matches!(
            c,
            ' ' | '.'
                | ','
                | ':'
                | '('
                | ')'
                | '+'
                | '?'
                | '@'
                | '!'
                | '='
                | '\''
                | '-'
                | '_'
                | '/'
                | '*'
                | '['
                | ']'
                | '|'
                | '~'
                | '^'
                | '$'
        )
        || (!c.is_ascii() && !c.is_control())
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in sanitize(s).chars() {
        if plain(c) {
            out.push(c);
        } else {
            let _ = write!(out, "#{};", c as u32);
        }
    }
    out
}

pub fn render(ladder: &Ladder) -> String {
    let mut s = String::from("sequenceDiagram\n");
    let _ = writeln!(s, "    title {}", escape(&ladder.title));
    for (h, host) in ladder.hosts.iter().enumerate() {
        let color = match host.role {
            HostRole::Dns => "rgb(243,232,255)",
            HostRole::FtpServer => "rgb(224,242,254)",
            HostRole::FtpClient => "rgb(236,252,203)",
        };
        let _ = writeln!(
            s,
            "    box {color} {} {}",
            escape(&host.label),
            escape(&host.addr.to_string())
        );
        for (i, l) in ladder.lifelines.iter().enumerate() {
            if l.host == h {
                let _ = writeln!(s, "        participant L{i} as {}", escape(&l.label));
            }
        }
        s.push_str("    end\n");
    }
    let (first, last) = (0, ladder.lifelines.len().saturating_sub(1));
    for r in &ladder.rows {
        match &r.kind {
            RowKind::Heading(text) => {
                let _ = writeln!(s, "    Note over L{first},L{last}: {}", escape(text));
            }
            RowKind::Arrow {
                from,
                to,
                label,
                style,
                ..
            } => {
                let arrow = match style {
                    ArrowStyle::Reply => "-->>",
                    ArrowStyle::Handshake | ArrowStyle::Segment => "--)",
                    ArrowStyle::Teardown if label.contains("RST") => "--x",
                    ArrowStyle::Teardown => "--)",
                    ArrowStyle::Command | ArrowStyle::Data | ArrowStyle::Dns => "->>",
                };
                let _ = writeln!(
                    s,
                    "    L{from}{arrow}L{to}: {} {}",
                    escape(&r.time_label),
                    escape(label)
                );
                if let Some(a) = &r.anomaly {
                    for line in a.split('\n') {
                        let _ = writeln!(s, "    Note right of L{to}: ⚠ {}", escape(line));
                    }
                }
            }
            RowKind::Note { lifeline, text, .. } => {
                let _ = writeln!(
                    s,
                    "    Note right of L{lifeline}: {} {}",
                    escape(&r.time_label),
                    escape(text)
                );
                if let Some(a) = &r.anomaly {
                    for line in a.split('\n') {
                        let _ = writeln!(s, "    Note right of L{lifeline}: ⚠ {}", escape(line));
                    }
                }
            }
        }
    }
    s
}
