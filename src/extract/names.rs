//! Safe file names from server paths that came off the wire.
//!
//! A name made here is a single path component: never empty, never `.` or `..`, without any
//! separator (`/`, `\`), control character, NUL, Windows-reserved character or device name,
//! and short enough for every common file system, so joining it to a directory can never
//! leave that directory.

/// Longest name produced, in bytes; leaves room for a `.N` suffix under the usual 255-byte
/// limit of one path component.
pub const MAX_NAME_BYTES: usize = 200;

/// An extension longer than this is not worth keeping when a name must be shortened.
const MAX_KEPT_EXTENSION: usize = 16;

/// A safe single-component file name for `raw` (a server path as sent): its last path
/// component (`/` and `\` both separate), with every unsafe character replaced by `_`.
/// `fallback` is used when nothing usable is left.
pub fn safe_name(raw: &str, fallback: &str) -> String {
    let last = raw
        .split(['/', '\\'])
        .rev()
        .find(|c| !c.is_empty() && *c != "." && *c != "..")
        .unwrap_or("");
    let name = clean(last);
    if name.is_empty() {
        let f = clean(fallback);
        return if f.is_empty() {
            "unnamed".to_string()
        } else {
            f
        };
    }
    name
}

/// Replaces unsafe characters, trims what Windows would drop, defuses device names and a
/// leading `-` (option-like names in shell use), and bounds the length.
fn clean(component: &str) -> String {
    let mut s: String = component
        .chars()
        .map(|c| if unsafe_char(c) { '_' } else { c })
        .collect();
    // Windows silently drops trailing dots and spaces, which would alias other names.
    let kept = s.trim_end_matches(['.', ' ']).len();
    s.truncate(kept);
    if s.is_empty() || s.chars().all(|c| c == '.') {
        return String::new();
    }
    if s.starts_with('-') {
        s.replace_range(0..1, "_");
    }
    if is_device_name(&s) {
        s.insert(0, '_');
    }
    shorten(s)
}

fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*'
                // Bidirectional overrides and isolates: a name could display as another.
                | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
        )
}

/// Windows device names (also with an extension: `CON.txt` opens the console there).
fn is_device_name(s: &str) -> bool {
    let stem = s.split('.').next().unwrap_or("").trim_end_matches(' ');
    let upper = stem.to_ascii_uppercase();
    if matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" | "CLOCK$"
    ) {
        return true;
    }
    let mut chars = upper.chars();
    let prefix: String = chars.by_ref().take(3).collect();
    let rest: String = chars.collect();
    (prefix == "COM" || prefix == "LPT")
        && rest.chars().count() == 1
        && rest
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '¹' | '²' | '³'))
}

/// Cuts a long name to `MAX_NAME_BYTES` on a character boundary, keeping a short extension.
fn shorten(s: String) -> String {
    if s.len() <= MAX_NAME_BYTES {
        return s;
    }
    let ext = match s.rfind('.') {
        Some(i) if i > 0 && s.len() - i <= MAX_KEPT_EXTENSION => &s[i..],
        _ => "",
    };
    let mut cut = MAX_NAME_BYTES - ext.len();
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = s[..cut].trim_end_matches(['.', ' ']).to_string();
    out.push_str(ext);
    out
}

/// The `n`th alternative of a name taken already: `name`, `name.1`, `name.2`, …
pub fn numbered(name: &str, n: u64) -> String {
    if n == 0 {
        name.to_string()
    } else {
        format!("{name}.{n}")
    }
}

/// The name a server gave an STOU upload, from its 150/125 reply (`FILE: name`, RFC 1123
/// 4.1.2.9) or a final reply naming the unique file (`... unique file name:name`).
pub fn stou_name(reply_texts: &[&str]) -> Option<String> {
    for text in reply_texts {
        for line in text.lines() {
            let line = line.trim();
            // `get`: a reply's text is arbitrary, byte 5 may fall inside a character.
            if let Some(n) = line
                .get(..5)
                .filter(|p| p.eq_ignore_ascii_case("FILE:"))
                .map(|_| line[5..].trim())
                && !n.is_empty()
            {
                return Some(n.to_string());
            }
            let lower = line.to_ascii_lowercase();
            if let Some(i) = lower.find("unique file name:") {
                let n = line[i + "unique file name:".len()..]
                    .trim()
                    .trim_end_matches([')', '.'])
                    .trim();
                if !n.is_empty() {
                    return Some(n.to_string());
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_safe(n: &str) -> bool {
        !n.is_empty()
            && n != "."
            && n != ".."
            && n.len() <= MAX_NAME_BYTES
            && !n.chars().any(unsafe_char)
            && !is_device_name(n)
    }

    #[test]
    fn traversal_and_absolute_paths_keep_only_the_last_component() {
        assert_eq!(safe_name("../../etc/passwd", "x"), "passwd");
        assert_eq!(safe_name("/abs/path", "x"), "path");
        assert_eq!(safe_name("..\\win", "x"), "win");
        assert_eq!(safe_name("C:\\Windows\\system.ini", "x"), "system.ini");
        assert_eq!(safe_name("dir/sub/", "x"), "sub");
        assert_eq!(safe_name("a/./..", "x"), "a");
        assert_eq!(safe_name("..", "fb"), "fb");
        assert_eq!(safe_name("/", "fb"), "fb");
        assert_eq!(safe_name("", ""), "unnamed");
        assert_eq!(safe_name("...", "fb"), "fb");
    }

    #[test]
    fn unsafe_characters_are_replaced() {
        assert_eq!(safe_name("a\0b", "x"), "a_b");
        assert_eq!(safe_name("evil\x1b[2J.txt", "x"), "evil_[2J.txt");
        assert_eq!(safe_name("a:b*c?.txt", "x"), "a_b_c_.txt");
        assert_eq!(safe_name("rtl\u{202e}gpj.exe", "x"), "rtl_gpj.exe");
        assert_eq!(safe_name("-rf", "x"), "_rf");
        assert_eq!(safe_name("name. . ", "x"), "name");
        assert_eq!(safe_name("my file.txt", "x"), "my file.txt");
    }

    #[test]
    fn device_names_are_defused() {
        for n in ["CON", "con", "NUL.txt", "com1", "LPT9.log", "AUX", "COM¹"] {
            let s = safe_name(n, "x");
            assert!(s.starts_with('_'), "{n} -> {s}");
            assert!(is_safe(&s));
        }
        for n in ["CONSOLE", "COM10", "COMMA", "nullify.txt"] {
            assert_eq!(safe_name(n, "x"), n);
        }
    }

    #[test]
    fn long_names_are_cut_on_a_char_boundary_keeping_the_extension() {
        let long = "é".repeat(300) + ".pdf";
        let s = safe_name(&long, "x");
        assert!(s.len() <= MAX_NAME_BYTES, "{}", s.len());
        assert!(s.ends_with(".pdf"));
        let s = safe_name(&"a".repeat(500), "x");
        assert_eq!(s.len(), MAX_NAME_BYTES);
        assert!(numbered(&s, 99999).len() < 255);
    }

    #[test]
    fn every_byte_pattern_gives_a_safe_name() {
        // Every single character, and pairs around separators and dots.
        for c in (0u32..0x3000).filter_map(char::from_u32) {
            for raw in [
                c.to_string(),
                format!("{c}{c}"),
                format!("../{c}"),
                format!("{c}."),
                format!(".{c}"),
            ] {
                let s = safe_name(&raw, "fb");
                assert!(is_safe(&s), "{raw:?} -> {s:?}");
            }
        }
    }

    #[test]
    fn stou_names_from_replies() {
        assert_eq!(stou_name(&["FILE: STOU.1"]), Some("STOU.1".into()));
        assert_eq!(
            stou_name(&[
                "Opening BINARY mode",
                "Transfer complete (unique file name:up.3)."
            ]),
            Some("up.3".into())
        );
        assert_eq!(stou_name(&["Ok to send data.", "Transfer complete."]), None);
        // Multi-byte characters across byte 5 (a corrupt reply once panicked here).
        assert_eq!(stou_name(&["\u{fffd}\u{fffd}E: x.txt"]), None);
        assert_eq!(stou_name(&["ab\u{e9}\u{e9}\u{e9}"]), None);
        assert_eq!(
            stou_name(&["file:\u{e9}t\u{e9}"]),
            Some("\u{e9}t\u{e9}".into())
        );
    }
}
