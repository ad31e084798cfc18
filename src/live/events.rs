//! `--format text` for live monitoring: one line per event (session started, logged in,
//! transfer started and ended, session ended), for people tailing the output.
//!
//! Events are derived from what a sink receives: snapshots of the sessions in flight
//! (`SessionSink::open_sessions`, a few times a second) and each finished session. What
//! changed since the last look becomes an event; a session that starts and ends between two
//! snapshots still gets all its events, from its final record. Event times are the packets'
//! times, not the time of printing.

use crate::model::{Direction, Session, UnmatchedData};
use crate::output::text::{clock, date};
use crate::output::{human_bytes, sanitize};
use crate::session::SessionSink;
use crate::time::Timestamp;
use std::collections::HashMap;
use std::io::Write;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Started,
    Ended,
}

#[derive(Default)]
struct Seen {
    logged_in: bool,
    transfers: Vec<Stage>,
}

/// Writes event lines as they happen. State is kept only for sessions in flight.
pub struct EventLog<W: Write> {
    out: W,
    seen: HashMap<u64, Seen>,
    pub error: Option<std::io::Error>,
}

fn stamp(ts: Timestamp) -> String {
    format!("{} {}", date(ts), clock(ts))
}

fn arrow(d: Direction) -> &'static str {
    match d {
        Direction::Download => "↓",
        Direction::Upload => "↑",
    }
}

/// Time the login succeeded: the 230 reply.
fn login_time(s: &Session) -> Timestamp {
    s.commands
        .iter()
        .filter_map(|c| c.final_reply())
        .find(|r| r.code == 230)
        .map_or(s.start, |r| r.ts)
}

impl<W: Write> EventLog<W> {
    pub fn new(out: W) -> Self {
        EventLog {
            out,
            seen: HashMap::new(),
            error: None,
        }
    }

    /// Sessions whose events are being followed (in flight).
    pub fn tracked(&self) -> usize {
        self.seen.len()
    }

    fn line(&mut self, ts: Timestamp, id: Option<u64>, event: &str, detail: &str) {
        let id = id.map_or("-".to_string(), |i| format!("#{i}"));
        let text = format!("{}  {id:<5} {event:<17} {detail}\n", stamp(ts));
        if self.error.is_none()
            && let Err(e) = self
                .out
                .write_all(text.as_bytes())
                .and_then(|()| self.out.flush())
        {
            self.error = Some(e);
        }
    }

    /// Writes the events of `s` not written yet. `last`: the session is over.
    fn update(&mut self, s: &Session, last: bool) {
        let mut seen = self.seen.remove(&s.id);
        if seen.is_none() {
            let detail = format!("{} → {}", s.client, s.server);
            self.line(s.start, Some(s.id), "session started", &detail);
        }
        let seen_ref = seen.get_or_insert_with(Seen::default);
        if s.logged_in && !seen_ref.logged_in {
            seen_ref.logged_in = true;
            let user = sanitize(s.user.as_deref().unwrap_or("?")).into_owned();
            self.line(login_time(s), Some(s.id), "logged in", &user);
        }
        let mut seen = seen.expect("set above");
        for (i, t) in s.transfers.iter().enumerate() {
            let what = format!(
                "{} {}{}",
                arrow(t.direction),
                t.command,
                t.arg
                    .as_deref()
                    .map(|a| format!(" {}", sanitize(a)))
                    .unwrap_or_default()
            );
            if seen.transfers.len() <= i {
                let ts = s.commands.get(t.command_index).map_or(t.start, |c| c.ts);
                let mode = t.mode.map_or("no data setup seen", |m| m.as_str());
                self.line(
                    ts,
                    Some(s.id),
                    "transfer started",
                    &format!("{what} ({mode})"),
                );
                seen.transfers.push(Stage::Started);
            }
            // In flight, a transfer has ended once its final reply is in and, if it
            // succeeded, its data connection has closed.
            let ended = last
                || match t.final_code {
                    None => false,
                    Some(c) if c >= 400 => true,
                    Some(_) => t.data.is_some(),
                };
            if ended && seen.transfers[i] == Stage::Started {
                seen.transfers[i] = Stage::Ended;
                let mut detail = format!("{what}: {}", human_bytes(t.bytes));
                let (from, to) = t
                    .data
                    .as_ref()
                    .and_then(|d| d.first_data.zip(d.last_data))
                    .unwrap_or((t.start, t.end));
                let secs = to.since(from) as f64 / 1e9;
                if t.bytes > 0 && secs > 0.0 {
                    let rate = (t.bytes as f64 / secs) as u64;
                    detail.push_str(&format!(" in {secs:.2} s ({}/s)", human_bytes(rate)));
                }
                match t.final_code {
                    Some(c) => detail.push_str(&format!(", {c}")),
                    None => detail.push_str(", no final reply"),
                }
                // Completeness is only known once the session is over; a transfer found
                // incomplete then says so (the session's status too).
                if last && !t.complete {
                    detail.push_str(", INCOMPLETE");
                }
                let ts = t.end;
                self.line(ts, Some(s.id), "transfer ended", &detail);
            }
        }
        if last {
            let user = s
                .user
                .as_deref()
                .map(|u| format!("user {}, ", sanitize(u)))
                .unwrap_or_default();
            let detail = format!(
                "{user}{} commands, {} transfers, {}, {}",
                s.commands.len(),
                s.transfers.len(),
                human_bytes(s.transfer_bytes()),
                s.status().as_str()
            );
            self.line(s.end, Some(s.id), "session ended", &detail);
        } else {
            self.seen.insert(s.id, seen);
        }
    }

    /// Writes a closing line.
    pub fn note(&mut self, ts: Timestamp, text: &str) {
        self.line(ts, None, "summary", text);
    }
}

impl<W: Write> SessionSink for EventLog<W> {
    fn session(&mut self, session: Session) {
        self.update(&session, true);
    }

    fn unmatched(&mut self, u: UnmatchedData) {
        let d = &u.conn;
        let detail = format!(
            "{} → {}, {} from the server, {} from the client: {}",
            d.client,
            d.server,
            human_bytes(d.bytes_from_server),
            human_bytes(d.bytes_from_client),
            sanitize(&u.reason)
        );
        self.line(d.end, u.session, "unmatched data", &detail);
    }

    fn open_sessions(&mut self, open: &[&Session]) {
        for s in open {
            self.update(s, false);
        }
    }
}
