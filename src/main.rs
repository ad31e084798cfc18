//! The `ftpflow` command line.

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use ftpflow::analyzer::{AnalyzerConfig, analyse_files};
use ftpflow::output::json::JsonLines;
use ftpflow::output::text::TextTable;
use ftpflow::session::SessionSink;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// FTP sessions, transfers and ladder diagrams from packet captures.
#[derive(Parser)]
#[command(name = "ftpflow", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// Without a subcommand: the sessions of these captures.
    #[command(flatten)]
    input: InputArgs,
}

#[derive(Subcommand)]
enum Cmd {
    /// Summary of every FTP session and its transfers (text, or JSON Lines with --json).
    Sessions {
        #[command(flatten)]
        input: InputArgs,
        /// JSON Lines: one record per session, unmatched data connection, and a summary.
        #[arg(long)]
        json: bool,
    },
    /// Capture on a network interface and report sessions as they happen (Linux, root or CAP_NET_RAW).
    Live(LiveArgs),
}

/// `ftpflow live` (README "Live monitoring").
#[derive(Args)]
struct LiveArgs {
    /// The interface to capture on.
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        required_unless_present = "list"
    )]
    interface: Option<String>,
    /// List the interfaces (state, type, addresses) and exit.
    #[arg(long)]
    list: bool,
    /// Report only sessions matching: `host IP`, `net IP/PREFIX`, `port N`, joined by `or`;
    /// repeat the option to require several. Data connections of kept sessions are kept.
    #[arg(long, value_name = "EXPR")]
    filter: Vec<String>,
    /// Also write every captured packet to this pcap file.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    write: Option<PathBuf>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Stop after this many packets.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// `json`: JSON Lines, one session per line as it ends; `text`: one line per event.
    /// Default: text on a terminal, json otherwise.
    #[arg(long, value_name = "FORMAT", value_parser = ["json", "text"])]
    format: Option<String>,
    /// The kernel's receive buffer for the capture socket (MiB).
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    buffer: usize,
    /// Also treat this port as an FTP control port (repeatable; 21 always is).
    #[arg(long = "ftp-port", value_name = "N")]
    ftp_ports: Vec<u16>,
    /// Show passwords instead of masking them.
    #[arg(long)]
    show_passwords: bool,
    /// Close a connection silent for this long (seconds).
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    idle_timeout: u32,
}

#[derive(Args, Clone)]
struct InputArgs {
    /// Capture files (pcap or pcapng, optionally gzip-compressed); `-` reads stdin.
    #[arg(value_name = "CAPTURE")]
    captures: Vec<PathBuf>,
    /// Also treat this port as an FTP control port (repeatable; 21 always is).
    #[arg(long = "ftp-port", value_name = "N")]
    ftp_ports: Vec<u16>,
    /// Show passwords instead of masking them.
    #[arg(long)]
    show_passwords: bool,
    /// Out-of-order bytes buffered per TCP direction before a hole is declared lost (MiB).
    #[arg(long, value_name = "MIB", default_value_t = 4)]
    reorder_buffer: usize,
    /// Out-of-order bytes buffered across all connections (MiB).
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    reorder_budget: usize,
    /// Close a connection silent for this long, in capture time (seconds).
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    idle_timeout: u32,
}

impl InputArgs {
    fn config(&self) -> AnalyzerConfig {
        let mut config = AnalyzerConfig::default();
        config.correlator.ftp_ports.extend(&self.ftp_ports);
        config.correlator.show_passwords = self.show_passwords;
        config.tcp.dir.max_bytes = self.reorder_buffer.saturating_mul(1 << 20);
        config.tcp.max_buffered_total = self.reorder_budget.saturating_mul(1 << 20);
        config.tcp.idle_timeout_ns = i64::from(self.idle_timeout) * 1_000_000_000;
        config
    }
}

/// Exit codes (README "Exit codes").
const EXIT_INPUT: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Cmd::Sessions { input, json }) => sessions(&input, json),
        Some(Cmd::Live(args)) => live(&args),
        None => sessions(&cli.input, false),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("ftpflow: {e:#}");
            ExitCode::from(EXIT_INPUT)
        }
    }
}

/// Runs every capture through one analyzer into `sink`, reporting unusable inputs and
/// warnings on stderr. Returns whether all inputs were usable.
fn analyse(input: &InputArgs, sink: &mut dyn SessionSink) -> (bool, ftpflow::model::Summary) {
    let (summary, errors) = analyse_files(&input.captures, input.config(), sink, &mut |_, _| {});
    for e in &errors {
        eprintln!("ftpflow: {e}");
    }
    for w in &summary.warnings {
        eprintln!("ftpflow: warning: {w}");
    }
    (errors.is_empty(), summary)
}

fn sessions(input: &InputArgs, json: bool) -> Result<u8> {
    if input.captures.is_empty() {
        anyhow::bail!("no capture given: try `ftpflow sessions capture.pcap` (or `-` for stdin)");
    }
    let stdout = std::io::stdout().lock();
    let out = std::io::BufWriter::with_capacity(1 << 16, stdout);
    let (ok, error) = if json {
        let mut sink = JsonLines::new(out);
        let (ok, summary) = analyse(input, &mut sink);
        if summary.files > 0 {
            sink.summary(&summary);
        }
        (ok, sink.error)
    } else {
        let mut sink = TextTable::new(out);
        let (ok, summary) = analyse(input, &mut sink);
        if summary.files > 0 {
            sink.summary(&summary);
        }
        (ok, sink.error)
    };
    if let Some(e) = error
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        anyhow::bail!("cannot write the output: {e}");
    }
    std::io::stderr().flush().ok();
    Ok(if ok { 0 } else { EXIT_INPUT })
}

fn live(args: &LiveArgs) -> Result<u8> {
    use ftpflow::live::{self, Filtered, LiveCapture, LiveConfig, filter::Filter};
    use std::io::IsTerminal;
    if args.list {
        for i in live::interfaces()? {
            let addrs: Vec<String> = i.addresses.iter().map(|a| a.to_string()).collect();
            println!(
                "{:<16} {:<8} {:<12} {:<18} {}",
                i.name,
                i.state,
                i.kind,
                i.mac.as_deref().unwrap_or("-"),
                addrs.join(" ")
            );
        }
        return Ok(0);
    }
    let filter = Filter::parse(&args.filter)?;
    let mut config = LiveConfig::new(args.interface.as_deref().unwrap_or_default());
    config.analyzer.correlator.ftp_ports.extend(&args.ftp_ports);
    config.analyzer.correlator.show_passwords = args.show_passwords;
    config.analyzer.tcp.idle_timeout_ns = i64::from(args.idle_timeout) * 1_000_000_000;
    config.write = args.write.clone();
    config.count = args.count;
    config.buffer_bytes = args.buffer.saturating_mul(1 << 20);
    if let Some(d) = args.duration {
        config.duration = Some(
            std::time::Duration::try_from_secs_f64(d)
                .map_err(|_| anyhow::anyhow!("--duration {d}: not a number of seconds"))?,
        );
    }
    let json = match args.format.as_deref() {
        Some(f) => f == "json",
        None => !std::io::stdout().is_terminal(),
    };

    // Ctrl-C and SIGTERM end the capture cleanly: the loop sees the flag within 100 ms.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::Relaxed))?;

    let capture = LiveCapture::open(&config)?;
    eprintln!(
        "ftpflow: capturing on {} (Ctrl-C to stop)",
        config.interface
    );
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let (report, dropped, error) = if json {
        let mut sink = JsonLines::new(&mut out);
        let mut filtered = Filtered::new(&mut sink, filter.clone());
        let mut report = capture.run(&config, &mut filtered, &stop)?;
        filtered.adjust(&mut report.summary);
        let dropped = (filtered.sessions_dropped, filtered.unmatched_dropped);
        (report, dropped, sink.error)
    } else {
        let mut sink = live::events::EventLog::new(&mut out);
        let mut filtered = Filtered::new(&mut sink, filter.clone());
        let mut report = capture.run(&config, &mut filtered, &stop)?;
        filtered.adjust(&mut report.summary);
        let dropped = (filtered.sessions_dropped, filtered.unmatched_dropped);
        let line = live::report_text(&report, dropped.0);
        sink.note(report.end, &line);
        (report, dropped, sink.error)
    };
    let mut error = error;
    if json && error.is_none() {
        let capture = live::report_json(&report, &filter, dropped.0, dropped.1);
        let summary = ftpflow::output::json::summary_json(&report.summary);
        if let Err(e) = writeln!(out, "{capture}\n{summary}").and_then(|()| out.flush()) {
            error = Some(e);
        }
    }
    drop(out);
    for w in &report.summary.warnings {
        eprintln!("ftpflow: warning: {w}");
    }
    if json {
        eprintln!("ftpflow: {}", live::report_text(&report, dropped.0));
    }
    if let Some(e) = error
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        anyhow::bail!("cannot write the output: {e}");
    }
    // The interface went away or the socket failed: the warning above says so.
    Ok(if report.stopped_by == live::StopReason::Error {
        EXIT_INPUT
    } else {
        0
    })
}
