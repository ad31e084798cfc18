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
    /// Without a subcommand: the text ladder of every session in these captures.
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
    /// Ladder (sequence) diagram of each session: text, Mermaid, PlantUML or SVG.
    Ladder {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        ladder: LadderArgs,
    },
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
        Some(Cmd::Ladder { input, ladder: l }) => ladder(&input, &l),
        // On a terminal this is to open the TUI (not yet there): the text ladder meanwhile.
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
