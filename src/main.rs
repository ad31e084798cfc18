//! The `ftpflow` command line.

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use ftpflow::analyzer::{AnalyzerConfig, analyse_files};
use ftpflow::output::json::JsonLines;
use ftpflow::output::text::TextTable;
use ftpflow::session::SessionSink;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// FTP sessions, transfers and ladder diagrams from packet captures.
#[derive(Parser)]
#[command(name = "ftpflow", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// Without a subcommand: the TUI on a terminal, else the text ladder of every session.
    #[command(flatten)]
    input: InputArgs,
}

#[derive(Subcommand)]
enum Cmd {
    /// Interactive terminal UI: session list, ladder, details (what `ftpflow CAPTURE` opens on a terminal).
    View {
        #[command(flatten)]
        input: InputArgs,
    },
    /// Summary of every FTP session and its transfers (text, or JSON Lines with --json).
    Sessions {
        #[command(flatten)]
        input: InputArgs,
        /// JSON Lines: one record per session, unmatched data connection, and a summary.
        #[arg(long)]
        json: bool,
    },
    /// Ladder (sequence) diagram of each session: text, Mermaid, PlantUML or SVG.
    Ladder {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        ladder: LadderArgs,
    },
    /// Write every transferred file to a directory, with a manifest.jsonl.
    Extract {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        opts: ExtractArgs,
    },
    /// Checks captures against rules (CI): exit 0 when all hold, 1 on violations, 2 when an
    /// input or the rules cannot be used.
    Check {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        check: CheckArgs,
    },
    /// Capture on a network interface and report sessions as they happen (Linux, root or CAP_NET_RAW).
    Live(LiveArgs),
}

#[derive(Args, Clone, Default)]
struct LadderArgs {
    /// Only the session with this id (as `ftpflow sessions` lists them).
    #[arg(long, value_name = "N")]
    session: Option<u64>,
    /// `summary`: one arrow per data connection and direction; `packets`: every TCP segment.
    #[arg(long, value_enum, default_value_t = DetailArg::Summary)]
    detail: DetailArg,
    /// Columns to fit the text in (default: the terminal's width, else 120).
    #[arg(long, value_name = "N")]
    width: Option<usize>,
    /// Plain ASCII instead of Unicode box drawing.
    #[arg(long)]
    ascii: bool,
    /// Colours per connection (text format).
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    color: ColorArg,
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    format: FormatArg,
    /// The time column: since the session's first row, time of day (UTC), or since the previous row.
    #[arg(long, value_enum, default_value_t = TimeArg::Relative)]
    time: TimeArg,
    /// Write to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Default)]
enum DetailArg {
    #[default]
    Summary,
    Packets,
}

#[derive(clap::ValueEnum, Clone, Copy, Default)]
enum ColorArg {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(clap::ValueEnum, Clone, Copy, Default)]
enum FormatArg {
    #[default]
    Text,
    Mermaid,
    Plantuml,
    Svg,
}

#[derive(clap::ValueEnum, Clone, Copy, Default)]
enum TimeArg {
    #[default]
    Relative,
    Absolute,
    Delta,
}

#[derive(Args, Clone)]
struct ExtractArgs {
    /// Output directory (created if missing; must not hold a manifest.jsonl already).
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    dir: PathBuf,
    /// Only the session with this id (as `ftpflow sessions` numbers them).
    #[arg(long, value_name = "N")]
    session: Option<u64>,
    /// Only transfers whose server path, or its last component, matches (* ? [..]).
    #[arg(long, value_name = "GLOB")]
    filter: Option<String>,
    /// Also write directory listings (LIST, NLST, MLSD).
    #[arg(long)]
    listings: bool,
    /// Also keep the bytes of data connections no transfer command claimed.
    #[arg(long)]
    unmatched: bool,
}

#[derive(Args, Clone)]
struct CheckArgs {
    /// Rules file (TOML; README "check").
    #[arg(long, value_name = "FILE.toml")]
    rules: Option<PathBuf>,
    /// Every session must use TLS and keep it.
    #[arg(long)]
    require_tls: bool,
    /// No anonymous login.
    #[arg(long)]
    forbid_anonymous: bool,
    /// Longest acceptable wait for a server reply.
    #[arg(long, value_name = "MS")]
    max_reply_ms: Option<u64>,
    /// Fewest complete transfers.
    #[arg(long, value_name = "N")]
    min_transfers: Option<u64>,
    /// A file that must have been transferred whole: NAME[:SHA256[:SIZE]] (repeatable).
    #[arg(long, value_name = "NAME[:SHA256[:SIZE]]")]
    expect: Vec<String>,
    /// Findings of this kind are not violations (repeatable).
    #[arg(long, value_name = "KIND")]
    allow: Vec<String>,
    /// Findings of this kind are violations too (repeatable).
    #[arg(long, value_name = "KIND")]
    forbid: Vec<String>,
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    format: CheckFormat,
}

#[derive(clap::ValueEnum, Clone, Copy)]
enum CheckFormat {
    Text,
    Json,
    Junit,
    Github,
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
/// `check`: a rule was broken.
const EXIT_VIOLATIONS: u8 = 1;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Cmd::Sessions { input, json }) => sessions(&input, json),
        Some(Cmd::Extract { input, opts }) => extract(&input, &opts),
        Some(Cmd::View { input }) => view(&input),
        Some(Cmd::Ladder { input, ladder: l }) => ladder(&input, &l),
        None if std::io::stdout().is_terminal() => view(&cli.input),
        Some(Cmd::Check { input, check }) => run_check(&input, &check),
        Some(Cmd::Live(args)) => live(&args),
        None => ladder(&cli.input, &LadderArgs::default()),
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
    analyse_with(input, input.config(), sink)
}

fn analyse_with(
    input: &InputArgs,
    config: AnalyzerConfig,
    sink: &mut dyn SessionSink,
) -> (bool, ftpflow::model::Summary) {
    let (summary, errors) = analyse_files(&input.captures, config, sink, &mut |_, _| {});
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

fn extract(input: &InputArgs, opts: &ExtractArgs) -> Result<u8> {
    use ftpflow::extract::{ExtractConfig, Extractor, MANIFEST, glob::Glob};
    if input.captures.is_empty() {
        anyhow::bail!("no capture given: try `ftpflow extract capture.pcap -o DIR`");
    }
    let filter = opts.filter.as_deref().map(Glob::new).transpose()?;
    let mut sink = Extractor::create(ExtractConfig {
        dir: opts.dir.clone(),
        session: opts.session,
        filter,
        listings: opts.listings,
        unmatched: opts.unmatched,
    })?;
    let (ok, _) = analyse(input, &mut sink);
    let s = sink.finish()?;
    let not: u64 = s.not_extracted.values().sum();
    let reasons: Vec<String> = s
        .not_extracted
        .iter()
        .map(|(why, n)| format!("{n} {why}"))
        .collect();
    eprintln!(
        "ftpflow: extracted {} file{} ({}; {} incomplete) into {}; {} entr{} without a file{}; manifest: {}",
        s.files,
        if s.files == 1 { "" } else { "s" },
        ftpflow::output::human_bytes(s.bytes),
        s.incomplete,
        opts.dir.display(),
        not,
        if not == 1 { "y" } else { "ies" },
        if reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", reasons.join(", "))
        },
        opts.dir.join(MANIFEST).display(),
    );
    Ok(if ok { 0 } else { EXIT_INPUT })
}

fn view(input: &InputArgs) -> Result<u8> {
    if input.captures.is_empty() {
        anyhow::bail!("no capture given: try `ftpflow view capture.pcap`");
    }
    if !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "`view` needs a terminal; use `ftpflow sessions` or `ftpflow ladder` for text output"
        );
    }
    ftpflow::tui::run(input.captures.clone(), input.config())?;
    Ok(0)
}

fn run_check(input: &InputArgs, args: &CheckArgs) -> Result<u8> {
    use ftpflow::check::report::{Format, render};
    use ftpflow::check::{Allow, Checker, Expect, Rules};
    if input.captures.is_empty() {
        anyhow::bail!("no capture given: try `ftpflow check capture.pcap --rules rules.toml`");
    }
    let mut rules = match &args.rules {
        Some(path) => Rules::from_file(path)?,
        None => Rules::default(),
    };
    rules.merge(Rules {
        require_tls: args.require_tls,
        forbid_anonymous: args.forbid_anonymous,
        max_reply_ms: args.max_reply_ms,
        min_transfers: args.min_transfers,
        expect: args.expect.iter().map(|e| Expect::parse_flag(e)).collect(),
        allow: args.allow.iter().cloned().map(Allow::Kind).collect(),
        forbid: args.forbid.clone(),
    });
    rules.validate()?;
    let mut checker = Checker::new(rules);
    let (ok, summary) = analyse(input, &mut checker);
    let report = checker.finish(summary.files);
    let format = match args.format {
        CheckFormat::Text => Format::Text,
        CheckFormat::Json => Format::Json,
        CheckFormat::Junit => Format::Junit,
        CheckFormat::Github => Format::Github,
    };
    let mut out = std::io::stdout().lock();
    if let Err(e) = out
        .write_all(render(&report, format).as_bytes())
        .and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        anyhow::bail!("cannot write the output: {e}");
    }
    Ok(if !ok {
        EXIT_INPUT
    } else if report.passed() {
        0
    } else {
        EXIT_VIOLATIONS
    })
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
    if args.format.is_none() && std::io::stdout().is_terminal() {
        // On a terminal: the TUI, sessions appearing and updating as they happen.
        let report = ftpflow::tui::run_live(capture, config, filter)?;
        return Ok(match report {
            Some(r) => {
                eprintln!("ftpflow: {}", live::report_text(&r, 0));
                if r.stopped_by == live::StopReason::Error {
                    EXIT_INPUT
                } else {
                    0
                }
            }
            None => EXIT_INPUT,
        });
    }
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

fn ladder(input: &InputArgs, args: &LadderArgs) -> Result<u8> {
    use ftpflow::ladder::layout::{Detail, LayoutOptions, TimeMode};
    use ftpflow::ladder::{Format, LadderSink, text::TextOptions};
    use std::io::IsTerminal;
    if input.captures.is_empty() {
        anyhow::bail!("no capture given: try `ftpflow ladder capture.pcap` (or `-` for stdin)");
    }
    let mut config = input.config();
    let detail = match args.detail {
        DetailArg::Summary => Detail::Summary,
        DetailArg::Packets => {
            config.correlator.segments = ftpflow::model::SegmentDetail::All;
            config.correlator.segments_for = args.session;
            Detail::Packets
        }
    };
    let layout = LayoutOptions {
        time: match args.time {
            TimeArg::Relative => TimeMode::Relative,
            TimeArg::Absolute => TimeMode::Absolute,
            TimeArg::Delta => TimeMode::Delta,
        },
        detail,
        ..LayoutOptions::default()
    };
    let format = match args.format {
        FormatArg::Text => Format::Text,
        FormatArg::Mermaid => Format::Mermaid,
        FormatArg::Plantuml => Format::PlantUml,
        FormatArg::Svg => Format::Svg,
    };
    let terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let width = args.width.unwrap_or_else(|| {
        if terminal {
            terminal_size::terminal_size().map_or(120, |(w, _)| usize::from(w.0))
        } else {
            120
        }
    });
    let color = match args.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => terminal && std::env::var_os("NO_COLOR").is_none(),
    };
    let text = TextOptions {
        width,
        ascii: args.ascii,
        color,
    };
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let out = std::io::BufWriter::with_capacity(1 << 16, out);
    let mut sink = LadderSink::new(out, format, layout, text, args.session);
    let (ok, summary) = analyse_with(input, config, &mut sink);
    sink.finish();
    if let Some(e) = sink.error.take()
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        anyhow::bail!("cannot write the output: {e}");
    }
    if summary.files > 0 {
        if let Some(id) = args.session
            && sink.drawn.is_empty()
        {
            anyhow::bail!(
                "there is no session {id} in the capture (`ftpflow sessions` lists them)"
            );
        }
        if format.single_diagram() && sink.drawn.len() > 1 {
            let ids: Vec<String> = sink.drawn.iter().map(|i| i.to_string()).collect();
            anyhow::bail!(
                "the capture holds {} sessions and a {} file holds one diagram: choose one with --session N (sessions: {})",
                ids.len(),
                if format == Format::Svg {
                    "SVG"
                } else {
                    "Mermaid"
                },
                ids.join(", ")
            );
        }
        if sink.drawn.is_empty() {
            eprintln!("ftpflow: no FTP session in the capture");
        }
    }
    std::io::stderr().flush().ok();
    Ok(if ok { 0 } else { EXIT_INPUT })
}
