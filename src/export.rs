//! Saving one session's packets (its control and data connections) to a pcap: a second,
//! streaming pass over the capture it came from.

use crate::capture::{CaptureError, CaptureReader, PcapWriter};
use crate::decode::{self, Decoded};
use crate::model::Session;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(
        "the session came from stdin, which cannot be read again; save the stream to a file first"
    )]
    Stdin,
    #[error("{0}")]
    Capture(#[from] CaptureError),
    #[error("cannot write {path}: {error}")]
    Write { path: String, error: std::io::Error },
}

/// What was written.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ExportStats {
    pub packets: u64,
    /// Packets of the session on a link type other than the first one's (pcap holds one).
    pub skipped_other_link: u64,
}

/// Copies every packet of `session`'s connections (plus `extra` connections, e.g. its
/// unmatched data connections) from its capture file to `out` as pcap.
pub fn save_session_pcap(
    session: &Session,
    extra: &[(SocketAddr, SocketAddr)],
    out: &Path,
) -> Result<ExportStats, ExportError> {
    if session.file == "-" {
        return Err(ExportError::Stdin);
    }
    let mut conns: HashSet<(SocketAddr, SocketAddr)> = HashSet::new();
    let mut add = |a: SocketAddr, b: SocketAddr| {
        conns.insert((a, b));
        conns.insert((b, a));
    };
    add(session.client, session.server);
    for t in &session.transfers {
        if let Some(d) = &t.data {
            add(d.client, d.server);
        }
    }
    for &(a, b) in extra {
        add(a, b);
    }
    let werr = |error| ExportError::Write {
        path: out.display().to_string(),
        error,
    };
    let mut reader = CaptureReader::open(Path::new(&session.file))?;
    let mut writer: Option<(u32, PcapWriter<std::io::BufWriter<std::fs::File>>)> = None;
    let mut stats = ExportStats::default();
    loop {
        let pkt = match reader.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) | Err(CaptureError::Truncated { .. }) => break,
            Err(e) => return Err(e.into()),
        };
        if pkt.ts < session.start || pkt.ts > session.end {
            continue;
        }
        let Ok(Decoded::Tcp(seg)) = decode::decode(pkt.link_type, pkt.data) else {
            continue;
        };
        if !conns.contains(&(seg.src, seg.dst)) {
            continue;
        }
        let link = pkt.link_type.to_linktype();
        if writer.is_none() {
            let f = std::fs::File::create(out).map_err(werr)?;
            let w = PcapWriter::new(std::io::BufWriter::new(f), link, 262_144).map_err(werr)?;
            writer = Some((link, w));
        }
        let (wl, w) = writer.as_mut().expect("created above");
        if *wl != link {
            stats.skipped_other_link += 1;
            continue;
        }
        w.write_packet(pkt.ts, pkt.data, pkt.orig_len)
            .map_err(werr)?;
        stats.packets += 1;
    }
    match writer {
        Some((_, mut w)) => w.flush().map_err(werr)?,
        None => {
            // No packet matched (cannot happen for a session read from this file); still
            // leave a valid empty capture rather than nothing.
            let f = std::fs::File::create(out).map_err(werr)?;
            PcapWriter::new(std::io::BufWriter::new(f), 1, 262_144)
                .and_then(|mut w| w.flush())
                .map_err(werr)?;
        }
    }
    Ok(stats)
}
