//! The operator's commands: `floatip listen` (watch ARP and neighbour discovery on an
//! interface, flag conflicts), `floatip status` (what floatip manages on this host) and
//! `floatip probe-segment` (which interfaces share one broadcast segment).

use super::netlink::Netlink;
use super::port::{Listening, Port};
use super::state::{self, StateDir};
use crate::agent::Link;
use crate::error::{Error, Result};
use crate::observe::{classify, json_line, text_line, ConflictTracker};
use crate::packet::{parse_frame, segment};
use serde_json::json;
use std::io::Write;
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
        .ok_or_else(|| Error::installed(format!("interface {name} does not exist")))
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

/// Lists the addresses floatip manages on this host, from the state directory.
pub fn status(state_dir: &Path, json: bool) -> Result<()> {
    let mut netlink = Netlink::open()?;
    let mut rows = Vec::new();
    for name in state::instances(state_dir) {
        let dir = StateDir::new(state_dir, &name);
        let saved = dir.load();
        let Some(record) = saved.record else { continue };
        let link = netlink.link_by_name(&record.nic)?;
        let assigned = match &link {
            Some(l) => netlink.address(l.index, record.ip)?.is_some(),
            None => false,
        };
        let burst = saved.burst.is_some_and(super::burst::is_alive);
        let conflict = dir.last_conflict();
        rows.push(json!({
            "resource": name,
            "ip": record.ip.to_string(),
            "prefix": record.prefix_len,
            "interface": record.nic,
            "mac": link.as_ref().and_then(|l| l.mac).map(|m| m.to_string()),
            "assigned": assigned,
            "since": dir.modified_unix(),
            "burst": if burst { "running" } else { "idle" },
            "last_conflict": conflict.map(|c| json!({
                "time": c.at_unix, "ip": c.ip.to_string(), "theirs": c.theirs, "ours": c.ours,
            })),
        }));
    }
    if json {
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    println!(
        "{:<16} {:<28} {:<16} {:<18} {:<9} {:<8} {:<20} LAST CONFLICT",
        "RESOURCE", "ADDRESS", "INTERFACE", "MAC", "ASSIGNED", "BURST", "SINCE (UTC)"
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
        println!(
            "{:<16} {:<28} {:<16} {:<18} {:<9} {:<8} {:<20} {conflict}",
            s("resource"),
            format!("{}/{}", s("ip"), r["prefix"]),
            s("interface"),
            s("mac"),
            if r["assigned"].as_bool() == Some(true) {
                "yes"
            } else {
                "NO"
            },
            s("burst"),
            r["since"].as_u64().map_or("-".to_string(), utc),
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
}
