//! The table of every parameter floatip accepts: the one source of everything the documents
//! say about a parameter. The meta-data (`ocf::metadata`) and the man page's PARAMETERS section
//! (`ocf::manpage`) and README.md's parameter table are generated from it, and `--help` takes
//! its one-line help.
//!
//! Each entry is also what parsing runs on: its value kind with its range, its default, and
//! its roles (identifying, ignored with the reason, reloadable). `parse` is a loop over this
//! table plus the checks that relate parameters to each other; adding a parameter is one entry
//! here and the code that uses its value.
//!
//! Meta-data semantics follow the OCF 1.1 spec, "Resource Agent Meta-Data"
//! (../shared/ocf/resource-agent-api-1.1.md): `required`, `reloadable` and `unique-group`.

use super::{checks, Broadcast, Lifetime};
use crate::error::Result;
use crate::packet::MacAddr;
use std::ffi::OsStr;
use std::net::IpAddr;

/// The typed key of each parameter, in table order: parsing and the code that uses a value
/// name it by key, so a misspelt parameter does not build (the string names are for the
/// outside world: the environment, flags and documents).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Ip,
    Nic,
    CidrNetmask,
    Proto,
    Broadcast,
    Iflabel,
    LvsSupport,
    LvsIpv6Addrlabel,
    LvsIpv6AddrlabelValue,
    Mac,
    ClusteripHash,
    UniqueCloneAddress,
    ArpInterval,
    ArpCount,
    ArpCountRefresh,
    ArpBg,
    ArpSender,
    SendArpOpts,
    FlushRoutes,
    RunArping,
    ArpProbeWait,
    Nodad,
    Noprefixroute,
    Metric,
    PreferredLft,
    NetworkNamespace,
    CheckLinkStatus,
    LinkWatch,
    ResetConnections,
    TickleClients,
    FailbackDelay,
    ConflictDefend,
    ArpRefreshInterval,
    ArpRepeatDelay,
    Vmac,
}

impl Key {
    /// This parameter's entry (a test keeps `PARAMETERS` in key order).
    pub fn spec(self) -> &'static ParamSpec {
        &PARAMETERS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }
}

/// A parsed value. Each kind of [`Kind`] yields one variant; the code reads it back through
/// [`FromValue`], so a value read as the wrong type fails the first test that parses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Integer(u64),
    Boolean(bool),
    Address(IpAddr),
    Text(String),
    /// `nic`: the interfaces in order of preference and the label of `nic:label`.
    Nics(Vec<String>, Option<String>),
    /// `cidr_netmask` and `proto`: one byte.
    Byte(u8),
    Broadcast(Broadcast),
    Lifetime(Lifetime),
    Mac(MacAddr),
}

/// A Rust type a [`Value`] variant converts to.
pub trait FromValue: Sized {
    fn from_value(value: &Value) -> Option<Self>;
}

macro_rules! from_value {
    ($type:ty, $pattern:pat => $out:expr) => {
        impl FromValue for $type {
            fn from_value(value: &Value) -> Option<Self> {
                match value {
                    $pattern => Some($out),
                    _ => None,
                }
            }
        }
    };
}

from_value!(u64, Value::Integer(n) => *n);
from_value!(bool, Value::Boolean(b) => *b);
from_value!(IpAddr, Value::Address(ip) => *ip);
from_value!(String, Value::Text(s) => s.clone());
from_value!((Vec<String>, Option<String>), Value::Nics(nics, label) => (nics.clone(), label.clone()));
from_value!(u8, Value::Byte(b) => *b);
from_value!(Broadcast, Value::Broadcast(b) => *b);
from_value!(Lifetime, Value::Lifetime(l) => *l);
from_value!(MacAddr, Value::Mac(m) => *m);

/// What a value's check may need besides the value: the address, parsed before every other
/// parameter, and where notes such as a dotted-netmask warning go.
#[derive(Debug)]
pub struct Context {
    pub ip: IpAddr,
    pub warnings: Vec<String>,
}

/// A named check: the raw value (already text without control characters) in, a typed value
/// or a reason naming the parameter out.
pub type CheckFn = fn(&OsStr, &mut Context) -> Result<Value>;

/// What values a parameter takes. Its range lives here and nowhere else in the code: parsing
/// checks it and the documents' range sentences are written from it (`{range}` in the prose).
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A decimal whole number, no sign, from min to max.
    Integer { min: u64, max: u64 },
    /// yes/no, true/false, on/off, 1/0.
    Boolean,
    /// An IPv4 or IPv6 address a floating address may be.
    Address,
    /// A name joined to a path (a namespace name): no `/`, not `.` or `..`.
    Name,
    /// One of `allowed`; any other value is refused with `otherwise`.
    Enumeration {
        allowed: &'static [&'static str],
        otherwise: &'static str,
    },
    /// Any text.
    Text,
    /// A named check for values with a grammar of their own.
    Check(CheckFn),
}

impl Kind {
    /// The content type as the meta-data spells it.
    pub fn ocf_type(self) -> &'static str {
        match self {
            Kind::Integer { .. } => "integer",
            Kind::Boolean => "boolean",
            _ => "string",
        }
    }

    /// The range sentence's numbers, for an integer.
    pub fn range(self) -> Option<(u64, u64)> {
        match self {
            Kind::Integer { min, max } => Some((min, max)),
            _ => None,
        }
    }
}

/// A parameter floatip accepts and does nothing with, and when that is so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    No,
    /// Set to anything but false: accepted and logged with the reason.
    Yes(&'static str),
    /// As `Yes`, for an IPv4 address only.
    ForIpv4(&'static str),
}

/// One parameter as the documents describe it.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub key: Key,
    pub name: &'static str,
    pub kind: Kind,
    /// The value used when the parameter is unset, as the meta-data's `default` shows it.
    pub default: Option<&'static str>,
    /// Without a default: what happens when it is unset, in a few words (README and man page;
    /// empty when there is nothing to say).
    pub unset: &'static str,
    pub required: bool,
    /// Takes effect through `reload-agent` without moving the address.
    pub reloadable: bool,
    /// Says where the address is: stop and monitor keep it even when other parameters are
    /// invalid (`parse_lenient`).
    pub identifying: bool,
    /// Accepted with no effect; the reason goes to the log.
    pub ignored: Ignored,
    /// The unit an integer is counted in, as log lines show it ("ms", "s"; empty for none).
    pub unit: &'static str,
    /// OCF 1.1 `unique-group`: no two resources may share the values of a group's parameters.
    pub unique_group: Option<&'static str>,
    /// The upstream agent version whose behaviour this follows, or "floatip only".
    pub upstream: &'static str,
    /// The meta-data's shortdesc.
    pub shortdesc: &'static str,
    /// The meta-data's longdesc and the man page's entry, one plain-text string per paragraph.
    pub longdesc: &'static [&'static str],
    /// One line for `--help`.
    pub help: &'static str,
    /// The meaning cell of README.md's parameter table (Markdown; `{range}` as in longdesc).
    pub readme: &'static str,
}

impl ParamSpec {
    /// The longdesc paragraphs as documents show them: `{range}` becomes the kind's range,
    /// "MIN to MAX", so the range sentences say what parsing checks.
    pub fn paragraphs(&self) -> Vec<String> {
        self.longdesc
            .iter()
            .map(|p| self.with_range(p, " to "))
            .collect()
    }

    /// `text` with `{range}` replaced by the kind's range, its bounds joined by `to`.
    pub fn with_range(&self, text: &str, to: &str) -> String {
        match self.kind.range() {
            Some((min, max)) => text.replace("{range}", &format!("{min}{to}{max}")),
            None => text.to_string(),
        }
    }
}

/// The fields most parameters share; each entry names the ones it changes (an entry that
/// takes any text leaves `kind` to this).
const BASE: ParamSpec = ParamSpec {
    key: Key::Ip,
    name: "",
    kind: Kind::Text,
    default: None,
    unset: "",
    required: false,
    reloadable: false,
    identifying: false,
    ignored: Ignored::No,
    unit: "",
    unique_group: None,
    upstream: IPADDR2,
    shortdesc: "",
    longdesc: &[],
    help: "",
    readme: "",
};

/// The IPaddr2 release floatip's parameter set started from (Debian 12's resource-agents).
const IPADDR2: &str = "IPaddr2 4.12";
const FLOATIP_ONLY: &str = "floatip only";
/// `ip` and `network_namespace`: the same address may float in two namespaces.
const ADDRESS_GROUP: Option<&str> = Some("address");

use Kind::{Boolean, Check, Enumeration, Integer, Name};

const CLUSTERIP: &str = "CLUSTERIP is not supported by floatip";

/// Longest interface name the kernel accepts (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;
/// Longest alternative interface name (ALTIFNAMSIZ - 1): `nic` may name an interface by one.
pub const ALTIFNAME_MAX: usize = 127;
// These ranges are also the resident plan's limits (`resident::plan` checks a plan against
// them), hence constants; every other range is written in its entry.
pub const ARP_COUNT_MAX: u32 = 1000;
pub const ARP_INTERVAL_MAX_MS: u32 = 60_000;
pub const REFRESH_INTERVAL_MAX_S: u32 = 3_600;
pub const FAILBACK_DELAY_MAX_MS: u64 = 3_600_000;
pub const REPEAT_DELAY_MAX_S: u32 = 3_600;

/// Every parameter, in meta-data order.
pub const PARAMETERS: &[ParamSpec] = &[
    // Spelled out in full: BASE has its key, so no field of it is left to BASE.
    ParamSpec {
        key: Key::Ip,
        name: "ip",
        kind: Kind::Address,
        default: None,
        unset: "(required)",
        required: true,
        reloadable: false,
        identifying: true,
        ignored: Ignored::No,
        unit: "",
        unique_group: ADDRESS_GROUP,
        upstream: IPADDR2,
        shortdesc: "Floating IPv4 or IPv6 address",
        longdesc: &[
            "The floating IPv4 or IPv6 address to manage, written as a bare address; the \
             prefix length belongs in cidr_netmask. IPv6 addresses are normalised to their \
             RFC 5952 text form (lower case, longest run of zero groups compressed), so \
             different spellings of the same address are treated alike.",
            "The following are refused: lo's own addresses (127.0.0.1 and ::1), multicast \
             addresses, the unspecified address (0.0.0.0 or ::), IPv4-mapped IPv6 addresses \
             (::ffff:a.b.c.d), and the network address or (for IPv4) the broadcast address \
             of the address's own prefix. An IPv6 link-local address (fe80::/10) is only \
             accepted together with an explicit nic, because it cannot be tied to an \
             interface through the routing table.",
            "Another IPv4 loopback address (127.0.0.0/8), such as 127.0.0.3, goes on lo \
             as IPaddr2 attaches it: with the loopback network's prefix /8 unless \
             cidr_netmask says otherwise, and nothing announced. nic must then be empty or \
             lo; lvs_support and vmac are refused with it.",
            "No two FloatIP resources may manage the same address in the same network \
             namespace: ip and network_namespace form one unique group.",
        ],
        help: "floating IPv4 or IPv6 address (required)",
        readme: "The floating IPv4 or IPv6 address; IPv6 is normalised (RFC 5952). lo's own \
         127.0.0.1 and ::1, multicast, unspecified, IPv4-mapped IPv6 and the network or \
         broadcast address of its prefix are refused. Another 127.x address goes on `lo` as \
         IPaddr2 attaches it (as /8, the loopback network, unless `cidr_netmask` says \
         otherwise; nothing is announced); `nic` must then be empty or `lo`. An IPv6 link-local \
         address (fe80::/10) needs `nic`. `ip` and `network_namespace` form the unique group \
         `address`: the same address may float in two namespaces.",
    },
    ParamSpec {
        key: Key::Nic,
        name: "nic",
        kind: Check(checks::nic),
        identifying: true,
        unset: "from routes",
        shortdesc: "Network interface, or standby adapters in order of preference",
        longdesc: &[
            "Name of the network interface that receives the address, for example eth0 or \
             bond0.100, or one of its alternative names (ip link property add dev eth0 \
             altname ...), which may be up to 127 bytes long (IPaddr2 4.17/4.18).",
            "When empty, the interface is chosen the way IPaddr2's findif chooses it since \
             4.17: among the routes of the main routing table that cover ip and have link \
             scope (of the protocol proto, when set), the one with the lowest metric wins, \
             then the longest prefix, then the lowest interface index, and its output \
             interface is used. Default routes and unreachable, blackhole and prohibit \
             routes are never considered. If no route qualifies, nic has to be given \
             explicitly; this is always the case for IPv6 link-local addresses.",
            "The form nic:label is accepted as well and is equivalent to setting iflabel to \
             label (see iflabel for the rules that apply to labels).",
            "Standby adapters (FloatIP-specific; IPaddr2 takes a single interface): a \
             comma-separated list such as eth0,eth1 names interfaces on the same segment in \
             order of preference. start uses the first that exists, is up with carrier and \
             is on the address's subnet (has a covering route, unless cidr_netmask is \
             given). Only an adapter on the same segment as the one holding the address \
             may take it: the background process sends a frame from each standby adapter \
             with carrier (at start and whenever one gains carrier, again every 5 s while \
             it is not heard) and trusts it only once the frame arrives on the holding \
             adapter; an adapter cabled elsewhere never receives the address. When the \
             adapter holding the address loses carrier, the address moves at once to the \
             next usable adapter on its segment, which announces it with its own MAC; it \
             moves back to a more preferred adapter only after that one has kept carrier \
             for failback_delay milliseconds. When no usable adapter holds the address, \
             monitor reports it not running (7) with the reason \"link down on NIC\" and \
             Pacemaker recovers the resource (at once with link_watch). So that the node's replies leave through the adapter that holds \
             the address, start sets ignore_routes_with_linkdown=1 on each listed adapter \
             (net.ipv4.conf.<adapter> or net.ipv6.conf.<adapter>; never the host-wide \
             setting), and for IPv4 also arp_ignore=1 and arp_announce=2; these stay set \
             after stop.",
        ],
        help: "interface, or standby adapters eth0,eth1 (default: from the route covering ip)",
        upstream: "IPaddr2 4.17",
        readme: "The interface, by its name or an alternative name of up to 127 bytes (`ip link \
         property add dev eth0 altname ...`; IPaddr2 4.17/4.18). When empty, found as IPaddr2's \
         findif does since 4.17: among the link-scope routes of the main table that cover `ip` \
         (default, unreachable, blackhole and prohibit routes ignored; only those of `proto` \
         when set), the one with the lowest metric, then the longest prefix, then the lowest \
         interface index. `nic:label` sets `iflabel`, which is built on the interface's own \
         name. Standby adapters (floatip's own): `eth0,eth1` lists interfaces on one segment in \
         order of preference; start uses the first that is up with carrier and on the address's \
         subnet, the address moves to the next one on the same segment (checked with probe \
         frames, see [The resident process](#the-resident-process)) at once when the active one \
         loses carrier (announced with that adapter's MAC), and back after `failback_delay` \
         (the resident process does both, see [The resident process](#the-resident-process)). \
         monitor succeeds while the address is on any usable listed adapter and says which; \
         when no usable one holds it, it reports the resource not running (7, \"link down on \
         NIC\") so Pacemaker recovers it.",
        ..BASE
    },
    ParamSpec {
        key: Key::CidrNetmask,
        name: "cidr_netmask",
        kind: Check(checks::prefix),
        identifying: true,
        unset: "from routes",
        shortdesc: "Prefix length (CIDR bits)",
        longdesc: &[
            "Prefix length of the address in CIDR notation, as a number of bits: 1 to 32 \
             for IPv4, 1 to 128 for IPv6. For IPv4 a dotted-quad netmask such as \
             255.255.255.0 is also accepted and converted to the prefix length, with a \
             warning in the log recommending the numeric form.",
            "When empty, the prefix length is taken from the route that the interface \
             lookup (see nic) finds for ip.",
            "When nic is empty, the given prefix length is checked against that route: it \
             must be equal to or longer than the prefix of the covering route, for IPv4 and \
             IPv6 alike (as today's IPaddr2; 4.12 wanted exactly the route's for IPv6).",
            "An IPv6 address is added with the metric of the route that placed it, also \
             when nic and cidr_netmask are given (IPaddr2 4.15), so that its prefix route is \
             that route rather than a second one with the kernel's metric 256.",
        ],
        help: "prefix length (default: from the covering route)",
        upstream: "IPaddr2 4.15",
        readme: "Prefix length (IPv4 1–32, IPv6 1–128; a dotted IPv4 netmask is accepted with a \
         warning). When empty, the covering route's. Without `nic`, a longer prefix than the \
         covering route's may be asked for, IPv4 and IPv6 alike (as today's findif; 4.12 wanted \
         the route's for IPv6), but not a shorter one. An IPv6 address is added with the metric \
         of the route that placed it, even with `nic` and `cidr_netmask` given (IPaddr2 4.15), \
         so its prefix route is that route and not a second one with the kernel's metric 256.",
        ..BASE
    },
    ParamSpec {
        key: Key::Proto,
        name: "proto",
        kind: Check(checks::proto),
        identifying: true,
        unset: "any protocol",
        upstream: "IPaddr2 4.16",
        shortdesc: "Routing protocol of the routes the interface lookup considers",
        longdesc: &[
            "When the interface or the prefix length is looked up from the routing table \
             (see nic and cidr_netmask), only routes installed by this routing protocol are \
             considered: a protocol name as ip route shows it, for example kernel, boot, \
             static or dhcp, or its number from 0 to 255. This keeps routes that a routing \
             daemon or a VPN added out of the choice. When empty, routes of every protocol \
             are considered, as before IPaddr2 4.16.",
        ],
        help: "consider only routes of this routing protocol (kernel, static, a number)",
        readme: "Only routes of this routing protocol place the address (IPaddr2 4.16): a name \
         from iproute2's rt_protos (`kernel`, `boot`, `static`, `ra`, `dhcp`, `bird`, ...) or a \
         number 0–255. `proto=kernel` keeps router-advertised and daemon-installed routes from \
         winning.",
        ..BASE
    },
    ParamSpec {
        key: Key::Broadcast,
        name: "broadcast",
        kind: Check(checks::broadcast),
        unset: "computed (+)",
        shortdesc: "IPv4 broadcast address",
        longdesc: &[
            "IPv4 only. Broadcast address to set together with the address. Besides an \
             explicit IPv4 address, two shorthands are understood: + sets all host bits of \
             the address (the usual broadcast address) and - clears them.",
            "When empty, the broadcast address is computed from ip and the prefix length \
             with all host bits set, that is the same as +.",
            "Setting this parameter for an IPv6 address is a configuration error, since \
             IPv6 has no broadcast.",
        ],
        help: "IPv4 broadcast address, + or - (default: computed)",
        readme: "IPv4 only: an address, `+` (host bits set, the default) or `-` (host bits \
         clear).",
        ..BASE
    },
    ParamSpec {
        key: Key::Iflabel,
        name: "iflabel",
        kind: Check(checks::label),
        identifying: true,
        shortdesc: "IPv4 interface label",
        longdesc: &[
            "IPv4 only. Label attached to the address, so that it is listed as nic:label, \
             for example eth0:vip (this is how older tools such as ifconfig show secondary \
             addresses). The complete nic:label string may be at most 15 characters long, \
             and the label may only contain letters, digits, underscore, hyphen and dot.",
            "When empty, the address gets no label of its own, unless nic was given in the \
             nic:label form.",
        ],
        help: "IPv4 address label, shown as nic:label",
        readme: "IPv4 only: the address label, shown as `nic:label` (15 characters at most).",
        ..BASE
    },
    ParamSpec {
        key: Key::LvsSupport,
        name: "lvs_support",
        kind: Boolean,
        identifying: true,
        default: Some("false"),
        shortdesc: "Move the address to loopback on stop (LVS-DR)",
        longdesc: &[
            "IPv4 only. When true, stop does not simply delete the address: it moves it to \
             the loopback interface as a /32 host address, and start takes it back from \
             there. This is meant for LVS direct-routing setups in which the cluster nodes \
             are also real servers and must keep accepting traffic for the virtual address \
             after the resource has moved to another node. Suppressing ARP replies for the \
             loopback copy (arp_ignore and arp_announce sysctls) remains the \
             administrator's job.",
            "Default: false, stop deletes the address.",
        ],
        help: "on stop keep the address on lo as /32 (IPv4)",
        readme: "IPv4 only: on stop, keep the address on `lo` as /32 (LVS direct-routing real \
         servers); start takes it back.",
        ..BASE
    },
    ParamSpec {
        key: Key::LvsIpv6Addrlabel,
        name: "lvs_ipv6_addrlabel",
        kind: Boolean,
        identifying: true,
        ignored: Ignored::ForIpv4(
            "address labels exist for IPv6 only (IPaddr2 4.15.1 accepts it for IPv4 too)",
        ),
        default: Some("true"),
        upstream: "IPaddr2 4.15.1",
        shortdesc: "IPv6 address label that keeps the address from being a source",
        longdesc: &[
            "IPv6 only. When true (the default, as in IPaddr2 since 4.15), start adds an \
             entry for the address to the kernel's address label table (ip addrlabel, the \
             policy table of RFC 6724) with the label lvs_ipv6_addrlabel_value, and stop \
             removes it. Source address selection then prefers an address whose label \
             matches the destination's, so the floating address is not picked as the \
             source of connections this node opens itself: such connections would break \
             when the address moves away, and LVS direct-routing health checks to real \
             servers that hold the address on loopback would never get an answer.",
            "For an IPv4 address the parameter is accepted and does nothing, as in IPaddr2 \
             4.15.1.",
            "Migration: IPaddr2 4.12 (Debian 12) and earlier floatip releases defaulted to \
             false. Set lvs_ipv6_addrlabel=false to keep that behaviour.",
        ],
        help: "IPv6: label the address so this node does not use it as a source",
        readme: "IPv6: start gives `ip`/128 the address label `lvs_ipv6_addrlabel_value` \
         (RTM_NEWADDRLABEL, before the address is added), so that RFC 6724 source selection \
         keeps the node's own outgoing connections on its fixed address; stop removes that \
         label, and only if it still has that value. True by default as in IPaddr2 4.15 (4.12: \
         false); accepted and ignored, with a log line when set, for IPv4 (4.15.1). \
         **Migration:** 4.12 users who relied on the floating address as the source of the \
         node's own connections set `lvs_ipv6_addrlabel=false`.",
        ..BASE
    },
    ParamSpec {
        key: Key::LvsIpv6AddrlabelValue,
        name: "lvs_ipv6_addrlabel_value",
        // The kernel reserves 0xffffffff (IPV6_ADDR_LABEL_DEFAULT) and refuses it as a label.
        kind: Integer { min: 0, max: u32::MAX as u64 - 1 },
        identifying: true,
        default: Some("99"),
        shortdesc: "IPv6 address label value",
        longdesc: &[
            "The label that lvs_ipv6_addrlabel gives the address, a whole number from \
             {range} (the kernel reserves 4294967295). Choose a label that the policy table (ip addrlabel list) does not \
             use otherwise; the default, 99, is IPaddr2's. Default: 99.",
        ],
        help: "the label lvs_ipv6_addrlabel uses",
        readme: "The label, {range} (the kernel reserves 4294967295). Pick one `ip addrlabel \
         list` does not use.",
        ..BASE
    },
    ParamSpec {
        key: Key::Mac,
        name: "mac",
        kind: Enumeration { allowed: &[], otherwise: CLUSTERIP },
        shortdesc: "CLUSTERIP MAC address (not supported)",
        longdesc: &[
            "In IPaddr2 this is the multicast MAC address for a CLUSTERIP (iptables-based \
             load-sharing) clone. FloatIP does not support CLUSTERIP, so any value is \
             rejected; leave this parameter unset. For a MAC address that moves with the \
             floating address, see vmac.",
        ],
        help: "CLUSTERIP MAC; not supported",
        readme: "IPaddr2's CLUSTERIP multicast MAC: not supported, any value is refused (see \
         `vmac` for a MAC that moves with the address).",
        ..BASE
    },
    ParamSpec {
        key: Key::ClusteripHash,
        name: "clusterip_hash",
        kind: Enumeration { allowed: &["sourceip-sourceport"], otherwise: CLUSTERIP },
        ignored: Ignored::Yes("it only matters in CLUSTERIP mode, which floatip does not support"),
        default: Some("sourceip-sourceport"),
        shortdesc: "CLUSTERIP hash mode (not supported)",
        longdesc: &[
            "In IPaddr2 this selects the hashing mode used to share a CLUSTERIP address \
             between clone instances. FloatIP does not support CLUSTERIP: its default \
             value, sourceip-sourceport, is accepted and ignored (it changes nothing \
             outside CLUSTERIP mode, so a migrated configuration may keep it), and any \
             other value is rejected.",
        ],
        help: "CLUSTERIP hash; not supported",
        readme: "IPaddr2's CLUSTERIP hash: not supported; the default changes nothing and is \
         accepted with a log line, any other value is refused.",
        ..BASE
    },
    ParamSpec {
        key: Key::UniqueCloneAddress,
        name: "unique_clone_address",
        kind: Boolean,
        default: Some("false"),
        shortdesc: "Per-clone unique address (not supported)",
        longdesc: &[
            "In IPaddr2, when true, each instance of a globally unique clone adds its clone \
             number to ip and so gets an address of its own. FloatIP does not support this: \
             false (the default) is accepted, true is rejected. Cloning the resource with \
             clone-max above 1 is rejected as well.",
        ],
        help: "not supported; true is rejected",
        readme: "IPaddr2's per-clone address: not supported; true (or cloning with clone-max > \
         1) is refused.",
        ..BASE
    },
    ParamSpec {
        key: Key::ArpInterval,
        name: "arp_interval",
        kind: Integer { min: 1, max: ARP_INTERVAL_MAX_MS as u64 },
        unit: "ms",
        default: Some("200"),
        reloadable: true,
        shortdesc: "Milliseconds between announcement rounds",
        longdesc: &[
            "Time between two announcement rounds, in milliseconds. Allowed range \
             {range}. Default: 200.",
        ],
        help: "milliseconds between announcement rounds",
        readme: "Milliseconds between announcement rounds ({range}).",
        ..BASE
    },
    ParamSpec {
        key: Key::ArpCount,
        name: "arp_count",
        kind: Integer { min: 1, max: ARP_COUNT_MAX as u64 },
        default: Some("5"),
        reloadable: true,
        shortdesc: "Announcement rounds after start",
        longdesc: &[
            "Number of announcement rounds sent after the address has been added by start. \
             Allowed range {range}. Default: 5.",
            "For an IPv4 address each round is two broadcast frames from the interface's \
             MAC: an ARP request and an ARP reply, both with sender IP and target IP equal \
             to ip (stacks and switches differ in which form they learn from). For an IPv6 \
             address each round is one unsolicited Neighbor Advertisement for ip sent to \
             the all-nodes group ff02::1 with the Override flag set, so that neighbours \
             replace any cached entry.",
            "The frames are built and sent by the agent itself; see arp_bg for how the \
             rounds are spread over time and arp_repeat_delay for a second burst.",
        ],
        help: "announcement rounds after start",
        readme: "Rounds after start ({range}). An IPv4 round is two broadcast frames from the \
         interface's MAC: an ARP request (sender IP = target IP = `ip`, target MAC zero) and an \
         ARP reply (target MAC = sender MAC): stacks and switches differ in which form they \
         learn from. An IPv6 round is one unsolicited Neighbor Advertisement to ff02::1, hop \
         limit 255, Override set, Solicited clear, Router set when the interface forwards, with \
         the target link-layer address option.",
        ..BASE
    },
    ParamSpec {
        key: Key::ArpCountRefresh,
        name: "arp_count_refresh",
        kind: Integer { min: 0, max: ARP_COUNT_MAX as u64 },
        default: Some("0"),
        reloadable: true,
        shortdesc: "Announcement rounds on each recurring monitor",
        longdesc: &[
            "Number of announcement rounds (of the kind described under arp_count) sent \
             during every recurring monitor, for IPv4 and IPv6 addresses alike. This helps \
             neighbours whose caches still point to another node, for example after a \
             network split. Allowed range {range}. Default: 0, recurring monitors send \
             nothing. Probes never send.",
        ],
        help: "announcement rounds on each recurring monitor",
        readme: "Rounds sent on every recurring monitor, IPv4 and IPv6 ({range}). Probes never \
         send.",
        ..BASE
    },
    ParamSpec {
        key: Key::ArpBg,
        name: "arp_bg",
        kind: Boolean,
        default: Some("true"),
        reloadable: true,
        shortdesc: "Send later announcement rounds in the background",
        longdesc: &[
            "When true, start sends the first announcement round itself, before it \
             returns, and leaves the remaining arp_count - 1 rounds to a detached \
             background process, so start does not wait arp_count times arp_interval. \
             Before each round that process checks again that the address is still \
             present on the interface and ends if it is not. stop ends the background \
             process before it removes the address.",
            "When false, start sends the whole burst before returning, so arp_count times \
             arp_interval must fit within the start timeout with a margin; validate-all and \
             start refuse a burst that cannot.",
            "Default: true, for IPv6 as well (IPaddr2 defaults to false for IPv6).",
        ],
        help: "send rounds after the first in the background",
        readme: "Send the rounds after the first from a detached process. stop ends it before it \
         removes the address, and the process re-checks before every round that the address is \
         still on the interface. Without it, the whole burst must fit in the operation timeout \
         (`validate-all` and `start` refuse a burst that cannot). True for IPv6 too (IPaddr2: \
         false). A reload takes effect at the next start.",
        ..BASE
    },
    ParamSpec {
        key: Key::ArpSender,
        name: "arp_sender",
        ignored: Ignored::Yes("floatip sends announcements in-process"),
        reloadable: true,
        shortdesc: "External ARP sender (ignored)",
        longdesc: &[
            "In IPaddr2 this chooses the external program that sends the announcements \
             (such as send_arp or arping). FloatIP always sends them itself, so any value \
             is accepted, logged as ignored, and has no effect.",
        ],
        help: "ignored: floatip sends in-process",
        readme: "Chose IPaddr2's external sender: accepted, logged once, ignored (floatip sends \
         in-process).",
        ..BASE
    },
    ParamSpec {
        key: Key::SendArpOpts,
        name: "send_arp_opts",
        ignored: Ignored::Yes("floatip sends announcements in-process"),
        reloadable: true,
        shortdesc: "Options for the external ARP sender (ignored)",
        longdesc: &[
            "In IPaddr2 these are extra command-line options for the external ARP sender. \
             FloatIP has no external sender, so any value is accepted, logged as ignored, \
             and has no effect.",
        ],
        help: "ignored: floatip sends in-process",
        readme: "Options for IPaddr2's external sender: accepted, logged once, ignored.",
        ..BASE
    },
    ParamSpec {
        key: Key::FlushRoutes,
        name: "flush_routes",
        kind: Boolean,
        ignored: Ignored::Yes("kernels without a route cache have nothing to flush"),
        default: Some("false"),
        shortdesc: "Flush the route cache on stop (no-op)",
        longdesc: &[
            "Accepted for compatibility with IPaddr2, which flushes the kernel's routing \
             cache on stop when this is true. Current kernels have no such cache (the IPv4 \
             route cache was removed in Linux 3.6), so in FloatIP this parameter does \
             nothing whatever its value; true is logged as ignored.",
        ],
        help: "accepted; a no-op",
        readme: "Accepted; a no-op (kernels without a route cache).",
        ..BASE
    },
    ParamSpec {
        key: Key::RunArping,
        name: "run_arping",
        kind: Boolean,
        default: Some("false"),
        shortdesc: "Probe for another owner before start",
        longdesc: &[
            "When true, start first probes the link for another machine already using the \
             address, before adding it: ARP probes with sender address 0.0.0.0 for IPv4 \
             (RFC 5227), Neighbor Solicitations from the unspecified address for IPv6 (RFC \
             4862), sent in-process rather than with arping. If another MAC answers, or \
             probes for the same address at the same time, start fails with a reason that \
             names that MAC and the address is not added. A probe that cannot be sent is \
             reported as such, never as \"nobody answered\". The probe listens for \
             arp_probe_wait milliseconds. Default: false, as in IPaddr2 (whose check runs \
             arping and covers IPv4 only).",
        ],
        help: "probe for another owner before adding the address",
        readme: "Before adding the address, probe for another owner (RFC 5227 ARP probes from \
         0.0.0.0; for IPv6 an NS from ::, RFC 4862), in-process, and fail start, naming its \
         MAC, if one answers. A probe that cannot be sent is reported as such.",
        ..BASE
    },
    ParamSpec {
        key: Key::ArpProbeWait,
        name: "arp_probe_wait",
        kind: Integer { min: 10, max: 10_000 },
        unit: "ms",
        default: Some("300"),
        reloadable: true,
        upstream: FLOATIP_ONLY,
        shortdesc: "Probe listening time in milliseconds",
        longdesc: &[
            "How long, in milliseconds, a duplicate-address probe listens for another owner \
             ({range}): the probe of run_arping before start, and the probe of a \
             monitor at OCF_CHECK_LEVEL 10. Two probes are sent, the second a third of the \
             way in. FloatIP-specific; IPaddr2 has no such parameter. Default: 300.",
        ],
        help: "milliseconds to listen for another owner when probing",
        readme: "Milliseconds a probe listens ({range}), for `run_arping` and for a monitor at \
         `OCF_CHECK_LEVEL=10`.",
        ..BASE
    },
    ParamSpec {
        key: Key::Nodad,
        name: "nodad",
        kind: Boolean,
        default: Some("false"),
        shortdesc: "Skip IPv6 Duplicate Address Detection",
        longdesc: &[
            "IPv6 only. When true, the address is added with Duplicate Address Detection \
             disabled: it is usable at once and the announcements start immediately.",
            "When false (the default), the kernel runs DAD and the address stays tentative \
             until it finishes; start waits for DAD to complete within its timeout before \
             announcing the address, and fails (removing the address) if DAD reports that \
             the address is already in use on the link.",
        ],
        help: "IPv6: skip duplicate address detection",
        readme: "IPv6: skip duplicate address detection. Without it start waits for DAD (about \
         1–2 s) within its timeout and fails with \"duplicate address detected\" if another \
         node answers, removing the address.",
        ..BASE
    },
    ParamSpec {
        key: Key::Noprefixroute,
        name: "noprefixroute",
        kind: Boolean,
        default: Some("false"),
        shortdesc: "Do not create the prefix route",
        longdesc: &[
            "When true, the kernel does not create the prefix route that normally comes \
             with an address (the route to the address's subnet through nic). Traffic to \
             other hosts of that subnet then follows whatever routes already exist. \
             Default: false, the prefix route is created.",
        ],
        help: "do not add the prefix route",
        readme: "Do not add the prefix route.",
        ..BASE
    },
    ParamSpec {
        key: Key::Metric,
        name: "metric",
        // What `ip address add ... metric N` accepts: IFA_RT_PRIORITY's whole u32.
        kind: Integer { min: 0, max: u32::MAX as u64 },
        unset: "placing route's (IPv6)",
        reloadable: true,
        upstream: FLOATIP_ONLY,
        shortdesc: "Metric of the address's prefix route",
        longdesc: &[
            "The metric (priority) of the prefix route that comes with the address, as ip \
             address add ... metric N sets it (IFA_RT_PRIORITY), for IPv4 and IPv6: a whole \
             number from {range}. It wins over the metric an IPv6 address otherwise \
             takes from the route that placed it (see cidr_netmask). For IPv6, 0 is the \
             kernel's own default, 256. The kernel gives an IPv4 prefix route only to the \
             first address of its subnet on the interface (a secondary address shares that \
             one's), so for IPv4 it matters when the address is alone in its subnet there, \
             for example with nic and cidr_netmask on an interface without an address of \
             that subnet.",
            "When unset, an IPv6 address takes the metric of the route that placed it and \
             an IPv4 address the kernel's, 0. With noprefixroute=true there is no prefix \
             route, so setting metric is a configuration error; so it is with standby \
             adapters (nic=eth0,eth1), between which the address moves without it.",
            "A reload-agent with a new metric changes the route of the running address in \
             place (the address is replaced, never removed); a removed metric applies at \
             the next start. For IPv6, where Linux keeps an address's route at its deletion \
             while another address of the prefix stays on the interface, and replaces the \
             first route of the prefix there on an in-place change, stop removes the route \
             of the address's metric when no address there has that metric any more, and \
             reload puts back a route the kernel took from another address. \
             FloatIP-specific (resource-agents issue #2210).",
        ],
        help: "metric of the address's prefix route (IPv4 and IPv6)",
        readme: "The metric of the address's prefix route (IFA_RT_PRIORITY, as `ip address add \
         ... metric N`), IPv4 and IPv6, {range} (for IPv6, 0 is the kernel's default 256). It \
         wins over the placing route's metric an IPv6 address takes otherwise; unset, IPv4 gets \
         the kernel's 0. The kernel gives an IPv4 prefix route only to the first address of a \
         subnet on an interface, so for IPv4 it matters when the address is alone in its subnet \
         there. With `noprefixroute=true`, or with standby adapters (the resident moves the \
         address without it), setting it is refused (6). reload-agent changes the running \
         address's route in place (RTM_NEWADDR with NLM_F_REPLACE: the address stays); a \
         removed metric applies at the next start. For IPv6 the kernel keeps an address's route \
         at its deletion while another address of the prefix stays on the interface, and an \
         in-place change replaces the first route of the prefix there, whoever's: stop takes \
         the route of its metric when no address there has that metric any more, and reload \
         puts back the route it took from another address. resource-agents #2210 asks IPaddr2 \
         for it.",
        ..BASE
    },
    ParamSpec {
        key: Key::PreferredLft,
        name: "preferred_lft",
        kind: Check(checks::lifetime),
        default: Some("forever"),
        shortdesc: "Preferred lifetime (forever or seconds)",
        longdesc: &[
            "Preferred lifetime of the address: the word forever, or a whole number of \
             seconds. The value 0 makes the address deprecated from the start, so the \
             kernel does not pick it as the source address for new outgoing connections, \
             while it still accepts traffic sent to it. Default: forever. An empty value is \
             rejected.",
        ],
        help: "preferred lifetime: forever or seconds",
        readme: "`forever` or seconds; 0 marks the address deprecated (never chosen as a \
         source).",
        ..BASE
    },
    ParamSpec {
        key: Key::NetworkNamespace,
        name: "network_namespace",
        kind: Name,
        identifying: true,
        unset: "the agent's own",
        unique_group: ADDRESS_GROUP,
        shortdesc: "Network namespace name",
        longdesc: &[
            "Name of a network namespace, as created by ip netns add, in which all work is \
             done: the interface, the route lookup, the address and the announcements all \
             belong to the namespace found at /var/run/netns/NAME. The name must not \
             contain a slash and must not be . or .. . When empty, the agent works in the \
             namespace it was started in.",
            "A missing namespace makes start fail with OCF_ERR_INSTALLED, monitor report \
             the resource as not running, and stop succeed. The same address may be \
             managed by two resources in two different namespaces (ip and \
             network_namespace form one unique group).",
        ],
        help: "network namespace under /var/run/netns",
        readme: "Work in the named network namespace under /var/run/netns (no `/`, not `.` or \
         `..`). A missing namespace is 5 for start, \"not running\" for monitor, success for \
         stop.",
        ..BASE
    },
    ParamSpec {
        key: Key::CheckLinkStatus,
        name: "check_link_status",
        kind: Boolean,
        default: Some("true"),
        upstream: "IPaddr2 4.17",
        shortdesc: "Require link up with carrier on nic",
        longdesc: &[
            "When true (the default), start refuses to add the address unless nic is up and \
             has carrier (OCF_ERR_INSTALLED, as IPaddr2 4.17), and every monitor checks the \
             same. If the link goes down while the address is present (and, with standby \
             adapters, no usable adapter holds it), monitor reports the resource not \
             running (OCF_NOT_RUNNING, as IPaddr2 today) with the reason \"link down on \
             NIC\", so that Pacemaker recovers it, possibly on another node. Set it to false \
             for interfaces that do not report carrier reliably; the address is then \
             managed regardless of link state.",
        ],
        help: "require the nic up with carrier",
        readme: "start requires, and monitor checks, that the interface is up with carrier: a \
         start on a down link is 5 (4.17); a link down with the address present (and no usable \
         standby adapter holding it) is \"not running\" to a monitor (7, as IPaddr2 today), \
         with the reason \"link down on NIC\", so Pacemaker recovers elsewhere.",
        ..BASE
    },
    ParamSpec {
        key: Key::LinkWatch,
        name: "link_watch",
        kind: Boolean,
        default: Some("false"),
        reloadable: true,
        upstream: FLOATIP_ONLY,
        shortdesc: "Tell Pacemaker at once when the link is lost",
        longdesc: &[
            "When true, the background process watches the adapter holding the address. \
             When that adapter loses carrier or is removed, and no usable standby adapter \
             is left (see nic), it tells Pacemaker at once, with crm_resource --fail for \
             this resource on this node, instead of leaving the discovery to the next \
             monitor. Pacemaker then recovers the resource as after a failed monitor, \
             typically on another node, so a cut cable costs milliseconds rather than a \
             monitor interval. Default: false, a lost link is found by the next monitor \
             (see check_link_status).",
        ],
        help: "tell Pacemaker at once when no listed adapter has carrier",
        readme: "The background process watches the adapter holding the address; when it loses \
         carrier or disappears and no standby adapter is left, it tells Pacemaker at once \
         (`crm_resource --fail` for this resource on this node) instead of waiting for the next \
         monitor.",
        ..BASE
    },
    ParamSpec {
        key: Key::ResetConnections,
        name: "reset_connections",
        kind: Boolean,
        default: Some("true"),
        reloadable: true,
        upstream: FLOATIP_ONLY,
        shortdesc: "Reset the address's TCP connections when it leaves this node",
        longdesc: &[
            "When true, stop resets every TCP connection whose local address is ip (the \
             kernel's SOCK_DESTROY, as ss -K does; listening sockets are left alone), before \
             the address is removed and once more right after, so that a client that \
             reconnected in between is not left on this node. Each client is told at once \
             and reconnects to wherever the address is next, instead of waiting for an \
             application timeout or TCP keepalive (two hours by default): once the address \
             has left, nothing on this node can answer those connections anyway. Default: \
             true, because a connection to an address that moved is dead either way and a \
             reset only makes the client find out now. Set false to leave connections for \
             the application to close (they fail at their next packet). A kernel without \
             SOCK_DESTROY (CONFIG_INET_DIAG_DESTROY) is logged and stop goes on.",
        ],
        help: "reset the address's TCP connections at stop (clients reconnect at once)",
        readme: "stop resets every TCP connection whose local address is `ip` (SOCK_DESTROY \
         through sock_diag, as `ss -K`; listening sockets are left alone), before the address \
         goes and once more right after, so each client reconnects at once to wherever the \
         address is next instead of waiting for a timeout or keepalive (2 h by default). Not \
         with `lvs_support` (the address stays on lo, serving). A kernel without SOCK_DESTROY \
         is logged; stop goes on.",
        ..BASE
    },
    ParamSpec {
        key: Key::TickleClients,
        name: "tickle_clients",
        kind: Boolean,
        default: Some("true"),
        reloadable: true,
        upstream: FLOATIP_ONLY,
        shortdesc: "Tell the clients of a failed node at once that their connections ended",
        longdesc: &[
            "When true, the node that holds the address records its clients' TCP connections \
             (every few seconds, at most 1024) and keeps the list in Pacemaker's attribute \
             manager (private attributes, stored under the other nodes' names; nothing in the \
             CIB). The node that starts the address after a failover sends each listed client \
             a tickle (an ACK with wrong numbers) right after its first announcement and once \
             more 600 ms later: the client answers, this node has no such connection and \
             resets it, and the client reconnects at once instead of waiting for a timeout. \
             Only connections to ip are recorded and tickled; a list that is malformed, too \
             large, of another address or older than 10 minutes is ignored (logged), never a \
             failed start. Default: true, because after a node is lost its clients' \
             connections are dead either way. Outside a cluster nothing is shared. Set false \
             to record and tickle nothing.",
        ],
        help: "tickle the previous owner's clients after a failover (clients reconnect at once)",
        readme: "the node holding the address records its clients' TCP connections every 5 s \
         (at most 1024) and keeps the list in Pacemaker's attribute manager (private \
         attributes under the other nodes' names: attrd erases a lost node's own values; \
         nothing in the CIB). The node that starts the address after a failover sends each \
         listed client a tickle (an ACK with wrong numbers: the client answers, this node \
         resets it, it reconnects at once) right after its first announcement and again \
         600 ms later. Only connections to `ip`; a malformed, oversized, foreign or stale \
         (> 10 min) list is logged and ignored, never a failed start. Outside a cluster \
         nothing is shared.",
        ..BASE
    },
    ParamSpec {
        key: Key::FailbackDelay,
        name: "failback_delay",
        kind: Integer { min: 0, max: FAILBACK_DELAY_MAX_MS },
        unit: "ms",
        default: Some("2000"),
        reloadable: true,
        upstream: FLOATIP_ONLY,
        shortdesc: "Milliseconds a preferred adapter keeps carrier before the address moves back",
        longdesc: &[
            "With standby adapters (nic=eth0,eth1) the address moves to a standby adapter \
             at once when the active adapter loses carrier. It moves back to a more \
             preferred adapter only after that adapter has kept carrier for this many \
             milliseconds, a hold-down against a flapping link. Allowed range {range}; \
             0 moves back as soon as carrier returns. Default: 2000. Without standby \
             adapters it has no effect.",
        ],
        help: "milliseconds a preferred adapter keeps carrier before the address moves back",
        readme: "With standby adapters: milliseconds a more preferred adapter must keep carrier \
         before the address moves back to it ({range}), a hold-down against flapping. Moving \
         away from an adapter that lost carrier is immediate.",
        ..BASE
    },
    ParamSpec {
        key: Key::ConflictDefend,
        name: "conflict_defend",
        kind: Boolean,
        default: Some("true"),
        reloadable: true,
        upstream: FLOATIP_ONLY,
        shortdesc: "Re-announce when another machine claims the address",
        longdesc: &[
            "When true (the default), floatip defends the address when another machine \
             claims it while this node holds it (for example a failed owner whose kernel \
             still answers ARP): a monitor at OCF_CHECK_LEVEL 10 that hears another MAC \
             answer its probe announces the address again at once (a short burst), and the \
             background process, while it runs, listens for other MACs announcing or \
             answering for the address and announces again at once, at most once every 10 \
             seconds (RFC 5227 section 2.4). Conflicts are logged with both MACs and shown \
             by floatip status.",
            "Either way such a monitor returns OCF_DEGRADED (190) with the other MAC in the \
             reason rather than failing: the address is still here, and moving it would \
             not silence the other machine. FloatIP-specific.",
        ],
        help: "re-announce when another machine claims the address",
        readme: "When another machine claims the address while this node holds it (a failed \
         owner whose kernel still answers ARP, say), announce again at once: a monitor at \
         `OCF_CHECK_LEVEL=10` that hears another MAC re-announces and returns 190 \
         (`OCF_DEGRADED`, with that MAC in the reason) rather than failing, and the background \
         process, while it runs, listens and re-announces (at most once per 10 s, RFC 5227 § \
         2.4). Conflicts are logged with both MACs and shown by `floatip status`.",
        ..BASE
    },
    ParamSpec {
        key: Key::ArpRefreshInterval,
        name: "arp_refresh_interval",
        kind: Integer { min: 0, max: REFRESH_INTERVAL_MAX_S as u64 },
        unit: "s",
        default: Some("0"),
        reloadable: true,
        upstream: FLOATIP_ONLY,
        shortdesc: "Seconds between background refreshes (0: off)",
        longdesc: &[
            "Seconds between refresh rounds sent by the background process for as long as \
             the resource runs (allowed range {range}; 0, the default, turns it off). A refresh \
             round is the broadcast announcement plus a unicast answer to every neighbour \
             this node knows on the link (an ARP reply for IPv4, a solicited Neighbor \
             Advertisement for IPv6), which Linux treats as confirmation: the neighbours' \
             entries stay REACHABLE and they never need to ask again. Keep it below the \
             neighbours' reachable time (15 to 45 seconds on Linux by default). While it \
             runs the process also defends the address (see conflict_defend). A recurring \
             monitor restarts the process if it has died. FloatIP-specific; independent of \
             arp_count_refresh, which sends rounds on each recurring monitor.",
        ],
        help: "seconds between background refreshes (0: off)",
        readme: "Seconds between refresh rounds from the background process for as long as the \
         resource runs ({range}; 0: off). A refresh round is the broadcast round plus a unicast \
         answer (ARP reply, solicited NA) to every neighbour this node knows on the link, which \
         Linux takes as confirmation: their entries stay REACHABLE and never go STALE→PROBE. \
         Keep it below the neighbours' reachable time (15–45 s on Linux). A recurring monitor \
         restarts the process if it died.",
        ..BASE
    },
    ParamSpec {
        key: Key::ArpRepeatDelay,
        name: "arp_repeat_delay",
        kind: Integer { min: 0, max: REPEAT_DELAY_MAX_S as u64 },
        unit: "s",
        default: Some("0"),
        reloadable: true,
        upstream: FLOATIP_ONLY,
        shortdesc: "Seconds after which the announcement burst is sent again (0: off)",
        longdesc: &[
            "Send the announcement burst (arp_count rounds, arp_interval apart) a second \
             time this many seconds after the first, after start and after every move \
             between standby adapters. This reaches neighbours behind switch ports that \
             were not yet forwarding at the first burst, for example while spanning tree \
             still holds a port that just came up in its listening and learning states. \
             Allowed range {range}. Default: 0, one burst only. Like keepalived's \
             vrrp_garp_master_delay.",
        ],
        help: "seconds after a burst to send it again (0: off)",
        readme: "Seconds after which the announcement burst is sent a second time, after start \
         and after every move ({range}; 0: off), for switch ports that were not yet forwarding \
         at the first burst (spanning tree). Like keepalived's `vrrp_garp_master_delay`.",
        ..BASE
    },
    ParamSpec {
        key: Key::Vmac,
        name: "vmac",
        kind: Check(checks::vmac),
        identifying: true,
        upstream: FLOATIP_ONLY,
        shortdesc: "Virtual MAC that moves with the address (auto or a MAC)",
        longdesc: &[
            "A virtual MAC address that moves with the floating address, so clients never \
             need to update their neighbour caches: auto (a locally administered MAC \
             derived from ip, the same on every node) or an explicit unicast MAC such as \
             02:00:5e:00:01:32. start creates a macvlan interface on nic named fip \
             followed by eight hex digits derived from ip, with that MAC, puts the address \
             on it and announces from it; the announcements also teach the switches the \
             MAC's new port. stop removes the address and the interface. For IPv4 the \
             lower interface's arp_ignore is set to 1 so that only the virtual interface \
             answers ARP for the address. It takes one nic: with standby adapters it is \
             refused (OCF_ERR_CONFIGURED). FloatIP-specific.",
        ],
        help: "virtual MAC that moves with the address: auto or a MAC",
        readme: "A virtual MAC that moves with the address: `auto` (derived from `ip`, the same \
         on every node) or an explicit unicast MAC. start creates a macvlan `fipXXXXXXXX` on \
         `nic` with that MAC, puts the address on it and announces from it; stop removes both. \
         Clients keep the same neighbour entry across moves; the announcement teaches the \
         switches the MAC's new port. It takes one `nic`; with standby adapters it is refused \
         (6).",
        ..BASE
    },
];

/// The entry of a name from outside (environment, flags); the code uses [`Key`] instead.
pub fn find_spec(name: &str) -> Option<&'static ParamSpec> {
    PARAMETERS.iter().find(|p| p.name == name)
}

/// The reloadable parameters, in table order.
pub fn reloadable_names() -> Vec<&'static str> {
    PARAMETERS
        .iter()
        .filter(|p| p.reloadable)
        .map(|p| p.name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_complete() {
        for p in PARAMETERS {
            assert!(!p.name.is_empty(), "an entry without a name");
            assert!(!p.shortdesc.is_empty(), "{}: no shortdesc", p.name);
            assert!(!p.longdesc.is_empty(), "{}: no longdesc", p.name);
            assert!(!p.help.is_empty(), "{}: no help", p.name);
            assert!(!p.upstream.is_empty(), "{}: no upstream note", p.name);
            assert!(
                p.default.is_none() || p.unset.is_empty(),
                "{}: a default and an unset text",
                p.name
            );
            assert_eq!(
                p.required,
                p.unset == "(required)",
                "{}: a required parameter's unset text is (required)",
                p.name
            );
        }
    }

    #[test]
    fn booleans_and_integers_have_defaults() {
        for p in PARAMETERS {
            match (p.kind, p.default) {
                (Kind::Boolean | Kind::Integer { .. }, Some(_)) => {}
                // Unset means something of its own, which the documents say.
                (Kind::Integer { .. }, None) if !p.unset.is_empty() => {}
                (Kind::Boolean | Kind::Integer { .. }, None) => {
                    panic!("{}: a boolean or integer without a default", p.name)
                }
                _ => {}
            }
        }
    }

    /// `Key::spec` indexes the table by key. A key added without an entry shifts the keys
    /// after it (caught here) or, added last, is out of the table's bounds at its first use.
    #[test]
    fn the_table_is_in_key_order() {
        for (i, p) in PARAMETERS.iter().enumerate() {
            assert_eq!(
                p.key as usize, i,
                "{}: entry {i} has key {:?}",
                p.name, p.key
            );
            assert_eq!(p.key.name(), p.name);
        }
    }

    /// The key is the name in CamelCase, so an entry cannot pair a key with another name.
    #[test]
    fn each_key_spells_its_name() {
        for p in PARAMETERS {
            let mut snake = String::new();
            for c in format!("{:?}", p.key).chars() {
                if c.is_ascii_uppercase() && !snake.is_empty() {
                    snake.push('_');
                }
                snake.push(c.to_ascii_lowercase());
            }
            assert_eq!(snake, p.name);
        }
    }

    #[test]
    fn integer_ranges_are_not_empty() {
        for p in PARAMETERS {
            if let Some((min, max)) = p.kind.range() {
                assert!(min <= max, "{}: {min} to {max}", p.name);
            }
        }
    }

    #[test]
    fn ignored_parameters_have_a_reason_and_clusterip_hash_only_its_default() {
        let ignored: Vec<&str> = PARAMETERS
            .iter()
            .filter(|p| p.ignored != Ignored::No)
            .map(|p| p.name)
            .collect();
        assert_eq!(
            ignored,
            [
                "lvs_ipv6_addrlabel",
                "clusterip_hash",
                "arp_sender",
                "send_arp_opts",
                "flush_routes"
            ]
        );
        for p in PARAMETERS {
            if let Ignored::Yes(why) | Ignored::ForIpv4(why) = p.ignored {
                assert!(!why.is_empty(), "{}", p.name);
            }
        }
    }

    #[test]
    fn the_identifying_set_says_where_the_address_is() {
        let identifying: Vec<&str> = PARAMETERS
            .iter()
            .filter(|p| p.identifying)
            .map(|p| p.name)
            .collect();
        assert_eq!(
            identifying,
            [
                "ip",
                "nic",
                "cidr_netmask",
                "proto",
                "iflabel",
                "lvs_support",
                "lvs_ipv6_addrlabel",
                "lvs_ipv6_addrlabel_value",
                "network_namespace",
                "vmac"
            ]
        );
    }

    /// Each integer's range sentence is written from its kind: the prose says `{range}` once,
    /// and no other entry uses the placeholder.
    #[test]
    fn integer_prose_takes_its_range_from_the_kind() {
        for p in PARAMETERS {
            let placeholders: usize = p
                .longdesc
                .iter()
                .map(|t| t.matches("{range}").count())
                .sum();
            let want = usize::from(p.kind.range().is_some());
            assert_eq!(placeholders, want, "{}: {{range}} in its longdesc", p.name);
            assert!(
                p.paragraphs().iter().all(|t| !t.contains('{')),
                "{}",
                p.name
            );
        }
        let arp_count = Key::ArpCount.spec().paragraphs();
        assert!(
            arp_count[0].contains("Allowed range 1 to 1000."),
            "{arp_count:?}"
        );
    }

    /// The word marks reloadable parameters in the man page, so prose must not use it.
    #[test]
    fn prose_leaves_the_word_reloadable_to_the_marks() {
        for p in PARAMETERS {
            for text in p.longdesc.iter().chain([&p.shortdesc, &p.help]) {
                assert!(!text.contains("reloadable"), "{}: {text}", p.name);
            }
        }
    }

    #[test]
    fn the_address_group_is_ip_and_network_namespace() {
        let group: Vec<&str> = PARAMETERS
            .iter()
            .filter(|p| p.unique_group == ADDRESS_GROUP)
            .map(|p| p.name)
            .collect();
        assert_eq!(group, ["ip", "network_namespace"]);
    }

    #[test]
    fn the_reloadable_set_is_the_announcement_and_watch_settings() {
        assert_eq!(
            reloadable_names(),
            [
                "arp_interval",
                "arp_count",
                "arp_count_refresh",
                "arp_bg",
                "arp_sender",
                "send_arp_opts",
                "arp_probe_wait",
                "metric",
                "link_watch",
                "reset_connections",
                "tickle_clients",
                "failback_delay",
                "conflict_defend",
                "arp_refresh_interval",
                "arp_repeat_delay",
            ]
        );
    }
}
