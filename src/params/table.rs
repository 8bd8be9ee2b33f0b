//! The table of every parameter floatip accepts: name, type, default and the help text.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Integer,
    Boolean,
}

impl Kind {
    /// The content type as the meta-data spells it.
    pub fn ocf_type(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Integer => "integer",
            Kind::Boolean => "boolean",
        }
    }
}

/// One parameter as the meta-data documents it.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub name: &'static str,
    pub kind: Kind,
    pub default: Option<&'static str>,
    pub reloadable: bool,
    /// One line for `--help` and the man page; the meta-data carries the long text.
    pub help: &'static str,
}

const fn spec(
    name: &'static str,
    kind: Kind,
    default: Option<&'static str>,
    reloadable: bool,
    help: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        kind,
        default,
        reloadable,
        help,
    }
}

use Kind::{Boolean, Integer, String as Str};

/// Every parameter, in meta-data order. A test keeps this and metadata/FloatIP.xml in step.
pub const PARAMETERS: &[ParamSpec] = &[
    spec(
        "ip",
        Str,
        None,
        false,
        "floating IPv4 or IPv6 address (required)",
    ),
    spec(
        "nic",
        Str,
        None,
        false,
        "interface (default: found from the route covering ip)",
    ),
    spec(
        "cidr_netmask",
        Str,
        None,
        false,
        "prefix length (default: from the covering route)",
    ),
    spec(
        "broadcast",
        Str,
        None,
        false,
        "IPv4 broadcast address, + or - (default: computed)",
    ),
    spec(
        "iflabel",
        Str,
        None,
        false,
        "IPv4 address label, shown as nic:label",
    ),
    spec(
        "lvs_support",
        Boolean,
        Some("false"),
        false,
        "on stop keep the address on lo as /32 (IPv4)",
    ),
    spec(
        "lvs_ipv6_addrlabel",
        Boolean,
        Some("false"),
        false,
        "not supported; true is rejected",
    ),
    spec(
        "lvs_ipv6_addrlabel_value",
        Integer,
        Some("99"),
        false,
        "accepted for compatibility",
    ),
    spec("mac", Str, None, false, "CLUSTERIP MAC; not supported"),
    spec(
        "clusterip_hash",
        Str,
        Some("sourceip-sourceport"),
        false,
        "CLUSTERIP hash; not supported",
    ),
    spec(
        "unique_clone_address",
        Boolean,
        Some("false"),
        false,
        "not supported; true is rejected",
    ),
    spec(
        "arp_interval",
        Integer,
        Some("200"),
        true,
        "milliseconds between announcement rounds",
    ),
    spec(
        "arp_count",
        Integer,
        Some("5"),
        true,
        "announcement rounds after start",
    ),
    spec(
        "arp_count_refresh",
        Integer,
        Some("0"),
        true,
        "announcement rounds on each recurring monitor",
    ),
    spec(
        "arp_bg",
        Boolean,
        Some("true"),
        true,
        "send rounds after the first in the background",
    ),
    spec(
        "arp_sender",
        Str,
        None,
        true,
        "ignored: floatip sends in-process",
    ),
    spec(
        "send_arp_opts",
        Str,
        None,
        true,
        "ignored: floatip sends in-process",
    ),
    spec(
        "flush_routes",
        Boolean,
        Some("false"),
        false,
        "accepted; a no-op",
    ),
    spec(
        "run_arping",
        Boolean,
        Some("false"),
        false,
        "probe for another owner before adding the address",
    ),
    spec(
        "arp_probe_wait",
        Integer,
        Some("300"),
        true,
        "milliseconds to listen for another owner when probing",
    ),
    spec(
        "nodad",
        Boolean,
        Some("false"),
        false,
        "IPv6: skip duplicate address detection",
    ),
    spec(
        "noprefixroute",
        Boolean,
        Some("false"),
        false,
        "do not add the prefix route",
    ),
    spec(
        "preferred_lft",
        Str,
        Some("forever"),
        false,
        "preferred lifetime: forever or seconds",
    ),
    spec(
        "network_namespace",
        Str,
        None,
        false,
        "network namespace under /var/run/netns",
    ),
    spec(
        "check_link_status",
        Boolean,
        Some("true"),
        false,
        "require the nic up with carrier",
    ),
    spec(
        "conflict_defend",
        Boolean,
        Some("true"),
        true,
        "re-announce when another machine claims the address",
    ),
    spec(
        "arp_refresh_interval",
        Integer,
        Some("0"),
        true,
        "seconds between background refreshes (0: off)",
    ),
    spec(
        "vmac",
        Str,
        None,
        false,
        "virtual MAC that moves with the address: auto or a MAC",
    ),
];

pub fn find_spec(name: &str) -> Option<&'static ParamSpec> {
    PARAMETERS.iter().find(|p| p.name == name)
}
