//! The PARAMETERS section of the man page (packaging/floatip.8), generated from the parameter
//! table so it cannot drift. The rest of the page is written by hand; the generated part sits
//! between two comment lines, and [`splice`] puts a fresh copy there (`make generate`).

use crate::ocf::metadata::wrap;
use crate::params::{ParamSpec, PARAMETERS};

pub const BEGIN_MARK: &str =
    ".\\\" BEGIN GENERATED PARAMETERS: `make generate` rewrites this from src/params/table.rs";
pub const END_MARK: &str = ".\\\" END GENERATED PARAMETERS";

/// roff source lines are wrapped here (the rendered width is man's business).
const WIDTH: usize = 72;

/// The PARAMETERS section, from `.SH PARAMETERS` to just before the next section.
pub fn parameters_section() -> String {
    let mut out = String::from(
        ".SH PARAMETERS\n\
         Each entry shows the flag, the environment variable, the type, the default and the\n\
         upstream IPaddr2 version whose behaviour the parameter follows.\n\
         Booleans accept yes/no, true/false, on/off and 1/0.\n\
         Parameters marked reloadable can change through\n\
         .B reload\\-agent\n\
         without a restart.\n",
    );
    for spec in PARAMETERS {
        entry(&mut out, spec);
    }
    out
}

fn entry(out: &mut String, spec: &ParamSpec) {
    out.push_str(".TP\n");
    out.push_str(&format!(
        "\\fB{}\\fR \\fIVALUE\\fR\n",
        escape(&format!("--{}", spec.name.replace('_', "-")))
    ));
    let mut facts = vec![
        format!("\\fBOCF_RESKEY_{}\\fR", escape(spec.name)),
        spec.kind.ocf_type().to_string(),
    ];
    if spec.required {
        facts.push("required".to_string());
    }
    facts.push(match spec.default {
        Some(default) => format!("default \\fB{}\\fR", escape(default)),
        None if spec.unset.is_empty() || spec.required => "no default".to_string(),
        None => format!("no default: {}", escape(spec.unset)),
    });
    if spec.reloadable {
        facts.push("reloadable".to_string());
    }
    facts.push(if spec.upstream.starts_with("IPaddr2") {
        format!("as {}", escape(spec.upstream))
    } else {
        escape(spec.upstream)
    });
    out.push_str(&facts.join("; "));
    out.push_str(".\n.br\n");
    for (i, paragraph) in spec.paragraphs().iter().enumerate() {
        if i > 0 {
            // A paragraph break that keeps the entry's indentation.
            out.push_str(".IP\n");
        }
        for line in wrap(&escape(paragraph), WIDTH) {
            // A line starting with . or ' would be read as a request.
            if line.starts_with(['.', '\'']) {
                out.push_str("\\&");
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
}

/// Text as roff prints it literally: backslashes escaped, and `-` as the minus sign that man
/// pages use for options and names (so that they can be searched and copied).
fn escape(text: &str) -> String {
    text.replace('\\', "\\e").replace('-', "\\-")
}

/// The page with its generated part replaced by `section`; an error when the marks are
/// missing or out of order.
pub fn splice(page: &str, section: &str) -> Result<String, String> {
    splice_between(page, BEGIN_MARK, END_MARK, section)
}

/// `text` with what lies between the line `begin` and the line `end` replaced by `section`.
pub fn splice_between(text: &str, begin: &str, end: &str, section: &str) -> Result<String, String> {
    let at = text
        .find(begin)
        .ok_or_else(|| format!("the file lacks the line {begin}"))?;
    let after_begin = at + begin.len();
    let until = text[after_begin..]
        .find(end)
        .map(|at| after_begin + at)
        .ok_or_else(|| format!("the file lacks the line {end} after the begin mark"))?;
    Ok(format!(
        "{}\n{}{}",
        &text[..after_begin],
        section,
        &text[until..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_only_the_generated_part() {
        let page = format!(".TH X\n{BEGIN_MARK}\nold\n{END_MARK}\n.SH NEXT\n");
        assert_eq!(
            splice(&page, "new\n").unwrap(),
            format!(".TH X\n{BEGIN_MARK}\nnew\n{END_MARK}\n.SH NEXT\n")
        );
        assert!(splice(".TH X\n", "new\n").is_err());
        assert!(splice(&format!("{END_MARK}\n{BEGIN_MARK}\n"), "new\n").is_err());
    }

    #[test]
    fn entries_escape_roff() {
        let section = parameters_section();
        assert!(section.contains("\\fB\\-\\-cidr\\-netmask\\fR \\fIVALUE\\fR\n"));
        assert!(section.contains("\\fBOCF_RESKEY_arp_interval\\fR; integer; default \\fB200\\fR; reloadable; as IPaddr2 4.12.\n"));
        let requests = [".SH PARAMETERS", ".B reload\\-agent", ".TP", ".br", ".IP"];
        for line in section.lines() {
            assert!(!line.starts_with('\''), "{line}");
            assert!(
                !line.starts_with('.') || requests.contains(&line),
                "prose read as a request: {line}"
            );
        }
    }
}
