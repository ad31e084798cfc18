//! The ladder as text: a time column, one vertical line per lifeline under its host, arrows
//! with their labels above them, phase headings across. Unicode box drawing or plain ASCII,
//! fitted to a width, optionally coloured per connection with ANSI SGR.

use super::layout::{ArrowStyle, ConnRef, Ladder, RowKind};
use crate::output::sanitize;
use unicode_width::UnicodeWidthChar;

#[derive(Clone, Copy, Debug)]
pub struct TextOptions {
    /// Columns to fit in (labels are shortened with an ellipsis).
    pub width: usize,
    pub ascii: bool,
    pub color: bool,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            width: 120,
            ascii: false,
            color: false,
        }
    }
}

/// Text styles (mapped to SGR when colour is on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Plain,
    Dim,
    Bold,
    Anomaly,
    /// An SGR foreground colour code.
    Fg(u8),
}

impl Style {
    fn sgr(self) -> &'static str {
        match self {
            Style::Plain => "\x1b[0m",
            Style::Dim => "\x1b[0;2m",
            Style::Bold => "\x1b[0;1m",
            Style::Anomaly => "\x1b[0;1;31m",
            Style::Fg(36) => "\x1b[0;36m",
            Style::Fg(35) => "\x1b[0;35m",
            Style::Fg(33) => "\x1b[0;33m",
            Style::Fg(32) => "\x1b[0;32m",
            Style::Fg(34) => "\x1b[0;34m",
            Style::Fg(93) => "\x1b[0;93m",
            Style::Fg(92) => "\x1b[0;92m",
            Style::Fg(94) => "\x1b[0;94m",
            Style::Fg(_) => "\x1b[0m",
        }
    }
}

fn conn_style(c: ConnRef) -> Style {
    const DATA: [u8; 6] = [33, 32, 34, 93, 92, 94];
    match c {
        ConnRef::Dns => Style::Fg(35),
        ConnRef::Control => Style::Fg(36),
        ConnRef::Data(n) => Style::Fg(DATA[n % DATA.len()]),
    }
}

/// The glyphs of one character set.
struct Glyphs {
    life: char,
    head_right: char,
    head_left: char,
    start_right: char,
    start_left: char,
    heading: char,
    bracket_l: char,
    bracket_r: char,
    bracket: char,
    warn: char,
    note: char,
}

const UNICODE: Glyphs = Glyphs {
    life: '│',
    head_right: '▶',
    head_left: '◀',
    start_right: '├',
    start_left: '┤',
    heading: '─',
    bracket_l: '┌',
    bracket_r: '┐',
    bracket: '─',
    warn: '⚠',
    note: '·',
};

const ASCII: Glyphs = Glyphs {
    life: '|',
    head_right: '>',
    head_left: '<',
    start_right: '+',
    start_left: '+',
    heading: '-',
    bracket_l: '+',
    bracket_r: '+',
    bracket: '-',
    warn: '!',
    note: '*',
};

fn line_char(style: ArrowStyle, ascii: bool) -> char {
    match (style, ascii) {
        (ArrowStyle::Command | ArrowStyle::Dns, false) => '─',
        (ArrowStyle::Reply, false) => '╌',
        (ArrowStyle::Data, false) => '═',
        (ArrowStyle::Handshake | ArrowStyle::Teardown | ArrowStyle::Segment, false) => '┈',
        (ArrowStyle::Command | ArrowStyle::Dns | ArrowStyle::Reply, true) => '-',
        (ArrowStyle::Data, true) => '=',
        (ArrowStyle::Handshake | ArrowStyle::Teardown | ArrowStyle::Segment, true) => '.',
    }
}

/// Display width of a string (wide characters count two, combining marks none).
pub fn width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// Shortens `s` to at most `max` columns, ending with an ellipsis when cut.
pub fn fit(s: &str, max: usize, ascii: bool) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let (dots, dw) = if ascii { ("...", 3) } else { ("…", 1) };
    if max < dw {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw > max - dw {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push_str(dots);
    out
}

/// The ladder's own non-ASCII symbols in ASCII (wire text keeps its characters, sanitised).
fn asciify(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '→' => out.push_str("->"),
            '…' => out.push_str("..."),
            'µ' => out.push('u'),
            '·' => out.push('*'),
            '⚠' => out.push('!'),
            c => out.push(c),
        }
    }
    out
}

/// One output line as cells, so arrows, lifelines and labels can overwrite each other.
struct Canvas {
    cells: Vec<(String, Style)>,
    ascii: bool,
}

impl Canvas {
    /// `ascii`: the ladder's own symbols in text are written in ASCII.
    fn new(ascii: bool) -> Self {
        Canvas {
            cells: Vec::new(),
            ascii,
        }
    }
    fn ensure(&mut self, n: usize) {
        if self.cells.len() < n {
            self.cells.resize(n, (" ".to_string(), Style::Plain));
        }
    }
    fn put(&mut self, x: usize, c: char, style: Style) {
        self.ensure(x + 1);
        self.cells[x] = (c.to_string(), style);
    }
    /// Writes text from column `x`; a wide character takes two cells (the second empty).
    fn text(&mut self, x: usize, s: &str, style: Style) -> usize {
        let mut x = x;
        let converted;
        let s = if self.ascii {
            converted = asciify(s);
            converted.as_str()
        } else {
            s
        };
        for c in s.chars() {
            match c.width() {
                Some(0) | None => {
                    if x > 0 {
                        self.ensure(x);
                        self.cells[x - 1].0.push(c);
                    }
                }
                Some(w) => {
                    self.ensure(x + w);
                    self.cells[x] = (c.to_string(), style);
                    for k in 1..w {
                        self.cells[x + k] = (String::new(), style);
                    }
                    x += w;
                }
            }
        }
        x
    }
    fn render(&self, color: bool, out: &mut String) {
        let end = self
            .cells
            .iter()
            .rposition(|(s, _)| s != " ")
            .map_or(0, |i| i + 1);
        let mut cur = Style::Plain;
        for (s, style) in &self.cells[..end] {
            if color && *style != cur && s != " " {
                out.push_str(style.sgr());
                cur = *style;
            }
            out.push_str(s);
        }
        if color && cur != Style::Plain {
            out.push_str(Style::Plain.sgr());
        }
        out.push('\n');
    }
}

/// Column positions of the lifelines and the time gutter's width.
struct Geometry {
    gutter: usize,
    xs: Vec<usize>,
    /// Per host group: first column and width of its span.
    groups: Vec<(usize, usize)>,
}

fn geometry(ladder: &Ladder, opts: &TextOptions) -> Geometry {
    let n = ladder.lifelines.len().max(1);
    let time_w = ladder
        .rows
        .iter()
        .map(|r| width(&r.time_label))
        .max()
        .unwrap_or(0);
    // Time, a space, the anomaly marker, a space.
    let gutter = time_w + 3;
    // Room kept right of the last lifeline for the labels that start there.
    let right = (opts.width / 3).clamp(16, 44);
    let avail = opts.width.saturating_sub(gutter + right);
    let base = (avail / n).clamp(6, 14);
    let mut cell = vec![base; n];
    // Widen a host group whose label does not fit, while the width allows.
    let mut total: usize = cell.iter().sum();
    for (h, host) in ladder.hosts.iter().enumerate() {
        let members: Vec<usize> = (0..ladder.lifelines.len())
            .filter(|&i| ladder.lifelines[i].host == h)
            .collect();
        if members.is_empty() {
            continue;
        }
        let need = width(&host.label).max(width(&host.addr.to_string())) + 3;
        let have: usize = members.iter().map(|&i| cell[i]).sum();
        if need > have {
            let extra = (need - have).min(opts.width.saturating_sub(gutter + 20 + total));
            for (k, &i) in members.iter().enumerate() {
                cell[i] += extra / members.len() + usize::from(k < extra % members.len());
            }
            total += extra;
        }
    }
    let mut xs = Vec::with_capacity(n);
    let mut x = gutter;
    for c in &cell {
        xs.push(x + c / 2);
        x += c;
    }
    let mut groups = Vec::new();
    let mut start = gutter;
    for (h, _) in ladder.hosts.iter().enumerate() {
        let w: usize = (0..ladder.lifelines.len())
            .filter(|&i| ladder.lifelines[i].host == h)
            .map(|i| cell[i])
            .sum();
        groups.push((start, w));
        start += w;
    }
    Geometry { gutter, xs, groups }
}

/// Draws the ladder.
pub fn render(ladder: &Ladder, opts: &TextOptions) -> String {
    render_marked(ladder, opts, &mut Vec::new(), &mut 0)
}

/// The drawn ladder split for a scrolling view: the header lines (title, hosts, ports) to
/// keep fixed, and the lines each row drew (index = `Ladder::rows` index).
pub struct TextParts {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

pub fn render_parts(ladder: &Ladder, opts: &TextOptions) -> TextParts {
    let mut starts = Vec::new();
    let mut header_end = 0;
    let out = render_marked(ladder, opts, &mut starts, &mut header_end);
    let lines = |text: &str| text.lines().map(String::from).collect::<Vec<_>>();
    let mut rows = Vec::with_capacity(starts.len());
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(out.len());
        rows.push(lines(&out[start..end]));
    }
    TextParts {
        header: lines(&out[..header_end]),
        rows,
    }
}

/// Draws the ladder, noting where the header ends and each row starts in the output.
fn render_marked(
    ladder: &Ladder,
    opts: &TextOptions,
    row_starts: &mut Vec<usize>,
    header_end: &mut usize,
) -> String {
    let g = if opts.ascii { &ASCII } else { &UNICODE };
    let geo = geometry(ladder, opts);
    let w = opts.width.max(geo.xs.last().map_or(0, |x| x + 2));
    let mut out = String::new();
    let lifelines = |c: &mut Canvas| {
        for &x in &geo.xs {
            c.put(x, g.life, Style::Dim);
        }
    };

    let mut c = Canvas::new(opts.ascii);
    c.text(
        0,
        &fit(&sanitize(&ladder.title), w, opts.ascii),
        Style::Bold,
    );
    c.render(opts.color, &mut out);
    out.push('\n');

    // Host headers: role bracketed across the group, address under it.
    let mut roles = Canvas::new(opts.ascii);
    let mut addrs = Canvas::new(opts.ascii);
    for (h, host) in ladder.hosts.iter().enumerate() {
        let (x0, gw) = geo.groups[h];
        let inner = gw.saturating_sub(1);
        let label = fit(&host.label, inner.saturating_sub(2), opts.ascii);
        let lw = width(&label);
        if inner >= lw + 4 {
            roles.put(x0, g.bracket_l, Style::Dim);
            for x in x0 + 1..x0 + inner - 1 {
                roles.put(x, g.bracket, Style::Dim);
            }
            roles.put(x0 + inner - 1, g.bracket_r, Style::Dim);
        }
        let lx = x0 + (inner.saturating_sub(lw + 2)) / 2;
        roles.text(lx, &format!(" {label} "), Style::Bold);
        let addr = fit(&host.addr.to_string(), inner, opts.ascii);
        addrs.text(
            x0 + (inner.saturating_sub(width(&addr))) / 2,
            &addr,
            Style::Plain,
        );
    }
    roles.render(opts.color, &mut out);
    addrs.render(opts.color, &mut out);
    let mut ports = Canvas::new(opts.ascii);
    for (i, l) in ladder.lifelines.iter().enumerate() {
        let label = &l.label;
        let x = geo.xs[i].saturating_sub(width(label) / 2);
        ports.text(x, label, Style::Bold);
    }
    ports.render(opts.color, &mut out);
    let mut c = Canvas::new(opts.ascii);
    lifelines(&mut c);
    c.render(opts.color, &mut out);

    *header_end = out.len();
    for (k, row) in ladder.rows.iter().enumerate() {
        row_starts.push(out.len());
        match &row.kind {
            RowKind::Heading(text) => {
                if k > 0 {
                    let mut c = Canvas::new(opts.ascii);
                    lifelines(&mut c);
                    c.render(opts.color, &mut out);
                }
                let mut c = Canvas::new(opts.ascii);
                let x0 = geo.gutter.saturating_sub(2);
                c.put(x0, g.heading, Style::Bold);
                c.put(x0 + 1, g.heading, Style::Bold);
                let title = fit(&sanitize(text), w.saturating_sub(x0 + 4), opts.ascii);
                let end = c.text(x0 + 2, &format!(" {title} "), Style::Bold);
                for x in end..w {
                    c.put(x, g.heading, Style::Bold);
                }
                c.render(opts.color, &mut out);
            }
            RowKind::Arrow {
                from,
                to,
                label,
                style,
                conn,
                ..
            } => {
                let (xa, xb) = (geo.xs[*from], geo.xs[*to]);
                let (lo, hi) = (xa.min(xb), xa.max(xb));
                let st = conn_style(*conn);
                // The label line.
                let mut c = Canvas::new(opts.ascii);
                lifelines(&mut c);
                place(&mut c, lo, w, &sanitize(label), st, opts.ascii);
                c.render(opts.color, &mut out);
                // The arrow line.
                let mut c = Canvas::new(opts.ascii);
                gutter(&mut c, &geo, &row.time_label, row.anomaly.is_some(), g.warn);
                lifelines(&mut c);
                let line = line_char(*style, opts.ascii);
                for x in lo + 1..hi {
                    c.put(x, line, st);
                }
                if xb > xa {
                    c.put(xa, g.start_right, st);
                    c.put(xb - 1, g.head_right, st);
                } else if xb < xa {
                    c.put(xa, g.start_left, st);
                    c.put(xb + 1, g.head_left, st);
                }
                c.render(opts.color, &mut out);
                if let Some(a) = &row.anomaly {
                    anomaly_line(&mut out, &geo, lo, w, a, opts, g, &lifelines);
                }
            }
            RowKind::Note {
                lifeline,
                text,
                conn,
            } => {
                let x = geo.xs[*lifeline];
                let st = conn.map_or(Style::Dim, conn_style);
                let mut c = Canvas::new(opts.ascii);
                gutter(&mut c, &geo, &row.time_label, row.anomaly.is_some(), g.warn);
                lifelines(&mut c);
                let text = format!("{} {}", g.note, sanitize(text));
                place_shifted(&mut c, x, w, &text, st, opts.ascii, true);
                c.render(opts.color, &mut out);
                if let Some(a) = &row.anomaly {
                    anomaly_line(&mut out, &geo, x, w, a, opts, g, &lifelines);
                }
            }
        }
    }
    out
}

fn gutter(c: &mut Canvas, geo: &Geometry, time: &str, anomaly: bool, warn: char) {
    let tw = width(time);
    let x = geo.gutter.saturating_sub(3 + tw);
    c.text(x, time, Style::Dim);
    if anomaly {
        c.put(geo.gutter - 2, warn, Style::Anomaly);
    }
}

/// Places a label two columns right of `lo`, cut to `w` with an ellipsis; when the room
/// there is small, the label is moved left so more of it shows.
fn place(c: &mut Canvas, lo: usize, w: usize, text: &str, style: Style, ascii: bool) {
    place_shifted(c, lo, w, text, style, ascii, false)
}

/// `place`; with `free`, the text may move up to 48 columns left to be shown whole (notes,
/// which belong to one lifeline rather than to an arrow's span).
fn place_shifted(
    c: &mut Canvas,
    lo: usize,
    w: usize,
    text: &str,
    style: Style,
    ascii: bool,
    free: bool,
) {
    let want = width(text);
    let mut x = lo + 2;
    if x + want + 1 > w && (free || w.saturating_sub(x) < 32) {
        let limit = if free { 48 } else { 32 };
        x = w
            .saturating_sub(want + 1)
            .max(lo.saturating_sub(limit))
            .min(x);
    }
    let label = fit(text, w.saturating_sub(x + 1), ascii);
    // Keep a blank column either side so the text does not touch a lifeline.
    c.put(x.saturating_sub(1), ' ', Style::Plain);
    let end = c.text(x, &label, style);
    if end < c.cells.len() {
        c.put(end, ' ', Style::Plain);
    }
}

/// Splits text into lines of at most `max` columns at spaces (a longer word is cut).
fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(8);
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let sep = usize::from(!cur.is_empty());
        if !cur.is_empty() && width(&cur) + sep + width(word) > max {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
        while width(&cur) > max {
            let head = fit(&cur, max, true);
            let head = head.trim_end_matches("...").to_string();
            let rest = cur[head.len()..].to_string();
            if head.is_empty() {
                break;
            }
            lines.push(head);
            cur = rest;
        }
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

/// The anomalies of a row, one per line, wrapped (never cut: they are the point).
#[allow(clippy::too_many_arguments)]
fn anomaly_line(
    out: &mut String,
    geo: &Geometry,
    lo: usize,
    w: usize,
    text: &str,
    opts: &TextOptions,
    g: &Glyphs,
    lifelines: &dyn Fn(&mut Canvas),
) {
    let mut x = lo + 2;
    if w.saturating_sub(x) < 40 {
        x = geo.gutter;
    }
    let room = w.saturating_sub(x + 1);
    for a in text.split('\n') {
        for (k, part) in wrap(&sanitize(a), room.saturating_sub(2))
            .iter()
            .enumerate()
        {
            let mut c = Canvas::new(opts.ascii);
            lifelines(&mut c);
            let lead = if k == 0 { g.warn } else { ' ' };
            let t = format!("{lead} {part}");
            c.put(x.saturating_sub(1), ' ', Style::Plain);
            let end = c.text(x, &t, Style::Anomaly);
            if end < c.cells.len() {
                c.put(end, ' ', Style::Plain);
            }
            c.render(opts.color, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_counts_columns_not_bytes() {
        assert_eq!(fit("readme.txt", 20, false), "readme.txt");
        assert_eq!(fit("readme.txt", 6, false), "readm…");
        assert_eq!(fit("readme.txt", 6, true), "rea...");
        // Wide characters take two columns.
        assert_eq!(width("日本"), 4);
        assert_eq!(fit("日本語のファイル", 7, false), "日本語…");
    }

    #[test]
    fn wrap_keeps_every_word() {
        let lines = wrap("size-mismatch: RETR large.bin: 87440 bytes transferred", 20);
        assert!(lines.iter().all(|l| width(l) <= 20), "{lines:?}");
        assert_eq!(
            lines.join(" "),
            "size-mismatch: RETR large.bin: 87440 bytes transferred"
        );
    }
}
