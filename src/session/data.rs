//! A data connection's bytes as they stream: counted and hashed, never buffered.

use crate::model::{DATA_HEAD, DataConnection, Opener};
use crate::tcp::{ConnInfo, Side};
use crate::time::Timestamp;
use sha2::{Digest, Sha256};

/// Streaming state of one data connection, per direction (the direction a transfer
/// uses may not be known yet when bytes start to flow).
pub struct DataFlow {
    pub log: super::segments::SegmentLog,
    hash: [Sha256; 2],
    head: [Vec<u8>; 2],
    head_closed: [bool; 2],
    bytes: [u64; 2],
    gaps: [u64; 2],
    first_data: Option<Timestamp>,
    last_data: Option<Timestamp>,
    reset: bool,
}

impl Default for DataFlow {
    fn default() -> Self {
        DataFlow {
            log: Default::default(),
            hash: [Sha256::new(), Sha256::new()],
            head: [Vec::new(), Vec::new()],
            head_closed: [false; 2],
            bytes: [0; 2],
            gaps: [0; 2],
            first_data: None,
            last_data: None,
            reset: false,
        }
    }
}

fn idx(side: Side) -> usize {
    match side {
        Side::Initiator => 0,
        Side::Responder => 1,
    }
}

impl DataFlow {
    pub fn data(&mut self, ts: Timestamp, from: Side, data: &[u8]) {
        let i = idx(from);
        self.hash[i].update(data);
        let room = DATA_HEAD.saturating_sub(self.head[i].len());
        if room > 0 && !self.head_closed[i] {
            self.head[i].extend_from_slice(&data[..data.len().min(room)]);
        }
        self.bytes[i] += data.len() as u64;
        self.first_data.get_or_insert(ts);
        self.last_data = Some(ts);
    }

    pub fn gap(&mut self, from: Side, len: u64) {
        let i = idx(from);
        self.gaps[i] += len;
        // The head is the stream's start only: after a hole it would mislead.
        self.head_closed[i] = true;
    }

    pub fn reset(&mut self) {
        self.reset = true;
    }

    pub fn bytes(&self, from: Side) -> u64 {
        self.bytes[idx(from)]
    }

    /// Snapshot as the model's data connection; the caller knows (from the mode) whether
    /// the FTP client opened it.
    pub fn finish(
        &mut self,
        info: &ConnInfo,
        client_is_initiator: bool,
        closed: bool,
    ) -> DataConnection {
        let (c, s) = if client_is_initiator {
            (Side::Initiator, Side::Responder)
        } else {
            (Side::Responder, Side::Initiator)
        };
        let hex = |h: &Sha256| to_hex(&h.clone().finalize());
        DataConnection {
            id: info.id.0,
            client: info.addr(c),
            server: info.addr(s),
            opened_by: if client_is_initiator {
                Opener::Client
            } else {
                Opener::Server
            },
            syn_seen: info.syn_seen,
            start: info.first_ts,
            end: info.last_ts,
            bytes_from_server: self.bytes[idx(s)],
            bytes_from_client: self.bytes[idx(c)],
            sha256_from_server: hex(&self.hash[idx(s)]),
            sha256_from_client: hex(&self.hash[idx(c)]),
            gap_bytes_from_server: self.gaps[idx(s)],
            gap_bytes_from_client: self.gaps[idx(c)],
            retransmitted_bytes: info.stats(Side::Initiator).retransmitted_bytes
                + info.stats(Side::Responder).retransmitted_bytes,
            first_data: self.first_data,
            last_data: self.last_data,
            packets: info.packets,
            data_segments_from_server: self.log.data_segments[0],
            data_segments_from_client: self.log.data_segments[1],
            reset: self.reset,
            closed,
            segments: std::mem::take(&mut self.log.segments),
            head_from_server: std::mem::take(&mut self.head[idx(s)]),
            head_from_client: std::mem::take(&mut self.head[idx(c)]),
        }
    }
}

pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}
