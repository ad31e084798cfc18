//! The TUI's state and its update function. No terminal here: input arrives as `Msg`, and
//! effects that touch the outside world are returned as `Effect`s for the runner.

use crate::analyzer::Progress;
use crate::ladder::layout::{ArrowStyle, Ladder, RowKind};
use crate::ladder::text::TextParts;
use crate::model::{Session, SessionStatus, Summary, UnmatchedData};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};

/// Everything that can happen to the app.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    Session(Box<Session>),
    /// The sessions still in flight (live capture, a stream on stdin), replacing the last such list.
    Open(Vec<Session>),
    Unmatched(Box<UnmatchedData>),
    Progress {
        file: String,
        progress: Progress,
    },
    /// Analysis finished: totals and the inputs that could not be used.
    Done {
        summary: Box<Summary>,
        errors: Vec<String>,
    },
}

/// What the runner must do after an update.
#[derive(Debug, PartialEq, Eq)]
pub enum Effect {
    None,
    Quit,
    /// Export the ladder of session `id` in `format` ("text", "mermaid", "svg").
    ExportLadder {
        id: u64,
        format: &'static str,
    },
    /// Save the packets of session `id` to a pcap.
    SavePcap {
        id: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    List,
    Ladder,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Id,
    Start,
    Client,
    Server,
    User,
    Tls,
    Commands,
    Transfers,
    Bytes,
    Duration,
    Status,
}

impl SortKey {
    pub const ALL: [SortKey; 11] = [
        SortKey::Id,
        SortKey::Start,
        SortKey::Client,
        SortKey::Server,
        SortKey::User,
        SortKey::Tls,
        SortKey::Commands,
        SortKey::Transfers,
        SortKey::Bytes,
        SortKey::Duration,
        SortKey::Status,
    ];

    pub fn title(self) -> &'static str {
        match self {
            SortKey::Id => "#",
            SortKey::Start => "Start",
            SortKey::Client => "Client",
            SortKey::Server => "Server",
            SortKey::User => "User",
            SortKey::Tls => "TLS",
            SortKey::Commands => "Cmds",
            SortKey::Transfers => "Xfers",
            SortKey::Bytes => "Bytes",
            SortKey::Duration => "Duration",
            SortKey::Status => "Status",
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ProgressState {
    pub file: String,
    pub packets: u64,
    pub bytes_read: u64,
    /// Size of the current file when known (not for stdin), for a percentage.
    pub total_bytes: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct ListState {
    pub selected: usize,
    pub sort: SortKey,
    pub descending: bool,
    pub filter: String,
    pub editing_filter: bool,
    /// Show unmatched data connections instead of sessions.
    pub unmatched: bool,
}

#[derive(Clone, Debug, Default)]
pub struct LadderState {
    pub session: u64,
    pub scroll: usize,
    pub selected: usize,
    pub packets: bool,
    /// 0 relative, 1 absolute, 2 delta.
    pub time_format: u8,
    /// Rows in the current ladder (set when drawn), to bound the selection.
    pub rows: usize,
    /// Rows visible on screen (set when drawn), for paging.
    pub page: usize,
}

/// The ladder drawn for the ladder screen, kept while its inputs stay the same.
pub struct LadderCache {
    /// Session id, packet detail, time format, width.
    pub key: (u64, bool, u8, usize),
    pub ladder: Ladder,
    pub parts: TextParts,
}

pub struct App {
    pub ladder_cache: Option<LadderCache>,
    /// Ids of the sessions shown as in flight (replaced when they end).
    pub open_ids: std::collections::HashSet<u64>,
    /// What is being analysed, for the header ("capturing on eth0").
    pub source: Option<String>,
    pub sessions: Vec<Session>,
    pub unmatched: Vec<UnmatchedData>,
    pub summary: Option<Summary>,
    pub errors: Vec<String>,
    pub progress: ProgressState,
    pub screen: Screen,
    pub help: bool,
    pub list: ListState,
    pub ladder: LadderState,
    /// One line shown in the status bar (result of an export, a hint).
    pub status: Option<String>,
    /// File sizes by name, for progress percentages.
    pub sizes: Vec<(String, u64)>,
}

impl Default for App {
    fn default() -> Self {
        App {
            ladder_cache: None,
            open_ids: Default::default(),
            source: None,
            sessions: Vec::new(),
            unmatched: Vec::new(),
            summary: None,
            errors: Vec::new(),
            progress: ProgressState::default(),
            screen: Screen::List,
            help: false,
            list: ListState {
                selected: 0,
                sort: SortKey::Id,
                descending: false,
                filter: String::new(),
                editing_filter: false,
                unmatched: false,
            },
            ladder: LadderState::default(),
            status: None,
            sizes: Vec::new(),
        }
    }
}

impl App {
    pub fn done(&self) -> bool {
        self.summary.is_some()
    }

    /// Indices into `sessions` in display order: filtered, then sorted.
    pub fn visible(&self) -> Vec<usize> {
        let needle = self.list.filter.to_lowercase();
        let mut v: Vec<usize> = (0..self.sessions.len())
            .filter(|&i| needle.is_empty() || matches_filter(&self.sessions[i], &needle))
            .collect();
        let key = self.list.sort;
        v.sort_by(|&a, &b| {
            let (x, y) = (&self.sessions[a], &self.sessions[b]);
            let ord = match key {
                SortKey::Id => x.id.cmp(&y.id),
                SortKey::Start => x.start.cmp(&y.start),
                SortKey::Client => x.client.cmp(&y.client),
                SortKey::Server => x.server.cmp(&y.server),
                SortKey::User => x.user.cmp(&y.user),
                SortKey::Tls => x.tls.cmp(&y.tls),
                SortKey::Commands => x.commands.len().cmp(&y.commands.len()),
                SortKey::Transfers => x.transfers.len().cmp(&y.transfers.len()),
                SortKey::Bytes => x.transfer_bytes().cmp(&y.transfer_bytes()),
                SortKey::Duration => x.end.since(x.start).cmp(&y.end.since(y.start)),
                SortKey::Status => x.status().cmp(&y.status()),
            }
            .then(x.id.cmp(&y.id));
            if self.list.descending {
                ord.reverse()
            } else {
                ord
            }
        });
        v
    }

    /// The session under the cursor in the list.
    pub fn selected_session(&self) -> Option<&Session> {
        let v = self.visible();
        v.get(self.list.selected).map(|&i| &self.sessions[i])
    }

    /// Adds a session, or replaces the earlier picture of it (a session in flight).
    fn upsert(&mut self, s: Session) {
        if self.ladder.session == s.id {
            self.ladder_cache = None;
        }
        match self.sessions.iter_mut().find(|x| x.id == s.id) {
            Some(slot) => *slot = s,
            None => self.sessions.push(s),
        }
    }

    pub fn session_by_id(&self, id: u64) -> Option<&Session> {
        self.sessions.iter().find(|s| s.id == id)
    }

    pub fn update(&mut self, msg: Msg) -> Effect {
        match msg {
            Msg::Session(s) => {
                self.open_ids.remove(&s.id);
                self.upsert(*s);
                Effect::None
            }
            Msg::Open(list) => {
                let now: std::collections::HashSet<u64> = list.iter().map(|s| s.id).collect();
                let gone: Vec<u64> = self.open_ids.difference(&now).copied().collect();
                self.sessions.retain(|s| !gone.contains(&s.id));
                for s in list {
                    self.open_ids.insert(s.id);
                    self.upsert(s);
                }
                Effect::None
            }
            Msg::Unmatched(u) => {
                self.unmatched.push(*u);
                Effect::None
            }
            Msg::Progress { file, progress } => {
                let total = self.sizes.iter().find(|(n, _)| *n == file).map(|(_, s)| *s);
                self.progress = ProgressState {
                    file,
                    packets: progress.packets,
                    bytes_read: progress.bytes_read,
                    total_bytes: total,
                };
                Effect::None
            }
            Msg::Done { summary, errors } => {
                self.summary = Some(*summary);
                self.errors = errors;
                Effect::None
            }
            Msg::Resize(..) => Effect::None,
            Msg::Mouse(m) => self.mouse(m),
            Msg::Key(k) => self.key(k),
        }
    }

    fn mouse(&mut self, m: MouseEvent) -> Effect {
        let delta: isize = match m.kind {
            MouseEventKind::ScrollDown => 3,
            MouseEventKind::ScrollUp => -3,
            _ => return Effect::None,
        };
        self.move_selection(delta);
        Effect::None
    }

    fn move_selection(&mut self, delta: isize) {
        match self.screen {
            Screen::List => {
                let n = self.list_len();
                self.list.selected = step(self.list.selected, delta, n);
            }
            Screen::Ladder => {
                self.ladder.selected = step(self.ladder.selected, delta, self.ladder.rows);
            }
        }
    }

    fn list_len(&self) -> usize {
        if self.list.unmatched {
            self.unmatched.len()
        } else {
            self.visible().len()
        }
    }

    fn key(&mut self, k: KeyEvent) -> Effect {
        if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
            return Effect::Quit;
        }
        if self.help {
            // Any key closes the help.
            self.help = false;
            return Effect::None;
        }
        if self.list.editing_filter {
            match k.code {
                KeyCode::Esc => {
                    self.list.editing_filter = false;
                    self.list.filter.clear();
                }
                KeyCode::Enter => self.list.editing_filter = false,
                KeyCode::Backspace => {
                    self.list.filter.pop();
                }
                KeyCode::Char(c) if !c.is_control() => self.list.filter.push(c),
                _ => {}
            }
            self.list.selected = 0;
            return Effect::None;
        }
        self.status = None;
        let page = self.ladder.page.max(1) as isize;
        match k.code {
            KeyCode::Char('?') => self.help = true,
            KeyCode::Char('j') | KeyCode::Down => self.move_selection(1),
            KeyCode::Char('k') | KeyCode::Up => self.move_selection(-1),
            KeyCode::PageDown => self.move_selection(page),
            KeyCode::PageUp => self.move_selection(-page),
            KeyCode::Char('g') | KeyCode::Home => self.move_selection(isize::MIN / 2),
            KeyCode::Char('G') | KeyCode::End => self.move_selection(isize::MAX / 2),
            _ => {
                return match self.screen {
                    Screen::List => self.list_key(k),
                    Screen::Ladder => self.ladder_key(k),
                };
            }
        }
        Effect::None
    }

    fn list_key(&mut self, k: KeyEvent) -> Effect {
        match k.code {
            KeyCode::Char('q') => return Effect::Quit,
            KeyCode::Esc => {
                if self.list.unmatched {
                    self.list.unmatched = false;
                    self.list.selected = 0;
                } else if !self.list.filter.is_empty() {
                    self.list.filter.clear();
                } else {
                    return Effect::Quit;
                }
            }
            KeyCode::Char('/') => {
                self.list.editing_filter = true;
                self.list.unmatched = false;
            }
            KeyCode::Char('u') => {
                self.list.unmatched = !self.list.unmatched;
                self.list.selected = 0;
            }
            KeyCode::Char('s') | KeyCode::Right | KeyCode::Char('>') => self.cycle_sort(1),
            KeyCode::Left | KeyCode::Char('<') => self.cycle_sort(-1),
            KeyCode::Char('r') => self.list.descending = !self.list.descending,
            KeyCode::Enter if !self.list.unmatched => {
                if let Some(id) = self.selected_session().map(|s| s.id) {
                    self.open_ladder(id);
                }
            }
            _ => {}
        }
        Effect::None
    }

    pub fn open_ladder(&mut self, id: u64) {
        self.screen = Screen::Ladder;
        self.ladder = LadderState {
            session: id,
            packets: self.ladder.packets,
            time_format: self.ladder.time_format,
            ..LadderState::default()
        };
    }

    fn cycle_sort(&mut self, delta: isize) {
        let all = SortKey::ALL;
        let i = all.iter().position(|k| *k == self.list.sort).unwrap_or(0) as isize;
        let n = all.len() as isize;
        self.list.sort = all[((i + delta).rem_euclid(n)) as usize];
    }

    fn ladder_key(&mut self, k: KeyEvent) -> Effect {
        let id = self.ladder.session;
        match k.code {
            KeyCode::Char('q') | KeyCode::Esc | KeyCode::Backspace => self.screen = Screen::List,
            KeyCode::Char('p') => {
                self.ladder.packets = !self.ladder.packets;
                self.ladder.selected = 0;
                self.ladder.scroll = 0;
            }
            KeyCode::Char('t') => self.ladder.time_format = (self.ladder.time_format + 1) % 3,
            KeyCode::Char('n') => self.jump(true),
            KeyCode::Char('N') => self.jump(false),
            KeyCode::Char('e') => return Effect::ExportLadder { id, format: "text" },
            KeyCode::Char('m') => {
                return Effect::ExportLadder {
                    id,
                    format: "mermaid",
                };
            }
            KeyCode::Char('v') => return Effect::ExportLadder { id, format: "svg" },
            KeyCode::Char('s') => return Effect::SavePcap { id },
            _ => {}
        }
        Effect::None
    }
}

impl App {
    /// Moves the selection to the next (or previous) row that is a transfer's data or carries
    /// an anomaly.
    fn jump(&mut self, forward: bool) {
        let Some(cache) = &self.ladder_cache else {
            return;
        };
        let interesting = |k: usize| {
            let row = &cache.ladder.rows[k];
            row.anomaly.is_some()
                || matches!(
                    row.kind,
                    RowKind::Arrow {
                        style: ArrowStyle::Data,
                        ..
                    }
                )
        };
        let n = cache.ladder.rows.len();
        let cur = self.ladder.selected;
        let found = if forward {
            (cur + 1..n).find(|&k| interesting(k))
        } else {
            (0..cur.min(n)).rev().find(|&k| interesting(k))
        };
        match found {
            Some(k) => self.ladder.selected = k,
            None => {
                self.status = Some(
                    if forward {
                        "no further transfer or anomaly"
                    } else {
                        "no earlier transfer or anomaly"
                    }
                    .to_string(),
                )
            }
        }
    }
}

fn step(pos: usize, delta: isize, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    (pos as isize)
        .saturating_add(delta)
        .clamp(0, len as isize - 1) as usize
}

/// `/` filter: address, user, file name or status, case-insensitive substring.
fn matches_filter(s: &Session, needle: &str) -> bool {
    let hit = |t: &str| t.to_lowercase().contains(needle);
    hit(&s.client.to_string())
        || hit(&s.server.to_string())
        || s.user.as_deref().is_some_and(hit)
        || hit(s.status().as_str())
        || s.transfers
            .iter()
            .any(|t| t.arg.as_deref().is_some_and(hit))
        || (needle == "tls" && s.tls)
        || (needle == "failed"
            && matches!(
                s.status(),
                SessionStatus::FailedLogin | SessionStatus::FailedTransfer
            ))
}
