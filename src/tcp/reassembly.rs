//! One direction of a TCP connection: bytes in sequence order, as soon as they are contiguous.
//!
//! Data is never held waiting for ACKs (captures may be one-sided). Segments that arrive
//! ahead of a hole are buffered up to a bound; when the bound is hit, or the direction
//! ends, holes are skipped and reported as gaps. Retransmitted and overlapping bytes are
//! resolved deterministically: a delivered byte is never replaced, and among buffered
//! copies the first one wins.

use super::seq::SeqNumber;
use std::collections::BTreeMap;

/// What a direction hands to its consumer, in stream order.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    Data(&'a [u8]),
    /// `len` bytes that never arrived (or were cut by the snap length).
    Gap(u64),
}

/// Bounds on what one direction may buffer out of order.
#[derive(Clone, Copy, Debug)]
pub struct DirLimits {
    pub max_bytes: usize,
    pub max_segments: usize,
}

impl Default for DirLimits {
    fn default() -> Self {
        DirLimits {
            max_bytes: 4 << 20,
            max_segments: 2048,
        }
    }
}

/// Counters a direction keeps for anomaly reporting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirStats {
    pub segments: u64,
    /// Payload bytes that duplicated bytes already seen (retransmissions, overlaps).
    pub retransmitted_bytes: u64,
    pub retransmitted_segments: u64,
    /// Segments that arrived ahead of a hole.
    pub out_of_order_segments: u64,
    pub gap_bytes: u64,
    pub gaps: u64,
    /// Segments too far from the expected sequence number to be this stream's.
    pub implausible_segments: u64,
}

enum Pending {
    Data(Vec<u8>),
    /// A hole we know will never be filled (payload cut by the snap length).
    Missing(u64),
}

impl Pending {
    fn len(&self) -> u64 {
        match self {
            Pending::Data(d) => d.len() as u64,
            Pending::Missing(n) => *n,
        }
    }
}

/// Segments further than this from the expected sequence number are not this stream's data
/// (a port reused by another connection, or garbage): a real window is far smaller.
const PLAUSIBLE_DISTANCE: i64 = 1 << 30;

#[derive(Default)]
pub struct Reassembler {
    /// Sequence number of stream offset 0, once known (SYN or first segment).
    base_seq: Option<SeqNumber>,
    /// Stream offset of the next byte expected (bytes delivered plus gaps).
    next_offset: u64,
    pending: BTreeMap<u64, Pending>,
    pending_bytes: usize,
    fin_offset: Option<u64>,
    finished: bool,
    pub stats: DirStats,
}

impl Reassembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stream offset reached so far: every byte before it was delivered or reported as a gap.
    pub fn offset(&self) -> u64 {
        self.next_offset
    }

    /// Bytes currently buffered out of order.
    pub fn buffered_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// The FIN has been reached: the direction is complete.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    pub fn fin_seen(&self) -> bool {
        self.fin_offset.is_some()
    }

    /// Feeds one segment. `missing` is payload the capture cut off after `payload`.
    /// Returns the change in buffered bytes (for a global budget).
    #[allow(clippy::too_many_arguments)]
    pub fn segment(
        &mut self,
        seq: u32,
        syn: bool,
        fin: bool,
        payload: &[u8],
        missing: u32,
        limits: DirLimits,
        emit: &mut dyn FnMut(Chunk<'_>),
    ) -> isize {
        let before = self.pending_bytes as isize;
        let mut seq = SeqNumber(seq);
        if syn {
            // Data (and the FIN) start one after the SYN's sequence number.
            seq = seq.wrapping_add(1);
            if self.base_seq.is_none() {
                self.base_seq = Some(seq);
            }
        }
        let base = *self.base_seq.get_or_insert(seq);
        // Offsets are 64-bit; the expected sequence number is the base plus the offset, wrapped.
        let next_seq = base.wrapping_add(self.next_offset as u32);
        let len = payload.len() as u64 + u64::from(missing);
        if payload.is_empty() && missing == 0 && !fin {
            return 0;
        }
        self.stats.segments += 1;
        let rel = i64::from(seq.diff(next_seq));
        if rel.abs() >= PLAUSIBLE_DISTANCE {
            self.stats.implausible_segments += 1;
            return 0;
        }
        let start = self.next_offset as i64 + rel;
        if start < 0 {
            // Before the stream's start: retransmission of bytes from before capture began.
            self.stats.retransmitted_segments += 1;
            return 0;
        }
        let start = start as u64;
        if fin && self.fin_offset.is_none() {
            self.fin_offset = Some(start + len);
        }
        if len > 0 {
            self.insert(start, payload, u64::from(missing), emit);
        }
        self.enforce(limits, emit);
        self.check_fin();
        self.pending_bytes as isize - before
    }

    fn insert(
        &mut self,
        start: u64,
        payload: &[u8],
        missing: u64,
        emit: &mut dyn FnMut(Chunk<'_>),
    ) {
        let end = start + payload.len() as u64 + missing;
        if end <= self.next_offset {
            self.stats.retransmitted_segments += 1;
            self.stats.retransmitted_bytes += payload.len() as u64;
            return;
        }
        if start <= self.next_offset {
            // In order (the common case): deliver straight from the packet, no copy.
            let skip = (self.next_offset - start) as usize;
            if skip > 0 {
                self.stats.retransmitted_segments += 1;
                self.stats.retransmitted_bytes += skip.min(payload.len()) as u64;
            }
            if skip < payload.len() {
                self.deliver_data(&payload[skip..], emit);
            }
            let missing_left = end - self.next_offset;
            if missing_left > 0 {
                self.deliver_gap(missing_left, emit);
            }
            self.drain(emit);
            return;
        }
        self.stats.out_of_order_segments += 1;
        self.buffer(start, payload, missing);
    }

    /// Buffers [start, end) minus the parts already buffered: first copy wins.
    fn buffer(&mut self, start: u64, payload: &[u8], missing: u64) {
        let data_end = start + payload.len() as u64;
        let end = data_end + missing;
        let mut pos = start;
        // Walk existing pieces that overlap [start, end) in order, filling the holes between them.
        let overlapping: Vec<(u64, u64)> = self
            .pending
            .range(..end)
            .rev()
            .take_while(|(k, p)| **k + p.len() > start)
            .map(|(k, p)| (*k, *k + p.len()))
            .collect();
        let mut dup = 0u64;
        for &(k, kend) in overlapping.iter().rev() {
            if k > pos {
                self.put(pos, k, start, data_end, payload);
            }
            dup += kend.min(data_end).saturating_sub(k.max(pos).max(start));
            pos = pos.max(kend);
        }
        if dup > 0 {
            self.stats.retransmitted_segments += 1;
            self.stats.retransmitted_bytes += dup;
        }
        if pos < end {
            self.put(pos, end, start, data_end, payload);
        }
    }

    /// Stores [from, to) of a segment spanning [start, data_end) of data then missing bytes.
    fn put(&mut self, from: u64, to: u64, start: u64, data_end: u64, payload: &[u8]) {
        if from < data_end {
            let d_to = to.min(data_end);
            let bytes = payload[(from - start) as usize..(d_to - start) as usize].to_vec();
            self.pending_bytes += bytes.len();
            self.pending.insert(from, Pending::Data(bytes));
        }
        if to > data_end {
            let m_from = from.max(data_end);
            self.pending.insert(m_from, Pending::Missing(to - m_from));
        }
    }

    fn deliver_data(&mut self, data: &[u8], emit: &mut dyn FnMut(Chunk<'_>)) {
        self.next_offset += data.len() as u64;
        emit(Chunk::Data(data));
    }

    fn deliver_gap(&mut self, len: u64, emit: &mut dyn FnMut(Chunk<'_>)) {
        self.next_offset += len;
        self.stats.gaps += 1;
        self.stats.gap_bytes += len;
        emit(Chunk::Gap(len));
    }

    /// Delivers buffered pieces that have become contiguous.
    fn drain(&mut self, emit: &mut dyn FnMut(Chunk<'_>)) {
        while let Some(entry) = self.pending.first_entry() {
            let k = *entry.key();
            if k > self.next_offset {
                break;
            }
            let piece = entry.remove();
            let end = k + piece.len();
            if let Pending::Data(d) = &piece {
                self.pending_bytes -= d.len();
            }
            if end <= self.next_offset {
                continue;
            }
            let skip = (self.next_offset - k) as usize;
            match piece {
                Pending::Data(d) => self.deliver_data(&d[skip..], emit),
                Pending::Missing(n) => self.deliver_gap(n - skip as u64, emit),
            }
        }
    }

    /// Skips the first hole when the buffer is over its bound.
    fn enforce(&mut self, limits: DirLimits, emit: &mut dyn FnMut(Chunk<'_>)) {
        while (self.pending_bytes > limits.max_bytes || self.pending.len() > limits.max_segments)
            && self.skip_hole(emit)
        {}
    }

    /// Declares the first hole lost and delivers what follows it. False when nothing is buffered.
    pub fn skip_hole(&mut self, emit: &mut dyn FnMut(Chunk<'_>)) -> bool {
        let Some((&k, _)) = self.pending.first_key_value() else {
            return false;
        };
        if k > self.next_offset {
            self.deliver_gap(k - self.next_offset, emit);
        }
        self.drain(emit);
        true
    }

    /// The direction ends (connection closed, reset or expired): every hole becomes a gap,
    /// including bytes before a FIN that never arrived.
    pub fn flush(&mut self, emit: &mut dyn FnMut(Chunk<'_>)) {
        while self.skip_hole(emit) {}
        if let Some(fin) = self.fin_offset
            && fin > self.next_offset
        {
            self.deliver_gap(fin - self.next_offset, emit);
        }
        self.check_fin();
    }

    fn check_fin(&mut self) {
        if let Some(fin) = self.fin_offset
            && self.next_offset >= fin
        {
            self.finished = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Out {
        data: Vec<u8>,
        gaps: Vec<u64>,
    }

    fn feed(r: &mut Reassembler, out: &mut Out, seq: u32, payload: &[u8]) {
        feed_full(r, out, seq, false, false, payload, 0, DirLimits::default());
    }

    #[allow(clippy::too_many_arguments)]
    fn feed_full(
        r: &mut Reassembler,
        out: &mut Out,
        seq: u32,
        syn: bool,
        fin: bool,
        payload: &[u8],
        missing: u32,
        limits: DirLimits,
    ) {
        r.segment(seq, syn, fin, payload, missing, limits, &mut |c| match c {
            Chunk::Data(d) => out.data.extend_from_slice(d),
            Chunk::Gap(n) => {
                out.gaps.push(n);
                out.data.extend(std::iter::repeat_n(b'?', n as usize));
            }
        });
    }

    #[test]
    fn in_order_after_syn() {
        let mut r = Reassembler::new();
        let mut o = Out::default();
        feed_full(
            &mut r,
            &mut o,
            100,
            true,
            false,
            b"",
            0,
            DirLimits::default(),
        );
        feed(&mut r, &mut o, 101, b"hello ");
        feed(&mut r, &mut o, 107, b"world");
        assert_eq!(o.data, b"hello world");
        assert_eq!(r.offset(), 11);
    }

    #[test]
    fn reorders_and_wraps() {
        let mut r = Reassembler::new();
        let mut o = Out::default();
        let isn = u32::MAX - 3;
        feed_full(
            &mut r,
            &mut o,
            isn,
            true,
            false,
            b"",
            0,
            DirLimits::default(),
        );
        // "abcdefgh" starting at isn+1; the 32-bit sequence wraps inside it.
        let s = isn.wrapping_add(1);
        feed(&mut r, &mut o, s.wrapping_add(4), b"efgh");
        assert!(o.data.is_empty());
        assert_eq!(r.buffered_bytes(), 4);
        feed(&mut r, &mut o, s, b"abcd");
        assert_eq!(o.data, b"abcdefgh");
        assert_eq!(r.buffered_bytes(), 0);
        assert_eq!(r.stats.out_of_order_segments, 1);
    }

    #[test]
    fn retransmissions_and_overlaps_first_copy_wins() {
        let mut r = Reassembler::new();
        let mut o = Out::default();
        feed(&mut r, &mut o, 0, b"abc");
        feed(&mut r, &mut o, 0, b"XYZ"); // full retransmission, different bytes: ignored
        feed(&mut r, &mut o, 6, b"ghi"); // out of order
        feed(&mut r, &mut o, 5, b"FGHIj"); // overlaps the buffered "ghi": only F and j are new
        feed(&mut r, &mut o, 2, b"Cde"); // overlaps delivered "c"
        assert_eq!(o.data, b"abcdeFghij");
        assert_eq!(r.stats.retransmitted_bytes, 3 + 3 + 1);
        assert!(o.gaps.is_empty());
    }

    #[test]
    fn same_result_whatever_the_arrival_order() {
        let pieces: [(u32, &[u8]); 4] = [(0, b"0123"), (2, b"2345"), (6, b"67"), (4, b"456789")];
        let mut results = Vec::new();
        for perm in [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1], [1, 3, 0, 2]] {
            let mut r = Reassembler::new();
            let mut o = Out::default();
            r.base_seq = Some(SeqNumber(0));
            for i in perm {
                feed(&mut r, &mut o, pieces[i].0, pieces[i].1);
            }
            r.flush(&mut |_| {});
            results.push(o.data);
        }
        assert!(results.iter().all(|d| d == b"0123456789"), "{results:?}");
    }

    #[test]
    fn hole_skipped_when_bound_reached() {
        let limits = DirLimits {
            max_bytes: 8,
            max_segments: 100,
        };
        let mut r = Reassembler::new();
        let mut o = Out::default();
        feed_full(&mut r, &mut o, 0, false, false, b"ab", 0, limits);
        feed_full(&mut r, &mut o, 4, false, false, b"efgh", 0, limits);
        assert_eq!(o.data, b"ab");
        feed_full(&mut r, &mut o, 8, false, false, b"ijklm", 0, limits);
        // 9 bytes buffered > 8: the 2-byte hole is skipped.
        assert_eq!(o.gaps, vec![2]);
        assert_eq!(o.data, b"ab??efghijklm");
        assert_eq!(r.buffered_bytes(), 0);
        assert_eq!(r.stats.gap_bytes, 2);
    }

    #[test]
    fn snapped_payload_is_a_gap_and_fin_ends() {
        let mut r = Reassembler::new();
        let mut o = Out::default();
        feed_full(
            &mut r,
            &mut o,
            0,
            false,
            false,
            b"abc",
            5,
            DirLimits::default(),
        );
        assert_eq!(o.gaps, vec![5]);
        feed_full(
            &mut r,
            &mut o,
            8,
            false,
            true,
            b"xy",
            0,
            DirLimits::default(),
        );
        assert_eq!(o.data, b"abc?????xy");
        assert!(r.is_finished());
    }

    #[test]
    fn flush_reports_trailing_holes_before_fin() {
        let mut r = Reassembler::new();
        let mut o = Out::default();
        feed(&mut r, &mut o, 0, b"ab");
        feed_full(
            &mut r,
            &mut o,
            6,
            false,
            true,
            b"gh",
            0,
            DirLimits::default(),
        );
        assert!(!r.is_finished());
        r.flush(&mut |c| {
            if let Chunk::Gap(n) = c {
                o.gaps.push(n)
            }
        });
        assert_eq!(o.gaps, vec![4]);
        assert!(r.is_finished());
    }

    #[test]
    fn implausible_sequence_is_ignored() {
        let mut r = Reassembler::new();
        let mut o = Out::default();
        feed(&mut r, &mut o, 1000, b"ab");
        feed(&mut r, &mut o, 1000u32.wrapping_add(1 << 31), b"zz");
        assert_eq!(o.data, b"ab");
        assert_eq!(r.stats.implausible_segments, 1);
    }
}
