//! Splits a control-channel byte stream into lines, removing Telnet IAC sequences.
//!
//! The FTP control connection is a Telnet NVT stream (RFC 959 §4.1, RFC 854), so Telnet
//! commands are stripped before line splitting. Memory is bounded by `max_len` per splitter.

const IAC: u8 = 0xFF;
const WILL: u8 = 0xFB;
const DONT: u8 = 0xFE;
/// Lowest Telnet command byte of RFC 854 (SE); IAC followed by a byte below it is not Telnet.
const SE: u8 = 0xF0;

/// One complete line, without its CR/LF terminator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    /// At most `max_len` bytes of the line.
    pub bytes: &'a [u8],
    /// The line was longer than `max_len`; the excess was discarded.
    pub overlong: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Telnet {
    /// Ordinary data.
    Data,
    /// Just saw IAC.
    Iac,
    /// Saw IAC WILL/WONT/DO/DONT; the next byte is the option code, to be dropped.
    Option,
}

/// Incremental line splitter; keeps all state needed to resume mid-line or mid-IAC.
#[derive(Clone, Debug)]
pub struct LineSplitter {
    max_len: usize,
    buf: Vec<u8>,
    overlong: bool,
    /// The previous data byte was a CR not yet known to be part of CRLF.
    cr: bool,
    telnet: Telnet,
}

impl LineSplitter {
    /// `max_len`: longest line kept (longer lines are cut: the first max_len bytes are
    /// returned with `overlong = true` when the line finally ends, the rest discarded; the
    /// buffer never holds more than max_len bytes).
    pub fn new(max_len: usize) -> Self {
        LineSplitter {
            max_len,
            // Grown on demand: most lines are short, and max_len may be generous.
            buf: Vec::new(),
            overlong: false,
            cr: false,
            telnet: Telnet::Data,
        }
    }

    /// The `max_len` this splitter was created with.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Bytes currently held for the unfinished line (always `<= max_len`).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Feeds bytes; calls `emit` once per complete line (without CR/LF). Lines end at CRLF;
    /// a bare LF also ends a line; a bare CR inside a line is kept as a byte (CR NUL, the
    /// Telnet spelling of a bare CR, becomes a single CR).
    /// Telnet IAC sequences are removed (RFC 854): IAC IAC → one 0xFF byte; IAC +
    /// WILL/WONT/DO/DONT + option byte removed; IAC + any other command byte (0xF0..=0xFA:
    /// IP, DM, AYT, NOP, SB, SE, …) removed. IAC followed by a byte below 0xF0 is not a Telnet
    /// command, so both bytes are kept as data (a sender that does not speak Telnet). FTP
    /// never negotiates subnegotiation, so IAC SB only drops those two bytes.
    /// Sequences split across feed() calls work.
    pub fn feed(&mut self, data: &[u8], emit: &mut dyn FnMut(Line<'_>)) {
        let mut i = 0;
        while i < data.len() {
            match self.telnet {
                Telnet::Data => {
                    if !self.cr {
                        // Fast path: copy a run of ordinary bytes in one go.
                        let end = data[i..]
                            .iter()
                            .position(|&b| matches!(b, b'\r' | b'\n' | IAC))
                            .map_or(data.len(), |p| i + p);
                        if end > i {
                            self.push_run(&data[i..end]);
                            i = end;
                            continue;
                        }
                    }
                    let b = data[i];
                    i += 1;
                    if b == IAC {
                        self.telnet = Telnet::Iac;
                    } else {
                        self.data(b, emit);
                    }
                }
                Telnet::Iac => {
                    let b = data[i];
                    i += 1;
                    self.telnet = Telnet::Data;
                    match b {
                        IAC => self.data(IAC, emit),
                        WILL..=DONT => self.telnet = Telnet::Option,
                        SE..=0xFA => {}
                        _ => {
                            self.data(IAC, emit);
                            self.data(b, emit);
                        }
                    }
                }
                Telnet::Option => {
                    i += 1;
                    self.telnet = Telnet::Data;
                }
            }
        }
    }

    /// Bytes of an unterminated last line (at connection end), if any, as a line.
    /// A trailing CR is taken as a cut-off CRLF and dropped; an unfinished IAC sequence is
    /// dropped. The splitter is reset and may be reused.
    pub fn finish(&mut self, emit: &mut dyn FnMut(Line<'_>)) {
        self.cr = false;
        self.telnet = Telnet::Data;
        if !self.buf.is_empty() || self.overlong {
            self.end_line(emit);
        }
    }

    /// Handles one byte of Telnet-decoded data.
    fn data(&mut self, b: u8, emit: &mut dyn FnMut(Line<'_>)) {
        if self.cr {
            self.cr = false;
            match b {
                b'\n' => {
                    self.end_line(emit);
                    return;
                }
                // CR NUL is how Telnet (and RFC 2640 pathnames) send a bare CR.
                0 => {
                    self.push(b'\r');
                    return;
                }
                _ => self.push(b'\r'),
            }
        }
        match b {
            b'\r' => self.cr = true,
            b'\n' => self.end_line(emit),
            _ => self.push(b),
        }
    }

    fn push(&mut self, b: u8) {
        if self.buf.len() < self.max_len {
            self.buf.push(b);
        } else {
            self.overlong = true;
        }
    }

    fn push_run(&mut self, run: &[u8]) {
        let room = self.max_len - self.buf.len();
        if run.len() > room {
            self.buf.extend_from_slice(&run[..room]);
            self.overlong = true;
        } else {
            self.buf.extend_from_slice(run);
        }
    }

    fn end_line(&mut self, emit: &mut dyn FnMut(Line<'_>)) {
        emit(Line {
            bytes: &self.buf,
            overlong: self.overlong,
        });
        self.buf.clear();
        self.overlong = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds each chunk in turn, then finishes; returns (line, overlong) pairs.
    fn split(max_len: usize, chunks: &[&[u8]]) -> Vec<(Vec<u8>, bool)> {
        let mut s = LineSplitter::new(max_len);
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, &mut |l| out.push((l.bytes.to_vec(), l.overlong)));
            assert!(s.buffered() <= max_len);
        }
        s.finish(&mut |l| out.push((l.bytes.to_vec(), l.overlong)));
        out
    }

    fn lines(max_len: usize, chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        split(max_len, chunks).into_iter().map(|(l, _)| l).collect()
    }

    #[test]
    fn crlf_and_lf() {
        assert_eq!(
            lines(100, &[b"USER a\r\nPASS b\nQUIT\r\n"]),
            vec![b"USER a".to_vec(), b"PASS b".to_vec(), b"QUIT".to_vec()]
        );
        assert_eq!(lines(100, &[b"\r\n\n"]), vec![b"".to_vec(), b"".to_vec()]);
    }

    #[test]
    fn bare_cr_kept() {
        assert_eq!(lines(100, &[b"a\rb\r\n"]), vec![b"a\rb".to_vec()]);
        assert_eq!(lines(100, &[b"a\r\rb\r\n"]), vec![b"a\r\rb".to_vec()]);
        // CR NUL is a Telnet bare CR.
        assert_eq!(lines(100, &[b"a\r\0b\r\n"]), vec![b"a\rb".to_vec()]);
    }

    #[test]
    fn crlf_split_across_feeds() {
        assert_eq!(
            lines(100, &[b"NOOP\r", b"\nQUIT\r", b"", b"\n"]),
            vec![b"NOOP".to_vec(), b"QUIT".to_vec()]
        );
        assert_eq!(lines(100, &[b"a\r", b"b\r\n"]), vec![b"a\rb".to_vec()]);
    }

    #[test]
    fn every_split_point_gives_same_lines() {
        let data: &[u8] =
            b"US\xff\xfb\x01ER x\r\n\xff\xff\r\n\xff\xf4\xff\xf2ABOR\r\nA\rB\nC\r\0D\r\n";
        let whole = split(100, &[data]);
        for i in 0..=data.len() {
            for j in i..=data.len() {
                assert_eq!(split(100, &[&data[..i], &data[i..j], &data[j..]]), whole);
            }
        }
        assert_eq!(
            lines(100, &[data]),
            vec![
                b"USER x".to_vec(),
                b"\xff".to_vec(),
                b"ABOR".to_vec(),
                b"A\rB".to_vec(),
                b"C\rD".to_vec()
            ]
        );
    }

    #[test]
    fn iac_handling() {
        // IAC IP IAC DM before ABOR (RFC 959 §4.1.3).
        assert_eq!(
            lines(100, &[b"\xff\xf4\xff\xf2ABOR\r\n"]),
            vec![b"ABOR".to_vec()]
        );
        // IAC IAC → one 0xFF.
        assert_eq!(lines(100, &[b"a\xff\xffb\r\n"]), vec![b"a\xffb".to_vec()]);
        // Negotiation with option byte removed, even if the option byte is CR or LF.
        assert_eq!(
            lines(100, &[b"\xff\xfd\x01a\xff\xfc\nb\xff\xfe\rc\r\n"]),
            vec![b"abc".to_vec()]
        );
        // NOP, AYT removed.
        assert_eq!(
            lines(100, &[b"a\xff\xf1b\xff\xf6c\n"]),
            vec![b"abc".to_vec()]
        );
        // IAC + non-command byte: not Telnet, kept.
        assert_eq!(lines(100, &[b"a\xffbc\n"]), vec![b"a\xffbc".to_vec()]);
        // IAC between CR and LF does not break the CRLF.
        assert_eq!(
            lines(100, &[b"a\r\xff\xf1\nb\n"]),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
    }

    #[test]
    fn iac_split_across_feeds() {
        assert_eq!(
            lines(100, &[b"\xff", b"\xf4\xff", b"\xf2AB", b"OR\r", b"\n"]),
            vec![b"ABOR".to_vec()]
        );
        assert_eq!(
            lines(100, &[b"a\xff", b"\xffb\n"]),
            vec![b"a\xffb".to_vec()]
        );
        assert_eq!(
            lines(100, &[b"a\xff", b"\xfb", b"\x18b\n"]),
            vec![b"ab".to_vec()]
        );
    }

    #[test]
    fn overlong_lines() {
        assert_eq!(
            split(4, &[b"abcdefgh\r\nxy\r\nabcd\r\n"]),
            vec![
                (b"abcd".to_vec(), true),
                (b"xy".to_vec(), false),
                (b"abcd".to_vec(), false)
            ]
        );
        // Byte by byte, and a CR that would overflow is part of CRLF, not of the line.
        let data = b"abcdefgh\r\nabcd\r\n";
        let chunks: Vec<&[u8]> = data.chunks(1).collect();
        assert_eq!(
            split(4, &chunks),
            vec![(b"abcd".to_vec(), true), (b"abcd".to_vec(), false)]
        );
        // A bare CR past the limit makes the line overlong.
        assert_eq!(split(4, &[b"abcd\rx\n"]), vec![(b"abcd".to_vec(), true)]);
        // Zero max_len: every non-empty line is overlong and empty.
        assert_eq!(split(0, &[b"a\n\n"]), vec![(vec![], true), (vec![], false)]);
    }

    #[test]
    fn finish_unterminated() {
        assert_eq!(lines(100, &[b"QUIT"]), vec![b"QUIT".to_vec()]);
        // Trailing CR is a cut CRLF.
        assert_eq!(lines(100, &[b"QUIT\r"]), vec![b"QUIT".to_vec()]);
        assert!(lines(100, &[b"QUIT\n"]).len() == 1);
        assert!(lines(100, &[b"\r"]).is_empty());
        assert!(lines(100, &[b"\xff"]).is_empty());
        assert!(lines(100, &[b""]).is_empty());
        assert_eq!(split(2, &[b"abc"]), vec![(b"ab".to_vec(), true)]);
        // Reusable after finish.
        let mut s = LineSplitter::new(10);
        let mut out = Vec::new();
        s.feed(b"ab\xff", &mut |l| out.push(l.bytes.to_vec()));
        s.finish(&mut |l| out.push(l.bytes.to_vec()));
        s.feed(b"\xf4cd\n", &mut |l| out.push(l.bytes.to_vec()));
        assert_eq!(out, vec![b"ab".to_vec(), vec![0xf4, b'c', b'd']]);
    }
}
