//! The meta-data document, generated from the parameter table (`params::PARAMETERS`), so the
//! two cannot drift. The agent prints the committed copy (`META_DATA`, metadata/FloatIP.xml);
//! a test regenerates it and `make generate` rewrites it.
//!
//! Format: OCF 1.1, "Resource Agent Meta-Data" (../shared/ocf/resource-agent-api-1.1.md),
//! valid against ra-api-1.1.rng and, through the internal DTD subset, the old ra-api-1.dtd.

use crate::params::{ParamSpec, PARAMETERS};

/// Lines longer than this are wrapped in longdesc paragraphs.
const WIDTH: usize = 76;

/// The head of the document. No encoding declaration: crmsh hands the text to lxml as a
/// Python str, and lxml refuses a str that declares an encoding (the file is plain ASCII).
const PROLOGUE: &str = r#"<?xml version="1.0"?>
<!--
  Meta-data for ocf:floatip:FloatIP (OCF resource agent API 1.1).
  Generated from src/params/table.rs by `make generate`; do not edit.

  The internal DTD subset below lets this file validate against the old
  ra-api-1.dtd (as Debian's ocf-tester checks it) as well as against the
  OCF 1.1 RELAX NG schema. In XML the first declaration of an attribute is
  binding and the internal subset is read before the external DTD, so the
  declarations here replace the DTD's ones for <parameter> (adding the 1.1
  attributes reloadable and unique-group) and for the name of <action>
  (adding reload-agent). The attributes are declared #IMPLIED, without
  defaults, so DTD-aware parsers do not inject required="0" and the like.

  Check with ocf/check-metadata.sh.
-->
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd" [
<!ATTLIST parameter
        name            CDATA   #REQUIRED
        required        (1|0)   #IMPLIED
        unique          (1|0)   #IMPLIED
        reloadable      (1|0)   #IMPLIED
        unique-group    CDATA   #IMPLIED>
<!ATTLIST action
        name (start|stop|recover|monitor|restart|migrate_to|migrate_from|promote|demote|notify|status|reload|meta-data|usage|methods|validate-all|reload-agent) #REQUIRED
        timeout         CDATA   #REQUIRED
        interval        CDATA   #IMPLIED
        start-delay     CDATA   #IMPLIED
        role            CDATA   #IMPLIED
        depth           CDATA   #IMPLIED>
]>
"#;

const SHORTDESC: &str = "Floating IPv4/IPv6 address with in-process ARP/NA announcements";

/// The agent's longdesc: the first paragraph, then `upstream_paragraph()`, then the rest, then
/// `reloadable_paragraph()`.
const AGENT_LONGDESC: &[&str] = &[
    "FloatIP manages one floating IPv4 or IPv6 address and is meant as a drop-in replacement \
     for ocf:heartbeat:IPaddr2 in the common single-node case. The address is added, checked \
     and removed through netlink, without running the ip command, and it is announced to the \
     local network from inside the agent: IPv4 addresses with gratuitous ARP, IPv6 addresses \
     with unsolicited Neighbor Advertisements. No external send_arp, send_ua or arping helper \
     is used; the duplicate-address probe of run_arping is sent in-process as well.",
    "IPaddr2's CLUSTERIP mode (mac, a clusterip_hash other than its default, \
     unique_clone_address, clones with clone-max above 1) is not implemented: enabling it \
     makes the configuration invalid instead of being silently ignored. The parameters that \
     only select or tune IPaddr2's external ARP program (arp_sender, send_arp_opts) and \
     flush_routes are accepted and ignored with a log message.",
    "A monitor checks that the address is assigned with the expected prefix, has not failed \
     and is not stuck in IPv6 duplicate address detection, and (with check_link_status) that \
     the interface is up with carrier. A probe (interval 0) never sends anything. A monitor \
     at OCF_CHECK_LEVEL 10 also probes the link for another machine answering for the \
     address; when one answers, the monitor announces the address again (unless \
     conflict_defend is false) and returns OCF_DEGRADED (190) with that machine's MAC in the \
     reason, rather than failing: the address is still held here.",
];

/// One advertised action: the OCF 1.1 hints a resource manager reads.
struct ActionHint {
    name: &'static str,
    timeout: &'static str,
    interval: Option<&'static str>,
    depth: Option<&'static str>,
}

const fn action(name: &'static str, timeout: &'static str) -> ActionHint {
    ActionHint {
        name,
        timeout,
        interval: None,
        depth: None,
    }
}

const fn monitor(name: &'static str, interval: &'static str, depth: &'static str) -> ActionHint {
    ActionHint {
        name,
        timeout: "20s",
        interval: Some(interval),
        depth: Some(depth),
    }
}

const ACTIONS: &[ActionHint] = &[
    action("start", "20s"),
    action("stop", "20s"),
    monitor("monitor", "10s", "0"),
    monitor("monitor", "30s", "10"),
    monitor("status", "10s", "0"),
    action("validate-all", "20s"),
    action("meta-data", "5s"),
    action("reload-agent", "20s"),
    action("notify", "5s"),
];

/// The whole meta-data document, as metadata/FloatIP.xml holds it.
pub fn meta_data() -> String {
    let mut out = String::from(PROLOGUE);
    out.push_str(&format!(
        "<resource-agent name=\"FloatIP\" version=\"{}\">\n<version>1.1</version>\n\n",
        env!("CARGO_PKG_VERSION")
    ));
    let (first, rest) = AGENT_LONGDESC.split_first().expect("an agent longdesc");
    let mut paragraphs = vec![first.to_string(), upstream_paragraph()];
    paragraphs.extend(rest.iter().map(|p| p.to_string()));
    paragraphs.push(reloadable_paragraph());
    longdesc(&mut out, &paragraphs);
    out.push_str(&format!(
        "<shortdesc lang=\"en\">{}</shortdesc>\n\n<parameters>\n\n",
        escape(SHORTDESC)
    ));
    for spec in PARAMETERS {
        parameter(&mut out, spec);
    }
    out.push_str("</parameters>\n\n<actions>\n");
    for a in ACTIONS {
        let mut line = format!(
            "<action name={:<15}timeout=\"{}\"",
            format!("\"{}\"", a.name),
            a.timeout
        );
        if let Some(interval) = a.interval {
            line.push_str(&format!(" interval=\"{interval}\""));
        }
        if let Some(depth) = a.depth {
            line.push_str(&format!(" depth=\"{depth}\""));
        }
        out.push_str(&line);
        out.push_str(" />\n");
    }
    out.push_str("</actions>\n</resource-agent>\n");
    out
}

/// Which upstream release each parameter follows, made from the table so it stays true.
fn upstream_paragraph() -> String {
    let later: Vec<String> = PARAMETERS
        .iter()
        .filter(|p| p.upstream.starts_with("IPaddr2") && p.upstream != "IPaddr2 4.12")
        .map(|p| format!("{} ({})", p.name, p.upstream))
        .collect();
    let own: Vec<&str> = PARAMETERS
        .iter()
        .filter(|p| !p.upstream.starts_with("IPaddr2"))
        .map(|p| p.name)
        .collect();
    format!(
        "Parameter names and defaults follow IPaddr2 4.12, so an existing configuration moves \
         over by changing the agent's name; {} follow later upstream releases. FloatIP's own \
         parameters are {}.",
        list(&later),
        list(&own)
    )
}

fn reloadable_paragraph() -> String {
    let reloadable: Vec<&str> = PARAMETERS
        .iter()
        .filter(|p| p.reloadable)
        .map(|p| p.name)
        .collect();
    format!(
        "The parameters marked reloadable ({}) take effect through the reload-agent action \
         without moving the address; a change to any other parameter restarts the resource.",
        reloadable.join(", ")
    )
}

/// "a, b and c".
fn list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., last] => format!(
            "{} and {}",
            init.iter()
                .map(AsRef::as_ref)
                .collect::<Vec<_>>()
                .join(", "),
            last.as_ref()
        ),
    }
}

fn parameter(out: &mut String, spec: &ParamSpec) {
    let mut head = format!("<parameter name=\"{}\"", spec.name);
    if spec.required {
        head.push_str(" required=\"1\"");
    }
    if spec.reloadable {
        head.push_str(" reloadable=\"1\"");
    }
    if let Some(group) = spec.unique_group {
        head.push_str(&format!(" unique-group=\"{}\"", escape_attribute(group)));
    }
    out.push_str(&head);
    out.push_str(">\n");
    longdesc(out, &spec.paragraphs());
    out.push_str(&format!(
        "<shortdesc lang=\"en\">{}</shortdesc>\n",
        escape(spec.shortdesc)
    ));
    let default = spec
        .default
        .map(|d| format!(" default=\"{}\"", escape_attribute(d)))
        .unwrap_or_default();
    out.push_str(&format!(
        "<content type=\"{}\"{default} />\n</parameter>\n\n",
        spec.kind.ocf_type()
    ));
}

/// A longdesc element: paragraphs wrapped, a blank line between them.
fn longdesc(out: &mut String, paragraphs: &[String]) {
    out.push_str("<longdesc lang=\"en\">\n");
    let wrapped: Vec<String> = paragraphs
        .iter()
        .map(|p| wrap(&escape(p), WIDTH).join("\n"))
        .collect();
    out.push_str(&wrapped.join("\n\n"));
    out.push_str("\n</longdesc>\n");
}

/// Greedy word wrap; a word longer than the width gets a line of its own.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Character data: the characters XML gives a meaning there.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An attribute value, which the document quotes with `"`.
fn escape_attribute(text: &str) -> String {
    escape(text).replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_words_whole_and_lines_short() {
        let text = "one two three four five six seven eight nine ten";
        let lines = wrap(text, 14);
        assert_eq!(
            lines,
            ["one two three", "four five six", "seven eight", "nine ten"]
        );
        assert_eq!(wrap("a-very-long-word x", 5), ["a-very-long-word", "x"]);
    }

    #[test]
    fn escape_covers_markup_characters() {
        assert_eq!(escape("a < b & \"c\" > d"), "a &lt; b &amp; \"c\" &gt; d");
        assert_eq!(escape_attribute("\"&\""), "&quot;&amp;&quot;");
    }

    #[test]
    fn list_reads_as_prose() {
        assert_eq!(list(&["a"]), "a");
        assert_eq!(list(&["a", "b", "c"]), "a, b and c");
    }

    #[test]
    fn document_names_every_parameter_once_and_the_crate_version() {
        let xml = meta_data();
        for spec in PARAMETERS {
            let tag = format!("<parameter name=\"{}\"", spec.name);
            assert_eq!(xml.matches(&tag).count(), 1, "{}", spec.name);
        }
        assert!(xml.contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION"))));
        assert!(xml.starts_with("<?xml version=\"1.0\"?>\n"));
        assert!(xml.is_ascii(), "the meta-data is plain ASCII");
    }

    #[test]
    fn the_agent_longdesc_lists_every_reloadable_parameter() {
        let xml = meta_data();
        let paragraph = xml
            .split("\n\n")
            .find(|p| p.starts_with("The parameters marked reloadable"))
            .expect("the reloadable paragraph")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for name in crate::params::reloadable_names() {
            assert!(paragraph.contains(name), "{name} missing from: {paragraph}");
        }
    }
}
