//! The pipeline: capture packets → decode → TCP table → correlator → sink.

use crate::capture::{CaptureError, CaptureReader, Packet};
use crate::decode::{self, Decoded};
use crate::model::Summary;
use crate::session::{Correlator, CorrelatorConfig, Role, SessionSink};
use crate::tcp::{TcpConfig, TcpTable};
use crate::time::Timestamp;

#[derive(Clone, Debug, Default)]
pub struct AnalyzerConfig {
    pub tcp: TcpConfig,
    pub correlator: CorrelatorConfig,
}

/// Progress of the current file, for front ends that show it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    pub packets: u64,
    pub bytes_read: u64,
}

pub struct Analyzer<'s> {
    table: TcpTable<Role>,
    correlator: Correlator<'s>,
    last_ts: Timestamp,
}

impl<'s> Analyzer<'s> {
    pub fn new(config: AnalyzerConfig, sink: &'s mut dyn SessionSink) -> Self {
        Analyzer {
            table: TcpTable::new(config.tcp),
            correlator: Correlator::new(config.correlator, sink),
            last_ts: Timestamp::default(),
        }
    }

    /// Analyses one capture to its end. Sessions are written to the sink as they finish;
    /// connections do not continue across files. A truncated last packet is recorded as a
    /// warning in the summary and is not an error.
    pub fn run(
        &mut self,
        name: &str,
        reader: &mut CaptureReader,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), CaptureError> {
        self.begin(name);
        let mut result = Ok(());
        let mut n = 0u64;
        loop {
            match reader.next_packet() {
                Ok(Some(pkt)) => {
                    self.packet(&pkt);
                    n += 1;
                    if n.is_multiple_of(65536) {
                        progress(Progress {
                            packets: n,
                            bytes_read: reader.bytes_read(),
                        });
                    }
                }
                Ok(None) => break,
                Err(CaptureError::Truncated { offset }) => {
                    self.correlator.summary.warnings.push(format!(
                        "{name}: the capture is truncated at byte {offset} (last packet incomplete); everything before it was analysed"
                    ));
                    break;
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        progress(Progress {
            packets: n,
            bytes_read: reader.bytes_read(),
        });
        self.end_of_file();
        result
    }

    /// Starts an input (a file, or a live interface) named `name`: connections do not
    /// continue across inputs.
    pub fn begin(&mut self, name: &str) {
        self.correlator.set_file(name);
        self.correlator.summary.files += 1;
    }

    /// Time passes without packets (live capture): connections idle past the timeout are
    /// closed (their sessions written), and the sink is shown the sessions in flight.
    pub fn tick(&mut self, now: Timestamp) {
        self.last_ts = self.last_ts.max(now);
        self.table.expire(self.last_ts, &mut self.correlator);
        self.correlator.report_open();
    }

    /// The end of an input begun with `begin` and fed with `packet`: every connection still
    /// open is closed and every session written.
    pub fn end_input(&mut self) {
        self.end_of_file();
    }

    /// One packet.
    pub fn packet(&mut self, pkt: &Packet<'_>) {
        let summary = &mut self.correlator.summary;
        summary.packets += 1;
        summary.bytes += u64::from(pkt.orig_len);
        // Capture time must not run backwards for expiry; out-of-order timestamps happen.
        self.last_ts = self.last_ts.max(pkt.ts);
        self.correlator.frame += 1;
        match decode::decode(pkt.link_type, pkt.data) {
            Ok(Decoded::Tcp(seg)) => self.table.process(pkt.ts, &seg, &mut self.correlator),
            Ok(Decoded::Udp(udp)) => self.correlator.udp(pkt.ts, &udp),
            Ok(Decoded::Other) => {}
            Err(_) => summary.undecodable_packets += 1,
        }
    }

    fn end_of_file(&mut self) {
        self.table.finish(self.last_ts, &mut self.correlator);
        self.correlator.finish();
        self.correlator.summary.tcp_connections = self.table.stats.connections;
    }

    /// Totals of everything analysed.
    pub fn summary(&self) -> &Summary {
        &self.correlator.summary
    }

    pub fn into_summary(self) -> Summary {
        self.correlator.summary
    }
}

/// A capture that could not be used, and why (shown as `NAME: PROBLEM`).
#[derive(Debug)]
pub struct InputError {
    pub name: String,
    pub error: CaptureError,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.error)
    }
}

/// Runs every capture through one analyzer into `sink` (the front ends' common path).
/// Unusable inputs are returned, not printed; the others are still analysed.
pub fn analyse_files(
    paths: &[std::path::PathBuf],
    config: AnalyzerConfig,
    sink: &mut dyn SessionSink,
    progress: &mut dyn FnMut(&str, Progress),
) -> (Summary, Vec<InputError>) {
    let mut errors = Vec::new();
    let mut analyzer = Analyzer::new(config, sink);
    for path in paths {
        let name = path.display().to_string();
        let result = CaptureReader::open(path)
            .and_then(|mut reader| analyzer.run(&name, &mut reader, &mut |p| progress(&name, p)));
        if let Err(error) = result {
            errors.push(InputError { name, error });
        }
    }
    (analyzer.into_summary(), errors)
}
