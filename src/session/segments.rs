//! Keeps the segments of a connection that diagrams show: always the handshake and
//! teardown, and every segment when asked, within a bound.

use crate::decode::TcpSegment;
use crate::model::{SegmentDetail, SegmentRecord};
use crate::time::Timestamp;

/// Notable segments kept per connection (a handshake and teardown are ~7; the rest guards
/// against SYN or RST floods on one 4-tuple).
const MAX_NOTABLE: usize = 64;

#[derive(Default, Debug)]
pub struct SegmentLog {
    pub segments: Vec<SegmentRecord>,
    synack_seen: bool,
    handshake_acked: bool,
    /// Segments not kept because of the bound.
    pub dropped: u64,
    /// Segments with payload sent by the server (0) and by the client (1), all counted.
    pub data_segments: [u64; 2],
}

impl SegmentLog {
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        detail: SegmentDetail,
        max_all: usize,
        frame: u64,
        ts: Timestamp,
        from_client: bool,
        from_initiator: bool,
        seg: &TcpSegment<'_>,
    ) {
        if !seg.payload.is_empty() || seg.missing > 0 {
            self.data_segments[usize::from(from_client)] += 1;
        }
        let f = seg.flags;
        let mut notable = f.syn() || f.fin() || f.rst();
        if f.syn() && f.ack() {
            self.synack_seen = true;
        } else if self.synack_seen && !self.handshake_acked && from_initiator && f.ack() {
            // The third step of the handshake.
            self.handshake_acked = true;
            notable = true;
        }
        let keep = match detail {
            SegmentDetail::All => self.segments.len() < max_all,
            SegmentDetail::Notable => notable && self.segments.len() < MAX_NOTABLE,
        };
        if !keep {
            if detail == SegmentDetail::All || notable {
                self.dropped += 1;
            }
            return;
        }
        self.segments.push(SegmentRecord {
            frame,
            ts,
            from_client,
            flags: f.0,
            seq: seg.seq,
            ack: seg.ack,
            len: seg.payload.len() as u32 + seg.missing,
        });
    }
}
