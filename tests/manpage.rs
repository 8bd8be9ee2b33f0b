//! Keeps packaging/floatip.8 from drifting away from the code: every parameter (with its
//! --flag, OCF_RESKEY_ variable, type, default and reloadability), every action, every flag
//! `floatip start --help` prints and every OCF exit code must be documented. No root needed.
//! The PARAMETERS section is generated from the parameter table (tests/generated.rs checks
//! it is current); reading it back here checks the generator's output as a reader sees it.
//!
//! The page is read as roff source and reduced to text by a small renderer that knows the
//! handful of man(7) macros and escapes the page uses, so the test needs neither groff nor
//! man-db.

use floatip::ocf::{Action, Status};
use floatip::params::PARAMETERS;
use std::process::Command;

const PAGE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/floatip.8");

/// One rendered line: the section it is in, whether it is a `.TP` tag, and its text.
#[derive(Debug)]
struct Line {
    section: String,
    tag: bool,
    text: String,
}

/// An entry of a `.TP` list: the tag and the paragraph after it, joined into one string.
#[derive(Debug)]
struct Entry {
    tag: String,
    body: String,
}

fn page_source() -> String {
    std::fs::read_to_string(PAGE_PATH).unwrap_or_else(|e| panic!("cannot read {PAGE_PATH}: {e}"))
}

/// Replaces the roff escapes the page uses by the characters they print.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            // Font changes: \fB, \fI, \fR, \fP, \f(CW.
            Some('f') => match chars.next() {
                Some('(') => {
                    chars.next();
                    chars.next();
                }
                Some('[') => {
                    for c in chars.by_ref() {
                        if c == ']' {
                            break;
                        }
                    }
                }
                _ => {}
            },
            Some('-') => out.push('-'),
            Some('e') | Some('\\') => out.push('\\'),
            Some('&') | Some('c') => {}
            Some(' ') | Some('~') => out.push(' '),
            Some('(') => {
                let name: String = [chars.next(), chars.next()].into_iter().flatten().collect();
                out.push_str(match name.as_str() {
                    "lq" | "rq" => "\"",
                    "em" => "--",
                    "aq" => "'",
                    other => panic!("unexpected special character \\({other} in the man page"),
                });
            }
            Some('"') => break, // a comment to the end of the line
            Some(other) => panic!("unexpected escape \\{other} in the man page"),
            None => {}
        }
    }
    out
}

/// Splits macro arguments the way roff does: on blanks, with "double quoted" arguments.
fn macro_args(s: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        let mut arg = String::new();
        if first == '"' {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        arg.push('"');
                        continue;
                    }
                    break;
                }
                arg.push(c);
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                arg.push(c);
                chars.next();
            }
        }
        args.push(arg);
    }
    args
}

/// Renders the page into text lines, each labelled with its section.
fn render(source: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut section = String::new();
    let mut next_is_tag = false;
    for raw in source.lines() {
        if raw.starts_with(".\\\"") || raw.starts_with("'\\\"") || raw == "." {
            continue;
        }
        let text = if let Some(request) = raw.strip_prefix('.') {
            let (name, rest) = request.split_once(' ').unwrap_or((request, ""));
            let args = macro_args(rest);
            match name {
                "SH" | "SS" => {
                    section = unescape(&args.join(" "));
                    next_is_tag = false;
                    continue;
                }
                "TP" => {
                    next_is_tag = true;
                    continue;
                }
                "B" | "I" | "SM" | "SB" => args.join(" "),
                "BR" | "RB" | "BI" | "IB" | "IR" | "RI" => args.concat(),
                "TH" | "PP" | "P" | "LP" | "IP" | "RS" | "RE" | "br" | "nf" | "fi" | "nh"
                | "ad" | "hy" | "sp" | "EX" | "EE" | "in" => continue,
                other => panic!("the test's renderer does not know the macro .{other}"),
            }
        } else {
            raw.to_string()
        };
        lines.push(Line {
            section: section.clone(),
            tag: std::mem::take(&mut next_is_tag),
            text: unescape(&text),
        });
    }
    lines
}

fn rendered_text(lines: &[Line]) -> String {
    lines
        .iter()
        .map(|l| l.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `.TP` entries of one section.
fn entries(lines: &[Line], section: &str) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let mut in_entry = false;
    for line in lines.iter().filter(|l| l.section == section) {
        if line.tag {
            out.push(Entry {
                tag: line.text.trim().to_string(),
                body: String::new(),
            });
            in_entry = true;
        } else if in_entry {
            let entry = out.last_mut().expect("an entry");
            if !entry.body.is_empty() {
                entry.body.push(' ');
            }
            entry.body.push_str(line.text.trim());
        }
    }
    assert!(
        !out.is_empty(),
        "the man page has no entries in section {section}"
    );
    out
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// True when `needle` occurs in `hay` not as part of a longer word (so --ip is not found in
/// --iflabel, nor "default 5" in "default 50").
fn has_token(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle).any(|(at, _)| {
        let before = hay[..at].chars().next_back();
        let after = hay[at + needle.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

fn flag_of(param: &str) -> String {
    format!("--{}", param.replace('_', "-"))
}

#[test]
fn renderer_reads_the_page_macros_and_escapes() {
    assert_eq!(
        unescape(r"\fB\-\-arp\-count\fR \fIVALUE\fP"),
        "--arp-count VALUE"
    );
    assert_eq!(macro_args(r#"0 " OCF_SUCCESS""#), vec!["0", " OCF_SUCCESS"]);
    assert!(has_token("x --ip VALUE", "--ip"));
    assert!(!has_token("x --iflabel VALUE", "--if"));
    assert!(!has_token("default 50;", "default 5"));
}

#[test]
fn every_parameter_is_documented_with_its_flag_variable_type_and_default() {
    let lines = render(&page_source());
    let params = entries(&lines, "PARAMETERS");
    let mut problems = Vec::new();
    for spec in PARAMETERS {
        let flag = flag_of(spec.name);
        let Some(entry) = params
            .iter()
            .find(|e| e.tag.split_whitespace().next() == Some(flag.as_str()))
        else {
            problems.push(format!("{}: no PARAMETERS entry for {flag}", spec.name));
            continue;
        };
        let variable = format!("OCF_RESKEY_{}", spec.name);
        if !has_token(&entry.body, &variable) {
            problems.push(format!("{}: entry does not name {variable}", spec.name));
        }
        if !has_token(&entry.body, spec.kind.ocf_type()) {
            problems.push(format!(
                "{}: entry does not give the type {}",
                spec.name,
                spec.kind.ocf_type()
            ));
        }
        match spec.default {
            Some(default) => {
                if !has_token(&entry.body, &format!("default {default}")) {
                    problems.push(format!(
                        "{}: entry does not say \"default {default}\"",
                        spec.name
                    ));
                }
            }
            None => {
                if !entry.body.contains("no default") {
                    problems.push(format!(
                        "{}: has no default, but the entry does not say \"no default\"",
                        spec.name
                    ));
                }
            }
        }
        if spec.reloadable != has_token(&entry.body, "reloadable") {
            problems.push(format!(
                "{}: reloadable is {} in PARAMETERS but the entry {} it",
                spec.name,
                spec.reloadable,
                if spec.reloadable {
                    "does not say"
                } else {
                    "says"
                }
            ));
        }
    }
    // And the other way round: nothing documented that the code no longer has.
    for entry in &params {
        let flag = entry.tag.split_whitespace().next().unwrap_or("");
        if !PARAMETERS.iter().any(|s| flag_of(s.name) == flag) {
            problems.push(format!(
                "the man page documents {flag:?}, which is not in PARAMETERS"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "man page drift:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn every_action_is_documented() {
    let lines = render(&page_source());
    let documented: Vec<String> = entries(&lines, "ACTIONS")
        .iter()
        .flat_map(|e| e.tag.split(", ").map(str::to_string).collect::<Vec<_>>())
        .collect();
    let mut problems = Vec::new();
    let command = floatip::cli::command();
    let actions: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
    assert!(
        actions.contains(&"start"),
        "cli::command() lost its actions"
    );
    for action in &actions {
        if !documented.iter().any(|d| d == action) {
            problems.push(format!("action {action} is not in ACTIONS"));
        }
    }
    for name in &documented {
        if Action::from_name(name).is_none() && !actions.contains(&name.as_str()) {
            problems.push(format!(
                "ACTIONS documents {name}, which floatip does not accept"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "man page drift:\n  {}",
        problems.join("\n  ")
    );
}

/// The flags a --help text lists: -h, --help, --arp-count and so on, read from the option
/// lines (those that start with a flag), so that prose such as "--flag" is not taken for one.
fn flags_in_help(help: &str) -> Vec<String> {
    let is_flag = |w: &str| {
        let body = w.trim_start_matches('-');
        matches!(w.len() - body.len(), 1 | 2)
            && body
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
            && body.chars().all(is_word_char)
    };
    let mut flags: Vec<String> = help
        .lines()
        .filter(|l| l.trim_start().starts_with('-'))
        .flat_map(|l| {
            l.split_whitespace()
                .map(|w| w.trim_end_matches(','))
                .take_while(|w| is_flag(w))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    flags.sort();
    flags.dedup();
    flags
}

fn run_floatip(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_floatip"))
        .args(args)
        .env_clear()
        .output()
        .expect("run the floatip binary");
    assert!(
        out.status.success(),
        "floatip {args:?} exited with {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 help")
}

#[test]
fn every_flag_of_start_help_is_documented() {
    let text = rendered_text(&render(&page_source()));
    let help = run_floatip(&["start", "--help"]);
    let flags = flags_in_help(&help);
    assert!(
        flags.len() > PARAMETERS.len(),
        "found only {flags:?} in `floatip start --help`:\n{help}"
    );
    let missing: Vec<&String> = flags.iter().filter(|f| !has_token(&text, f)).collect();
    assert!(
        missing.is_empty(),
        "flags printed by `floatip start --help` but missing from the man page: {missing:?}"
    );
}

#[test]
fn every_top_level_flag_is_documented() {
    let lines = render(&page_source());
    let options: Vec<String> = entries(&lines, "OPTIONS")
        .iter()
        .flat_map(|e| e.tag.split(", ").map(str::to_string).collect::<Vec<_>>())
        .collect();
    for flag in flags_in_help(&run_floatip(&["--help"])) {
        assert!(
            options.contains(&flag),
            "`floatip --help` prints {flag}, which OPTIONS does not list ({options:?})"
        );
    }
}

#[test]
fn every_exit_code_is_documented() {
    let lines = render(&page_source());
    let documented: Vec<String> = entries(&lines, "EXIT STATUS")
        .iter()
        .map(|e| e.tag.clone())
        .collect();
    let all = [
        Status::Success,
        Status::ErrGeneric,
        Status::ErrArgs,
        Status::ErrUnimplemented,
        Status::ErrPerm,
        Status::ErrInstalled,
        Status::ErrConfigured,
        Status::NotRunning,
    ];
    for status in all {
        let tag = format!("{} {}", status.code(), status.name());
        assert!(
            documented.contains(&tag),
            "EXIT STATUS lacks \"{tag}\" (has {documented:?})"
        );
    }
}

#[test]
fn environment_and_files_are_documented() {
    let lines = render(&page_source());
    let env: Vec<String> = entries(&lines, "ENVIRONMENT")
        .iter()
        .map(|e| e.tag.clone())
        .collect();
    for name in [
        "OCF_RESKEY_name",
        "OCF_RESKEY_CRM_meta_interval",
        "OCF_RESKEY_CRM_meta_timeout",
        "OCF_RESOURCE_INSTANCE",
        "OCF_CHECK_LEVEL",
        "HA_debug",
        "RUST_LOG",
        "FLOATIP_STATE_DIR",
    ] {
        assert!(env.iter().any(|e| e == name), "ENVIRONMENT lacks {name}");
    }
    let files: Vec<String> = entries(&lines, "FILES")
        .iter()
        .map(|e| e.tag.clone())
        .collect();
    for path in [
        "/usr/sbin/floatip",
        "/usr/lib/ocf/resource.d/floatip/FloatIP",
        floatip::host::state::DEFAULT_STATE_DIR,
    ] {
        assert!(files.iter().any(|f| f == path), "FILES lacks {path}");
    }
}

#[test]
fn header_names_this_version() {
    let source = page_source();
    let th = source
        .lines()
        .find(|l| l.starts_with(".TH "))
        .expect("a .TH line");
    let args = macro_args(&th[4..]);
    assert_eq!(args.first().map(String::as_str), Some("FLOATIP"), "{th}");
    assert_eq!(args.get(1).map(String::as_str), Some("8"), "{th}");
    let wanted = format!("floatip {}", env!("CARGO_PKG_VERSION"));
    assert_eq!(
        args.get(3).map(String::as_str),
        Some(wanted.as_str()),
        "the .TH line should name {wanted} (bump it with the version): {th}"
    );
}
