//! Server reply assembly (RFC 959 §4.2) and reply-text helpers.

/// Most lines of a multi-line reply whose text is kept; later lines are counted only.
pub const MAX_REPLY_LINES: usize = 1000;
/// Most bytes of multi-line reply text kept; lines that would exceed it are counted only.
pub const MAX_REPLY_TEXT: usize = 64 * 1024;

/// One complete server reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// All lines' text joined with '\n'; the code prefixes of the first/last lines (and
    /// "DDD-" prefixes of intermediate lines carrying the same code) removed. Lossy UTF-8.
    /// For a multi-line reply over the bounds, lines past them are missing from the text.
    pub text: String,
    /// Number of lines the reply had (including lines whose text was dropped).
    pub lines: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyEvent {
    Reply(Reply),
    /// A line that cannot be part of a valid reply (no 3-digit code, code out of 100..=599,
    /// a fourth digit, empty line).
    Malformed {
        line: String,
        reason: &'static str,
    },
}

/// A multi-line reply being collected.
#[derive(Clone, Debug)]
struct Pending {
    code: u16,
    text: String,
    lines: usize,
    kept: usize,
}

impl Pending {
    fn add(&mut self, bytes: &[u8]) {
        self.lines += 1;
        // Cheap reject on the raw length first; lossy conversion can only grow it.
        if self.kept >= MAX_REPLY_LINES || self.text.len() + 1 + bytes.len() > MAX_REPLY_TEXT {
            return;
        }
        let s = String::from_utf8_lossy(bytes);
        if self.text.len() + 1 + s.len() > MAX_REPLY_TEXT {
            return;
        }
        if self.kept > 0 {
            self.text.push('\n');
        }
        self.text.push_str(&s);
        self.kept += 1;
    }

    fn into_reply(self) -> Reply {
        Reply {
            code: self.code,
            text: self.text,
            lines: self.lines,
        }
    }
}

/// Assembles reply lines into replies. Memory is bounded by MAX_REPLY_TEXT.
#[derive(Clone, Debug, Default)]
pub struct ReplyAssembler {
    pending: Option<Pending>,
}

/// The line's first three bytes, if they are digits, as the code they spell.
fn three_digits(line: &[u8]) -> Option<u16> {
    match line {
        [a, b, c, ..] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl ReplyAssembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// True while a "DDD-" multi-line reply is open.
    pub fn in_multiline(&self) -> bool {
        self.pending.is_some()
    }

    /// Feed one line (from LineSplitter). Returns an event when a reply completes or a line
    /// is bad.
    ///
    /// Single line: "DDD text" or "DDD" alone; the sloppy "DDDtext" (no space) is accepted as
    /// code + "text". Multi-line: "DDD-text" … lines … "DDD text" or "DDD" (same code);
    /// intermediate lines may be anything, including other codes. Malformed: empty line, no
    /// 3-digit code, a fourth digit ("1234 x"), code outside 100..=599.
    pub fn push_line(&mut self, line: &[u8]) -> Option<ReplyEvent> {
        if let Some(mut p) = self.pending.take() {
            let same_code = three_digits(line) == Some(p.code);
            match line.get(3) {
                None | Some(b' ') if same_code => {
                    p.add(line.get(4..).unwrap_or_default());
                    return Some(ReplyEvent::Reply(p.into_reply()));
                }
                // Many servers repeat "DDD-" on every line; that prefix is not text.
                Some(b'-') if same_code => p.add(&line[4..]),
                _ => p.add(line),
            }
            self.pending = Some(p);
            return None;
        }

        let malformed = |reason| {
            Some(ReplyEvent::Malformed {
                line: text(line),
                reason,
            })
        };
        if line.is_empty() {
            return malformed("empty line");
        }
        let Some(code) = three_digits(line) else {
            return malformed("missing reply code");
        };
        let rest = &line[3..];
        match rest.first() {
            Some(d) if d.is_ascii_digit() => return malformed("reply code longer than 3 digits"),
            _ if !(100..=599).contains(&code) => return malformed("reply code out of range"),
            _ => {}
        }
        let single = |t: &[u8]| {
            Some(ReplyEvent::Reply(Reply {
                code,
                text: text(t),
                lines: 1,
            }))
        };
        match rest.first() {
            None => single(b""),
            Some(b' ') => single(&rest[1..]),
            Some(b'-') => {
                let mut p = Pending {
                    code,
                    text: String::new(),
                    lines: 0,
                    kept: 0,
                };
                p.add(&rest[1..]);
                self.pending = Some(p);
                None
            }
            // "DDDtext": missing space after the code; take the rest as text.
            Some(_) => single(rest),
        }
    }

    /// At connection end: an unterminated multi-line reply is returned as a Reply with the
    /// lines seen so far (its text is still useful, e.g. a cut-off banner); callers that care
    /// can check `in_multiline()` before calling. Resets the assembler.
    pub fn finish(&mut self) -> Option<ReplyEvent> {
        self.pending
            .take()
            .map(|p| ReplyEvent::Reply(p.into_reply()))
    }
}

/// True for 1xx (positive preliminary) codes.
pub fn is_preliminary(code: u16) -> bool {
    (100..=199).contains(&code)
}

/// "(N bytes)" in a 150 reply text, as vsftpd/proftpd/wu-ftpd write it, e.g.
/// "Opening BINARY mode data connection for one.bin (1 bytes)." → Some(1).
/// "bytes" is matched case-insensitively ("byte" too); the last match wins because a file
/// name earlier in the text could contain the same pattern. None on overflow.
pub fn announced_size(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    let mut found = None;
    for (open, _) in text.match_indices('(') {
        let mut i = open + 1;
        let mut n: u64 = 0;
        let digits_start = i;
        while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            n = match n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
            {
                Some(n) => n,
                None => break,
            };
            i += 1;
        }
        if i == digits_start || b.get(i).is_some_and(u8::is_ascii_digit) {
            continue; // no digits, or overflow
        }
        let rest = &b[i..];
        let rest = &rest[rest.iter().take_while(|c| **c == b' ').count()..];
        let word_ok = |w: &[u8]| {
            rest.len() > w.len() && rest[..w.len()].eq_ignore_ascii_case(w) && rest[w.len()] == b')'
        };
        if word_ok(b"bytes") || word_ok(b"byte") {
            found = Some(n);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, text: &str, lines: usize) -> Option<ReplyEvent> {
        Some(ReplyEvent::Reply(Reply {
            code,
            text: text.into(),
            lines,
        }))
    }

    /// Pushes all lines; returns the events.
    fn run(lines: &[&[u8]]) -> Vec<ReplyEvent> {
        let mut a = ReplyAssembler::new();
        let mut out: Vec<_> = lines.iter().filter_map(|l| a.push_line(l)).collect();
        out.extend(a.finish());
        out
    }

    #[test]
    fn single_line() {
        let mut a = ReplyAssembler::new();
        assert_eq!(
            a.push_line(b"220 Service ready"),
            reply(220, "Service ready", 1)
        );
        assert_eq!(a.push_line(b"200"), reply(200, "", 1));
        assert_eq!(a.push_line(b"200 "), reply(200, "", 1));
        assert_eq!(
            a.push_line(b"230  two spaces"),
            reply(230, " two spaces", 1)
        );
        // Missing space after code: accepted.
        assert_eq!(a.push_line(b"220Welcome"), reply(220, "Welcome", 1));
        assert_eq!(
            a.push_line(b"550 caf\xc3\xa9 \xff"),
            reply(550, "café \u{fffd}", 1)
        );
        assert_eq!(a.finish(), None);
    }

    #[test]
    fn rfc959_multiline() {
        let ev = run(&[
            b"123-First line",
            b"Second line",
            b"  234 A line beginning with numbers",
            b"123 The last line",
        ]);
        assert_eq!(
            ev,
            vec![ReplyEvent::Reply(Reply {
                code: 123,
                text: "First line\nSecond line\n  234 A line beginning with numbers\nThe last line"
                    .into(),
                lines: 4,
            })]
        );
    }

    #[test]
    fn multiline_variants() {
        // Last line is just the code.
        assert_eq!(
            run(&[b"211-Features:", b" MDTM", b" SIZE", b"211"]),
            vec![reply(211, "Features:\n MDTM\n SIZE\n", 4).unwrap()]
        );
        // Intermediate lines repeating "DDD-", other codes, "DDD" + non-space are text.
        assert_eq!(
            run(&[
                b"230-Welcome",
                b"230-Rules:",
                b"220 not the end",
                b"2301 not the end",
                b"230x not the end",
                b"230 Logged in",
            ]),
            vec![
                reply(
                    230,
                    "Welcome\nRules:\n220 not the end\n2301 not the end\n230x not the end\nLogged in",
                    6
                )
                .unwrap()
            ]
        );
        // Empty first text and empty intermediate lines.
        assert_eq!(
            run(&[b"220-", b"", b"220 ok"]),
            vec![reply(220, "\n\nok", 3).unwrap()]
        );
        // A reply after a multi-line one works normally.
        assert_eq!(
            run(&[b"220-a", b"220 b", b"331 pw"]),
            vec![reply(220, "a\nb", 2).unwrap(), reply(331, "pw", 1).unwrap()]
        );
    }

    #[test]
    fn unterminated_multiline_on_finish() {
        let mut a = ReplyAssembler::new();
        assert_eq!(a.push_line(b"220-Welcome"), None);
        assert_eq!(a.push_line(b"more"), None);
        assert!(a.in_multiline());
        assert_eq!(a.finish(), reply(220, "Welcome\nmore", 2));
        assert!(!a.in_multiline());
        assert_eq!(a.finish(), None);
    }

    #[test]
    fn malformed() {
        for (line, reason) in [
            (&b"xyz"[..], "missing reply code"),
            (b"99 text", "missing reply code"),
            (b"22", "missing reply code"),
            (b"", "empty line"),
            (b"1234 text", "reply code longer than 3 digits"),
            (b"099 text", "reply code out of range"),
            (b"600 text", "reply code out of range"),
            (b"999", "reply code out of range"),
            (b" 220 indented", "missing reply code"),
        ] {
            let mut a = ReplyAssembler::new();
            assert_eq!(
                a.push_line(line),
                Some(ReplyEvent::Malformed {
                    line: String::from_utf8_lossy(line).into_owned(),
                    reason
                }),
                "{line:?}"
            );
            assert!(!a.in_multiline());
        }
    }

    #[test]
    fn multiline_is_bounded() {
        let mut a = ReplyAssembler::new();
        assert_eq!(a.push_line(b"220-start"), None);
        for _ in 0..5000 {
            assert_eq!(a.push_line(b"filler line"), None);
        }
        let Some(ReplyEvent::Reply(r)) = a.push_line(b"220 end") else {
            panic!()
        };
        assert_eq!(r.lines, 5002);
        assert_eq!(r.text.lines().count(), MAX_REPLY_LINES);
        assert!(r.text.starts_with("start\nfiller line\n"));

        let big = vec![b'x'; 40_000];
        let mut a = ReplyAssembler::new();
        assert_eq!(a.push_line(b"220-start"), None);
        for _ in 0..10 {
            assert_eq!(a.push_line(&big), None);
        }
        let Some(ReplyEvent::Reply(r)) = a.push_line(b"220 end") else {
            panic!()
        };
        assert_eq!(r.lines, 12);
        assert!(r.text.len() <= MAX_REPLY_TEXT);
        assert_eq!(r.text.len(), "start\n".len() + 40_000 + "\nend".len());
    }

    #[test]
    fn preliminary() {
        assert!(is_preliminary(150));
        assert!(is_preliminary(125));
        assert!(!is_preliminary(200));
        assert!(!is_preliminary(99));
    }

    #[test]
    fn sizes() {
        let s = announced_size;
        assert_eq!(
            s("Opening BINARY mode data connection for one.bin (1 bytes)."),
            Some(1)
        );
        assert_eq!(
            s("Opening BINARY mode data connection for /pub/x (1234567 bytes)"),
            Some(1234567)
        );
        assert_eq!(
            s("Opening ASCII mode data connection for a (0 Bytes)."),
            Some(0)
        );
        assert_eq!(s("data connection for a (1 byte)"), Some(1));
        assert_eq!(s("for a(1).bin (20 bytes)."), Some(20));
        assert_eq!(s("for a (5 bytes).bin (20 bytes)."), Some(20));
        assert_eq!(s("for a (5 bytes).bin"), Some(5));
        assert_eq!(s("(18446744073709551615 bytes)"), Some(u64::MAX));
        assert_eq!(s("(18446744073709551616 bytes)"), None);
        assert_eq!(s("(99999999999999999999999999 bytes)"), None);
        assert_eq!(s("Here comes the directory listing."), None);
        assert_eq!(s("(bytes)"), None);
        assert_eq!(s("( 5 bytes)"), None);
        assert_eq!(s("(5 bytes"), None);
        assert_eq!(s("(5 bytesx)"), None);
        assert_eq!(s("(-5 bytes)"), None);
        assert_eq!(s("("), None);
        assert_eq!(s(""), None);
    }
}
