//! The ladder as PlantUML. Text is sanitised, then every ASCII punctuation character that
//! PlantUML's Creole or its parser could take for syntax (`\n`, `**`, `<tag>`, `"`…) is
//! written as `<U+XXXX>`, which PlantUML shows as that character.

use super::layout::{ArrowStyle, HostRole, Ladder, RowKind};
use crate::output::sanitize;
use std::fmt::Write;

/// Always escaped: what starts a tag, an escape, a quote or an entity.
fn always(c: char) -> bool {
    c.is_ascii_punctuation()
        && matches!(
            c,
            '<' | '>' | '\\' | '&' | '"' | '#' | '~' | '`' | '{' | '}' | '$'
        )
}

/// Escaped when doubled (Creole markup such as `**bold**`, `--strike--`, `[[link]]`).
fn markup(c: char) -> bool {
    matches!(
        c,
        '*' | '/' | '-' | '_' | '^' | '=' | '[' | ']' | '|' | '%' | '\'' | ':'
    )
}

pub fn escape(s: &str) -> String {
    let clean = sanitize(s);
    let chars: Vec<char> = clean.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let doubled = markup(c) && (chars.get(i + 1) == Some(&c) || (i > 0 && chars[i - 1] == c));
        if always(c) || doubled || c.is_control() {
            let _ = write!(out, "<U+{:04X}>", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

pub fn render(ladder: &Ladder) -> String {
    let mut s = String::from("@startuml\n");
    s.push_str("skinparam shadowing false\nskinparam sequenceMessageAlign left\n");
    let _ = writeln!(s, "title {}", escape(&ladder.title));
    for (h, host) in ladder.hosts.iter().enumerate() {
        let fill = match host.role {
            HostRole::Dns => "#F3E8FF",
            HostRole::FtpServer => "#E0F2FE",
            HostRole::FtpClient => "#ECFCCB",
        };
        let _ = writeln!(
            s,
            "box \"{} {}\" {fill}",
            escape(&host.label),
            escape(&host.addr.to_string())
        );
        for (i, l) in ladder.lifelines.iter().enumerate() {
            if l.host == h {
                let _ = writeln!(s, "participant \"{}\" as L{i}", escape(&l.label));
            }
        }
        s.push_str("end box\n");
    }
    for r in &ladder.rows {
        match &r.kind {
            RowKind::Heading(text) => {
                let _ = writeln!(s, "== {} ==", escape(text));
            }
            RowKind::Arrow {
                from,
                to,
                label,
                style,
                conn,
                ..
            } => {
                let c = super::conn_color(*conn);
                let arrow = match style {
                    ArrowStyle::Reply => format!("-[{c}]->"),
                    ArrowStyle::Handshake | ArrowStyle::Segment => format!("-[{c},dotted]->>"),
                    ArrowStyle::Teardown if label.contains("RST") => format!("-[{c},dotted]->x"),
                    ArrowStyle::Teardown => format!("-[{c},dotted]->>"),
                    ArrowStyle::Data => format!("-[{c},bold]->"),
                    ArrowStyle::Command | ArrowStyle::Dns => format!("-[{c}]>"),
                };
                let _ = writeln!(
                    s,
                    "L{from} {arrow} L{to} : {} {}",
                    escape(&r.time_label),
                    escape(label)
                );
                if let Some(a) = &r.anomaly {
                    for line in a.split('\n') {
                        let _ = writeln!(s, "note right of L{to} #FFE4E6 : ⚠ {}", escape(line));
                    }
                }
            }
            RowKind::Note { lifeline, text, .. } => {
                let _ = writeln!(
                    s,
                    "note right of L{lifeline} : {} {}",
                    escape(&r.time_label),
                    escape(text)
                );
                if let Some(a) = &r.anomaly {
                    for line in a.split('\n') {
                        let _ =
                            writeln!(s, "note right of L{lifeline} #FFE4E6 : ⚠ {}", escape(line));
                    }
                }
            }
        }
    }
    s.push_str("@enduml\n");
    s
}
