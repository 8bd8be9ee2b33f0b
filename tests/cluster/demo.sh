#!/usr/bin/env bash
# The main job, end to end: a 2-node Pacemaker cluster moves a floating IP managed by
# ocf:floatip:FloatIP while a client pings it every 10 ms, and the client's view of the
# move is printed as a timeline.  `make demo` builds the release binary, then runs this.
#
#   bash tests/cluster/demo.sh                      # as root, after cargo build --release
#   DEMO_INSTALL=override bash tests/cluster/demo.sh
#
# DEMO_INSTALL=deb (default): installs floatip from the fresh build the way a user would,
#   packaging/build-deb.sh --no-build + dpkg -i (the package stays installed).
# DEMO_INSTALL=override: leaves the host's packages alone; the fresh binary is only
#   made visible inside the lab's nodes (LAB_AGENT_OVERRIDE, see README.md).
#
# Everything runs in network namespaces created for the demo (a private bridge, two
# nodes, one client); the host's own interfaces are never touched.  The lab is torn down
# on exit, also on Ctrl-C.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DEMO_INSTALL=${DEMO_INSTALL:-deb}
BIN=$REPO/target/release/floatip
VIP=198.51.100.100

if [[ $DEMO_INSTALL == override ]]; then
    export LAB_AGENT_OVERRIDE="floatip:FloatIP=$BIN"
fi
# shellcheck source=lab.sh
source "$HERE/lab.sh"
# shellcheck source=test_floatip_lib.sh
source "$HERE/test_floatip_lib.sh"

NM_PID=""
on_exit() {
    local rc=$?
    trap - EXIT INT TERM HUP
    [[ -n $NM_PID ]] && kill "$NM_PID" 2>/dev/null
    fip_cap_stop
    if [[ -n ${LAB:-} && -d $LAB_ROOT/${LAB:-none} ]]; then
        echo
        echo "== Tearing the lab down"
        lab_down_mine 2>&1 | sed 's/^\[lab [0-9:.]*\] /   /'
    fi
    exit $rc
}
trap on_exit EXIT
trap 'echo; echo "interrupted"; exit 130' INT TERM HUP

die() { echo "demo: $*" >&2; exit 1; }
hdr() { echo; echo "== $*"; }
say() { echo "   $*"; }
# show WHERE CMD... : print the command as typed on WHERE, run it, indent its output
show_crm() {   # node crm-args...
    local node=$1; shift
    echo "   $node# crm $*"
    lab_crm "$LAB" "$node" "$@" 2>&1 | grep -v 'Blind faith' | sed 's/^/     /'
    return "${PIPESTATUS[0]}"
}
show_mon() {   # node
    echo "   $1# crm_mon -1"
    lab_exec "$LAB" "$1" crm_mon -1 2>&1 | sed 's/^/     /'
}
show_client() {
    echo "   client\$ $*"
    lab_client "$LAB" "$@" 2>&1 | sed 's/^/     /'
}
who() { local o; o=$(lab_mac_owner "$LAB" "$1"); [[ $o == unknown ]] && echo "?" || echo "$o"; }

[[ $(id -u) == 0 ]] || die "run as root (it creates network namespaces and starts pacemaker)"
[[ -x $BIN ]] || die "$BIN not found: run 'cargo build --release' first (make demo does)"
for tool in corosync pacemakerd crm crm_mon ip ping nsenter; do
    command -v "$tool" >/dev/null || die "$tool not found: run tests/setup.sh first (make demo does)"
done
[[ -n $FIP_PY ]] || die "python3 not found (the client's packet capture uses it)"

echo "floatip demo: a Pacemaker cluster moves a floating IP, a client keeps pinging it"
echo "(everything runs in private network namespaces; the host's interfaces are not touched)"

# ------------------------------------------------------------------ 1. install
hdr "1. Installing floatip from the fresh build"
if [[ $DEMO_INSTALL == deb ]]; then
    echo "   # bash packaging/build-deb.sh --no-build"
    deb=$(cd "$REPO" && bash packaging/build-deb.sh --no-build 2>&1 | tail -n1)
    [[ -f $deb ]] || die "build-deb.sh did not produce a package: $deb"
    echo "     $deb"
    echo "   # dpkg -i ${deb#"$REPO"/}"
    dpkg -i "$deb" 2>&1 | sed 's/^/     /'
    [[ ${PIPESTATUS[0]} == 0 ]] || die "dpkg -i failed"
    echo "   # floatip --version"
    echo "     $(/usr/sbin/floatip --version)"
else
    say "DEMO_INSTALL=override: $BIN is made visible as ocf:floatip:FloatIP inside the"
    say "lab's nodes only (the host's packages are left alone)"
    echo "     $("$BIN" --version)"
fi

# ------------------------------------------------------------------ 2. lab
hdr "2. Bringing up a 2-node cluster (corosync + pacemaker, one namespace per node)"
lab_up 2 2>/dev/null || { lab_up_rc=$?; die "the lab did not come up (rc $lab_up_rc); try: bash tests/cluster/test_ipaddr2_smoke.sh"; }
say "lab $LAB is up in $(awk -v ms="$LAB_UP_MS" 'BEGIN { printf "%.1f", ms / 1000 }') s:"
for n in node1 node2; do
    say "  $n   $(lab_node_ip "$LAB" "$n")/24    MAC $(lab_node_mac "$LAB" "$n")"
done
say "  client  $LAB_NET4.254/24   MAC $(lab_client_mac)  (arp_accept=0: a gratuitous ARP"
say "                                               only updates an entry it already has)"
say "  all on one bridge, in a namespace of its own"

# ------------------------------------------------------------------ 3. configure
hdr "3. Configuring the floating IP with crmsh"
show_crm node1 configure primitive vip ocf:floatip:FloatIP \
    params ip=$VIP cidr_netmask=24 op monitor interval=2s timeout=20s || die "crm configure failed"
A=$(lab_wait_rsc "$LAB" vip any 60) || die "vip did not start"
B=node2; [[ $A == node2 ]] && B=node1
echo
show_mon node1
echo
echo "   $A# ip -br addr show eth0"
lab_exec "$LAB" "$A" ip -br addr show eth0 | sed 's/^/     /'

# ------------------------------------------------------------------ 4. client
hdr "4. The client pings $VIP every 10 ms"
lab_client_ping "$LAB" "$VIP" 10 || die "the client cannot ping $VIP"
show_client ip neigh show "$VIP"
say "  (that is $A's MAC)"
STATE=$LAB_ROOT/$LAB
nsenter --net="/run/netns/$LAB-client" -- ip -ts monitor neigh >"$STATE/neigh-monitor.txt" 2>&1 </dev/null &
NM_PID=$!
fip_cap_start "$LAB" "$STATE/capture.txt" 120 || die "the client's capture did not start"
lab_pinger_start "$LAB" "$VIP" || die "the pinger did not start"
say "pinger running: ping -n -D -O -i 0.01 $VIP (in the client's namespace)"
sleep 1

# ------------------------------------------------------------------ 5. move
hdr "5. Moving the floating IP to $B"
T0=$EPOCHREALTIME
show_crm node1 resource move vip "$B" || die "crm resource move failed"
lab_wait_rsc "$LAB" vip "$B" 60 >/dev/null || die "vip did not start on $B"
lab_wait_neigh "$LAB" "$VIP" "$(lab_node_mac "$LAB" "$B")" 15 || die "the client did not follow"
sleep 1
STATS=$(lab_pinger_stop "$LAB")
fip_cap_stop
kill "$NM_PID" 2>/dev/null; wait "$NM_PID" 2>/dev/null; NM_PID=""
echo
show_mon node1
echo
show_client ip neigh show "$VIP"
say "  (that is $B's MAC now)"

# ------------------------------------------------------------------ 6. timeline
hdr "6. What happened, as the client and the cluster saw it (t=0: crm resource move)"
ev=$STATE/timeline.txt
: >"$ev"
printf '%s\t%s\n' "$T0" "node1# crm resource move vip $B" >>"$ev"
# the cluster's side: scheduler decisions and results, from each node's pacemaker.log
to_epoch() { env -u TZ date -d "$1" +%s.%6N 2>/dev/null; }
for n in node1 node2; do
    grep -E 'Initiating (stop|start) operation vip_(stop|start)_0|Result of (stop|start) operation for vip on ' \
        "$STATE/nodes/$n/log/pacemaker/pacemaker.log" 2>/dev/null |
    while read -r mon day hms rest; do
        ts=$(to_epoch "$mon $day $hms") || continue
        awk -v a="$ts" -v b="$T0" 'BEGIN { exit !(a + 0 >= b - 0.05) }' || continue
        case $rest in
            *"Initiating stop operation"*)  msg="$n (DC) schedules: stop vip on ${rest##* on }";;
            *"Initiating start operation"*) msg="$n (DC) schedules: start vip on ${rest##* on }";;
            *"Result of stop operation"*)   msg="$n: stop of vip returned ok ($VIP removed from eth0)";;
            *"Result of start operation"*)  msg="$n: start of vip returned ok ($VIP on eth0)";;
            *) continue;;
        esac
        msg=${msg% | action*}
        msg=${msg/ locally on / on }
        printf '%s\t%s\n' "$ts" "$msg"
    done
done >>"$ev"
# the wire: gratuitous ARP rounds (request + reply) as captured on the client's eth0
awk -v ip="$VIP" -v from="$T0" '
    $1 >= from && $2 == "in" && $3 == "arp" && $4 == "op=request" && $5 == "sender_ip=" ip && $7 == "target_ip=" ip {
        split($6, m, "="); r[m[2]]++; printf "%s\t%s\t%d\n", $1, m[2], r[m[2]]
    }' "$STATE/capture.txt" |
while IFS=$'\t' read -r ts mac round; do
    printf '%s\t%s\n' "$ts" "wire: gratuitous ARP from $(who "$mac"): $VIP is-at $mac (round $round: request + reply)"
done >>"$ev"
# the client's neighbour table: every change of the MAC it has for the VIP
prev=$(lab_node_mac "$LAB" "$A")
while read -r stamp addr _ _ _ mac state; do
    [[ $addr == "$VIP" && $mac =~ ^[0-9a-f:]{17}$ ]] || continue
    stamp=${stamp#[}; stamp=${stamp%]}
    ts=$(to_epoch "${stamp/T/ }") || continue
    awk -v a="$ts" -v b="$T0" 'BEGIN { exit !(a + 0 >= b + 0) }' || continue
    if [[ $mac != "$prev" ]]; then
        printf '%s\t%s\n' "$ts" "client: neighbour entry $VIP -> $mac ($(who "$mac")), was $prev ($(who "$prev")) [$state]"
        prev=$mac
    fi
done <"$STATE/neigh-monitor.txt" >>"$ev"
# the pinger: last reply before the longest gap, first reply after it
gs=$(fip_stat gap_start "$STATS"); ge=$(fip_stat gap_end "$STATS")
printf '%s\t%s\n' "$gs" "client: last ping reply before the gap" >>"$ev"
printf '%s\t%s\n' "$ge" "client: first ping reply after the gap ($(fip_stat max_gap_ms "$STATS") ms without a reply)" >>"$ev"
echo
printf '   %9s  %s\n' "t (s)" "event"
sort -n -k1,1 "$ev" | awk -F'\t' -v t0="$T0" '{ printf "   %+9.3f  %s\n", $1 - t0, $2 }'

# ------------------------------------------------------------------ 7. summary
hdr "7. Summary"
say "pings sent $(fip_stat sent "$STATS"), answered $(fip_stat received "$STATS"), lost $(fip_stat lost "$STATS")"
say "longest time without a reply: $(fip_stat max_gap_ms "$STATS") ms"
say "gratuitous ARP frames from $B: $(fip_count_gratuitous "$STATE/capture.txt" "$VIP" "$T0" 0 "$(lab_node_mac "$LAB" "$B")") (5 rounds x request + reply, arp_interval=200 ms)"
say "the client's neighbour entry for $VIP now: $(lab_neigh_mac "$LAB" "$VIP") ($(who "$(lab_neigh_mac "$LAB" "$VIP")"))"
say "$VIP is on: $(lab_addr_nodes "$LAB" "$VIP")"
