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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ftp::TransferKind;
    use crate::model::{Command, Reply, Transfer};

    const T0: i64 = 1_800_000_000_000_000_000;

    fn ts(ms: i64) -> Timestamp {
        Timestamp(T0 + ms * 1_000_000)
    }

    fn cmd(ms: i64, verb: &str, arg: Option<&str>, code: Option<u16>) -> Command {
        Command {
            ts: ts(ms),
            verb: verb.into(),
            arg: arg.map(Into::into),
            replies: code
                .map(|c| Reply {
                    ts: ts(ms + 1),
                    code: c,
                    text: String::new(),
                })
                .into_iter()
                .collect(),
        }
    }

    fn session() -> Session {
        Session {
            id: 7,
            file: "live:test".into(),
            client: "10.0.0.2:40000".parse().unwrap(),
            server: "10.0.0.1:21".parse().unwrap(),
            start: ts(0),
            end: ts(10),
            user: Some("alice\x1b[2J".into()),
            logged_in: true,
            tls: false,
            banner: None,
            commands: vec![
                cmd(1, "USER", Some("alice"), Some(331)),
                cmd(2, "PASS", Some("****"), Some(230)),
                cmd(3, "RETR", Some("a.bin"), None),
            ],
            transfers: vec![Transfer {
                command_index: 2,
                command: "RETR".into(),
                arg: Some("a.bin".into()),
                kind: TransferKind::File,
                direction: Direction::Download,
                mode: Some(crate::model::Mode::Passive),
                announced: None,
                data: None,
                bytes: 0,
                sha256: None,
                rest: None,
                announced_size: None,
                type_code: None,
                final_code: None,
                complete: false,
                encrypted: false,
                start: ts(3),
                end: ts(3),
            }],
            anomalies: Vec::new(),
            control_syn_seen: true,
            control_closed: false,
            control_reset: false,
            control_packets: 0,
            control_segments: Vec::new(),
            dns: None,
            tls_cleared: None,
            findings: Vec::new(),
        }
    }

    fn text(log: &EventLog<Vec<u8>>) -> String {
        String::from_utf8(log.out.clone()).unwrap()
    }

    #[test]
    fn snapshots_then_end_give_each_event_once() {
        let mut log = EventLog::new(Vec::new());
        let mut s = session();
        log.open_sessions(&[&s]);
        let first = text(&log);
        assert_eq!(first.lines().count(), 3, "{first}");
        assert!(first.contains("#7    session started   10.0.0.2:40000 → 10.0.0.1:21"));
        // Wire strings are escaped; the login time is the 230's.
        assert!(
            first.contains(".003  #7    logged in         alice\\x1b[2J"),
            "{first}"
        );
        assert!(first.contains("transfer started  ↓ RETR a.bin (passive)"));
        // Nothing changed: nothing new.
        log.open_sessions(&[&s]);
        assert_eq!(text(&log), first);
        // The 226 alone does not end a successful transfer: its data connection must close.
        s.transfers[0].final_code = Some(226);
        log.open_sessions(&[&s]);
        assert_eq!(text(&log), first);
        assert_eq!(log.tracked(), 1);
        // The session ends: the transfer (incomplete: no data) and the session end.
        s.control_closed = true;
        s.transfers[0].end = ts(9);
        log.session(s);
        let all = text(&log);
        let new: Vec<&str> = all.lines().skip(3).collect();
        assert_eq!(new.len(), 2, "{all}");
        assert!(new[0].contains("transfer ended    ↓ RETR a.bin: 0 B, 226, INCOMPLETE"));
        assert!(new[1].contains("session ended     user alice\\x1b[2J, 3 commands, 1 transfers, 0 B, failed transfer"), "{}", new[1]);
        assert_eq!(log.tracked(), 0, "nothing is kept for a finished session");
    }

    #[test]
    fn a_session_never_seen_in_flight_gets_all_its_events() {
        let mut log = EventLog::new(Vec::new());
        let mut s = session();
        s.transfers[0].final_code = Some(550);
        log.session(s);
        let all = text(&log);
        // The event name follows the timestamp (24 characters) and the session id.
        let events: Vec<String> = all
            .lines()
            .map(|l| {
                let words: Vec<&str> = l[24..].split_whitespace().skip(1).take(2).collect();
                words.join(" ")
            })
            .collect();
        assert_eq!(
            events,
            [
                "session started",
                "logged in",
                "transfer started",
                "transfer ended",
                "session ended"
            ]
        );
        assert!(all.contains(", 550, INCOMPLETE"));
    }
}
