//! A small glob matcher for `--filter`: `*` (any run of characters, `/` included), `?` (one
//! character), `[abc]`, `[a-z]`, `[!abc]` / `[^abc]`, and `\x` for a literal `x`.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid pattern {pattern:?}: {problem}")]
pub struct GlobError {
    pub pattern: String,
    pub problem: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Char(char),
    Any,
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

#[derive(Clone, Debug)]
pub struct Glob {
    tokens: Vec<Token>,
}

impl Glob {
    pub fn new(pattern: &str) -> Result<Glob, GlobError> {
        let err = |problem| GlobError {
            pattern: pattern.to_string(),
            problem,
        };
        let mut tokens = Vec::new();
        let mut it = pattern.chars().peekable();
        while let Some(c) = it.next() {
            let t = match c {
                '*' => {
                    // Consecutive stars are one star (keeps matching linear in practice).
                    if tokens.last() == Some(&Token::Star) {
                        continue;
                    }
                    Token::Star
                }
                '?' => Token::Any,
                '\\' => Token::Char(it.next().ok_or(err("ends with a lone backslash"))?),
                '[' => {
                    let negated = matches!(it.peek(), Some('!' | '^'));
                    if negated {
                        it.next();
                    }
                    let mut ranges = Vec::new();
                    let mut first = true;
                    loop {
                        let c = it.next().ok_or(err("unclosed ["))?;
                        // A `]` right after `[` or `[!` is a member, as in shells.
                        if c == ']' && !first {
                            break;
                        }
                        first = false;
                        let lo = if c == '\\' {
                            it.next().ok_or(err("unclosed ["))?
                        } else {
                            c
                        };
                        let mut hi = lo;
                        if it.peek() == Some(&'-') {
                            it.next();
                            match it.peek() {
                                Some(']') | None => ranges.push(('-', '-')),
                                Some(_) => {
                                    let h = it.next().expect("peeked");
                                    hi = if h == '\\' {
                                        it.next().ok_or(err("unclosed ["))?
                                    } else {
                                        h
                                    };
                                }
                            }
                        }
                        if hi < lo {
                            return Err(err("a range in [..] runs backwards"));
                        }
                        ranges.push((lo, hi));
                    }
                    Token::Class { negated, ranges }
                }
                c => Token::Char(c),
            };
            tokens.push(t);
        }
        Ok(Glob { tokens })
    }

    /// Whether the whole of `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let (mut t, mut p) = (0usize, 0usize);
        // Where to resume after the last star: (pattern index after it, text index).
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.tokens.get(p) {
                Some(Token::Star) => {
                    star = Some((p + 1, t));
                    p += 1;
                    continue;
                }
                Some(tok) if one(tok, text[t]) => {
                    p += 1;
                    t += 1;
                    continue;
                }
                _ => {}
            }
            // Mismatch: let the last star swallow one more character.
            match star {
                Some((sp, st)) => {
                    star = Some((sp, st + 1));
                    p = sp;
                    t = st + 1;
                }
                None => return false,
            }
        }
        self.tokens[p..].iter().all(|t| *t == Token::Star)
    }
}

fn one(tok: &Token, c: char) -> bool {
    match tok {
        Token::Char(x) => *x == c,
        Token::Any => true,
        Token::Class { negated, ranges } => {
            ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
        }
        Token::Star => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Glob::new(p).unwrap().matches(t)
    }

    #[test]
    fn stars_and_questions() {
        assert!(m("*.pdf", "a.pdf"));
        assert!(m("*.pdf", "dir/sub/a.pdf"));
        assert!(!m("*.pdf", "a.pdf.exe"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("f??.txt", "f01.txt"));
        assert!(!m("f??.txt", "f1.txt"));
        assert!(m("*", ""));
        assert!(m("**", "anything"));
        assert!(!m("", "x"));
        assert!(m("", ""));
        assert!(m("*a", "aaaa"));
        assert!(m("é?", "éè"));
    }

    #[test]
    fn classes_and_escapes() {
        assert!(m("f[0-2][0-9].txt", "f17.txt"));
        assert!(!m("f[0-2][0-9].txt", "f37.txt"));
        assert!(m("[!a]x", "bx"));
        assert!(!m("[^a]x", "ax"));
        assert!(m("[]]", "]"));
        assert!(m("[a-]", "-"));
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("my file.txt", "my file.txt"));
    }

    #[test]
    fn bad_patterns_are_errors() {
        assert!(Glob::new("[abc").is_err());
        assert!(Glob::new("abc\\").is_err());
        assert!(Glob::new("[z-a]").is_err());
    }

    #[test]
    fn many_stars_do_not_blow_up() {
        let p = "*a".repeat(50) + "b";
        let t = "a".repeat(5000);
        let start = std::time::Instant::now();
        assert!(!m(&p, &t));
        assert!(start.elapsed().as_secs() < 5);
    }
}
