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
    /// The crm_resource to run for link_watch (FLOATIP_CRM_RESOURCE), else `crm_resource`
    /// from PATH.
    pub crm_resource: Option<PathBuf>,
    /// Log debug lines too (HA_debug).
    pub debug: bool,
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
    Plan(Plan),
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
            debug: false,
        };
        let line = launch.to_line().unwrap();
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        assert_eq!(Launch::from_line(&line), Some(launch));
        assert_eq!(Launch::from_line("{}"), None);
        for request in [
            Request::Plan(plan::tests::sample()),
            Request::Status,
            Request::Stop,
        ] {
            let json = serde_json::to_string(&request).unwrap();
            assert_eq!(serde_json::from_str::<Request>(&json).unwrap(), request);
        }
        assert_eq!(
            serde_json::to_string(&Reply::ok()).unwrap(),
            r#"{"ok":true}"#
        );
    }
}
