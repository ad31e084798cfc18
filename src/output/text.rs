//! The readable `sessions` table: one block per session, its transfers under it.

use super::{human_bytes, sanitize};
use crate::ftp::Direction;
use crate::model::{Opener, Session, Summary, Transfer, UnmatchedData};
use crate::session::SessionSink;
use crate::time::Timestamp;
use std::io::Write;

/// Writes each session as soon as it is final.
pub struct TextTable<W: Write> {
    out: W,
    header_done: bool,
    /// Unmatched data connections of sessions not yet written: shown under their session.
    held: Vec<UnmatchedData>,
    pub error: Option<std::io::Error>,
}

impl<W: Write> TextTable<W> {
    pub fn new(out: W) -> Self {
        TextTable {
            out,
            header_done: false,
            held: Vec::new(),
            error: None,
        }
    }

    fn write(&mut self, text: String) {
        if self.error.is_none()
            && let Err(e) = self
                .out
                .write_all(text.as_bytes())
                .and_then(|()| self.out.flush())
        {
            self.error = Some(e);
        }
    }

    fn header(&mut self) {
        if !self.header_done {
            self.header_done = true;
            self.write(header());
        }
    }

    pub fn summary(&mut self, s: &Summary) {
        for u in std::mem::take(&mut self.held) {
            self.write(unmatched_text(&u));
        }
        let text = summary_text(s);
        self.write(text);
        if let Err(e) = self.out.flush() {
            self.error.get_or_insert(e);
        }
    }
}

fn header() -> String {
    format!(
        "{:>4}  {:<18}  {:<40}  {:<16}  {:<3}  {:>4}  {:>5}  {:>10}  {}\n",
        "ID", "START (UTC)", "CLIENT → SERVER", "USER", "TLS", "CMDS", "XFERS", "BYTES", "STATUS"
    )
}

/// Wall-clock time of day with milliseconds (the date is in the summary).
pub fn clock(ts: Timestamp) -> String {
    let secs = ts.nanos().div_euclid(1_000_000_000);
    let ms = ts.nanos().rem_euclid(1_000_000_000) / 1_000_000;
    let day = secs.rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        day / 3600,
        day / 60 % 60,
        day % 60,
        ms
    )
}

/// A civil UTC date "YYYY-MM-DD" from epoch seconds (Howard Hinnant's algorithm).
pub fn date(ts: Timestamp) -> String {
    let days = ts.nanos().div_euclid(1_000_000_000).div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

pub fn session_text(s: &Session) -> String {
    let mut out = String::new();
    let peers = format!("{} → {}", s.client, s.server);
    let user = s.user.as_deref().map(sanitize).unwrap_or_default();
    out.push_str(&format!(
        "{:>4}  {:<18}  {:<40}  {:<16}  {:<3}  {:>4}  {:>5}  {:>10}  {}\n",
        s.id,
        format!(
            "{} {}",
            date(s.start).get(5..).unwrap_or(""),
            clock(s.start)
        ),
        peers,
        truncate(&user, 16),
        if s.tls { "yes" } else { "no" },
        s.commands.len(),
        s.transfers.len(),
        human_bytes(s.transfer_bytes()),
        s.status().as_str(),
    ));
    for t in &s.transfers {
        out.push_str(&transfer_line(t));
    }
    for a in &s.anomalies {
        out.push_str(&format!("        ! {}: {}\n", a.kind, sanitize(&a.message)));
    }
    for f in &s.findings {
        let at = f
            .transfer
            .map(|t| format!(" (transfer {})", t + 1))
            .unwrap_or_default();
        out.push_str(&format!(
            "        {} {} {}{at}: {}\n",
            match f.severity {
                crate::findings::Severity::Error => "✗",
                crate::findings::Severity::Warning => "⚠",
                crate::findings::Severity::Info => "ℹ",
            },
            f.severity.as_str(),
            f.kind,
            sanitize(&f.message)
        ));
    }
    out
}

fn transfer_line(t: &Transfer) -> String {
    let name = t.arg.as_deref().map(sanitize).unwrap_or_default();
    let what = truncate(&format!("{} {}", t.command, name), 34);
    let arrow = match t.direction {
        Direction::Download => "↓",
        Direction::Upload => "↑",
    };
    let mode = t.mode.map(|m| m.as_str()).unwrap_or("?");
    let data = match &t.data {
        Some(d) => {
            let by = match d.opened_by {
                Opener::Client => "client→",
                Opener::Server => "server→",
            };
            format!(
                "{by} {}",
                match d.opened_by {
                    Opener::Client => d.server,
                    Opener::Server => d.client,
                }
            )
        }
        None => "no data connection".to_string(),
    };
    let code = t
        .final_code
        .map(|c| c.to_string())
        .unwrap_or_else(|| "-".into());
    let state = if t.complete { "complete" } else { "INCOMPLETE" };
    let sha = t
        .sha256
        .as_deref()
        .map(|h| &h[..12.min(h.len())])
        .unwrap_or("-");
    format!(
        "      {arrow} {what:<34}  {mode:<7}  {data:<32}  {:>10}  {code:>3}  {state:<10}  {sha}\n",
        human_bytes(t.bytes)
    )
}

fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

pub fn unmatched_text(u: &UnmatchedData) -> String {
    let d = &u.conn;
    let session = u
        .session
        .map(|s| format!(" (session {s})"))
        .unwrap_or_default();
    format!(
        "      ? data {} → {}{session}: {} from server, {} from client: {}\n",
        match d.opened_by {
            Opener::Client => d.client,
            Opener::Server => d.server,
        },
        match d.opened_by {
            Opener::Client => d.server,
            Opener::Server => d.client,
        },
        human_bytes(d.bytes_from_server),
        human_bytes(d.bytes_from_client),
        u.reason
    )
}

pub fn summary_text(s: &Summary) -> String {
    let mut out = format!(
        "\n{} file(s), {} packets, {}: {} session(s), {} transfer(s), {} unmatched data connection(s)\n",
        s.files,
        s.packets,
        human_bytes(s.bytes),
        s.sessions,
        s.transfers,
        s.unmatched_data
    );
    if s.undecodable_packets > 0 {
        out.push_str(&format!(
            "{} packet(s) could not be decoded\n",
            s.undecodable_packets
        ));
    }
    if !s.anomalies.is_empty() {
        let list: Vec<String> = s
            .anomalies
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        out.push_str(&format!("anomalies: {}\n", list.join(", ")));
    }
    for w in &s.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out
}

impl<W: Write> SessionSink for TextTable<W> {
    fn session(&mut self, session: Session) {
        self.header();
        self.write(session_text(&session));
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|u| u.session == Some(session.id));
        self.held = rest;
        for u in mine {
            self.write(unmatched_text(&u));
        }
    }
    fn unmatched(&mut self, data: UnmatchedData) {
        self.header();
        if data.session.is_some() {
            self.held.push(data);
        } else {
            self.write(unmatched_text(&data));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(date(Timestamp(0)), "1970-01-01");
        assert_eq!(
            date(Timestamp::from_secs_nanos(1_795_550_470, 0)),
            "2026-11-24"
        );
        assert_eq!(
            clock(Timestamp::from_secs_nanos(3661, 5_000_000)),
            "01:01:01.005"
        );
    }
}
