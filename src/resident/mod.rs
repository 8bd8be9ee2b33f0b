//! The resident process: one background process per resource while it has work (announcement
//! rounds still owed, refreshes, standby adapters to watch, link watching). Its instructions
//! are a typed [`Plan`]; its decisions are a pure state machine (`machine`), run by the event
//! loop in `host::resident`. This module also holds what agent and resident say to each other:
//! the [`Launch`] on the new process's standard input, and the control socket's [`Request`]
//! and [`Reply`], one JSON line each way.

pub mod machine;
pub mod plan;

pub use plan::{AddressTemplate, Plan};

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// argv[1] of a resident process; not an OCF action, so Pacemaker can never call it. The
/// arguments after it name the resource, the address and the state directory (its
/// identity), for operators (`ps`, `pgrep -a floatip`) and for finding it again.
pub const RESIDENT_ARG: &str = "__resident";

/// The byte that lets a launched resident act, written once it is recorded.
pub const RELEASE: u8 = b'g';

/// The largest launch or control line read (a plan is well under 2 KiB).
pub const MAX_LINE: usize = 64 * 1024;

/// What the agent hands a new resident on its standard input, as one JSON line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Launch {
    pub plan: Plan,
    /// The state directory, where it records conflicts and serves its control socket.
    pub state_dir: PathBuf,
    /// fd 3 is the agent's AF_PACKET socket, bound to this interface.
    pub socket_ifindex: Option<u32>,
    /// fd 4 is a pidfd of the Pacemaker executor that ran the agent: when it ends, the
    /// resident stands down.
    pub executor: bool,
    /// The node's pacemakerd, by PID and start time: the resident stands down when it ends,
    /// and an executor it respawns is not the cluster going away. Started by hand on a
    /// cluster node, this is the only tie.
    #[serde(default)]
    pub cluster: Option<ClusterId>,
    /// Started outside Pacemaker's executor: the resident looks for this node's pacemakerd
    /// itself (a scan of every process, kept off start's path: it grows with their number).
    #[serde(default)]
    pub find_cluster: bool,
    /// The crm_resource to run for link_watch (FLOATIP_CRM_RESOURCE), else `crm_resource`
    /// from PATH.
    pub crm_resource: Option<PathBuf>,
    /// The attrd_updater and crm_node to run for the client list (FLOATIP_ATTRD_UPDATER,
    /// FLOATIP_CRM_NODE), else those from PATH.
    #[serde(default)]
    pub attrd_updater: Option<PathBuf>,
    #[serde(default)]
    pub crm_node: Option<PathBuf>,
    /// Log debug lines too (HA_debug).
    pub debug: bool,
    /// Where its lines go (it has no stderr for the executor to record).
    #[serde(default)]
    pub log: LogTargets,
}

/// Pacemaker's own log file when PCMK_logfile does not name another.
pub const PACEMAKER_LOG: &str = "/var/log/pacemaker/pacemaker.log";

/// Where the resident logs: where Pacemaker logs, since a resident has no stderr that the
/// executor would copy into Pacemaker's log as it does an operation's. Syslog at Pacemaker's
/// facility, and Pacemaker's log file (appended to, never created).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogTargets {
    /// The syslog facility's name; None when Pacemaker's is "none".
    pub syslog: Option<String>,
    pub file: Option<PathBuf>,
}

impl Default for LogTargets {
    /// What a launch from before this field meant: syslog, facility daemon.
    fn default() -> LogTargets {
        LogTargets {
            syslog: Some("daemon".into()),
            file: None,
        }
    }
}

/// Syslog facilities by the names Pacemaker and logger(1) accept.
pub const SYSLOG_FACILITIES: [&str; 20] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
];

impl LogTargets {
    /// From the environment Pacemaker gives its agents (PCMK_logfacility, PCMK_logfile, or
    /// their HA_ spellings). `under_pacemaker`: run by a cluster, whose default log file is
    /// PACEMAKER_LOG; a start by hand outside any cluster logs to syslog only.
    pub fn from_env(var: impl Fn(&str) -> Option<String>, under_pacemaker: bool) -> LogTargets {
        let first = |names: &[&str]| names.iter().find_map(|n| var(n));
        let facility = first(&["PCMK_logfacility", "HA_logfacility", "HA_LOGFACILITY"]);
        let syslog = match facility.as_deref().map(str::trim) {
            None => Some("daemon".to_string()),
            Some("none") | Some("") => None,
            Some(name) if SYSLOG_FACILITIES.contains(&name) => Some(name.to_string()),
            // Pacemaker, too, falls back to daemon for a name it does not know.
            Some(_) => Some("daemon".to_string()),
        };
        let file = match first(&["PCMK_logfile", "HA_logfile", "HA_LOGFILE"]) {
            None => under_pacemaker.then(|| PathBuf::from(PACEMAKER_LOG)),
            Some(path) => {
                let path = PathBuf::from(path.trim());
                (path.is_absolute() && path != std::path::Path::new("/dev/null")).then_some(path)
            }
        };
        LogTargets { syslog, file }
    }
}

impl Launch {
    pub fn to_line(&self) -> Result<String, String> {
        serde_json::to_string(self)
            .map(|json| json + "\n")
            .map_err(|e| format!("cannot describe the resident's launch: {e}"))
    }

    pub fn from_line(line: &str) -> Option<Launch> {
        serde_json::from_str(line.trim_end()).ok()
    }
}

/// A process by PID and start time (its identity, so a recycled PID is never taken for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterId {
    pub pid: i32,
    pub start_time: u64,
}

/// One request on the control socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// Take these parameters (reload-agent, a monitor's refresh rounds).
    Plan(Box<Plan>),
    /// Say what you are doing.
    Status,
    Stop,
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

impl Reply {
    pub fn ok() -> Reply {
        Reply {
            ok: true,
            error: None,
            status: None,
        }
    }

    pub fn refused(why: impl Into<String>) -> Reply {
        Reply {
            ok: false,
            error: Some(why.into()),
            status: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launches_and_requests_round_trip_as_json_lines() {
        let launch = Launch {
            plan: plan::tests::sample(),
            state_dir: "/run/floatip".into(),
            socket_ifindex: Some(2),
            executor: true,
            cluster: Some(ClusterId {
                pid: 77,
                start_time: 1234,
            }),
            crm_resource: None,
            attrd_updater: None,
            crm_node: None,
            find_cluster: false,
            debug: false,
            log: LogTargets {
                syslog: None,
                file: Some(PACEMAKER_LOG.into()),
            },
        };
        let line = launch.to_line().unwrap();
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        assert_eq!(Launch::from_line(&line), Some(launch));
        assert_eq!(Launch::from_line("{}"), None);
        for request in [
            Request::Plan(Box::new(plan::tests::sample())),
            Request::Status,
            Request::Stop,
        ] {
            let json = serde_json::to_string(&request).unwrap();
            assert_eq!(serde_json::from_str::<Request>(&json).unwrap(), request);
        }
        // A launch written before `log` existed still logs to syslog.
        let old = line.split(r#","log":"#).next().unwrap().to_string() + "}";
        assert_eq!(Launch::from_line(&old).unwrap().log, LogTargets::default());
        assert_eq!(
            serde_json::to_string(&Reply::ok()).unwrap(),
            r#"{"ok":true}"#
        );
    }

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_resident_logs_where_pacemaker_logs() {
        let daemon = Some("daemon".to_string());
        let default_file = Some(PathBuf::from(PACEMAKER_LOG));
        // Debian's defaults: nothing set; the cluster's file and syslog.
        assert_eq!(
            LogTargets::from_env(env(&[]), true),
            LogTargets {
                syslog: daemon.clone(),
                file: default_file.clone()
            }
        );
        // By hand outside a cluster: syslog only.
        assert_eq!(LogTargets::from_env(env(&[]), false).file, None);
        let lab = [
            ("PCMK_logfile", "/var/log/pacemaker/pacemaker.log"),
            ("PCMK_logfacility", "none"),
            ("HA_LOGFACILITY", "local3"),
        ];
        assert_eq!(
            LogTargets::from_env(env(&lab), true),
            LogTargets {
                syslog: None,
                file: default_file.clone()
            }
        );
        let other = [("HA_logfacility", "local7"), ("HA_logfile", "/srv/ha.log")];
        assert_eq!(
            LogTargets::from_env(env(&other), false),
            LogTargets {
                syslog: Some("local7".into()),
                file: Some("/srv/ha.log".into())
            }
        );
        for off in ["none", "/dev/null", "relative.log", ""] {
            assert_eq!(
                LogTargets::from_env(env(&[("PCMK_logfile", off)]), true).file,
                None,
                "{off}"
            );
        }
        assert_eq!(
            LogTargets::from_env(env(&[("PCMK_logfacility", "lokal0")]), true).syslog,
            daemon
        );
        assert_eq!(
            LogTargets::from_env(env(&[("PCMK_logfacility", "")]), true).syslog,
            None
        );
    }
}
