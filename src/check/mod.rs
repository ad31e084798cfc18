//! `ftpflow check`: rules over the analysis result, for CI pipelines.
//!
//! Rules come from a TOML file and from flags (`Rules`). A `Checker` is a `SessionSink`:
//! it judges each session as it streams by and keeps only violations (bounded), counters and
//! the files still expected, never whole sessions. `Report` is the verdict; `report` renders it.

pub mod report;

use crate::findings::{self, Finding, Severity};
use crate::model::{Session, UnmatchedData};
use crate::session::SessionSink;
use crate::time::Timestamp;
use serde::Deserialize;
use std::collections::HashMap;
use std::net::IpAddr;

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("cannot read the rules file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the rules file {path} is not valid: {message}")]
    Parse { path: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// A file that must have been transferred.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The transfer command's argument, or its last path component.
    pub name: String,
    /// SHA-256 (hex) of the bytes on the wire.
    pub sha256: Option<String>,
    pub size: Option<u64>,
    /// "download" or "upload".
    pub direction: Option<String>,
}

impl Expect {
    /// `NAME[:SHA256[:SIZE]]` as given on the command line.
    pub fn parse_flag(spec: &str) -> Expect {
        let mut e = Expect {
            name: spec.to_string(),
            ..Expect::default()
        };
        if let Some((rest, last)) = e.name.clone().rsplit_once(':')
            && !last.is_empty()
        {
            if last.bytes().all(|b| b.is_ascii_digit())
                && let Some((name, sha)) = rest.rsplit_once(':')
                && is_sha256(sha)
            {
                e = Expect {
                    name: name.to_string(),
                    sha256: Some(sha.to_ascii_lowercase()),
                    size: last.parse().ok(),
                    direction: None,
                };
            } else if is_sha256(last) {
                e = Expect {
                    name: rest.to_string(),
                    sha256: Some(last.to_ascii_lowercase()),
                    ..Expect::default()
                };
            }
        }
        e
    }

    fn describe(&self) -> String {
        let mut s = self.name.clone();
        if let Some(d) = &self.direction {
            s = format!("{s} ({d})");
        }
        if let Some(h) = &self.sha256 {
            s.push_str(&format!(" sha256 {}", &h[..h.len().min(16)]));
        }
        if let Some(n) = self.size {
            s.push_str(&format!(" size {n}"));
        }
        s
    }
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A finding that is not a violation: all of a kind, or only where the fields given match.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Allow {
    Kind(String),
    Scoped(AllowScope),
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AllowScope {
    pub kind: String,
    /// The transfer's file name (argument or its last path component).
    pub file: Option<String>,
    pub client: Option<IpAddr>,
    pub server: Option<IpAddr>,
}

impl Allow {
    fn kind(&self) -> &str {
        match self {
            Allow::Kind(k) => k,
            Allow::Scoped(s) => &s.kind,
        }
    }

    fn allows(&self, s: &Session, f: &Finding) -> bool {
        match self {
            Allow::Kind(k) => k == f.kind,
            Allow::Scoped(a) => {
                a.kind == f.kind
                    && a.client.is_none_or(|ip| ip == s.client.ip())
                    && a.server.is_none_or(|ip| ip == s.server.ip())
                    && a.file.as_ref().is_none_or(|want| {
                        f.transfer
                            .and_then(|i| s.transfers.get(i))
                            .and_then(|t| t.arg.as_deref())
                            .is_some_and(|arg| name_matches(arg, want))
                    })
            }
        }
    }
}

fn name_matches(arg: &str, want: &str) -> bool {
    arg == want || arg.rsplit('/').next() == Some(want)
}

/// What `check` enforces. The defaults (no failed or incomplete transfer, no failed data
/// connection) always apply; the rest is optional.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Rules {
    /// Every session must use TLS, and keep it (no CCC, no cleartext data).
    #[serde(default)]
    pub require_tls: bool,
    #[serde(default)]
    pub forbid_anonymous: bool,
    /// Longest acceptable wait for a server reply.
    pub max_reply_ms: Option<u64>,
    /// Fewest complete transfers (TLS sessions' data connections count too).
    pub min_transfers: Option<u64>,
    #[serde(default)]
    pub expect: Vec<Expect>,
    #[serde(default)]
    pub allow: Vec<Allow>,
    /// More finding kinds that are violations.
    #[serde(default)]
    pub forbid: Vec<String>,
}

impl Rules {
    pub fn from_toml(path: &str, text: &str) -> Result<Rules, RulesError> {
        let rules: Rules = toml::from_str(text).map_err(|e| RulesError::Parse {
            path: path.to_string(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        rules.validate()?;
        Ok(rules)
    }

    pub fn from_file(path: &std::path::Path) -> Result<Rules, RulesError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
            path: name.clone(),
            source,
        })?;
        Rules::from_toml(&name, &text)
    }

    /// Adds `other` (flags) to these rules (a file): switches and lists add up, numbers
    /// given in `other` win.
    pub fn merge(&mut self, other: Rules) {
        self.require_tls |= other.require_tls;
        self.forbid_anonymous |= other.forbid_anonymous;
        self.max_reply_ms = other.max_reply_ms.or(self.max_reply_ms);
        self.min_transfers = other.min_transfers.or(self.min_transfers);
        self.expect.extend(other.expect);
        self.allow.extend(other.allow);
        self.forbid.extend(other.forbid);
    }

    /// Unknown finding kinds, bad hashes or directions are errors, not silently ignored.
    pub fn validate(&self) -> Result<(), RulesError> {
        let known = |k: &str| findings::severity_of(k).is_some();
        for k in self
            .allow
            .iter()
            .map(Allow::kind)
            .chain(self.forbid.iter().map(String::as_str))
        {
            if !known(k) {
                let all: Vec<&str> = findings::KINDS.iter().map(|k| k.0).collect();
                return Err(RulesError::Invalid(format!(
                    "unknown finding kind {k:?} (known: {})",
                    all.join(", ")
                )));
            }
        }
        for e in &self.expect {
            if e.name.is_empty() {
                return Err(RulesError::Invalid(
                    "an expected file has an empty name".into(),
                ));
            }
            if let Some(h) = &e.sha256
                && !is_sha256(h)
            {
                return Err(RulesError::Invalid(format!(
                    "expected file {}: sha256 must be 64 hex digits",
                    e.name
                )));
            }
            if let Some(d) = &e.direction
                && d != "download"
                && d != "upload"
            {
                return Err(RulesError::Invalid(format!(
                    "expected file {}: direction must be \"download\" or \"upload\"",
                    e.name
                )));
            }
        }
        Ok(())
    }
}

/// One broken rule, where and why. Strings may come off the wire: renderers sanitize them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub file: Option<String>,
    pub session: Option<u64>,
    /// 0-based index into the session's transfers.
    pub transfer: Option<usize>,
    pub kind: Option<&'static str>,
    pub severity: Severity,
    pub ts: Option<Timestamp>,
    pub message: String,
}

/// A rule and its verdict.
#[derive(Clone, Debug)]
pub struct RuleResult {
    pub name: &'static str,
    pub description: String,
    pub violations: Vec<Violation>,
    /// Violations beyond the listing limit, counted.
    pub more: u64,
}

impl RuleResult {
    pub fn passed(&self) -> bool {
        self.violations.is_empty() && self.more == 0
    }
    pub fn count(&self) -> u64 {
        self.violations.len() as u64 + self.more
    }
}

#[derive(Clone, Debug)]
pub struct Report {
    pub rules: Vec<RuleResult>,
    pub sessions: u64,
    pub transfers: u64,
    pub files: usize,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.rules.iter().all(RuleResult::passed)
    }
    pub fn failed_rules(&self) -> usize {
        self.rules.iter().filter(|r| !r.passed()).count()
    }
}

/// Violations listed per rule; the rest are counted.
const MAX_LISTED: usize = 1000;

/// Which rule a finding kind breaks, if any, under these rules.
fn rule_of(kind: &str, rules: &Rules) -> Option<&'static str> {
    match kind {
        "transfer-failed" | "transfer-aborted" => Some("no-failed-transfers"),
        "transfer-incomplete" | "capture-gap" => Some("no-incomplete-transfers"),
        "data-connection-failed"
        | "data-syn-unanswered"
        | "data-syn-reset"
        | "port-unreachable" => Some("no-failed-data-connections"),
        "tls-cleared" | "cleartext-data" if rules.require_tls => Some("require-tls"),
        "anonymous-login" if rules.forbid_anonymous => Some("forbid-anonymous"),
        k if rules.forbid.iter().any(|f| f == k) => Some("forbidden-findings"),
        _ => None,
    }
}

/// Judges sessions as they stream by (a `SessionSink`).
pub struct Checker {
    rules: Rules,
    results: Vec<RuleResult>,
    /// Which expected files were seen.
    found: Vec<bool>,
    complete_transfers: u64,
    sessions: u64,
    transfers: u64,
    /// Data connections handed out before their session, per session (TLS sessions' count
    /// as transfers once their session is known to be TLS).
    early_data: HashMap<u64, u64>,
}

impl Checker {
    pub fn new(rules: Rules) -> Checker {
        let mut results = Vec::new();
        let mut add = |name: &'static str, description: String| {
            results.push(RuleResult {
                name,
                description,
                violations: Vec::new(),
                more: 0,
            })
        };
        add(
            "no-failed-transfers",
            "no transfer refused (4xx/5xx) or aborted (426, ABOR)".into(),
        );
        add(
            "no-incomplete-transfers",
            "every transfer whole: sizes agree, final reply seen, no data missing from the capture"
                .into(),
        );
        add(
            "no-failed-data-connections",
            "every data connection opened (no 425, no SYN reset or unanswered)".into(),
        );
        if rules.require_tls {
            add(
                "require-tls",
                "every session uses TLS (AUTH), keeps it (no CCC) and protects its data".into(),
            );
        }
        if rules.forbid_anonymous {
            add("forbid-anonymous", "no anonymous login".into());
        }
        if let Some(ms) = rules.max_reply_ms {
            add("max-reply-ms", format!("every server reply within {ms} ms"));
        }
        if let Some(n) = rules.min_transfers {
            add(
                "min-transfers",
                format!("at least {n} complete transfer(s)"),
            );
        }
        if !rules.expect.is_empty() {
            add(
                "expect",
                format!("{} expected file(s) transferred", rules.expect.len()),
            );
        }
        if !rules.forbid.is_empty() {
            add(
                "forbidden-findings",
                format!("no finding of kind {}", rules.forbid.join(", ")),
            );
        }
        Checker {
            found: vec![false; rules.expect.len()],
            rules,
            results,
            complete_transfers: 0,
            sessions: 0,
            transfers: 0,
            early_data: HashMap::new(),
        }
    }

    fn violate(&mut self, rule: &str, v: Violation) {
        if let Some(r) = self.results.iter_mut().find(|r| r.name == rule) {
            if r.violations.len() < MAX_LISTED {
                r.violations.push(v);
            } else {
                r.more += 1;
            }
        }
    }

    fn judge(&mut self, s: &Session) {
        self.sessions += 1;
        self.transfers += s.transfers.len() as u64;
        let at = |transfer: Option<usize>, kind, severity, ts, message| Violation {
            file: Some(s.file.clone()),
            session: Some(s.id),
            transfer,
            kind,
            severity,
            ts,
            message,
        };
        for f in &s.findings {
            let Some(rule) = rule_of(f.kind, &self.rules) else {
                continue;
            };
            if self.rules.allow.iter().any(|a| a.allows(s, f)) {
                continue;
            }
            let v = at(
                f.transfer,
                Some(f.kind),
                f.severity,
                Some(f.ts),
                f.message.clone(),
            );
            self.violate(rule, v);
        }
        if self.rules.require_tls && !s.tls {
            let v = at(
                None,
                None,
                Severity::Error,
                Some(s.start),
                format!(
                    "session {} → {} does not use TLS: commands, passwords and data are readable on the network",
                    s.client, s.server
                ),
            );
            self.violate("require-tls", v);
        }
        if let Some(ms) = self.rules.max_reply_ms {
            let limit = i64::try_from(ms)
                .unwrap_or(i64::MAX / 1_000_000)
                .saturating_mul(1_000_000);
            for (i, wait) in findings::reply_waits(s) {
                if wait > limit {
                    let c = &s.commands[i];
                    let v = at(
                        None,
                        None,
                        Severity::Error,
                        Some(c.ts),
                        format!(
                            "{} answered after {} ms (limit {ms} ms)",
                            c.verb,
                            wait / 1_000_000
                        ),
                    );
                    self.violate("max-reply-ms", v);
                }
            }
        }
        let early = self.early_data.remove(&s.id).unwrap_or(0);
        self.complete_transfers += s.transfers.iter().filter(|t| t.complete).count() as u64;
        if s.tls {
            // Their commands are encrypted: each data connection is taken as a transfer.
            self.complete_transfers += early;
        }
        for (i, e) in self.rules.expect.iter().enumerate() {
            if self.found[i] {
                continue;
            }
            self.found[i] = s.transfers.iter().any(|t| {
                t.complete
                    && t.arg.as_deref().is_some_and(|a| name_matches(a, &e.name))
                    && e.size.is_none_or(|n| n == t.bytes)
                    && e.sha256.as_ref().is_none_or(|h| {
                        t.sha256
                            .as_deref()
                            .is_some_and(|x| x.eq_ignore_ascii_case(h))
                    })
                    && e.direction.as_deref().is_none_or(|d| {
                        d == match t.direction {
                            crate::ftp::Direction::Download => "download",
                            crate::ftp::Direction::Upload => "upload",
                        }
                    })
            });
        }
    }

    /// The verdict, once every capture was analysed.
    pub fn finish(mut self, files: usize) -> Report {
        if let Some(n) = self.rules.min_transfers
            && self.complete_transfers < n
        {
            let v = Violation {
                file: None,
                session: None,
                transfer: None,
                kind: None,
                severity: Severity::Error,
                ts: None,
                message: format!(
                    "{} complete transfer(s) in {} session(s), at least {n} required",
                    self.complete_transfers, self.sessions
                ),
            };
            self.violate("min-transfers", v);
        }
        let missing: Vec<String> = self
            .rules
            .expect
            .iter()
            .zip(&self.found)
            .filter(|(_, f)| !**f)
            .map(|(e, _)| e.describe())
            .collect();
        for m in missing {
            let v = Violation {
                file: None,
                session: None,
                transfer: None,
                kind: None,
                severity: Severity::Error,
                ts: None,
                message: format!("expected file not transferred completely: {m}"),
            };
            self.violate("expect", v);
        }
        Report {
            rules: self.results,
            sessions: self.sessions,
            transfers: self.transfers,
            files,
        }
    }
}

impl SessionSink for Checker {
    fn session(&mut self, session: Session) {
        self.judge(&session);
    }
    fn unmatched(&mut self, data: UnmatchedData) {
        if let Some(id) = data.session {
            // Bounded by the sessions in flight: each entry leaves when its session ends.
            *self.early_data.entry(id).or_default() += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_file_round_trip() {
        let r = Rules::from_toml(
            "r.toml",
            r#"
require-tls = true
max-reply-ms = 2000
min-transfers = 3
forbid = ["slow-reply"]
allow = ["transfer-aborted", { kind = "transfer-failed", file = "no-such-file.bin" }]

[[expect]]
name = "big.bin"
sha256 = "bbeadbd8c7d7aaaaaaaabbbbbbbbccccccccddddddddeeeeeeeeffffffff0000"
size = 102400
"#,
        )
        .unwrap();
        assert!(r.require_tls);
        assert!(!r.forbid_anonymous);
        assert_eq!(r.max_reply_ms, Some(2000));
        assert_eq!(r.min_transfers, Some(3));
        assert_eq!(r.expect[0].size, Some(102400));
        assert_eq!(r.allow[0], Allow::Kind("transfer-aborted".into()));
        assert!(
            matches!(&r.allow[1], Allow::Scoped(a) if a.file.as_deref() == Some("no-such-file.bin"))
        );
    }

    #[test]
    fn readme_rules_example_is_valid() {
        let readme = include_str!("../../README.md");
        let start = readme.find("```toml\n").expect("a TOML example") + 8;
        let len = readme[start..].find("```").unwrap();
        let r = Rules::from_toml("README.md", &readme[start..start + len]).unwrap();
        assert_eq!(r.expect.len(), 2);
        assert_eq!(r.allow.len(), 3);
        // Every kind the README's findings table lists is a real kind, and all are listed.
        for (k, _, _) in findings::KINDS {
            assert!(readme.contains(&format!("| `{k}` |")), "{k} not in README");
        }
    }

    #[test]
    fn bad_rules_are_errors() {
        assert!(Rules::from_toml("r", "require-tls = 3").is_err());
        assert!(Rules::from_toml("r", "no-such-rule = true").is_err());
        assert!(Rules::from_toml("r", "allow = [\"not-a-kind\"]").is_err());
        assert!(Rules::from_toml("r", "[[expect]]\nname = \"a\"\nsha256 = \"xyz\"").is_err());
        assert!(
            Rules::from_toml("r", "[[expect]]\nname = \"a\"\ndirection = \"sideways\"").is_err()
        );
        assert!(Rules::from_toml("r", "").is_ok());
    }

    #[test]
    fn expect_flags() {
        let h = "a".repeat(64);
        assert_eq!(Expect::parse_flag("big.bin").name, "big.bin");
        let e = Expect::parse_flag(&format!("dir/a:b.bin:{h}:12"));
        assert_eq!(
            (e.name.as_str(), e.sha256.as_deref(), e.size),
            ("dir/a:b.bin", Some(h.as_str()), Some(12))
        );
        let e = Expect::parse_flag(&format!("x:{h}"));
        assert_eq!((e.name.as_str(), e.size), ("x", None));
        assert_eq!(e.sha256.as_deref(), Some(h.as_str()));
        // A name that merely contains colons stays whole.
        assert_eq!(Expect::parse_flag("a:1").name, "a:1");
    }

    #[test]
    fn merge_adds_up() {
        let mut a = Rules {
            max_reply_ms: Some(10),
            forbid: vec!["slow-reply".into()],
            ..Rules::default()
        };
        a.merge(Rules {
            require_tls: true,
            max_reply_ms: Some(20),
            forbid: vec!["control-reset".into()],
            ..Rules::default()
        });
        assert!(a.require_tls);
        assert_eq!(a.max_reply_ms, Some(20));
        assert_eq!(a.forbid.len(), 2);
    }
}
