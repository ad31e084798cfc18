//! Client command lines (RFC 959 §5.3) and verb classification.

/// Longest verb accepted; RFC 959 verbs are 3–4 letters, extensions rarely exceed 8.
pub const MAX_VERB_LEN: usize = 16;

/// One client command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// ASCII-uppercased verb.
    pub verb: String,
    /// Lossy UTF-8, as sent, with the single separating space removed.
    pub arg: String,
}

/// What a transfer command moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferKind {
    File,
    Listing,
}

/// Direction of a transfer, seen from the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Download,
    Upload,
}

/// Parses a client line into a command: verb = first token up to a space (letters only,
/// 1..=16 chars, case-insensitive, uppercased). Returns None for lines that do not look like
/// a command (empty, leading space, verb with non-letters, too long), which the caller counts
/// as an anomaly.
pub fn parse_command(line: &[u8]) -> Option<Command> {
    // Only look at MAX_VERB_LEN + 1 bytes so hostile long lines cost nothing extra.
    let verb_end = match line.iter().take(MAX_VERB_LEN + 1).position(|&b| b == b' ') {
        Some(p) => p,
        None if line.len() <= MAX_VERB_LEN => line.len(),
        None => return None,
    };
    let verb = &line[..verb_end];
    if verb.is_empty() || !verb.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    let verb: String = verb
        .iter()
        .map(|&b| b.to_ascii_uppercase() as char)
        .collect();
    let arg = line.get(verb_end + 1..).unwrap_or_default();
    Some(Command {
        verb,
        arg: String::from_utf8_lossy(arg).into_owned(),
    })
}

/// True for verbs that open a data transfer: LIST NLST MLSD RETR STOR STOU APPE
/// (case-insensitive).
pub fn is_transfer_verb(verb: &str) -> bool {
    transfer_kind(verb).is_some()
}

/// Listing for LIST/NLST/MLSD, file for RETR/STOR/STOU/APPE, None otherwise.
pub fn transfer_kind(verb: &str) -> Option<TransferKind> {
    let is = |v: &str| verb.eq_ignore_ascii_case(v);
    if is("LIST") || is("NLST") || is("MLSD") {
        Some(TransferKind::Listing)
    } else if is("RETR") || is("STOR") || is("STOU") || is("APPE") {
        Some(TransferKind::File)
    } else {
        None
    }
}

/// Download for LIST NLST MLSD RETR, upload for STOR STOU APPE, None otherwise.
pub fn transfer_direction(verb: &str) -> Option<Direction> {
    let is = |v: &str| verb.eq_ignore_ascii_case(v);
    if is("LIST") || is("NLST") || is("MLSD") || is("RETR") {
        Some(Direction::Download)
    } else if is("STOR") || is("STOU") || is("APPE") {
        Some(Direction::Upload)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(verb: &str, arg: &str) -> Option<Command> {
        Some(Command {
            verb: verb.into(),
            arg: arg.into(),
        })
    }

    #[test]
    fn parses_commands() {
        assert_eq!(parse_command(b"USER anonymous"), cmd("USER", "anonymous"));
        assert_eq!(parse_command(b"retr one.bin"), cmd("RETR", "one.bin"));
        assert_eq!(parse_command(b"PASV"), cmd("PASV", ""));
        assert_eq!(parse_command(b"PASV "), cmd("PASV", ""));
        // Argument kept as sent apart from the one separating space.
        assert_eq!(parse_command(b"CWD  a b "), cmd("CWD", " a b "));
        assert_eq!(parse_command(b"STOR caf\xc3\xa9"), cmd("STOR", "café"));
        assert_eq!(parse_command(b"STOR a\xffb"), cmd("STOR", "a\u{fffd}b"));
        assert_eq!(
            parse_command(b"ABCDEFGHIJKLMNOP x"),
            cmd("ABCDEFGHIJKLMNOP", "x")
        );
        assert_eq!(
            parse_command(b"ABCDEFGHIJKLMNOP"),
            cmd("ABCDEFGHIJKLMNOP", "")
        );
    }

    #[test]
    fn rejects_non_commands() {
        for bad in [
            &b""[..],
            b" USER x",
            b"US3R x",
            b"USER\tx",
            b"\xff\xf4ABOR",
            b"ABCDEFGHIJKLMNOPQ",
            b"ABCDEFGHIJKLMNOPQ x",
            b"220 hello",
        ] {
            assert_eq!(parse_command(bad), None, "{bad:?}");
        }
        let long = vec![b'A'; 100_000];
        assert_eq!(parse_command(&long), None);
    }

    #[test]
    fn classifies_verbs() {
        for (v, k, d) in [
            ("LIST", TransferKind::Listing, Direction::Download),
            ("NLST", TransferKind::Listing, Direction::Download),
            ("mlsd", TransferKind::Listing, Direction::Download),
            ("RETR", TransferKind::File, Direction::Download),
            ("STOR", TransferKind::File, Direction::Upload),
            ("STOU", TransferKind::File, Direction::Upload),
            ("APPE", TransferKind::File, Direction::Upload),
        ] {
            assert!(is_transfer_verb(v));
            assert_eq!(transfer_kind(v), Some(k));
            assert_eq!(transfer_direction(v), Some(d));
        }
        for v in ["MLST", "PASV", "PORT", "", "RETRX", "CWD"] {
            assert!(!is_transfer_verb(v));
            assert_eq!(transfer_kind(v), None);
            assert_eq!(transfer_direction(v), None);
        }
    }
}
