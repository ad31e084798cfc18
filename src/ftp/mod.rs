//! FTP control-channel parsing: bytes → lines → commands and replies (no I/O, no printing).
//!
//! This layer knows nothing of TCP or sessions; every function takes bytes or text and
//! returns values:
//! - [`LineSplitter`] turns one direction's reassembled byte stream into lines (CRLF or bare
//!   LF), stripping Telnet IAC sequences and cutting overlong lines at a fixed bound.
//! - [`parse_command`] reads a client line as verb + argument; the `transfer_*` helpers
//!   classify verbs for the correlator.
//! - [`ReplyAssembler`] groups server lines into (multi-line) replies per RFC 959 §4.2 and
//!   reports lines that cannot be replies as [`ReplyEvent::Malformed`].
//! - The `parse_*` endpoint functions extract data-connection addresses from PORT, EPRT,
//!   LPRT arguments and 227/228/229 reply texts; [`announced_size`] reads "(N bytes)".
//!
//! Everything here runs on every control-channel byte of possibly hostile traffic, so it is
//! linear-time, never panics, and keeps bounded state.

pub mod command;
pub mod endpoint;
pub mod lines;
pub mod reply;

pub use command::*;
pub use endpoint::*;
pub use lines::*;
pub use reply::*;

#[cfg(test)]
mod tests {
    use super::*;

    /// Tiny xorshift64 PRNG so the fuzz-ish test needs no crates and is reproducible.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: u64) -> usize {
            (self.next() % n) as usize
        }

        /// Bytes biased towards the interesting ones (CR, LF, IAC, digits, delimiters).
        fn byte(&mut self) -> u8 {
            const SPECIAL: &[u8] = b"\r\n\xff\xf4\xf2\xfb\x00 -|,()0123456789 ";
            if self.below(2) == 0 {
                SPECIAL[self.below(SPECIAL.len() as u64)]
            } else {
                self.next() as u8
            }
        }
    }

    #[test]
    fn random_input_never_panics_and_stays_bounded() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for round in 0..300 {
            let max_len = rng.below(64);
            let mut splitter = LineSplitter::new(max_len);
            let mut replies = ReplyAssembler::new();
            let mut n_lines = 0usize;
            let mut check = |line: Line<'_>| {
                assert!(line.bytes.len() <= max_len);
                n_lines += 1;
                let _ = parse_command(line.bytes);
                if let Some(ReplyEvent::Reply(r)) = replies.push_line(line.bytes) {
                    assert!(r.text.len() <= MAX_REPLY_TEXT.max(line.bytes.len() * 3));
                    let _ = announced_size(&r.text);
                    let _ = parse_227(&r.text);
                    let _ = parse_228(&r.text);
                    let _ = parse_229(&r.text);
                }
                if let Ok(s) = std::str::from_utf8(line.bytes) {
                    let _ = parse_port(s);
                    let _ = parse_eprt(s);
                    let _ = parse_lprt(s);
                }
            };
            for _ in 0..50 {
                let len = rng.below(200);
                let chunk: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
                splitter.feed(&chunk, &mut check);
                assert!(splitter.buffered() <= max_len, "round {round}");
            }
            splitter.finish(&mut check);
            let _ = n_lines;
            let _ = replies.finish();
        }
    }

    #[test]
    fn random_text_endpoint_parsers_never_panic() {
        let mut rng = XorShift(12345);
        const ALPHABET: &[u8] = b"0123456789,|!. :()abcdefABCDEF%-\t";
        for _ in 0..20_000 {
            let len = rng.below(60);
            let s: String = (0..len)
                .map(|_| ALPHABET[rng.below(ALPHABET.len() as u64)] as char)
                .collect();
            let _ = parse_port(&s);
            let _ = parse_eprt(&s);
            let _ = parse_lprt(&s);
            let _ = parse_227(&s);
            let _ = parse_228(&s);
            let _ = parse_229(&s);
            let _ = announced_size(&s);
            let _ = parse_command(s.as_bytes());
        }
    }

    #[test]
    fn control_stream_end_to_end() {
        let server: &[u8] = b"220-Welcome\r\n220 ready\r\n227 Entering Passive Mode (10,0,0,1,4,1).\r\n150 Opening BINARY mode data connection for one.bin (1 bytes).\r\n226";
        let mut splitter = LineSplitter::new(512);
        let mut asm = ReplyAssembler::new();
        let mut replies = Vec::new();
        let mut on_line = |l: Line<'_>| replies.extend(asm.push_line(l.bytes));
        splitter.feed(server, &mut on_line);
        splitter.finish(&mut on_line);
        let codes: Vec<u16> = replies
            .iter()
            .map(|e| match e {
                ReplyEvent::Reply(r) => r.code,
                ReplyEvent::Malformed { .. } => 0,
            })
            .collect();
        assert_eq!(codes, vec![220, 227, 150, 226]);
        let ReplyEvent::Reply(r227) = &replies[1] else {
            unreachable!()
        };
        assert_eq!(
            parse_227(&r227.text),
            Some("10.0.0.1:1025".parse().unwrap())
        );
        let ReplyEvent::Reply(r150) = &replies[2] else {
            unreachable!()
        };
        assert!(is_preliminary(r150.code));
        assert_eq!(announced_size(&r150.text), Some(1));
    }
}
