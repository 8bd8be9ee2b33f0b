#!/usr/bin/env bash
# The exit codes of README's "Exit codes against IPaddr2's" table, measured: runs each case
# against Debian 12's IPaddr2 (4.12, this machine's resource-agents), Debian 13's (4.16, from
# the root tests/cluster/debian13-root.sh caches, its shell library and findif over this
# machine's ip) and the installed floatip, in network namespaces of its own, and prints one
# line per case. The 4.17/4.18 and upstream-main columns come from the upstream sources (no
# Debian package ships them); the lab tests (tests/ipaddr2_today_lab.rs) assert floatip's.
#
#   bash tests/ipaddr2_codes.sh          # as root; about 20 s
set -uo pipefail
[[ $(id -u) == 0 ]] || { echo "tests/ipaddr2_codes.sh: must run as root (namespaces)" >&2; exit 1; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NS=fipcodes-$$
PEER=$NS-peer
cleanup() { ip netns del "$NS" 2>/dev/null; ip netns del "$PEER" 2>/dev/null; }
trap cleanup EXIT

agents=() names=()
if [[ -x /usr/lib/ocf/resource.d/heartbeat/IPaddr2 ]]; then
    agents+=("/usr/lib/ocf/resource.d/heartbeat/IPaddr2|/usr/lib/ocf")
    names+=("4.12 ($(dpkg-query -W -f='${Version}' resource-agents 2>/dev/null))")
fi
root13=$(bash "$HERE/cluster/debian13-root.sh" path 2>/dev/null || true)
if [[ -n $root13 && -x $root13/usr/lib/ocf/resource.d/heartbeat/IPaddr2 ]]; then
    agents+=("$root13/usr/lib/ocf/resource.d/heartbeat/IPaddr2|$root13/usr/lib/ocf")
    names+=("4.16 ($(sed -n 's/^Version: //p' <(awk '/^Package: resource-agents$/,/^$/' "$root13/var/lib/dpkg/status")))")
else
    echo "(no Debian 13 root: bash tests/cluster/debian13-root.sh ensure builds it)"
fi
agents+=("/usr/lib/ocf/resource.d/floatip/FloatIP|/usr/lib/ocf")
names+=("floatip")

inns() { ip netns exec "$NS" "$@"; }
# a node with eth0 cabled to a peer (carrier follows the peer's end), no address
fresh() {
    cleanup
    ip netns add "$NS" && ip netns add "$PEER" || exit 1
    ip -n "$NS" link set lo up
    ip -n "$NS" link add eth0 type veth peer name eth0 netns "$PEER"
    ip -n "$NS" link set eth0 up; ip -n "$PEER" link set eth0 up
}
# run AGENT ACTION [VAR=VALUE...] : prints the exit code
run() {
    local agent=${1%%|*} ocfroot=${1#*|} action=$2; shift 2
    inns env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin OCF_ROOT="$ocfroot" \
        OCF_RESOURCE_INSTANCE=codes OCF_RESKEY_CRM_meta_timeout=20000 "$@" \
        timeout 30 "$agent" "$action" >/dev/null 2>&1
    echo $?
}

declare -A CODE
for i in "${!agents[@]}"; do
    a=${agents[$i]}
    # no route places the address
    fresh
    CODE[noroute,$i]=$(run "$a" start OCF_RESKEY_ip=198.51.100.50)
    run "$a" stop OCF_RESKEY_ip=198.51.100.50 >/dev/null
    # start on a link without carrier (the peer's end is down)
    fresh; inns ip addr add 198.51.100.1/24 dev eth0; ip -n "$PEER" link set eth0 down
    CODE[startdown,$i]=$(run "$a" start OCF_RESKEY_ip=198.51.100.50 OCF_RESKEY_cidr_netmask=24 OCF_RESKEY_nic=eth0)
    run "$a" stop OCF_RESKEY_ip=198.51.100.50 OCF_RESKEY_cidr_netmask=24 OCF_RESKEY_nic=eth0 >/dev/null
    # a recurring monitor after the carrier went
    fresh; inns ip addr add 198.51.100.1/24 dev eth0
    run "$a" start OCF_RESKEY_ip=198.51.100.50 OCF_RESKEY_cidr_netmask=24 OCF_RESKEY_nic=eth0 >/dev/null
    ip -n "$PEER" link set eth0 down
    CODE[mondown,$i]=$(run "$a" monitor OCF_RESKEY_ip=198.51.100.50 OCF_RESKEY_cidr_netmask=24 OCF_RESKEY_nic=eth0 OCF_RESKEY_CRM_meta_interval=10000)
    run "$a" stop OCF_RESKEY_ip=198.51.100.50 OCF_RESKEY_cidr_netmask=24 OCF_RESKEY_nic=eth0 >/dev/null
    # IPv6, a /80 asked for inside the node's /64, no nic
    fresh; inns ip addr add 2001:db8:100::1/64 dev eth0 nodad
    CODE[v6prefix,$i]=$(run "$a" start OCF_RESKEY_ip=2001:db8:100::50 OCF_RESKEY_cidr_netmask=80 OCF_RESKEY_nodad=true)
    run "$a" stop OCF_RESKEY_ip=2001:db8:100::50 OCF_RESKEY_cidr_netmask=80 >/dev/null
    # upstream ocft's "Attachment to loopback interface": start, monitor, stop
    fresh
    CODE[loopback,$i]="$(run "$a" start OCF_RESKEY_ip=127.0.0.3 OCF_RESKEY_broadcast=127.255.255.255)/$(run "$a" monitor OCF_RESKEY_ip=127.0.0.3 OCF_RESKEY_broadcast=127.255.255.255)/$(run "$a" stop OCF_RESKEY_ip=127.0.0.3 OCF_RESKEY_broadcast=127.255.255.255)"
    # the three deliberate differences
    fresh; inns ip addr add 198.51.100.1/24 dev eth0
    CODE[badmask,$i]=$(run "$a" start OCF_RESKEY_ip=198.51.100.50 OCF_RESKEY_cidr_netmask=not_netmask)
    CODE[validnic,$i]=$(run "$a" validate-all OCF_RESKEY_ip=198.51.100.50 OCF_RESKEY_nic=eth9)
    inns ip link add eth1 type veth peer name eth1 netns "$PEER"
    inns ip link set eth1 up; ip -n "$PEER" link set eth1 up; inns ip addr add 203.0.113.1/24 dev eth1
    run "$a" start OCF_RESKEY_ip=203.0.113.50 OCF_RESKEY_cidr_netmask=24 OCF_RESKEY_nic=eth1 >/dev/null
    inns ip link del eth1
    CODE[nicgone,$i]=$(run "$a" monitor OCF_RESKEY_ip=203.0.113.50 OCF_RESKEY_cidr_netmask=24 OCF_RESKEY_nic=eth1 OCF_RESKEY_CRM_meta_interval=10000)
done

row() {   # key label
    local line="| $2 |" i
    for i in "${!agents[@]}"; do line+=" ${CODE[$1,$i]} |"; done
    echo "$line"
}
header="| case |"; sep="|---|"
for n in "${names[@]}"; do header+=" $n |"; sep+="---|"; done
echo "$header"; echo "$sep"
row noroute "start, no route places the address"
row startdown "start, the link has no carrier"
row mondown "recurring monitor, the link lost its carrier"
row v6prefix "IPv6 cidr_netmask=80 inside the node's /64, no nic"
row loopback "ip=127.0.0.3, no nic: start/monitor/stop"
row badmask "start, cidr_netmask=not_netmask"
row validnic "validate-all, nic absent on this node"
row nicgone "recurring monitor, the nic vanished"
