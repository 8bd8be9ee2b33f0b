//! The client list in Pacemaker's attribute manager (issue 17), through its own commands:
//! `attrd_updater` (private attributes, `-p`: nothing reaches the CIB) and `crm_node -l`.
//!
//! attrd erases every value of a node it loses, so the owner never keeps the list under its
//! own name: it writes a copy under each other node's name, and the node that takes the
//! address over reads the copy under its own.

use crate::error::{Error, Result};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The commands, as found on PATH unless a test names stand-ins.
#[derive(Debug, Clone)]
pub struct Attrd {
    pub updater: PathBuf,
    pub crm_node: PathBuf,
}

impl Attrd {
    /// `attrd_updater` and `crm_node` from PATH, or from FLOATIP_ATTRD_UPDATER and
    /// FLOATIP_CRM_NODE (tests feed lists through them, as through FLOATIP_CRM_RESOURCE).
    pub fn from_env() -> Attrd {
        let named = |var: &str, default: &str| {
            std::env::var_os(var)
                .filter(|p| !p.is_empty())
                .map_or_else(|| PathBuf::from(default), PathBuf::from)
        };
        Attrd {
            updater: named("FLOATIP_ATTRD_UPDATER", "attrd_updater"),
            crm_node: named("FLOATIP_CRM_NODE", "crm_node"),
        }
    }

    /// The list kept for node `own`, if any (None when attrd has no value for it). The node
    /// is named: without -N, Pacemaker 2.1 answers with another node's value when this one
    /// has none.
    pub fn read_own(&self, name: &str, own: &str, patience: Duration) -> Result<Option<String>> {
        let out = run(
            Command::new(&self.updater).args(["-Q", "-n", name, "-N", own]),
            patience,
        )?;
        if !out.success {
            // attrd_updater -Q of an attribute never set fails ("attribute does not exist");
            // so does one without attrd.
            return if out.stderr.contains("does not exist") {
                Ok(None)
            } else {
                Err(Error::generic(format!(
                    "{} -Q -n {name}: {}",
                    self.updater.display(),
                    out.stderr.trim()
                )))
            };
        }
        Ok(value_of(&out.stdout))
    }

    /// Writes `value` under every cluster node's name but `own`: how many copies.
    pub fn share(
        &self,
        name: &str,
        own: Option<&str>,
        value: &str,
        patience: Duration,
    ) -> Result<usize> {
        let deadline = Instant::now() + patience;
        let out = run(Command::new(&self.crm_node).arg("-l"), patience)?;
        if !out.success {
            return Err(Error::generic(format!(
                "{} -l: {}",
                self.crm_node.display(),
                out.stderr.trim()
            )));
        }
        let mut copies = 0;
        for node in node_names(&out.stdout) {
            if Some(node.as_str()) == own {
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let out = run(
                Command::new(&self.updater).args(["-p", "-n", name, "-N", &node, "-U", value]),
                left,
            )?;
            if !out.success {
                return Err(Error::generic(format!(
                    "{} -U for {node}: {}",
                    self.updater.display(),
                    out.stderr.trim()
                )));
            }
            copies += 1;
        }
        Ok(copies)
    }
}

/// The value in `attrd_updater -Q`'s answer: `name="..." host="..." value="..."`.
fn value_of(stdout: &str) -> Option<String> {
    let line = stdout.lines().find(|l| l.contains("value=\""))?;
    let start = line.find("value=\"")? + "value=\"".len();
    let end = line.rfind('"')?;
    (end > start).then(|| line[start..end].to_string())
}

/// Node names from `crm_node -l`: `<id> <name> <state>` per line.
fn node_names(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|n| !n.is_empty() && n.len() <= 1024 && !n.starts_with('-'))
        .map(str::to_string)
        .collect()
}

struct Ran {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `command` for at most `patience`; past it the child (ours, by PID) is killed.
fn run(command: &mut Command, patience: Duration) -> Result<Ran> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::generic(format!("cannot run {program}: {e}")))?;
    // Read on threads: a full pipe must not stall the child while this one waits.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(pipe) = pipe {
                let _ = pipe.take(1 << 20).read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + patience;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::generic(format!(
                    "{program} did not answer within {}ms",
                    patience.as_millis()
                )));
            }
        }
    };
    Ok(Ran {
        success: status.success(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_and_the_node_names_are_read_from_pacemakers_answers() {
        assert_eq!(
            value_of("name=\"floatip-clients-vip\" host=\"node2\" value=\"floatip-clients-1 1 198.51.100.50\"\n"),
            Some("floatip-clients-1 1 198.51.100.50".to_string())
        );
        assert_eq!(value_of("name=\"x\" host=\"node2\" value=\"\"\n"), None);
        assert_eq!(value_of(""), None);
        assert_eq!(
            node_names("1 node1 member\n2 node2 lost\n\n"),
            vec!["node1".to_string(), "node2".to_string()]
        );
    }
}
