//! The real [`Node`]: this process's capabilities, network namespaces, the resource's lock in
//! the state directory, and the operation's budget from when the process began.

use super::state::StateDir;
use super::SystemHost;
use super::{end_residents_without_address, enter_resident_namespace, process, system};
use crate::agent::operate::{Capability, Node};
use crate::error::Result;
use crate::ocf::Action;
use crate::params::{self, Meta, Params};
use std::fs::File;
use std::net::IpAddr;
use std::time::{Duration, Instant};

pub struct SystemNode {
    state: StateDir,
    resource: String,
    began: Instant,
    deadline: Instant,
    lock: Option<File>,
    host: Option<SystemHost>,
}

impl SystemNode {
    /// The node for one operation of `meta`'s resource that began at `began`, keeping its
    /// state in `state_dir`.
    pub fn new(
        state_dir: impl Into<std::ffi::OsString>,
        meta: &Meta,
        began: Instant,
    ) -> SystemNode {
        SystemNode {
            state: StateDir::new(state_dir.into(), &meta.resource),
            resource: meta.resource.clone(),
            began,
            // Its timeout from when this process started, less the margin kept to answer.
            deadline: began + params::operation_budget(meta),
            lock: None,
            host: None,
        }
    }
}

impl Node for SystemNode {
    type Host = SystemHost;

    fn require(&mut self, action: Action, needed: &[Capability]) -> Result<()> {
        let needed: Vec<(u32, &str)> = needed
            .iter()
            .map(|c| match c {
                Capability::NetAdmin => (system::CAP_NET_ADMIN, "CAP_NET_ADMIN"),
                Capability::NetRaw => (system::CAP_NET_RAW, "CAP_NET_RAW"),
            })
            .collect();
        system::require_capabilities(action.name(), &needed)
    }

    fn enter_namespace(&mut self, name: &str) -> Result<()> {
        system::enter_network_namespace(name)
    }

    fn enter_resident_namespace(&mut self, ip: IpAddr) -> Result<bool> {
        enter_resident_namespace(&self.state, ip)
    }

    fn lock(&mut self, patience: Duration) -> Result<()> {
        self.lock = Some(self.state.lock(patience)?);
        Ok(())
    }

    fn lock_holders(&mut self) -> Vec<i32> {
        self.state.lock_holders()
    }

    fn end_operation(&mut self, pid: i32, patience: Duration) -> Result<bool> {
        process::end_operation(pid, patience)
    }

    fn end_residents_without_address(&mut self, patience: Duration) -> Result<()> {
        end_residents_without_address(&self.state, patience)
    }

    fn time_left(&mut self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    fn host(&mut self, p: &Params) -> Result<&mut SystemHost> {
        if self.host.is_none() {
            let state = StateDir::new(self.state.dir(), &self.resource);
            let host = SystemHost::new(state, p.ip, self.began)?
                .with_deadline(self.deadline)
                .with_namespace(p.network_namespace.clone());
            self.host = Some(host);
        }
        Ok(self.host.as_mut().expect("opened above"))
    }
}
