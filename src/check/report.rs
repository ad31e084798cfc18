//! Renders a check `Report`: text for people, JSON, JUnit XML for CI systems, GitHub
//! Actions annotations. Every string that came off the wire goes through `sanitize`.

use super::{Report, RuleResult, Violation};
use crate::output::sanitize;
use crate::output::xml_escape;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Junit,
    Github,
}

pub fn render(r: &Report, format: Format) -> String {
    match format {
        Format::Text => text(r),
        Format::Json => json(r),
        Format::Junit => junit(r),
        Format::Github => github(r),
    }
}

/// Where a violation is: "errors.pcap session 1 transfer 2 [kind]".
fn place(v: &Violation) -> String {
    let mut parts = Vec::new();
    if let Some(f) = &v.file {
        parts.push(sanitize(f).into_owned());
    }
    if let Some(s) = v.session {
        parts.push(format!("session {s}"));
    }
    if let Some(t) = v.transfer {
        parts.push(format!("transfer {}", t + 1));
    }
    if let Some(k) = v.kind {
        parts.push(format!("[{k}]"));
    }
    parts.join(" ")
}

fn line(v: &Violation) -> String {
    let p = place(v);
    let m = sanitize(&v.message);
    if p.is_empty() {
        m.into_owned()
    } else {
        format!("{p}: {m}")
    }
}

fn more(r: &RuleResult) -> Option<String> {
    (r.more > 0).then(|| format!("… and {} more", r.more))
}

fn totals(r: &Report) -> String {
    format!(
        "{} rule(s), {} failed; {} session(s), {} transfer(s) in {} capture(s)",
        r.rules.len(),
        r.failed_rules(),
        r.sessions,
        r.transfers,
        r.files
    )
}

fn text(r: &Report) -> String {
    let width = r.rules.iter().map(|x| x.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for rule in &r.rules {
        if rule.passed() {
            out.push_str(&format!(
                "PASS  {:<width$}  {}\n",
                rule.name, rule.description
            ));
        } else {
            out.push_str(&format!(
                "FAIL  {:<width$}  {} ({} violation(s))\n",
                rule.name,
                rule.description,
                rule.count()
            ));
            for v in &rule.violations {
                out.push_str(&format!("      - {}\n", line(v)));
            }
            if let Some(m) = more(rule) {
                out.push_str(&format!("      {m}\n"));
            }
        }
    }
    out.push_str(&format!(
        "{}: {}\n",
        if r.passed() { "ok" } else { "FAILED" },
        totals(r)
    ));
    out
}

#[derive(Serialize)]
struct JViolation<'a> {
    file: Option<&'a str>,
    session: Option<u64>,
    transfer: Option<usize>,
    kind: Option<&'a str>,
    severity: &'static str,
    ts: Option<f64>,
    message: &'a str,
}

#[derive(Serialize)]
struct JRule<'a> {
    name: &'a str,
    description: &'a str,
    passed: bool,
    violations: Vec<JViolation<'a>>,
    more: u64,
}

#[derive(Serialize)]
struct JReport<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    passed: bool,
    files: usize,
    sessions: u64,
    transfers: u64,
    rules: Vec<JRule<'a>>,
}

fn json(r: &Report) -> String {
    let j = JReport {
        ty: "check",
        passed: r.passed(),
        files: r.files,
        sessions: r.sessions,
        transfers: r.transfers,
        rules: r
            .rules
            .iter()
            .map(|rule| JRule {
                name: rule.name,
                description: &rule.description,
                passed: rule.passed(),
                more: rule.more,
                violations: rule
                    .violations
                    .iter()
                    .map(|v| JViolation {
                        file: v.file.as_deref(),
                        session: v.session,
                        transfer: v.transfer,
                        kind: v.kind,
                        severity: v.severity.as_str(),
                        ts: v.ts.map(|t| t.as_secs_f64()),
                        message: &v.message,
                    })
                    .collect(),
            })
            .collect(),
    };
    let mut s = serde_json::to_string(&j).expect("serialising plain data cannot fail");
    s.push('\n');
    s
}

fn junit(r: &Report) -> String {
    let tests = r.rules.len();
    let failures = r.failed_rules();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"ftpflow check\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">\n"
    ));
    out.push_str(&format!(
        "  <testsuite name=\"ftpflow check\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n"
    ));
    out.push_str(&format!(
        "    <properties><property name=\"summary\" value=\"{}\"/></properties>\n",
        xml_escape(&totals(r))
    ));
    for rule in &r.rules {
        let name = xml_escape(rule.name);
        if rule.passed() {
            out.push_str(&format!(
                "    <testcase classname=\"ftpflow.check\" name=\"{name}\"/>\n"
            ));
            continue;
        }
        let mut body: Vec<String> = rule.violations.iter().map(line).collect();
        body.extend(more(rule));
        out.push_str(&format!(
            "    <testcase classname=\"ftpflow.check\" name=\"{name}\">\n      <failure type=\"violation\" message=\"{}\">{}</failure>\n    </testcase>\n",
            xml_escape(&format!("{}: {} violation(s)", rule.description, rule.count())),
            xml_escape(&body.join("\n"))
        ));
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// GitHub workflow command data: `%`, CR and LF are encoded.
pub fn gh_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub workflow command property values: also `:` and `,`.
pub fn gh_property(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn github(r: &Report) -> String {
    let mut out = String::new();
    for rule in &r.rules {
        let title = gh_property(&format!("ftpflow check: {}", rule.name));
        for v in &rule.violations {
            // Every violation fails the check, whatever the finding's own severity.
            out.push_str(&format!("::error title={title}::{}\n", gh_data(&line(v))));
        }
        if let Some(m) = more(rule) {
            out.push_str(&format!("::error title={title}::{}\n", gh_data(&m)));
        }
    }
    let verdict = if r.passed() { "ok" } else { "FAILED" };
    out.push_str(&format!("ftpflow check {verdict}: {}\n", totals(r)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(xml_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(xml_escape("x\u{1}y\r"), "x\\x01y&#13;");
        assert_eq!(gh_data("50%\r\nok"), "50%25%0D%0Aok");
        assert_eq!(gh_property("a: b, c"), "a%3A b%2C c");
    }
}
