//! Instance parameters: the table of every parameter floatip accepts (`table.rs`: IPaddr2's
//! names plus floatip's own), and the one step that turns raw strings into validated
//! [`Params`]: `parse_values` checks each value by its entry's kind (or takes the entry's
//! default), in table order; `parse` then checks how parameters relate to each other and
//! builds [`Params`], reading each value by its [`Key`].
//!
//! Adding a parameter: a `Key` variant and an entry in `table.rs`, then the code that reads
//! `v.get(Key::...)` and uses the value; `make generate` rewrites the documents.
//!
//! Pure: values arrive as an already collected name → bytes map, so every bad input is
//! table-tested without a process environment. Each rejection names the parameter and maps to
//! OCF_ERR_CONFIGURED, as the OCF spec asks for a bad or missing parameter.

use crate::error::{Error, Result};
use crate::packet::MacAddr;
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::ffi::OsStrExt;

mod table;
pub use table::*;

/// Raw parameter values as Pacemaker or the command line handed them over. An empty value is
/// the same as an absent one, as in IPaddr2 (Pacemaker never passes empty strings on purpose).
#[derive(Debug, Clone, Default)]
pub struct RawParams {
    values: BTreeMap<&'static str, OsString>,
    /// `OCF_RESKEY_` names that are neither parameters nor Pacemaker's own: logged, not fatal,
    /// because Pacemaker itself adds some (crm_feature_set) and a typo deserves a warning.
    pub unknown: Vec<String>,
}

impl RawParams {
    pub fn new() -> RawParams {
        RawParams::default()
    }

    /// Sets a parameter by name; returns false for a name that is not a parameter.
    pub fn set(&mut self, name: &str, value: impl Into<OsString>) -> bool {
        match find_spec(name) {
            Some(spec) => {
                self.values.insert(spec.name, value.into());
                true
            }
            None => false,
        }
    }

    /// Sets a parameter by key (the code's own settings, such as `parse_lenient`'s trials).
    pub fn set_key(&mut self, key: Key, value: impl Into<OsString>) {
        self.values.insert(key.name(), value.into());
    }

    /// The raw value of a parameter by key; an empty value is unset.
    pub fn value_of(&self, key: Key) -> Option<&OsStr> {
        self.get(key.name())
    }

    /// Set, but to the empty string (most parameters read that as unset).
    fn is_empty(&self, key: Key) -> bool {
        self.values.get(key.name()).is_some_and(|v| v.is_empty())
    }

    pub fn is_set(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The raw value of a parameter, unvalidated (for naming things before validation).
    pub fn value(&self, name: &str) -> Option<&OsStr> {
        self.get(name)
    }

    fn get(&self, name: &str) -> Option<&OsStr> {
        self.values
            .get(name)
            .map(OsString::as_os_str)
            .filter(|v| !v.is_empty())
    }
}

/// Pacemaker's meta attributes and the operation's context, which shape validation and name
/// the resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// `OCF_RESKEY_CRM_meta_interval`: 0 (or absent) means a probe for monitor.
    pub interval_ms: u64,
    /// `OCF_RESKEY_CRM_meta_timeout`: the operation's deadline.
    pub timeout_ms: u64,
    /// `OCF_RESKEY_CRM_meta_clone_max`: above 1 IPaddr2 would switch to CLUSTERIP.
    pub clone_max: u64,
    /// The resource's name: `OCF_RESOURCE_INSTANCE`, or derived from the address by hand.
    pub resource: String,
    /// This node's name in the cluster (`OCF_RESKEY_CRM_meta_on_node`), when Pacemaker runs us.
    pub node: Option<String>,
}

impl Default for Meta {
    fn default() -> Meta {
        Meta {
            interval_ms: 0,
            // IPaddr2's advertised start/stop timeout; used when run outside Pacemaker.
            timeout_ms: 20_000,
            clone_max: 1,
            resource: "floatip".to_string(),
            node: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broadcast {
    /// Host bits set, computed from the prefix: `+`, and the default.
    HostBitsSet,
    /// Host bits clear: `-`.
    HostBitsClear,
    Explicit(Ipv4Addr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    Forever,
    Seconds(u32),
}

/// How announcements are sent; the part that `reload-agent` may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announce {
    pub count: u32,
    pub interval_ms: u32,
    pub refresh_count: u32,
    pub background: bool,
    /// Seconds between refresh rounds from the background process; 0 is off.
    pub refresh_interval_s: u32,
    /// Re-announce when another machine claims the address.
    pub defend: bool,
    /// How long a duplicate-address probe listens.
    pub probe_wait_ms: u32,
    /// Seconds after a burst to send it again; 0 is off.
    pub repeat_delay_s: u32,
}

/// Validated parameters. The interface and prefix may still be unknown here: they are found
/// from the routing table when not given (see `resolve`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub ip: IpAddr,
    /// The interface, or standby adapters in order of preference; empty: found from routes.
    pub nics: Vec<String>,
    /// With `vmac`, the address lives on a macvlan with this MAC, which moves with it.
    pub vmac: Option<MacAddr>,
    /// The part after `nic:`; the kernel label is `nic:label`.
    pub label: Option<String>,
    pub prefix: Option<u8>,
    pub broadcast: Broadcast,
    pub lvs_support: bool,
    pub announce: Announce,
    pub nodad: bool,
    pub noprefixroute: bool,
    /// `metric`: the priority of the address's prefix route (IFA_RT_PRIORITY), over the one
    /// an IPv6 address takes from its placing route.
    pub route_metric: Option<u32>,
    pub preferred_lft: Lifetime,
    pub network_namespace: Option<String>,
    pub check_link_status: bool,
    /// run_arping: probe for another owner before adding the address.
    pub probe_before_start: bool,
    /// Standby adapters: how long a preferred adapter keeps carrier before the address
    /// moves back to it.
    pub failback_delay_ms: u64,
    /// Tell Pacemaker at once when no listed adapter can carry the address.
    pub link_watch: bool,
    /// stop resets the address's TCP connections (SOCK_DESTROY).
    pub reset_connections: bool,
    /// The owner records its clients for a failover; a new owner tickles them.
    pub tickle_clients: bool,
    /// `proto`: only routes of this routing protocol (rtm_protocol) place the address.
    pub proto: Option<u8>,
    /// IPv6 with lvs_ipv6_addrlabel: the address label given to ip/128, so that source
    /// selection (RFC 6724 rule 6) does not pick the floating address for this node's own
    /// outgoing connections.
    pub address_label: Option<u32>,
    /// Parameters that were set but have no effect in floatip (logged once per action).
    pub ignored: Vec<&'static str>,
    /// Warnings produced while parsing (e.g. a dotted-quad netmask).
    pub warnings: Vec<String>,
    /// Every parameter's value by key, as the table parsed it (for what the fields above do
    /// not carry, such as the reload log line).
    pub values: Values,
}

impl Params {
    pub fn is_ipv6(&self) -> bool {
        self.ip.is_ipv6()
    }

    /// The reloadable parameters that have an effect, `name=value` in table order, for the
    /// log line of a reload: the table's set, so the line lists each such parameter.
    pub fn reloadable_settings(&self) -> String {
        PARAMETERS
            .iter()
            .filter(|s| s.reloadable && s.ignored == Ignored::No)
            .map(|s| format!("{}={}", s.name, self.values.shown(s.key)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Why a parameter that was set has no effect, for the log (the table's reason).
pub fn why_ignored(name: &str) -> &'static str {
    match find_spec(name).map(|s| s.ignored) {
        Some(Ignored::Yes(why) | Ignored::ForIpv4(why)) => why,
        _ => "floatip does not use it",
    }
}

/// Shows a user's value inside a reason: escaped, non-UTF-8 bytes replaced, and cut short so
/// the reason stays one readable line.
pub fn shown(value: &OsStr) -> String {
    let lossy = String::from_utf8_lossy(value.as_bytes());
    let mut escaped: String = lossy.escape_debug().collect();
    if escaped.chars().count() > 64 {
        escaped = escaped.chars().take(61).collect::<String>() + "...";
    }
    format!("\"{escaped}\"")
}

fn bad(name: &str, value: &OsStr, why: &str) -> Error {
    Error::configured(format!("invalid {name} {}: {why}", shown(value)))
}

/// The value as UTF-8 text, or a reason naming the parameter.
/// Control characters are refused everywhere: a newline in a value would otherwise forge
/// lines (an extra `ocf-exit-reason:`) wherever the value is printed.
fn text<'a>(name: &str, value: &'a OsStr) -> Result<&'a str> {
    let s = value
        .to_str()
        .ok_or_else(|| bad(name, value, "not valid UTF-8"))?;
    if s.chars().any(char::is_control) {
        return Err(bad(name, value, "contains control characters"));
    }
    Ok(s)
}

/// Booleans as Pacemaker spells them.
pub fn parse_bool(name: &str, value: &OsStr) -> Result<bool> {
    match text(name, value)?.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" => Ok(false),
        _ => Err(bad(
            name,
            value,
            "expected yes/no, true/false, on/off or 1/0",
        )),
    }
}

/// A decimal integer in `min..=max` (no sign, no spaces: what a user sees is what counts).
pub fn parse_int(name: &str, value: &OsStr, min: u64, max: u64) -> Result<u64> {
    let s = text(name, value)?;
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(
            name,
            value,
            &format!("expected a whole number from {min} to {max}"),
        ));
    }
    match s.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(bad(
            name,
            value,
            &format!("expected a whole number from {min} to {max}"),
        )),
    }
}

/// Parses `ip`: IPv4 or IPv6, rejecting what can never be a floating service address.
pub fn parse_ip(value: &OsStr) -> Result<IpAddr> {
    let s = text("ip", value)?;
    if s.contains('%') {
        return Err(bad(
            "ip",
            value,
            "zone suffixes are not accepted; set nic instead",
        ));
    }
    let ip: IpAddr = s
        .parse()
        .map_err(|_| bad("ip", value, "not an IPv4 or IPv6 address"))?;
    let why = match ip {
        IpAddr::V4(v4) => ipv4_unusable(v4),
        IpAddr::V6(v6) => ipv6_unusable(v6),
    };
    match why {
        Some(why) => Err(bad("ip", value, why)),
        None => Ok(ip),
    }
}

fn ipv4_unusable(ip: Ipv4Addr) -> Option<&'static str> {
    if ip.is_unspecified() || ip.octets()[0] == 0 {
        Some("addresses in 0.0.0.0/8 cannot be assigned")
    } else if ip == Ipv4Addr::LOCALHOST {
        // Another 127.x goes on lo beside it (IPaddr2's loopback attachment); this one is
        // lo's own, which a stop would take away from every local service.
        Some("127.0.0.1 is lo's own address")
    } else if ip.is_multicast() {
        Some("a multicast address cannot be assigned to an interface")
    } else if ip.is_broadcast() {
        Some("the limited broadcast address cannot be assigned")
    } else {
        None
    }
}

fn ipv6_unusable(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        Some("the unspecified address cannot be assigned")
    } else if ip.is_loopback() {
        Some("::1 is lo's own address, the only IPv6 loopback address")
    } else if ip.is_multicast() {
        Some("a multicast address cannot be assigned to an interface")
    } else if ip.to_ipv4_mapped().is_some() {
        Some("IPv4-mapped IPv6 addresses are not assignable; use the IPv4 address")
    } else {
        None
    }
}

/// The loopback network's prefix: Linux gives lo 127.0.0.1/8, whose local route covers
/// 127.0.0.0/8 (what IPaddr2's findif reads from the local table for a 127.x address).
pub const LOOPBACK_PREFIX: u8 = 8;

/// The interface loopback addresses go on.
pub const LOOPBACK_NIC: &str = "lo";

/// True for 127.0.0.0/8: it goes on lo, where nothing is announced.
pub fn is_loopback(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V4(v4) if v4.is_loopback())
}

/// True for fe80::/10, which is only meaningful together with an interface.
pub fn is_ipv6_link_local(ip: Ipv6Addr) -> bool {
    ip.segments()[0] & 0xffc0 == 0xfe80
}

/// Parses `cidr_netmask`: a prefix length, or (IPv4) a dotted-quad netmask as IPaddr2 accepts.
fn parse_prefix(value: &OsStr, ipv6: bool, warnings: &mut Vec<String>) -> Result<u8> {
    let max = if ipv6 { 128 } else { 32 };
    let s = text("cidr_netmask", value)?;
    if !ipv6 && s.contains('.') {
        let mask: Ipv4Addr = s.parse().map_err(|_| {
            bad(
                "cidr_netmask",
                value,
                "not a prefix length or a dotted netmask",
            )
        })?;
        let bits = u32::from(mask);
        let len = bits.leading_ones();
        if bits.count_ones() != len || len == 0 {
            return Err(bad("cidr_netmask", value, "not a contiguous netmask"));
        }
        warnings.push(format!(
            "cidr_netmask {s} is a dotted netmask; write it as {len}"
        ));
        return Ok(len as u8);
    }
    let family = if ipv6 { "IPv6" } else { "IPv4" };
    Ok(parse_int("cidr_netmask", value, 1, max).map_err(|_| {
        bad(
            "cidr_netmask",
            value,
            &format!("expected a {family} prefix length from 1 to {max}"),
        )
    })? as u8)
}

/// Validates a name `nic` may use the way the kernel would (dev_valid_name): an interface
/// name, or an alternative name of up to 127 bytes (`ip link property add dev eth0 altname
/// ...`; IPaddr2 4.17/4.18).
pub fn check_nic_name(value: &OsStr, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > ALTIFNAME_MAX {
        return Err(bad(
            "nic",
            value,
            &format!(
                "interface names are 1 to {IFNAME_MAX} bytes, alternative names up to {ALTIFNAME_MAX}"
            ),
        ));
    }
    if name == "."
        || name == ".."
        || name.contains(['/', ':'])
        || name.chars().any(char::is_whitespace)
    {
        return Err(bad("nic", value, "not a valid interface name"));
    }
    Ok(())
}

/// Parses `nic`: one interface, optionally `nic:label`, or standby adapters in order of
/// preference, `eth0,eth1`.
fn parse_nic(value: &OsStr) -> Result<(Vec<String>, Option<String>)> {
    let s = text("nic", value)?;
    if s.contains(',') {
        let names: Vec<String> = s.split(',').map(str::to_string).collect();
        for (i, name) in names.iter().enumerate() {
            if name.contains(':') {
                return Err(bad(
                    "nic",
                    value,
                    "a label goes in iflabel when nic lists several interfaces",
                ));
            }
            check_nic_name(value, name)?;
            if names[..i].contains(name) {
                return Err(bad("nic", value, &format!("{name} is listed twice")));
            }
        }
        return Ok((names, None));
    }
    let (name, label) = match s.split_once(':') {
        Some((name, label)) => (name, Some(label.to_string())),
        None => (s, None),
    };
    check_nic_name(value, name)?;
    Ok((vec![name.to_string()], label))
}

/// Parses `vmac`: `auto` (derived from the address) or an explicit unicast MAC.
fn parse_vmac(value: &OsStr, ip: IpAddr) -> Result<MacAddr> {
    let s = text("vmac", value)?;
    if s.eq_ignore_ascii_case("auto") {
        return Ok(virtual_mac(ip));
    }
    let octets: Vec<u8> = s
        .split(':')
        .map(|o| {
            if o.len() == 2 {
                u8::from_str_radix(o, 16).ok()
            } else {
                None
            }
        })
        .collect::<Option<Vec<u8>>>()
        .filter(|o| o.len() == 6)
        .ok_or_else(|| {
            bad(
                "vmac",
                value,
                "expected auto or a MAC like 02:00:5e:00:01:32",
            )
        })?;
    if octets[0] & 1 == 1 {
        return Err(bad("vmac", value, "a multicast MAC cannot own an address"));
    }
    if octets.iter().all(|o| *o == 0) {
        return Err(bad(
            "vmac",
            value,
            "the all-zero MAC is not an interface address",
        ));
    }
    Ok(MacAddr(
        octets[0], octets[1], octets[2], octets[3], octets[4], octets[5],
    ))
}

/// FNV-1a over the address bytes: stable across nodes and versions, so every node derives
/// the same virtual MAC and interface name for one VIP.
fn address_hash(ip: IpAddr) -> u64 {
    let bytes = match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `vmac=auto`: a locally administered unicast MAC derived from the address.
pub fn virtual_mac(ip: IpAddr) -> MacAddr {
    let h = address_hash(ip).to_be_bytes();
    // Locally administered (bit 1 set), unicast (bit 0 clear).
    MacAddr((h[0] & 0xfc) | 0x02, h[1], h[2], h[3], h[4], h[5])
}

/// The macvlan that carries the address with `vmac`: the same name on every node.
pub fn virtual_interface_name(ip: IpAddr) -> String {
    format!("fip{:08x}", address_hash(ip) as u32)
}

fn check_label(param: &str, value: &OsStr, label: &str) -> Result<()> {
    if label.is_empty()
        || !label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(bad(
            param,
            value,
            "a label uses letters, digits, '_', '-' or '.'",
        ));
    }
    Ok(())
}

/// The routing protocols iproute2 names in /etc/iproute2/rt_protos (iproute2 6.1), as `ip
/// route ... proto NAME` accepts them. Other protocols are given by number.
pub const ROUTE_PROTOCOLS: &[(&str, u8)] = &[
    ("unspec", 0),
    ("redirect", 1),
    ("kernel", 2),
    ("boot", 3),
    ("static", 4),
    ("gated", 8),
    ("ra", 9),
    ("mrt", 10),
    ("zebra", 11),
    ("bird", 12),
    ("dnrouted", 13),
    ("xorp", 14),
    ("ntk", 15),
    ("dhcp", 16),
    ("keepalived", 18),
    ("babel", 42),
    ("openr", 99),
    ("bgp", 186),
    ("isis", 187),
    ("ospf", 188),
    ("rip", 189),
    ("eigrp", 192),
];

/// Parses `proto`: a routing protocol name or a number from 0 to 255.
fn parse_proto(value: &OsStr) -> Result<u8> {
    let s = text("proto", value)?;
    if let Some((_, number)) = ROUTE_PROTOCOLS.iter().find(|(name, _)| *name == s) {
        return Ok(*number);
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = s.parse::<u8>() {
            return Ok(n);
        }
    }
    Err(bad(
        "proto",
        value,
        "expected a routing protocol name (kernel, boot, static, ra, dhcp, bird, ...) or a number from 0 to 255",
    ))
}

fn parse_broadcast(value: &OsStr) -> Result<Broadcast> {
    match text("broadcast", value)? {
        "+" => Ok(Broadcast::HostBitsSet),
        "-" => Ok(Broadcast::HostBitsClear),
        s => s
            .parse::<Ipv4Addr>()
            .map(Broadcast::Explicit)
            .map_err(|_| bad("broadcast", value, "expected an IPv4 address, + or -")),
    }
}

fn parse_lifetime(value: &OsStr) -> Result<Lifetime> {
    let s = text("preferred_lft", value)?;
    if s.eq_ignore_ascii_case("forever") {
        return Ok(Lifetime::Forever);
    }
    // u32::MAX is the kernel's "infinity"; refuse it as a number so "forever" means one thing.
    parse_int("preferred_lft", value, 0, u64::from(u32::MAX - 1))
        .map(|n| Lifetime::Seconds(n as u32))
        .map_err(|_| {
            bad(
                "preferred_lft",
                value,
                "expected forever or a number of seconds",
            )
        })
}

/// Checks a namespace name: it is joined to /var/run/netns, so no path tricks.
pub fn check_netns(value: &OsStr) -> Result<String> {
    let s = text("network_namespace", value)?;
    if s.contains('/') || s == "." || s == ".." || s.contains('\0') {
        return Err(bad(
            "network_namespace",
            value,
            "a namespace name, without '/' and not . or ..",
        ));
    }
    if s.len() > 255 {
        return Err(bad("network_namespace", value, "longer than 255 bytes"));
    }
    Ok(s.to_string())
}

/// How long a burst without `arp_bg` may take before it risks the operation's timeout.
pub const TIMEOUT_MARGIN_MS: u64 = 2_000;
/// What start may spend waiting for IPv6 duplicate address detection.
pub const DAD_ALLOWANCE_MS: u64 = 3_000;

/// The named checks of the table's `Kind::Check` entries, one per grammar.
pub(crate) mod checks {
    use super::*;

    pub fn nic(value: &OsStr, _: &mut Context) -> Result<Value> {
        parse_nic(value).map(|(nics, label)| Value::Nics(nics, label))
    }

    pub fn prefix(value: &OsStr, cx: &mut Context) -> Result<Value> {
        parse_prefix(value, cx.ip.is_ipv6(), &mut cx.warnings).map(Value::Byte)
    }

    pub fn proto(value: &OsStr, _: &mut Context) -> Result<Value> {
        parse_proto(value).map(Value::Byte)
    }

    pub fn broadcast(value: &OsStr, _: &mut Context) -> Result<Value> {
        parse_broadcast(value).map(Value::Broadcast)
    }

    /// `iflabel` on its own; how it fits the nic (and a label given as nic:label) is checked
    /// with the other parameters.
    pub fn label(value: &OsStr, _: &mut Context) -> Result<Value> {
        let s = text("iflabel", value)?;
        check_label("iflabel", value, s)?;
        Ok(Value::Text(s.to_string()))
    }

    pub fn lifetime(value: &OsStr, _: &mut Context) -> Result<Value> {
        parse_lifetime(value).map(Value::Lifetime)
    }

    pub fn vmac(value: &OsStr, cx: &mut Context) -> Result<Value> {
        parse_vmac(value, cx.ip).map(Value::Mac)
    }
}

/// One value by its entry's kind.
fn parse_value(spec: &ParamSpec, value: &OsStr, cx: &mut Context) -> Result<Value> {
    let name = spec.name;
    match spec.kind {
        Kind::Integer { min, max } => parse_int(name, value, min, max).map(Value::Integer),
        Kind::Boolean => parse_bool(name, value).map(Value::Boolean),
        Kind::Address => parse_ip(value).map(Value::Address),
        Kind::Name => check_netns(value).map(Value::Text),
        Kind::Enumeration { allowed, otherwise } => {
            let s = text(name, value)?;
            if allowed.contains(&s) {
                Ok(Value::Text(s.to_string()))
            } else {
                Err(bad(name, value, otherwise))
            }
        }
        Kind::Text => text(name, value).map(|s| Value::Text(s.to_string())),
        Kind::Check(check) => check(value, cx),
    }
}

/// Every parameter's value, by key: what was set, else the table's default.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Values {
    values: Vec<Option<Value>>,
    explicit: Vec<bool>,
}

impl Values {
    /// The value as the type its kind yields. Asking for another type is a bug in the code
    /// that reads it, which the first test parsing that parameter shows.
    pub fn get<T: FromValue>(&self, key: Key) -> Option<T> {
        self.values[key as usize].as_ref().map(|value| {
            T::from_value(value)
                .unwrap_or_else(|| panic!("{} read as the wrong type: {value:?}", key.name()))
        })
    }

    /// The value of a parameter the table gives a default.
    fn with_default<T: FromValue>(&self, key: Key) -> T {
        self.get(key)
            .unwrap_or_else(|| panic!("{} has no default in the table", key.name()))
    }

    pub fn is_set(&self, key: Key) -> bool {
        self.explicit[key as usize]
    }

    /// The value for a log line: a number with its unit, a boolean, else "unset" (the
    /// reloadable parameters are numbers and booleans).
    fn shown(&self, key: Key) -> String {
        match &self.values[key as usize] {
            Some(Value::Integer(n)) => format!("{n}{}", key.spec().unit),
            Some(Value::Boolean(b)) => b.to_string(),
            Some(other) => format!("{other:?}"),
            None => "unset".to_string(),
        }
    }
}

/// Whether a parameter set to this value is one floatip accepts and ignores.
fn has_no_effect(spec: &ParamSpec, value: Option<&Value>, ip: IpAddr) -> bool {
    let asks_for_something = value != Some(&Value::Boolean(false));
    match spec.ignored {
        Ignored::No => false,
        Ignored::Yes(_) => asks_for_something,
        Ignored::ForIpv4(_) => asks_for_something && ip.is_ipv4(),
    }
}

/// Each parameter on its own, in table order: its value (or default) checked by its kind.
pub fn parse_values(raw: &RawParams) -> Result<(Values, Context, Vec<&'static str>)> {
    let ip_value = raw
        .value_of(Key::Ip)
        .ok_or_else(|| Error::configured("ip is required: set the floating address (ip=...)"))?;
    let mut cx = Context {
        ip: parse_ip(ip_value)?,
        warnings: Vec::new(),
    };
    let mut values = Values::default();
    let mut ignored = Vec::new();
    for spec in PARAMETERS {
        let explicit = raw.value_of(spec.key);
        let value = explicit
            .or(spec.default.map(OsStr::new))
            .map(|v| parse_value(spec, v, &mut cx))
            .transpose()?;
        if explicit.is_some() && has_no_effect(spec, value.as_ref(), cx.ip) {
            ignored.push(spec.name);
        }
        values.values.push(value);
        values.explicit.push(explicit.is_some());
    }
    Ok((values, cx, ignored))
}

/// A reason naming the parameter and showing the value the user set.
fn refuse(raw: &RawParams, key: Key, why: &str) -> Error {
    bad(key.name(), raw.value_of(key).unwrap_or_default(), why)
}

/// The whole validation: raw values in, typed parameters or the first reason out. Each value
/// is checked by its table entry; what follows are the checks that relate parameters to each
/// other and to the operation.
pub fn parse(raw: &RawParams, meta: &Meta) -> Result<Params> {
    let (v, cx, ignored) = parse_values(raw)?;
    let warnings = cx.warnings;
    let ip: IpAddr = v.get(Key::Ip).expect("ip is required, and checked first");
    let ipv6 = ip.is_ipv6();

    let (nics, mut label) = v.get(Key::Nic).unwrap_or_default();
    // The label may come from nic:label or from iflabel; reasons name the one the user set.
    let label_key = if label.is_some() {
        Key::Nic
    } else {
        Key::Iflabel
    };
    if let Some(from_iflabel) = v.get::<String>(Key::Iflabel) {
        if label.as_deref().is_some_and(|l| l != from_iflabel) {
            return Err(refuse(
                raw,
                Key::Iflabel,
                "differs from the label given in nic (nic:label)",
            ));
        }
        label = Some(from_iflabel);
    }
    if let Some(label) = &label {
        let shown_value = match (label_key, raw.value_of(Key::Nic)) {
            (Key::Nic, Some(nic)) => nic.to_os_string(),
            _ => OsString::from(label),
        };
        let label_param = label_key.name();
        if label_key == Key::Nic {
            // iflabel's own entry has checked it already.
            check_label(label_param, &shown_value, label)?;
        }
        if ipv6 {
            return Err(bad(
                label_param,
                &shown_value,
                "labels exist for IPv4 addresses only",
            ));
        }
        // nic:label must fit the kernel's limit; without nic, at least a one-letter nic. A
        // name longer than an interface name is an alternative name: the label is built on
        // the interface's own name, which start checks.
        let longest_nic = nics
            .iter()
            .map(String::len)
            .filter(|len| *len <= IFNAME_MAX)
            .max()
            .unwrap_or(1);
        if longest_nic + 1 + label.len() > IFNAME_MAX {
            let with = nics.first().map_or_else(|| "x".to_string(), String::clone);
            return Err(bad(
                label_param,
                &shown_value,
                &format!("{with}:{label} exceeds the kernel's {IFNAME_MAX}-character label limit"),
            ));
        }
    }

    if let IpAddr::V6(v6) = ip {
        if is_ipv6_link_local(v6) && nics.is_empty() {
            return Err(Error::configured(format!(
                "nic is required for the link-local address {v6}"
            )));
        }
    }

    let prefix = v.get::<u8>(Key::CidrNetmask);
    if ipv6 && v.is_set(Key::Broadcast) {
        return Err(refuse(raw, Key::Broadcast, "IPv6 has no broadcast address"));
    }
    let broadcast = v.get(Key::Broadcast).unwrap_or(Broadcast::HostBitsSet);

    if let (IpAddr::V4(v4), Some(len)) = (ip, prefix) {
        if let Some(why) = network_or_broadcast(v4, len) {
            return Err(refuse(raw, Key::Ip, &why));
        }
    }
    let loopback = is_loopback(ip);
    if let (IpAddr::V4(v4), true, None) = (ip, loopback, prefix) {
        // Its prefix is known without routes: the loopback network's.
        if let Some(why) = network_or_broadcast(v4, LOOPBACK_PREFIX) {
            return Err(refuse(raw, Key::Ip, &why));
        }
    }
    if let Some(other) = nics.iter().find(|n| loopback && *n != LOOPBACK_NIC) {
        return Err(refuse(
            raw,
            Key::Ip,
            &format!("a loopback address goes on lo only, not on nic {other}"),
        ));
    }

    let lvs_support: bool = v.with_default(Key::LvsSupport);
    if lvs_support && ipv6 {
        return Err(Error::configured("lvs_support is for IPv4 addresses only"));
    }
    if lvs_support && loopback {
        return Err(Error::configured(
            "lvs_support keeps an address on lo at stop; ip is a loopback address, on lo already",
        ));
    }

    // True by default since IPaddr2 4.15; for IPv4 it does nothing (the table's ForIpv4).
    let address_label = (ipv6 && v.with_default::<bool>(Key::LvsIpv6Addrlabel))
        .then(|| v.with_default::<u64>(Key::LvsIpv6AddrlabelValue) as u32);

    // IPaddr2 features floatip does not implement: refuse rather than ignore (mac and
    // clusterip_hash are refused by their entries).
    if v.with_default(Key::UniqueCloneAddress) {
        return Err(Error::configured(
            "unique_clone_address=true is not supported by floatip",
        ));
    }
    if meta.clone_max > 1 {
        return Err(Error::configured(format!(
            "cloned with clone-max={}: IPaddr2's CLUSTERIP mode is not supported by floatip",
            meta.clone_max
        )));
    }
    // The table's ranges fit each field, so the narrowing casts below keep the value.
    let announce = Announce {
        count: v.with_default::<u64>(Key::ArpCount) as u32,
        interval_ms: v.with_default::<u64>(Key::ArpInterval) as u32,
        refresh_count: v.with_default::<u64>(Key::ArpCountRefresh) as u32,
        background: v.with_default(Key::ArpBg),
        refresh_interval_s: v.with_default::<u64>(Key::ArpRefreshInterval) as u32,
        defend: v.with_default(Key::ConflictDefend),
        probe_wait_ms: v.with_default::<u64>(Key::ArpProbeWait) as u32,
        repeat_delay_s: v.with_default::<u64>(Key::ArpRepeatDelay) as u32,
    };

    let noprefixroute = v.with_default(Key::Noprefixroute);
    let route_metric = v.get::<u64>(Key::Metric).map(|m| m as u32);
    if route_metric.is_some() && noprefixroute {
        return Err(refuse(
            raw,
            Key::Metric,
            "noprefixroute=true adds no prefix route to give it to; drop one of them",
        ));
    }
    if route_metric.is_some() && nics.len() > 1 {
        // The resident moves the address between adapters without it.
        return Err(refuse(
            raw,
            Key::Metric,
            "not carried to standby adapters (nic lists several); list one nic, or drop metric",
        ));
    }
    if raw.is_empty(Key::PreferredLft) {
        // IPaddr2 refuses it too, rather than reading it as forever.
        return Err(Error::configured(
            "preferred_lft is empty: use forever or a number of seconds",
        ));
    }
    let vmac = v.get::<MacAddr>(Key::Vmac);
    if vmac.is_some() && loopback {
        return Err(refuse(
            raw,
            Key::Vmac,
            "a loopback address lives on lo, which has no MAC to move",
        ));
    }
    if vmac.is_some() && nics.len() > 1 {
        // The macvlan sits on one lower adapter; moving it to a standby is not built, and
        // accepting the pair left the address unannounced after the first round.
        return Err(refuse(
            raw,
            Key::Vmac,
            "a virtual MAC cannot be combined with standby adapters in nic: list one nic, or drop vmac",
        ));
    }

    Ok(Params {
        ip,
        nics,
        vmac,
        label,
        prefix,
        broadcast,
        lvs_support,
        announce,
        nodad: v.with_default(Key::Nodad),
        noprefixroute,
        route_metric,
        preferred_lft: v.with_default(Key::PreferredLft),
        network_namespace: v.get(Key::NetworkNamespace),
        check_link_status: v.with_default(Key::CheckLinkStatus),
        probe_before_start: v.with_default(Key::RunArping),
        failback_delay_ms: v.with_default(Key::FailbackDelay),
        link_watch: v.with_default(Key::LinkWatch),
        reset_connections: v.with_default(Key::ResetConnections),
        tickle_clients: v.with_default(Key::TickleClients),
        proto: v.get(Key::Proto),
        address_label,
        ignored,
        warnings,
        values: v,
    })
}

/// For stop and monitor, which must act on the address whatever else is wrong with the
/// configuration: the full parameters when they validate; otherwise the address plus every
/// identifying parameter (the table's role) that validates on its own, with one warning per
/// parameter left out. Fails only when `ip` itself is missing or invalid (then nothing of
/// ours can be placed).
pub fn parse_lenient(raw: &RawParams, meta: &Meta) -> Result<Params> {
    let meta = Meta {
        clone_max: 1,
        ..meta.clone()
    };
    let first_error = match parse(raw, &meta) {
        Ok(p) => return Ok(p),
        Err(e) => e,
    };
    let ip = raw
        .value_of(Key::Ip)
        .ok_or_else(|| first_error.clone())
        .and_then(parse_ip)?;
    let mut kept = RawParams::new();
    kept.set_key(Key::Ip, ip.to_string());
    let mut warnings = vec![format!(
        "{}; acting on what identifies the address",
        first_error.reason
    )];
    for spec in PARAMETERS
        .iter()
        .filter(|s| s.identifying && s.key != Key::Ip)
    {
        let Some(value) = raw.value_of(spec.key) else {
            continue;
        };
        let mut trial = kept.clone();
        trial.set_key(spec.key, value);
        match parse(&trial, &meta) {
            Ok(_) => kept = trial,
            Err(e) => warnings.push(format!("{}; {} is left out", e.reason, spec.name)),
        }
    }
    let mut params = parse(&kept, &meta)?;
    params.warnings.extend(warnings);
    Ok(params)
}

/// The part of an operation's timeout kept back so the agent answers before Pacemaker gives
/// up on it: 2 s, or a quarter of a short timeout.
pub fn timeout_margin_ms(timeout_ms: u64) -> u64 {
    TIMEOUT_MARGIN_MS.min(timeout_ms / 4)
}

/// How long an operation may wait in all, counted from its start: its timeout less the
/// margin.
pub fn operation_budget(meta: &Meta) -> std::time::Duration {
    std::time::Duration::from_millis(meta.timeout_ms - timeout_margin_ms(meta.timeout_ms))
}

/// What start may have to wait for, by parameter: the duplicate-address probe, IPv6 DAD and
/// a foreground burst.
pub fn start_waits_ms(params: &Params) -> Vec<(&'static str, u64)> {
    let mut waits = Vec::new();
    if params.probe_before_start {
        waits.push(("arp_probe_wait", u64::from(params.announce.probe_wait_ms)));
    }
    if params.is_ipv6() && !params.nodad {
        waits.push((
            "nodad=false (IPv6 duplicate address detection)",
            DAD_ALLOWANCE_MS,
        ));
    }
    if !params.announce.background {
        let burst = u64::from(params.announce.count.saturating_sub(1))
            * u64::from(params.announce.interval_ms);
        if burst > 0 {
            waits.push(("arp_count x arp_interval with arp_bg=false", burst));
        }
    }
    waits
}

/// Whether start's waits fit in its timeout. Only start and validate-all judge this: a stop or
/// a monitor has its own timeout and must work whatever the start's waits are.
pub fn check_fits(params: &Params, meta: &Meta) -> Result<()> {
    let waits = start_waits_ms(params);
    let needed: u64 = waits.iter().map(|(_, ms)| ms).sum();
    if needed == 0 {
        return Ok(());
    }
    let available = meta.timeout_ms - timeout_margin_ms(meta.timeout_ms);
    if needed > available {
        let parts: Vec<String> = waits
            .iter()
            .map(|(what, ms)| format!("{what} {ms}ms"))
            .collect();
        return Err(Error::configured(format!(
            "start would wait {needed}ms ({}), more than the {}ms its {}ms timeout leaves; raise the start timeout or shorten the waits",
            parts.join(" + "),
            available,
            meta.timeout_ms
        )));
    }
    Ok(())
}

/// For IPv4 prefixes up to /30, the all-zeros and all-ones host addresses are not host
/// addresses (RFC 3021 makes /31 the exception).
pub fn network_or_broadcast(ip: Ipv4Addr, prefix: u8) -> Option<String> {
    if prefix >= 31 {
        return None;
    }
    let host_mask = u32::MAX >> prefix;
    let bits = u32::from(ip);
    if bits & host_mask == 0 {
        Some(format!("it is the network address of {ip}/{prefix}"))
    } else if bits & host_mask == host_mask {
        Some(format!("it is the broadcast address of {ip}/{prefix}"))
    } else {
        None
    }
}

/// The broadcast address the kernel should get for an IPv4 address with this prefix.
pub fn broadcast_address(ip: Ipv4Addr, prefix: u8, broadcast: Broadcast) -> Option<Ipv4Addr> {
    if prefix >= 31 {
        // Point-to-point style prefixes have no broadcast (RFC 3021), as `ip` does.
        return match broadcast {
            Broadcast::Explicit(b) => Some(b),
            _ => None,
        };
    }
    let host_mask = u32::MAX >> prefix;
    let bits = u32::from(ip);
    Some(match broadcast {
        Broadcast::HostBitsSet => Ipv4Addr::from(bits | host_mask),
        Broadcast::HostBitsClear => Ipv4Addr::from(bits & !host_mask),
        Broadcast::Explicit(b) => b,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;
    use std::os::unix::ffi::OsStringExt;

    fn raw(pairs: &[(&str, &str)]) -> RawParams {
        let mut raw = RawParams::new();
        for (k, v) in pairs {
            assert!(raw.set(k, *v), "{k} is not a parameter");
        }
        raw
    }

    fn ok(pairs: &[(&str, &str)]) -> Params {
        parse(&raw(pairs), &Meta::default()).expect("valid")
    }

    /// Defaults are strings in the table (the meta-data shows them); each must parse by its
    /// own entry's kind.
    #[test]
    fn every_default_parses_by_its_kind() {
        for spec in PARAMETERS {
            let Some(default) = spec.default else {
                continue;
            };
            let mut cx = Context {
                ip: "198.51.100.50".parse().unwrap(),
                warnings: Vec::new(),
            };
            let value = parse_value(spec, OsStr::new(default), &mut cx);
            assert!(
                value.is_ok(),
                "{}: default {default:?}: {value:?}",
                spec.name
            );
        }
    }

    #[test]
    #[should_panic(expected = "arp_count read as the wrong type")]
    fn a_value_read_as_another_type_is_a_bug_a_test_shows() {
        let (values, _, _) = parse_values(&raw(&[("ip", "198.51.100.50")])).unwrap();
        let _: Option<bool> = values.get(Key::ArpCount);
    }

    #[test]
    fn the_reload_line_lists_each_reloadable_setting_with_its_unit() {
        let p = ok(&[("ip", "198.51.100.50"), ("arp_refresh_interval", "5")]);
        assert_eq!(
            p.reloadable_settings(),
            "arp_interval=200ms arp_count=5 arp_count_refresh=0 arp_bg=true \
             arp_probe_wait=300ms metric=unset link_watch=false reset_connections=true \
             tickle_clients=true failback_delay=2000ms conflict_defend=true arp_refresh_interval=5s \
             arp_repeat_delay=0s"
        );
    }

    #[test]
    fn a_raw_value_is_what_was_set_and_an_empty_one_is_unset() {
        let r = raw(&[("ip", "not an address"), ("nic", "")]);
        assert_eq!(r.value("ip"), Some(OsStr::new("not an address")));
        assert_eq!(r.value("nic"), None);
        assert_eq!(r.value("cidr_netmask"), None);
    }

    #[test]
    fn each_ignored_parameter_says_why_in_its_own_words() {
        for (name, why) in [
            ("arp_sender", "in-process"),
            ("send_arp_opts", "in-process"),
            ("flush_routes", "route cache"),
            ("clusterip_hash", "CLUSTERIP"),
            ("lvs_ipv6_addrlabel", "IPv6 only"),
            ("anything_else", "does not use it"),
        ] {
            assert!(
                why_ignored(name).contains(why),
                "{name}: {}",
                why_ignored(name)
            );
        }
    }

    #[test]
    fn a_shown_value_is_cut_only_past_64_characters() {
        let exactly = "a".repeat(64);
        assert_eq!(shown(OsStr::new(&exactly)), format!("\"{exactly}\""));
        let longer = "a".repeat(65);
        assert_eq!(
            shown(OsStr::new(&longer)),
            format!("\"{}...\"", "a".repeat(61))
        );
    }

    #[test]
    fn a_number_with_a_sign_is_not_a_whole_number_here() {
        // Rust's parser takes "+5"; a user's value is checked digit by digit first.
        assert!(parse_int("arp_count", OsStr::new("+5"), 1, 10).is_err());
        assert!(parse_int("arp_count", OsStr::new(""), 0, 10).is_err());
        assert_eq!(parse_int("arp_count", OsStr::new("5"), 1, 10).unwrap(), 5);
    }

    #[test]
    fn any_address_in_0_0_0_0_slash_8_is_refused_as_such() {
        for ip in ["0.0.0.0", "0.1.2.3"] {
            let e = parse_ip(OsStr::new(ip)).unwrap_err();
            assert!(e.reason.contains("0.0.0.0/8"), "{ip}: {}", e.reason);
        }
    }

    #[test]
    fn nic_names_the_kernel_would_refuse_are_refused_each_for_its_reason() {
        for name in [".", "..", "a/b", "a b", "a\tb"] {
            let e = check_nic_name(OsStr::new(name), name).unwrap_err();
            assert!(e.reason.contains("not a valid interface name"), "{name:?}");
        }
        let long = "x".repeat(ALTIFNAME_MAX + 1);
        let e = check_nic_name(OsStr::new(&long), &long).unwrap_err();
        assert!(
            e.reason.contains("alternative names up to 127"),
            "{}",
            e.reason
        );
        assert!(check_nic_name(OsStr::new("e"), "e").is_ok());
        let longest = "x".repeat(ALTIFNAME_MAX);
        assert!(check_nic_name(OsStr::new(&longest), &longest).is_ok());
    }

    #[test]
    fn every_virtual_mac_is_unicast_and_locally_administered() {
        for n in 0..=255u8 {
            for ip in [
                IpAddr::V4(Ipv4Addr::new(198, 51, 100, n)),
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(n))),
            ] {
                let mac = virtual_mac(ip);
                assert_eq!(mac.0 & 0x03, 0x02, "{ip}: {mac}");
            }
        }
    }

    #[test]
    fn a_signed_proto_number_is_refused() {
        assert!(parse_proto(OsStr::new("+5")).is_err());
        assert_eq!(parse_proto(OsStr::new("5")).unwrap(), 5);
        assert_eq!(parse_proto(OsStr::new("kernel")).unwrap(), 2);
    }

    #[test]
    fn preferred_lft_refuses_the_kernels_infinity_as_a_number() {
        assert!(parse_lifetime(OsStr::new("4294967295")).is_err());
        assert_eq!(
            parse_lifetime(OsStr::new("4294967294")).unwrap(),
            Lifetime::Seconds(u32::MAX - 1)
        );
    }

    #[test]
    fn namespace_names_are_names_not_paths_and_at_most_255_bytes() {
        for name in [".", "..", "a/b"] {
            assert!(check_netns(OsStr::new(name)).is_err(), "{name}");
        }
        assert!(check_netns(OsStr::new("...")).is_ok());
        assert!(check_netns(OsStr::new(&"n".repeat(255))).is_ok());
        assert!(check_netns(OsStr::new(&"n".repeat(256))).is_err());
    }

    fn refused(pairs: &[(&str, &str)]) -> String {
        parse(&raw(pairs), &Meta::default())
            .expect_err("refused")
            .reason
    }

    #[test]
    fn iflabel_must_agree_with_the_label_in_nic() {
        let v4 = ("ip", "198.51.100.50");
        let p = ok(&[v4, ("nic", "eth0:web"), ("iflabel", "web")]);
        assert_eq!(p.label.as_deref(), Some("web"));
        let why = refused(&[v4, ("nic", "eth0:web"), ("iflabel", "db")]);
        assert!(why.contains("differs from the label given in nic"), "{why}");
    }

    #[test]
    fn a_bad_label_in_nic_is_shown_as_the_nic_value_the_user_wrote() {
        let why = refused(&[("ip", "198.51.100.50"), ("nic", "eth0:we!b")]);
        assert!(why.contains("\"eth0:we!b\""), "{why}");
    }

    #[test]
    fn nic_and_label_fit_the_kernels_15_characters_exactly() {
        let v4 = ("ip", "198.51.100.50");
        // eth0 + ':' + 10 = 15 fits; one more does not.
        assert_eq!(
            ok(&[v4, ("nic", "eth0:abcdefghij")]).label.as_deref(),
            Some("abcdefghij")
        );
        let why = refused(&[v4, ("nic", "eth0:abcdefghijk")]);
        assert!(why.contains("label limit"), "{why}");
    }

    #[test]
    fn an_ipv4_broadcast_is_accepted_and_an_ipv6_one_refused() {
        let p = ok(&[("ip", "198.51.100.50"), ("broadcast", "198.51.100.255")]);
        assert_eq!(
            p.broadcast,
            Broadcast::Explicit(Ipv4Addr::new(198, 51, 100, 255))
        );
        let why = refused(&[("ip", "2001:db8:100::50"), ("broadcast", "+")]);
        assert!(why.contains("IPv6 has no broadcast"), "{why}");
    }

    #[test]
    fn an_empty_preferred_lft_is_refused_not_forever() {
        let why = refused(&[("ip", "2001:db8:100::50"), ("preferred_lft", "")]);
        assert!(why.contains("preferred_lft is empty"), "{why}");
    }

    #[test]
    fn a_foreground_burst_of_one_round_is_no_wait() {
        let one = ok(&[
            ("ip", "198.51.100.50"),
            ("arp_bg", "false"),
            ("arp_count", "1"),
        ]);
        assert_eq!(start_waits_ms(&one), vec![]);
        let two = ok(&[
            ("ip", "198.51.100.50"),
            ("arp_bg", "false"),
            ("arp_count", "2"),
            ("arp_interval", "300"),
        ]);
        assert_eq!(
            start_waits_ms(&two),
            vec![("arp_count x arp_interval with arp_bg=false", 300)]
        );
    }

    #[test]
    fn point_to_point_prefixes_keep_only_an_explicit_broadcast() {
        let ip = Ipv4Addr::new(198, 51, 100, 50);
        let b = Ipv4Addr::new(198, 51, 100, 51);
        for prefix in [31, 32] {
            assert_eq!(
                broadcast_address(ip, prefix, Broadcast::Explicit(b)),
                Some(b)
            );
            assert_eq!(broadcast_address(ip, prefix, Broadcast::HostBitsSet), None);
        }
    }

    #[test]
    fn minimal_ipv4_gets_ipaddr2_defaults() {
        let p = ok(&[("ip", "198.51.100.50")]);
        assert_eq!(p.ip, "198.51.100.50".parse::<IpAddr>().unwrap());
        assert!(p.nics.is_empty());
        assert_eq!(p.vmac, None);
        assert_eq!(p.prefix, None);
        assert_eq!(
            p.announce,
            Announce {
                count: 5,
                interval_ms: 200,
                refresh_count: 0,
                background: true,
                refresh_interval_s: 0,
                defend: true,
                probe_wait_ms: 300,
                repeat_delay_s: 0,
            }
        );
        assert_eq!(p.failback_delay_ms, 2000);
        assert!(!p.link_watch);
        assert!(!p.probe_before_start);
        assert!(p.check_link_status);
        assert_eq!(p.preferred_lft, Lifetime::Forever);
    }

    #[test]
    fn ipv6_is_normalised() {
        let p = ok(&[("ip", "2001:DB8:0:0::0:50")]);
        assert_eq!(p.ip.to_string(), "2001:db8::50");
    }

    #[test]
    fn nic_label_form_sets_the_label() {
        let p = ok(&[("ip", "198.51.100.50"), ("nic", "eth0:vip")]);
        assert_eq!(p.nics, vec!["eth0".to_string()]);
        assert_eq!(p.label.as_deref(), Some("vip"));
    }

    #[test]
    fn standby_adapters_keep_their_order() {
        let p = ok(&[("ip", "198.51.100.50"), ("nic", "eth1,eth0,bond0")]);
        assert_eq!(p.nics, vec!["eth1", "eth0", "bond0"]);
    }

    #[test]
    fn a_virtual_mac_takes_one_nic_not_standby_adapters() {
        assert!(
            ok(&[("ip", "198.51.100.50"), ("nic", "eth0"), ("vmac", "auto")])
                .vmac
                .is_some()
        );
        let e = parse(
            &raw(&[
                ("ip", "198.51.100.50"),
                ("nic", "eth0,eth1"),
                ("vmac", "auto"),
            ]),
            &Meta::default(),
        )
        .unwrap_err();
        assert_eq!(e.kind, Kind::Configured);
        assert!(
            e.reason.starts_with("invalid vmac \"auto\":"),
            "{}",
            e.reason
        );
        assert!(e.reason.contains("standby"), "{}", e.reason);
    }

    #[test]
    fn auto_vmac_is_stable_local_and_unicast() {
        let ip: IpAddr = "198.51.100.50".parse().unwrap();
        let p = ok(&[("ip", "198.51.100.50"), ("vmac", "auto")]);
        let mac = p.vmac.unwrap();
        assert_eq!(mac, virtual_mac(ip), "every node derives the same MAC");
        assert_eq!(mac.0 & 0x03, 0x02, "locally administered unicast");
        assert_ne!(virtual_mac("198.51.100.51".parse().unwrap()), mac);
        let name = virtual_interface_name(ip);
        assert!(
            name.len() <= IFNAME_MAX && name.starts_with("fip"),
            "{name}"
        );
        let explicit = ok(&[("ip", "198.51.100.50"), ("vmac", "02:00:5E:00:01:32")]);
        assert_eq!(explicit.vmac, Some(MacAddr(2, 0, 0x5e, 0, 1, 0x32)));
    }

    #[test]
    fn dotted_netmask_is_converted_with_a_warning() {
        let p = ok(&[("ip", "198.51.100.50"), ("cidr_netmask", "255.255.255.0")]);
        assert_eq!(p.prefix, Some(24));
        assert_eq!(p.warnings.len(), 1);
    }

    #[test]
    fn booleans_take_every_pacemaker_spelling() {
        for (v, want) in [
            ("yes", true),
            ("TRUE", true),
            ("on", true),
            ("1", true),
            ("no", false),
            ("False", false),
            ("off", false),
            ("0", false),
        ] {
            assert_eq!(parse_bool("nodad", OsStr::new(v)).unwrap(), want, "{v}");
        }
    }

    #[test]
    fn ignored_parameters_are_reported() {
        let p = ok(&[
            ("ip", "198.51.100.50"),
            ("arp_sender", "send_arp"),
            ("flush_routes", "true"),
        ]);
        assert_eq!(p.ignored, vec!["arp_sender", "flush_routes"]);
    }

    #[test]
    fn a_parameter_set_to_do_nothing_is_not_reported_as_ignored() {
        let off = ok(&[
            ("ip", "198.51.100.50"),
            ("flush_routes", "false"),
            ("lvs_ipv6_addrlabel", "false"),
        ]);
        assert_eq!(off.ignored, Vec::<&str>::new());
        // For IPv6 the label is what the parameter asks for: it has an effect.
        let v6 = ok(&[("ip", "2001:db8::50"), ("lvs_ipv6_addrlabel", "true")]);
        assert_eq!(v6.ignored, Vec::<&str>::new());
    }

    #[test]
    fn metric_takes_one_nic_but_not_standby_adapters() {
        let v4 = ("ip", "198.51.100.50");
        let one = ok(&[v4, ("nic", "eth0"), ("metric", "50")]);
        assert_eq!(one.route_metric, Some(50));
        let why = refused(&[v4, ("nic", "eth0,eth1"), ("metric", "50")]);
        assert!(why.starts_with("invalid metric \"50\""), "{why}");
        assert!(why.contains("standby adapters"), "{why}");
    }

    #[test]
    fn address_labels_follow_ipaddr2_4_15() {
        let v6 = ok(&[("ip", "2001:db8::50")]);
        assert_eq!(v6.address_label, Some(99), "on by default, label 99");
        let off = ok(&[("ip", "2001:db8::50"), ("lvs_ipv6_addrlabel", "false")]);
        assert_eq!(off.address_label, None);
        let other = ok(&[
            ("ip", "2001:db8::50"),
            ("lvs_ipv6_addrlabel_value", "4294967294"),
        ]);
        assert_eq!(other.address_label, Some(u32::MAX - 1));
        // IPv4: accepted (4.15.1), no label; reported only when asked for explicitly.
        let v4 = ok(&[("ip", "198.51.100.50")]);
        assert_eq!((v4.address_label, v4.ignored.len()), (None, 0));
        let asked = ok(&[("ip", "198.51.100.50"), ("lvs_ipv6_addrlabel", "true")]);
        assert_eq!(asked.address_label, None);
        assert_eq!(asked.ignored, vec!["lvs_ipv6_addrlabel"]);
    }

    #[test]
    fn proto_takes_rt_protos_names_and_numbers() {
        for (value, want) in [
            ("kernel", 2),
            ("static", 4),
            ("ra", 9),
            ("bird", 12),
            ("0", 0),
            ("255", 255),
            ("42", 42),
        ] {
            assert_eq!(
                ok(&[("ip", "198.51.100.50"), ("proto", value)]).proto,
                Some(want),
                "{value}"
            );
        }
        assert_eq!(ok(&[("ip", "198.51.100.50")]).proto, None);
    }

    #[test]
    fn nic_may_be_an_alternative_name_of_up_to_127_bytes() {
        let long = "a-very-long-alternative-name".to_string();
        let p = ok(&[("ip", "198.51.100.50"), ("nic", &long)]);
        assert_eq!(p.nics, vec![long.clone()]);
        let max = "n".repeat(127);
        assert_eq!(
            ok(&[("ip", "198.51.100.50"), ("nic", &max)]).nics,
            vec![max]
        );
        let standby = ok(&[("ip", "198.51.100.50"), ("nic", &format!("eth0,{long}"))]);
        assert_eq!(standby.nics.len(), 2);
        // A label on an alternative name is built on the interface's own name at start.
        let labelled = ok(&[("ip", "198.51.100.50"), ("nic", &long), ("iflabel", "vip")]);
        assert_eq!(labelled.label.as_deref(), Some("vip"));
    }

    #[test]
    fn a_loopback_address_is_accepted_on_lo_or_without_nic() {
        for pairs in [
            &[("ip", "127.0.0.3")][..],
            &[("ip", "127.0.0.3"), ("nic", "lo")],
            &[("ip", "127.0.0.3"), ("broadcast", "127.255.255.255")],
            &[
                ("ip", "127.1.2.3"),
                ("nic", "lo:vip"),
                ("cidr_netmask", "16"),
            ],
        ] {
            assert!(is_loopback(ok(pairs).ip), "{pairs:?}");
        }
        assert!(!is_loopback("::2".parse().unwrap()));
    }

    /// Every value a user could mistype: the code and a reason that names the parameter.
    #[test]
    fn bad_input_table() {
        let base = [("ip", "198.51.100.50")];
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "ip is required"),
            (&[("ip", "300.1.1.1")], "invalid ip \"300.1.1.1\""),
            (&[("ip", "198.51.100")], "invalid ip"),
            (&[("ip", " 198.51.100.50")], "invalid ip"),
            (&[("ip", "198.51.100.50; reboot")], "invalid ip"),
            (&[("ip", "$(reboot)")], "invalid ip"),
            (&[("ip", "127.0.0.2"), ("nic", "eth0")], "loopback"),
            (&[("ip", "127.0.0.2"), ("nic", "lo,eth0")], "loopback"),
            (&[("ip", "127.0.0.2"), ("lvs_support", "true")], "loopback"),
            (&[("ip", "127.0.0.2"), ("vmac", "auto")], "loopback"),
            (&[("ip", "127.0.0.1")], "lo's own"),
            (&[("ip", "127.0.0.0")], "network address of 127.0.0.0/8"),
            (
                &[("ip", "127.255.255.255")],
                "broadcast address of 127.255.255.255/8",
            ),
            (&[("ip", "::1")], "loopback"),
            (&[("ip", "224.0.0.5")], "multicast"),
            (&[("ip", "ff02::1")], "multicast"),
            (&[("ip", "255.255.255.255")], "broadcast"),
            (&[("ip", "0.0.0.0")], "0.0.0.0/8"),
            (&[("ip", "::")], "unspecified"),
            (&[("ip", "::ffff:198.51.100.50")], "IPv4-mapped"),
            (&[("ip", "fe80::2")], "nic is required"),
            (&[("ip", "fe80::2%eth0"), ("nic", "eth0")], "zone"),
            (
                &[("ip", "198.51.100.0"), ("cidr_netmask", "24")],
                "network address",
            ),
            (
                &[("ip", "198.51.100.255"), ("cidr_netmask", "24")],
                "broadcast address",
            ),
            (
                &[("ip", "198.51.100.50"), ("cidr_netmask", "33")],
                "invalid cidr_netmask",
            ),
            (
                &[("ip", "198.51.100.50"), ("cidr_netmask", "0")],
                "invalid cidr_netmask",
            ),
            (
                &[("ip", "198.51.100.50"), ("cidr_netmask", "-1")],
                "invalid cidr_netmask",
            ),
            (
                &[("ip", "198.51.100.50"), ("cidr_netmask", "255.0.255.0")],
                "contiguous",
            ),
            (
                &[("ip", "2001:db8::50"), ("cidr_netmask", "129")],
                "invalid cidr_netmask",
            ),
            (
                &[("ip", "2001:db8::50"), ("cidr_netmask", "255.255.255.0")],
                "invalid cidr_netmask",
            ),
            (
                &[("ip", "198.51.100.50"), ("broadcast", "198.51.100")],
                "invalid broadcast",
            ),
            (
                &[("ip", "2001:db8::50"), ("broadcast", "+")],
                "IPv6 has no broadcast",
            ),
            (
                &[("ip", "198.51.100.50"), ("nic", &"n".repeat(128))],
                "alternative names up to 127",
            ),
            (&[("ip", "198.51.100.50"), ("nic", "../etc")], "invalid nic"),
            (
                &[("ip", "198.51.100.50"), ("nic", "eth0,eth0")],
                "listed twice",
            ),
            (
                &[("ip", "198.51.100.50"), ("nic", "eth0:a,eth1")],
                "label goes in iflabel",
            ),
            (&[("ip", "198.51.100.50"), ("nic", "eth0,")], "invalid nic"),
            (
                &[("ip", "198.51.100.50"), ("vmac", "01:00:5e:00:00:01")],
                "multicast MAC",
            ),
            (
                &[("ip", "198.51.100.50"), ("vmac", "02:00:5e:00:01")],
                "invalid vmac",
            ),
            (
                &[("ip", "198.51.100.50"), ("vmac", "00:00:00:00:00:00")],
                "all-zero",
            ),
            (&[("ip", "198.51.100.50"), ("nic", "eth 0")], "invalid nic"),
            (
                &[
                    ("ip", "198.51.100.50"),
                    ("nic", "eth0"),
                    ("iflabel", "a-long-label"),
                ],
                "15-character",
            ),
            (
                &[("ip", "198.51.100.50"), ("iflabel", "x;y")],
                "invalid iflabel",
            ),
            (
                &[("ip", "2001:db8::50"), ("iflabel", "v6")],
                "IPv4 addresses only",
            ),
            (
                &[("ip", "198.51.100.50"), ("arp_count", "0")],
                "invalid arp_count",
            ),
            (
                &[("ip", "198.51.100.50"), ("arp_count", "-5")],
                "invalid arp_count",
            ),
            (
                &[
                    ("ip", "198.51.100.50"),
                    ("arp_count", "99999999999999999999999"),
                ],
                "invalid arp_count",
            ),
            (
                &[("ip", "198.51.100.50"), ("arp_count", "5x")],
                "invalid arp_count",
            ),
            (
                &[("ip", "198.51.100.50"), ("arp_interval", "0")],
                "invalid arp_interval",
            ),
            (
                &[("ip", "198.51.100.50"), ("arp_interval", "60001")],
                "invalid arp_interval",
            ),
            (
                &[("ip", "198.51.100.50"), ("arp_count_refresh", "1001")],
                "invalid arp_count_refresh",
            ),
            (
                &[("ip", "198.51.100.50"), ("arp_bg", "maybe")],
                "invalid arp_bg",
            ),
            (&[("ip", "198.51.100.50"), ("nodad", "2")], "invalid nodad"),
            (
                &[("ip", "198.51.100.50"), ("preferred_lft", "soon")],
                "invalid preferred_lft",
            ),
            (
                &[("ip", "198.51.100.50"), ("network_namespace", "../x")],
                "invalid network_namespace",
            ),
            (
                &[("ip", "198.51.100.50"), ("network_namespace", "a/b")],
                "invalid network_namespace",
            ),
            (
                &[("ip", "198.51.100.50"), ("network_namespace", "..")],
                "invalid network_namespace",
            ),
            (
                &[("ip", "198.51.100.50"), ("mac", "01:02:03:04:05:06")],
                "CLUSTERIP",
            ),
            (
                &[("ip", "198.51.100.50"), ("clusterip_hash", "sourceip")],
                "CLUSTERIP",
            ),
            (
                &[("ip", "198.51.100.50"), ("unique_clone_address", "true")],
                "unique_clone_address",
            ),
            (
                &[("ip", "198.51.100.50"), ("lvs_ipv6_addrlabel", "perhaps")],
                "invalid lvs_ipv6_addrlabel",
            ),
            (
                &[
                    ("ip", "2001:db8::50"),
                    ("lvs_ipv6_addrlabel_value", "4294967295"),
                ],
                "invalid lvs_ipv6_addrlabel_value",
            ),
            (
                &[("ip", "198.51.100.50"), ("proto", "kernell")],
                "invalid proto",
            ),
            (
                &[("ip", "198.51.100.50"), ("proto", "256")],
                "invalid proto",
            ),
            (&[("ip", "198.51.100.50"), ("proto", "-1")], "invalid proto"),
            (
                &[("ip", "198.51.100.50"), ("proto", "Kernel")],
                "invalid proto",
            ),
            (
                &[("ip", "198.51.100.50"), ("lvs_ipv6_addrlabel_value", "-1")],
                "invalid lvs_ipv6_addrlabel_value",
            ),
            (
                &[("ip", "2001:db8::50"), ("lvs_support", "true")],
                "lvs_support",
            ),
            (
                &[("ip", "198.51.100.50"), ("arp_probe_wait", "5")],
                "invalid arp_probe_wait",
            ),
            (
                &[("ip", "198.51.100.50"), ("check_link_status", "sometimes")],
                "invalid check_link_status",
            ),
            (
                &[("ip", "198.51.100.50"), ("failback_delay", "3600001")],
                "invalid failback_delay",
            ),
            (
                &[("ip", "198.51.100.50"), ("arp_repeat_delay", "-1")],
                "invalid arp_repeat_delay",
            ),
            (
                &[("ip", "198.51.100.50"), ("link_watch", "maybe")],
                "invalid link_watch",
            ),
            (
                &[
                    ("ip", "198.51.100.50"),
                    ("network_namespace", "ns\nocf-exit-reason:x"),
                ],
                "invalid network_namespace",
            ),
            (
                &[("ip", "198.51.100.50"), ("iflabel", "a\tb")],
                "invalid iflabel",
            ),
            (
                &[("ip", "198.51.100.50"), ("arp_sender", "send_arp\r")],
                "invalid arp_sender",
            ),
        ];
        for (pairs, want) in cases {
            let mut r = raw(&base);
            if pairs.iter().all(|(k, _)| *k != "ip") && pairs.is_empty() {
                r = RawParams::new();
            }
            for (k, v) in *pairs {
                r.set(k, *v);
            }
            let err = parse(&r, &Meta::default()).expect_err(&format!("{pairs:?} must fail"));
            assert_eq!(err.kind, Kind::Configured, "{pairs:?}: {err}");
            assert!(
                err.reason.contains(want),
                "{pairs:?}: reason {:?} lacks {want:?}",
                err.reason
            );
            assert!(
                !err.reason.contains('\n'),
                "{pairs:?}: reason is not one line"
            );
        }
    }

    #[test]
    fn non_utf8_values_are_rejected_and_shown_safely() {
        let mut r = RawParams::new();
        r.set("ip", OsString::from_vec(vec![0x31, 0xff, 0xfe]));
        let err = parse(&r, &Meta::default()).unwrap_err();
        assert_eq!(err.kind, Kind::Configured);
        assert!(err.reason.starts_with("invalid ip"), "{}", err.reason);
    }

    #[test]
    fn long_values_are_cut_in_reasons() {
        let long = "9".repeat(5000);
        let err = parse(&raw(&[("ip", &long)]), &Meta::default()).unwrap_err();
        assert!(err.reason.len() < 200, "{}", err.reason);
    }

    #[test]
    fn clusterip_hash_at_its_default_is_accepted_and_reported() {
        let p = ok(&[
            ("ip", "198.51.100.50"),
            ("clusterip_hash", "sourceip-sourceport"),
        ]);
        assert_eq!(p.ignored, vec!["clusterip_hash"]);
    }

    #[test]
    fn clones_are_refused() {
        let meta = Meta {
            clone_max: 2,
            ..Meta::default()
        };
        let err = parse(&raw(&[("ip", "198.51.100.50")]), &meta).unwrap_err();
        assert_eq!(err.kind, Kind::Configured);
    }

    fn timeout(ms: u64) -> Meta {
        Meta {
            timeout_ms: ms,
            ..Meta::default()
        }
    }

    #[test]
    fn start_waits_are_judged_against_the_start_timeout_only() {
        let slow = raw(&[
            ("ip", "198.51.100.50"),
            ("arp_bg", "false"),
            ("arp_count", "4"),
            ("arp_interval", "1000"),
        ]);
        // Parsing never depends on the operation's timeout.
        let p = parse(&slow, &timeout(4_000)).expect("parses under any timeout");
        assert!(check_fits(&p, &timeout(8_000)).is_ok());
        let err = check_fits(&p, &timeout(3_000)).unwrap_err();
        assert_eq!(err.kind, Kind::Configured);
        assert!(err.reason.contains("arp_bg=false 3000ms"), "{}", err.reason);
        // The margin is a quarter of a short timeout: 3999 leaves 3000, 3998 leaves 2999.
        assert!(check_fits(&p, &timeout(3_999)).is_ok());
        assert!(check_fits(&p, &timeout(3_998)).is_err());
    }

    #[test]
    fn probe_and_dad_waits_count_too() {
        let p = ok(&[
            ("ip", "198.51.100.50"),
            ("run_arping", "true"),
            ("arp_probe_wait", "10000"),
        ]);
        let err = check_fits(&p, &timeout(3_000)).unwrap_err();
        assert!(
            err.reason.contains("arp_probe_wait 10000ms"),
            "{}",
            err.reason
        );
        assert!(check_fits(&p, &timeout(20_000)).is_ok());
        let v6 = ok(&[("ip", "2001:db8::50")]);
        assert!(check_fits(&v6, &timeout(3_000)).is_err(), "DAD needs 3 s");
        let v6_nodad = ok(&[("ip", "2001:db8::50"), ("nodad", "true")]);
        assert!(
            check_fits(&v6_nodad, &timeout(1_000)).is_ok(),
            "no waits: fits"
        );
        assert_eq!(timeout_margin_ms(20_000), 2_000);
        assert_eq!(timeout_margin_ms(4_000), 1_000);
    }

    #[test]
    fn stop_and_monitor_work_from_whatever_identifies_the_address() {
        let r = raw(&[
            ("ip", "198.51.100.50"),
            ("nic", "eth0"),
            ("cidr_netmask", "24"),
            ("arp_count", "many"),
            ("arp_interval", "300"),
            ("iflabel", "bad label"),
        ]);
        assert!(parse(&r, &Meta::default()).is_err());
        let p = parse_lenient(&r, &Meta::default()).unwrap();
        assert_eq!(
            p.announce.interval_ms, 200,
            "only identifying parameters are kept, valid or not"
        );
        assert_eq!(p.nics, vec!["eth0".to_string()]);
        assert_eq!(p.prefix, Some(24));
        assert_eq!(p.label, None, "the invalid label is left out");
        assert_eq!(p.announce.count, 5, "defaults for the rest");
        assert!(
            p.warnings.iter().any(|w| w.contains("iflabel is left out")),
            "{:?}",
            p.warnings
        );
        // A clone that IPaddr2 would run as CLUSTERIP still identifies its address.
        let cloned = Meta {
            clone_max: 3,
            ..Meta::default()
        };
        assert!(parse_lenient(&raw(&[("ip", "198.51.100.50")]), &cloned).is_ok());
        // Only the address itself is indispensable.
        let err = parse_lenient(&raw(&[("ip", "300.1.1.1")]), &Meta::default()).unwrap_err();
        assert!(err.reason.contains("invalid ip"), "{}", err.reason);
        assert!(parse_lenient(&RawParams::new(), &Meta::default()).is_err());
    }

    #[test]
    fn broadcast_is_computed_from_the_prefix() {
        let ip: Ipv4Addr = "198.51.100.50".parse().unwrap();
        assert_eq!(
            broadcast_address(ip, 24, Broadcast::HostBitsSet),
            Some("198.51.100.255".parse().unwrap())
        );
        assert_eq!(
            broadcast_address(ip, 24, Broadcast::HostBitsClear),
            Some("198.51.100.0".parse().unwrap())
        );
        assert_eq!(
            broadcast_address(ip, 16, Broadcast::HostBitsSet),
            Some("198.51.255.255".parse().unwrap())
        );
        assert_eq!(broadcast_address(ip, 32, Broadcast::HostBitsSet), None);
    }

    #[test]
    fn slash_31_and_32_have_no_network_or_broadcast_address() {
        assert_eq!(
            network_or_broadcast("198.51.100.0".parse().unwrap(), 31),
            None
        );
        assert_eq!(
            network_or_broadcast("198.51.100.0".parse().unwrap(), 32),
            None
        );
    }

    #[test]
    fn table_names_are_unique() {
        for (i, a) in PARAMETERS.iter().enumerate() {
            assert!(
                PARAMETERS[i + 1..].iter().all(|b| b.name != a.name),
                "{}",
                a.name
            );
        }
    }
}
