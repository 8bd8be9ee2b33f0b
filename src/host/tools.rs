//! The operator's commands: `floatip listen` (watch ARP and neighbour discovery on an
//! interface, flag conflicts), `floatip status` (what floatip manages on this host) and
//! `floatip probe-segment` (which interfaces share one broadcast segment).

use super::netlink::Netlink;
use super::port::{Listening, Port};
use super::process::{self, Wanted};
use super::state::{self, Resident, StateDir};
use crate::domain::Link;
use crate::error::{Error, Result};
use crate::observe::{classify, json_line, text_line, ConflictTracker};
use crate::packet::{parse_frame, segment};
use crate::resident::{Reply, Request};
use serde_json::json;
use std::io::Write;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn link(netlink: &mut Netlink, name: &str) -> Result<Link> {
    netlink
        .link_by_name(name)?
        .ok_or_else(|| Error::absent(format!("interface {name} does not exist")))
}

/// Prints every ARP and neighbour discovery frame seen on `nic` until `count` frames or
/// `duration` (forever when neither is given).
pub fn listen(nic: &str, json: bool, count: Option<u64>, duration: Option<Duration>) -> Result<()> {
    let mut netlink = Netlink::open()?;
    let link = link(&mut netlink, nic)?;
    let mut port = Port::open_for(&link, Listening::Observer)?;
    // As tcpdump does: from here on, nothing on the link is missed (and scripts can wait for it).
    log::info!("listening on {}", link.name);
    let deadline = duration.map(|d| Instant::now() + d);
    let mut tracker = ConflictTracker::default();
    let mut out = std::io::stdout().lock();
    let mut seen = 0;
    while count.is_none_or(|c| seen < c) {
        let until = deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        let Some(frame) = port.receive(until) else {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            continue;
        };
        let Some(observed) = parse_frame(&frame) else {
            continue;
        };
        let sighting = classify(&observed);
        let conflict = sighting
            .claimed_by
            .and_then(|mac| tracker.claim(sighting.ip, mac));
        let at = unix_now();
        let line = if json {
            json_line(at, &link.name, &sighting, conflict).to_string()
        } else {
            text_line(at, &link.name, &sighting, conflict)
        };
        // A closed pipe (`| head`) just ends the listening.
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            break;
        }
        seen += 1;
    }
    Ok(())
}

/// "YYYY-MM-DD HH:MM:SS" (UTC) from seconds since the epoch (Howard Hinnant's civil_from_days).
fn utc(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let secs = unix % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// How long `floatip status` waits for a resident's answer.
const STATUS_TIMEOUT: Duration = Duration::from_secs(1);

/// Moves this thread into a network namespace: by name, or the one process `pid` is in.
fn enter_namespace(name: Option<&str>, pid: Option<i32>) -> Result<()> {
    let mut tried = Vec::new();
    let paths = name
        .map(|n| format!("{}/{n}", super::system::NETNS_DIR))
        .into_iter()
        .chain(pid.map(|p| format!("/proc/{p}/ns/net")));
    for path in paths {
        match std::fs::File::open(&path) {
            // SAFETY: setns on a descriptor we hold open; affects only this thread.
            Ok(file) if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } == 0 => {
                return Ok(())
            }
            Ok(_) => tried.push(format!("{path}: {}", std::io::Error::last_os_error())),
            Err(e) => tried.push(format!("{path}: {e}")),
        }
    }
    Err(Error::generic(format!(
        "cannot enter the network namespace ({})",
        tried.join("; ")
    )))
}

/// Where the address is and whether it is there, looked at in its namespace (then back).
fn look(
    interface: &str,
    ip: IpAddr,
    namespace: Option<&str>,
    resident: Option<i32>,
) -> Result<(Option<Link>, bool)> {
    let home = if namespace.is_some() {
        Some(
            std::fs::File::open("/proc/self/ns/net")
                .map_err(|e| Error::kernel("cannot note this namespace", e))?,
        )
    } else {
        None
    };
    let looked = (|| {
        if namespace.is_some() {
            enter_namespace(namespace, resident)?;
        }
        // Opened in the namespace: a netlink socket belongs to the one it was made in.
        let mut netlink = Netlink::open()?;
        let link = netlink.link_by_name(interface)?;
        let assigned = match &link {
            Some(l) => netlink.address(l.index, ip)?.is_some(),
            None => false,
        };
        Ok((link, assigned))
    })();
    if let Some(home) = home {
        // SAFETY: as in enter_namespace.
        if unsafe { libc::setns(home.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(Error::kernel(
                "cannot return to this namespace",
                std::io::Error::last_os_error(),
            ));
        }
    }
    looked
}

/// One resource's row: the record, what its resident says it is doing, and the kernel's view
/// from the resource's namespace.
fn status_row(state_dir: &Path, name: &str) -> Option<serde_json::Value> {
    let dir = StateDir::from_file_name(state_dir, name);
    let saved = dir.load();
    let record = saved.record?;
    let wanted = Wanted {
        resource: dir.instance().to_string(),
        ip: Some(record.ip),
        state_dir: dir.identity(),
        netns: None,
    };
    let running = match saved.resident {
        Resident::Recorded(id) if process::is_running(&id, &wanted) => Some(id.pid),
        _ => None,
    };
    let resident =
        running.map(
            |pid| match process::ask(&dir, &Request::Status, Some(pid), STATUS_TIMEOUT) {
                Ok(Reply {
                    status: Some(status),
                    ..
                }) => status,
                Ok(reply) => json!({ "pid": pid, "error": reply.error }),
                Err(e) => json!({ "pid": pid, "error": e.reason }),
            },
        );
    let interface = resident
        .as_ref()
        .and_then(|r| r["adapter"].as_str())
        .unwrap_or(&record.nic)
        .to_string();
    let (link, assigned, error) = match look(&interface, record.ip, saved.netns.as_deref(), running)
    {
        Ok((link, assigned)) => (link, Some(assigned), None),
        Err(e) => (None, None, Some(e.reason)),
    };
    let conflict = dir.last_conflict();
    // tickle_clients: how many clients the list holds and when it was last shared (unix time).
    let clients = resident
        .as_ref()
        .and_then(|r| r["clients_recorded"].as_u64())
        .map(|recorded| {
            let shared = resident
                .as_ref()
                .and_then(|r| r["clients_shared_ago_ms"].as_u64());
            json!({
                "recorded": recorded,
                "shared": shared.map(|ms| (unix_now() - ms as f64 / 1000.0).round() as u64),
            })
        });
    Some(json!({
        "resource": dir.instance(),
        "ip": record.ip.to_string(),
        "prefix": record.prefix_len,
        "interface": interface,
        "namespace": saved.netns,
        "mac": link.as_ref().and_then(|l| l.mac).map(|m| m.to_string()),
        "assigned": assigned,
        "error": error,
        "since": dir.modified_unix(),
        "burst": if running.is_some() { "running" } else { "idle" },
        "resident": resident,
        "clients": clients,
        "last_conflict": conflict.map(|c| json!({
            "time": c.at_unix, "ip": c.ip.to_string(), "theirs": c.theirs, "ours": c.ours,
        })),
    }))
}

/// What a resident is doing, in a few words.
fn doing(resident: &serde_json::Value) -> String {
    if resident.is_null() {
        return "-".to_string();
    }
    let mut parts = vec![format!("pid {}", resident["pid"])];
    if let Some(error) = resident["error"].as_str() {
        parts.push(error.to_string());
        return parts.join(", ");
    }
    if let Some(n) = resident["rounds_owed"].as_u64().filter(|n| *n > 0) {
        parts.push(format!("{n} rounds owed"));
    }
    if let Some(ms) = resident["next_refresh_in_ms"].as_u64() {
        parts.push(format!("refresh in {:.1}s", ms as f64 / 1000.0));
    }
    if let Some(ms) = resident["second_wave_in_ms"].as_u64() {
        parts.push(format!("second wave in {:.1}s", ms as f64 / 1000.0));
    }
    if let Some(f) = resident["failback"].as_object() {
        parts.push(format!(
            "back to {} in {:.1}s",
            f["adapter"].as_str().unwrap_or("?"),
            f["in_ms"].as_u64().unwrap_or(0) as f64 / 1000.0
        ));
    }
    if resident["told_pacemaker"].as_bool() == Some(true) {
        parts.push("told Pacemaker".to_string());
    }
    if let Some(n) = resident["clients_recorded"].as_u64() {
        parts.push(match resident["clients_shared_ago_ms"].as_u64() {
            Some(ms) => format!(
                "{n} clients recorded, shared {:.0}s ago",
                ms as f64 / 1000.0
            ),
            None => format!("{n} clients recorded, not shared"),
        });
    }
    if resident["stands_down_with_executor"].as_bool() == Some(true) {
        parts.push("follows the executor".to_string());
    }
    parts.join(", ")
}

/// Lists the addresses floatip manages on this host, from the state directory: each looked at
/// in its network namespace, and what its resident process is doing.
pub fn status(state_dir: &Path, json: bool) -> Result<()> {
    let rows: Vec<serde_json::Value> = state::resources(state_dir)
        .iter()
        .filter_map(|name| status_row(state_dir, name))
        .collect();
    if json {
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    println!(
        "{:<16} {:<28} {:<16} {:<18} {:<9} {:<8} {:<20} {:<28} LAST CONFLICT",
        "RESOURCE", "ADDRESS", "INTERFACE", "MAC", "ASSIGNED", "RESIDENT", "SINCE (UTC)", "DOING"
    );
    for r in rows {
        let s = |key: &str| r[key].as_str().unwrap_or("-").to_string();
        let conflict = match &r["last_conflict"] {
            serde_json::Value::Null => "-".to_string(),
            c => format!(
                "{} {} claimed by {}",
                utc(c["time"].as_u64().unwrap_or(0)),
                c["ip"].as_str().unwrap_or("?"),
                c["theirs"].as_str().unwrap_or("?")
            ),
        };
        let interface = match r["namespace"].as_str() {
            Some(ns) => format!("{}@{ns}", s("interface")),
            None => s("interface"),
        };
        println!(
            "{:<16} {:<28} {:<16} {:<18} {:<9} {:<8} {:<20} {:<28} {conflict}",
            crate::ocf::printable(&s("resource")),
            format!("{}/{}", s("ip"), r["prefix"]),
            interface,
            s("mac"),
            match r["assigned"].as_bool() {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "?",
            },
            s("burst"),
            r["since"].as_u64().map_or("-".to_string(), utc),
            doing(&r["resident"]),
        );
    }
    Ok(())
}

/// Announces a probe from each interface and listens on all of them: which interfaces hear
/// each other share one broadcast segment.
pub fn probe_segment(nics: &[String], json: bool, wait: Duration) -> Result<()> {
    let mut netlink = Netlink::open()?;
    let links: Vec<Link> = nics
        .iter()
        .map(|n| link(&mut netlink, n))
        .collect::<Result<_>>()?;
    let mut ports: Vec<Port> = links
        .iter()
        .map(|l| Port::open_for(l, Listening::SegmentProbes))
        .collect::<Result<_>>()?;
    let nonce = (unix_now() * 1e9) as u64 ^ u64::from(std::process::id());
    for (i, port) in ports.iter_mut().enumerate() {
        port.send(&segment::probe_frame(port.mac(), nonce, i as u16))?;
    }
    let deadline = Instant::now() + wait;
    let mut heard = Vec::new();
    while Instant::now() < deadline {
        for (receiver, port) in ports.iter_mut().enumerate() {
            let tick = (Instant::now() + Duration::from_millis(5)).min(deadline);
            while let Some(frame) = port.receive(tick) {
                if let Some(sender) = segment::parse(&frame, nonce) {
                    heard.push((usize::from(sender), receiver));
                }
            }
        }
    }
    let groups = segment::segments(links.len(), &heard);
    let named: Vec<Vec<&str>> = groups
        .iter()
        .map(|g| g.iter().map(|i| links[*i].name.as_str()).collect())
        .collect();
    if json {
        println!("{}", json!({ "segments": named }));
    } else {
        for group in &named {
            match group.as_slice() {
                [alone] => println!("{alone}: alone on its segment"),
                several => println!("{}: one segment", several.join(" ")),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc(1_795_948_496), "2026-11-29 10:34:56");
    }

    #[test]
    fn status_text_says_how_many_clients_are_recorded_and_when_shared() {
        let resident = json!({"pid": 7, "clients_recorded": 3, "clients_shared_ago_ms": 4200});
        assert_eq!(doing(&resident), "pid 7, 3 clients recorded, shared 4s ago");
        let unshared = json!({"pid": 7, "clients_recorded": 0, "clients_shared_ago_ms": null});
        assert_eq!(doing(&unshared), "pid 7, 0 clients recorded, not shared");
        assert_eq!(doing(&json!({"pid": 7})), "pid 7");
    }
}
