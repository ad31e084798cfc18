//! The ladder as a standalone SVG picture: host boxes, lifelines, a time column, arrows with
//! labels, phase headings as bands, anomalies in red. Every text is XML-escaped.

use super::layout::{ArrowStyle, HostRole, Ladder, LifelineKind, RowKind};
use crate::output::sanitize;
use std::fmt::Write;

const FONT: &str = "DejaVu Sans, Verdana, Helvetica, Arial, sans-serif";
const MONO: &str = "DejaVu Sans Mono, Menlo, Consolas, monospace";
/// Pixels per character of the 12 px font (an estimate for sizing; text is clipped by nothing).
const CHAR_W: f64 = 6.8;
const TIME_W: f64 = 96.0;
const LANE_MIN: f64 = 96.0;
const ROW_H: f64 = 30.0;
const HEADING_H: f64 = 34.0;
const TOP: f64 = 44.0;
const HEADER_H: f64 = 74.0;

/// Text safe for XML: sanitised (no control characters, which XML 1.0 forbids too) and escaped.
fn t(s: &str) -> String {
    crate::output::xml_escape(&sanitize(s))
}

fn text_w(s: &str) -> f64 {
    s.chars().count() as f64 * CHAR_W
}

pub fn render(ladder: &Ladder) -> String {
    let n = ladder.lifelines.len().max(1);
    // Lane width: wide enough for the longest label between neighbouring lifelines, within
    // reason (longer labels run on over the next lanes, as in the text ladder).
    let longest = ladder
        .rows
        .iter()
        .filter_map(|r| match &r.kind {
            RowKind::Arrow { label, .. } => Some(text_w(label)),
            _ => None,
        })
        .fold(0.0, f64::max);
    let lane = (longest / 2.5).clamp(LANE_MIN, 170.0);
    let left = 16.0 + TIME_W;
    let xs: Vec<f64> = (0..n).map(|i| left + lane * (i as f64 + 0.5)).collect();
    let mut right = left + lane * n as f64;
    // Labels and notes that run past the last lane widen the picture.
    let mut y = TOP + HEADER_H + 10.0;
    for r in &ladder.rows {
        match &r.kind {
            RowKind::Heading(_) => y += HEADING_H,
            RowKind::Arrow {
                from, to, label, ..
            } => {
                let lo = xs[*from].min(xs[*to]);
                right = right.max(lo + 8.0 + text_w(label) + 16.0);
                y += ROW_H;
                if let Some(a) = &r.anomaly {
                    for line in a.split('\n') {
                        // Bold text is wider.
                        right = right.max(lo + 8.0 + text_w(line) * 1.15 + 30.0);
                        y += 16.0;
                    }
                }
            }
            RowKind::Note { lifeline, text, .. } => {
                right = right.max(xs[*lifeline] + 8.0 + text_w(text) + 30.0);
                y += ROW_H;
                if let Some(a) = &r.anomaly {
                    for line in a.split('\n') {
                        right = right.max(xs[*lifeline] + 8.0 + text_w(line) * 1.15 + 30.0);
                    }
                    y += 16.0 * a.split('\n').count() as f64;
                }
            }
        }
    }
    let width = right.max(text_w(&ladder.title) + 40.0).ceil();
    let height = (y + 30.0).ceil();
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="12">
<defs>
"##
    );
    // One arrowhead marker per colour in use.
    let mut colors: Vec<&str> = vec!["#b91c1c"];
    for r in &ladder.rows {
        if let RowKind::Arrow { conn, .. } = &r.kind
            && !colors.contains(&super::conn_color(*conn))
        {
            colors.push(super::conn_color(*conn));
        }
    }
    for c in &colors {
        let _ = writeln!(
            s,
            r#"<marker id="h{}" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>"#,
            &c[1..]
        );
    }
    let _ = writeln!(
        s,
        r##"</defs>
<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>
<text x="16" y="26" font-size="15" font-weight="bold" fill="#111827">{}</text>"##,
        t(&ladder.title)
    );
    // Host boxes.
    for (h, host) in ladder.hosts.iter().enumerate() {
        let members: Vec<usize> = (0..ladder.lifelines.len())
            .filter(|&i| ladder.lifelines[i].host == h)
            .collect();
        let (Some(&a), Some(&b)) = (members.first(), members.last()) else {
            continue;
        };
        let x0 = xs[a] - lane / 2.0 + 4.0;
        let x1 = xs[b] + lane / 2.0 - 4.0;
        let fill = match host.role {
            HostRole::Dns => "#f3e8ff",
            HostRole::FtpServer => "#e0f2fe",
            HostRole::FtpClient => "#ecfccb",
        };
        let _ = writeln!(
            s,
            r##"<rect x="{x0:.1}" y="{TOP:.1}" width="{:.1}" height="{:.1}" rx="6" fill="{fill}" stroke="#94a3b8"/>
<text x="{:.1}" y="{:.1}" text-anchor="middle" font-weight="bold" fill="#111827">{}</text>
<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#374151">{}</text>"##,
            x1 - x0,
            HEADER_H - 6.0,
            (x0 + x1) / 2.0,
            TOP + 17.0,
            t(&host.label),
            (x0 + x1) / 2.0,
            TOP + 32.0,
            t(&host.addr.to_string()),
        );
    }
    let bottom = height - 14.0;
    for (i, l) in ladder.lifelines.iter().enumerate() {
        let kind = match l.kind {
            LifelineKind::Control => "control",
            LifelineKind::Data => "data",
            LifelineKind::Dns => "dns",
        };
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-family="{MONO}" font-weight="bold" fill="#111827">{}</text>
<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10" fill="#6b7280">{kind}</text>
<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{bottom:.1}" stroke="#9ca3af" stroke-width="1.2"/>"##,
            xs[i],
            TOP + 50.0,
            t(&l.label),
            xs[i],
            TOP + 62.0,
            xs[i],
            TOP + HEADER_H - 6.0,
            xs[i],
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="10" fill="#6b7280">time</text>"##,
        16.0 + TIME_W - 10.0,
        TOP + 62.0
    );
    let mut y = TOP + HEADER_H + 10.0;
    for r in &ladder.rows {
        match &r.kind {
            RowKind::Heading(text) => {
                let _ = writeln!(
                    s,
                    r##"<rect x="8" y="{:.1}" width="{:.1}" height="22" rx="4" fill="#f1f5f9" fill-opacity="0.85"/>
<text x="16" y="{:.1}" font-weight="bold" font-size="13" fill="#0f172a">{}</text>"##,
                    y + 6.0,
                    width - 16.0,
                    y + 21.5,
                    t(text)
                );
                y += HEADING_H;
            }
            RowKind::Arrow {
                from,
                to,
                label,
                style,
                conn,
                detail,
            } => {
                let color = super::conn_color(*conn);
                let ay = y + 22.0;
                let (xa, xb) = (xs[*from], xs[*to]);
                let lo = xa.min(xb);
                let dash = match style {
                    ArrowStyle::Reply => r#" stroke-dasharray="6 4""#,
                    ArrowStyle::Handshake | ArrowStyle::Teardown | ArrowStyle::Segment => {
                        r#" stroke-dasharray="2 3""#
                    }
                    _ => "",
                };
                let sw = if *style == ArrowStyle::Data { 3.0 } else { 1.5 };
                let end = if xb > xa { xb - 1.0 } else { xb + 1.0 };
                let _ = writeln!(
                    s,
                    r##"<g><title>{}</title>
<text x="{:.1}" y="{:.1}" text-anchor="end" font-family="{MONO}" font-size="11" fill="#6b7280">{}</text>
<line x1="{xa:.1}" y1="{ay:.1}" x2="{end:.1}" y2="{ay:.1}" stroke="{color}" stroke-width="{sw}"{dash} marker-end="url(#h{})"/>
<text x="{:.1}" y="{:.1}" fill="{color}" paint-order="stroke" stroke="#ffffff" stroke-width="3">{}</text></g>"##,
                    t(&detail.text),
                    16.0 + TIME_W - 10.0,
                    ay + 4.0,
                    t(&r.time_label),
                    &color[1..],
                    lo + 8.0,
                    ay - 5.0,
                    t(label)
                );
                y += ROW_H;
                if let Some(a) = &r.anomaly {
                    for line in a.split('\n') {
                        y += 16.0;
                        let _ = writeln!(
                            s,
                            r##"<text x="{:.1}" y="{:.1}" fill="#b91c1c" font-weight="bold" paint-order="stroke" stroke="#ffffff" stroke-width="3">⚠ {}</text>"##,
                            lo + 8.0,
                            y + 2.0,
                            t(line)
                        );
                    }
                }
            }
            RowKind::Note {
                lifeline,
                text,
                conn,
            } => {
                let color = conn.map_or("#374151", super::conn_color);
                let x = xs[*lifeline] + 8.0;
                let w = text_w(text) + 14.0;
                let _ = writeln!(
                    s,
                    r##"<text x="{:.1}" y="{:.1}" text-anchor="end" font-family="{MONO}" font-size="11" fill="#6b7280">{}</text>
<rect x="{x:.1}" y="{:.1}" width="{w:.1}" height="20" rx="3" fill="#fefce8" stroke="{color}"/>
<text x="{:.1}" y="{:.1}" fill="{color}">{}</text>"##,
                    16.0 + TIME_W - 10.0,
                    y + 20.0,
                    t(&r.time_label),
                    y + 6.0,
                    x + 7.0,
                    y + 20.0,
                    t(text)
                );
                y += ROW_H;
                if let Some(a) = &r.anomaly {
                    for line in a.split('\n') {
                        y += 16.0;
                        let _ = writeln!(
                            s,
                            r##"<text x="{x:.1}" y="{:.1}" fill="#b91c1c" font-weight="bold">⚠ {}</text>"##,
                            y + 2.0,
                            t(line)
                        );
                    }
                }
            }
        }
    }
    s.push_str("</svg>\n");
    s
}
