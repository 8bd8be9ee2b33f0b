#!/usr/bin/env bash
# Smoke test of the cluster lab with a floating-IP agent (default: ocf:heartbeat:IPaddr2).
#
#   tests/cluster/test_ipaddr2_smoke.sh            # 2-node + 3-node scenarios
#   VIP_AGENT=ocf:floatip:FloatIP tests/cluster/test_ipaddr2_smoke.sh
#
# Environment (all optional):
#   VIP_AGENT    resource agent                    (ocf:heartbeat:IPaddr2)
#   VIP_PARAMS   params template, {ip} {prefix}     ('ip={ip} cidr_netmask={prefix}')
#   VIP_OPS      crm op clauses                     ('op monitor interval=2s')
#   VIP4, VIP6   the floating addresses             (198.51.100.100, 2001:db8:100::100)
#   SCENARIOS    which scenarios to run             ("two three")
#   TEST_IPV6    1 = also move an IPv6 VIP in the 2-node scenario (1)
#   LOG_DIR      where logs of a failed scenario go (/tmp/floatip-lab-logs)
# Prints one "ok"/"FAIL" line per check, the measured figures, and finally
# "N passed, M failed".  Exit status 0 only if nothing failed.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$HERE/lab.sh"

VIP_AGENT=${VIP_AGENT:-ocf:heartbeat:IPaddr2}
VIP_PARAMS=${VIP_PARAMS:-'ip={ip} cidr_netmask={prefix}'}
VIP_OPS=${VIP_OPS:-'op monitor interval=2s'}
VIP4=${VIP4:-198.51.100.100}
VIP6=${VIP6:-2001:db8:100::100}
SCENARIOS=${SCENARIOS:-"two three"}
TEST_IPV6=${TEST_IPV6:-1}
LOG_DIR=${LOG_DIR:-/tmp/floatip-lab-logs}
RSC_TIMEOUT=${RSC_TIMEOUT:-60}     # s, for a resource to reach a state
NEIGH_TIMEOUT=${NEIGH_TIMEOUT:-15} # s, for the client's neighbour entry to follow

PASS=0 FAIL=0 FAILED=() FIGURES=()
ok()     { PASS=$((PASS+1)); echo "ok   - $*"; }
bad()    { FAIL=$((FAIL+1)); FAILED+=("$*"); echo "FAIL - $*"; }
check()  { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; return 1; fi; }
figure() { FIGURES+=("$*"); echo "     # $*"; }
equals() { [[ $1 == "$2" ]] || { echo "     got '$1', expected '$2'" >&2; return 1; }; }

vip_params() { local p=${VIP_PARAMS//\{ip\}/$1}; echo "${p//\{prefix\}/$2}"; }

on_exit() {
    local rc=$?
    trap - EXIT INT TERM HUP
    lab_down_mine || true
    exit $rc
}
trap on_exit EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM HUP

# --------------------------------------------------------------- building blocks
# create a VIP resource and wait until it runs; prints its node
start_vip() {   # lab rsc ip prefix
    local lab=$1 rsc=$2 ip=$3 prefix=$4 params
    params=$(vip_params "$ip" "$prefix")
    # shellcheck disable=SC2086   # params and ops are word lists on purpose
    lab_crm "$lab" node1 configure primitive "$rsc" "$VIP_AGENT" params $params $VIP_OPS >/dev/null \
        || { echo "     crm configure primitive $rsc failed" >&2; return 1; }
    lab_wait_rsc "$lab" "$rsc" any "$RSC_TIMEOUT"
}

# run ACTION while the client pings IP, wait for RSC on TARGET and the client's
# neighbour entry to follow; sets MOVE_STATS ("sent=.. lost=.. max_gap_ms=..") and MOVE_MS
timed_switch() {   # lab rsc ip target action...
    local lab=$1 rsc=$2 ip=$3 target=$4 t0 rc=0; shift 4
    lab_client_ping "$lab" "$ip" 10 || return 1
    lab_pinger_start "$lab" "$ip" || return 1
    sleep 0.5
    t0=$(lab__now_ms)
    "$@" >/dev/null || { echo "     action failed: $*" >&2; rc=1; }
    (( rc == 0 )) && { lab_wait_rsc "$lab" "$rsc" "$target" "$RSC_TIMEOUT" >/dev/null || rc=1; }
    MOVE_MS=$(( $(lab__now_ms) - t0 ))
    (( rc == 0 )) && { lab_wait_neigh "$lab" "$ip" "$(lab_node_mac "$lab" "$target")" "$NEIGH_TIMEOUT" || rc=1; }
    sleep 1    # let the pinger see steady replies again
    MOVE_STATS=$(lab_pinger_stop "$lab")
    echo "     pinger: $MOVE_STATS" >&2
    return $rc
}
stat_of() { sed -n "s/.*\\b$1=\\([0-9.]*\\).*/\\1/p" <<<"$2"; }
# after a switch: the pinger got replies again, and the longest gap is sane (loose bound)
pings_recovered() {
    local lab=$1 ip=$2 gap
    gap=$(stat_of max_gap_ms "$MOVE_STATS")
    if [[ -z $gap ]] || (( gap >= 60000 )); then echo "     gap '$gap' ms" >&2; return 1; fi
    lab_client_ping "$lab" "$ip" 5
}

other_node() {  # lab node -> next node (round robin)
    local lab=$1 n=$2 i max
    max=$(lab__nodes_n "$lab"); i=$(lab__idx "$n")
    echo "node$(( i % max + 1 ))"
}

# tear the lab down and prove nothing of it survives
teardown_and_verify() {
    local lab=$1 ns_inos=() pids=() f ns p leftover="" ino
    [[ $FAIL -gt ${2:-0} ]] && lab_collect_logs "$lab" "$LOG_DIR/$lab"
    for ns in $(ip netns list | awk -v p="$lab-" 'index($1,p)==1 {print $1}'); do
        ns_inos+=("$(lab__ns_ino "/run/netns/$ns")")
    done
    for f in "$LAB_ROOT/$lab"/pids/*; do [[ -s $f ]] && pids+=("$(cat "$f")"); done
    for ino in "${ns_inos[@]}"; do
        for p in $(lab__netns_pids "$ino"); do pids+=("$(lab__pid_stamp "$p")"); done
    done
    check "$lab: lab_down succeeds" lab_down "$lab"
    check "$lab: no namespace left (ip netns list)" no_netns_left "$lab"
    for p in "${pids[@]}"; do
        [[ -n $p && $(lab__pid_stamp "${p%% *}" 2>/dev/null) == "$p" ]] && leftover+=" ${p%% *}($(cat /proc/${p%% *}/comm 2>/dev/null))"
    done
    for ino in "${ns_inos[@]}"; do
        for p in $(lab__netns_pids "$ino"); do leftover+=" $p(in-netns)"; done
    done
    check "$lab: none of the ${#pids[@]} recorded/namespace processes survives" equals "$leftover" ""
    check "$lab: state directory removed" test ! -e "$LAB_ROOT/$lab"
}

# --------------------------------------------------------------- scenarios
scenario_two() {
    echo "=== 2-node cluster, agent $VIP_AGENT"
    local f0=$FAIL a b c d
    if ! lab_up 2; then bad "2-node lab comes up (DC, 2 online)"; lab_down_mine; return; fi
    ok "2-node lab $LAB comes up (DC, 2 online)"
    figure "bring-up 2 nodes: ${LAB_UP_MS} ms"
    local lab=$LAB

    a=$(start_vip "$lab" vip "$VIP4" 24) && ok "vip ($VIP4) Started on $a" || { bad "vip Started"; teardown_and_verify "$lab" "$f0"; return; }
    check "crm_mon -1 shows vip Started on $a" crm_mon_shows "$lab" "vip.*Started $a"
    check "$VIP4 is on exactly $a" equals "$(lab_addr_nodes "$lab" "$VIP4")" "$a"
    check "client pings $VIP4" lab_client_ping "$lab" "$VIP4" 10
    check "client neighbour entry for $VIP4 is $a's MAC" equals "$(lab_neigh_mac "$lab" "$VIP4")" "$(lab_node_mac "$lab" "$a")"

    b=$(other_node "$lab" "$a")
    if check "crm resource move vip $b: vip Started on $b, client neighbour entry follows" \
        timed_switch "$lab" vip "$VIP4" "$b" lab_crm "$lab" node1 resource move vip "$b"; then
        figure "move (crm resource move) IPv4: $(stat_of lost "$MOVE_STATS") pings lost, longest gap $(stat_of max_gap_ms "$MOVE_STATS") ms, command->Started ${MOVE_MS} ms"
    fi
    check "after move: $VIP4 is on exactly $b" equals "$(lab_addr_nodes "$lab" "$VIP4")" "$b"
    check "after move: client neighbour entry ends with $b's MAC" equals "$(lab_neigh_mac "$lab" "$VIP4")" "$(lab_node_mac "$lab" "$b")"
    check "after move: pinger got replies again" pings_recovered "$lab" "$VIP4"

    # standby gap
    check "crm resource clear vip" lab_crm "$lab" node1 resource clear vip
    lab_settle "$lab" 60
    c=$(lab_rsc_nodes "$lab" vip); d=$(other_node "$lab" "$c")
    if check "crm node standby $c: vip Started on $d, client neighbour entry follows" \
        timed_switch "$lab" vip "$VIP4" "$d" lab_crm "$lab" node1 node standby "$c"; then
        figure "standby (crm node standby) IPv4: $(stat_of lost "$MOVE_STATS") pings lost, longest gap $(stat_of max_gap_ms "$MOVE_STATS") ms, command->Started ${MOVE_MS} ms"
    fi
    check "after standby: $VIP4 is on exactly $d" equals "$(lab_addr_nodes "$lab" "$VIP4")" "$d"
    check "crm node online $c" lab_crm "$lab" node1 node online "$c"
    lab_settle "$lab" 60

    if [[ $TEST_IPV6 == 1 ]]; then
        local e f
        e=$(start_vip "$lab" vip6 "$VIP6" 64) && ok "vip6 ($VIP6) Started on $e" || bad "vip6 Started"
        if [[ -n ${e:-} ]]; then
            check "$VIP6 is on exactly $e" equals "$(lab_addr_nodes "$lab" "$VIP6")" "$e"
            check "client pings $VIP6" lab_client_ping "$lab" "$VIP6" 10
            check "client neighbour entry for $VIP6 is $e's MAC" equals "$(lab_neigh_mac "$lab" "$VIP6")" "$(lab_node_mac "$lab" "$e")"
            f=$(other_node "$lab" "$e")
            if check "crm resource move vip6 $f: client neighbour entry follows (unsolicited NA)" \
                timed_switch "$lab" vip6 "$VIP6" "$f" lab_crm "$lab" node1 resource move vip6 "$f"; then
                figure "move (crm resource move) IPv6: $(stat_of lost "$MOVE_STATS") pings lost, longest gap $(stat_of max_gap_ms "$MOVE_STATS") ms, command->Started ${MOVE_MS} ms"
            fi
            check "after move: $VIP6 is on exactly $f" equals "$(lab_addr_nodes "$lab" "$VIP6")" "$f"
            check "crm resource stop vip6" lab_crm "$lab" node1 resource stop vip6
            check "vip6 Stopped" lab_wait_rsc "$lab" vip6 stopped "$RSC_TIMEOUT"
            check "$VIP6 is on no node after stop" equals "$(lab_addr_nodes "$lab" "$VIP6")" ""
        fi
    fi

    check "crm resource stop vip" lab_crm "$lab" node1 resource stop vip
    check "vip Stopped (crm_mon)" lab_wait_rsc "$lab" vip stopped "$RSC_TIMEOUT"
    check "$VIP4 is on no node after stop" equals "$(lab_addr_nodes "$lab" "$VIP4")" ""
    teardown_and_verify "$lab" "$f0"
}

scenario_three() {
    echo "=== 3-node cluster, agent $VIP_AGENT"
    local f0=$FAIL a b c s
    if ! lab_up 3; then bad "3-node lab comes up (DC, 3 online)"; lab_down_mine; return; fi
    ok "3-node lab $LAB comes up (DC, 3 online)"
    figure "bring-up 3 nodes: ${LAB_UP_MS} ms"
    local lab=$LAB

    a=$(start_vip "$lab" vip "$VIP4" 24) && ok "vip ($VIP4) Started on $a" || { bad "vip Started"; teardown_and_verify "$lab" "$f0"; return; }
    check "$VIP4 is on exactly $a" equals "$(lab_addr_nodes "$lab" "$VIP4")" "$a"
    check "client pings $VIP4" lab_client_ping "$lab" "$VIP4" 10
    b=$(other_node "$lab" "$a")
    if check "crm resource move vip $b: vip Started on $b, client neighbour entry follows" \
        timed_switch "$lab" vip "$VIP4" "$b" lab_crm "$lab" node1 resource move vip "$b"; then
        figure "3 nodes: move IPv4: $(stat_of lost "$MOVE_STATS") pings lost, longest gap $(stat_of max_gap_ms "$MOVE_STATS") ms, command->Started ${MOVE_MS} ms"
    fi
    check "after move: $VIP4 is on exactly $b" equals "$(lab_addr_nodes "$lab" "$VIP4")" "$b"
    check "crm resource clear vip" lab_crm "$lab" node1 resource clear vip
    lab_settle "$lab" 60
    b=$(lab_rsc_nodes "$lab" vip)

    # power-off of the node holding the VIP: the survivors (2 of 3, quorate) take over
    c=$(other_node "$lab" "$b")
    lab_client_ping "$lab" "$VIP4" 10
    lab_pinger_start "$lab" "$VIP4"; sleep 0.5
    local t0; t0=$(lab__now_ms)
    check "kill-node $b (power off)" lab_kill_node "$lab" "$b"
    s=$(lab_wait_rsc "$lab" vip "not:$b" "$RSC_TIMEOUT")
    MOVE_MS=$(( $(lab__now_ms) - t0 ))
    if check "vip failed over to a survivor (now on '${s:-}')" test -n "$s" -a "$s" != "$b"; then
        check "client neighbour entry follows to $s" lab_wait_neigh "$lab" "$VIP4" "$(lab_node_mac "$lab" "$s")" "$NEIGH_TIMEOUT"
        sleep 1
    fi
    MOVE_STATS=$(lab_pinger_stop "$lab"); echo "     pinger: $MOVE_STATS"
    figure "3 nodes: failover after kill-node: $(stat_of lost "$MOVE_STATS") pings lost, longest gap $(stat_of max_gap_ms "$MOVE_STATS") ms, kill->Started ${MOVE_MS} ms (corosync token ${LAB_COROSYNC_TOKEN} ms)"
    check "after failover: pinger got replies again" pings_recovered "$lab" "$VIP4"
    local live=() n
    for n in $(lab_nodes "$lab"); do [[ $n != "$b" ]] && lab_addr_nodes_one "$lab" "$n" "$VIP4" && live+=("$n"); done
    check "after failover: $VIP4 on exactly one live node ($s)" equals "${live[*]:-}" "${s:-}"

    t0=$(lab__now_ms)
    check "start-node $b (power on) and it rejoins" start_and_rejoin "$lab" "$b"
    figure "3 nodes: rejoin after power-on: $(( $(lab__now_ms) - t0 )) ms"
    lab_settle "$lab" 60
    check "rebooted $b carries no stale $VIP4 (unless the VIP moved back)" no_stale_vip "$lab" "$b" "$VIP4"

    # cut a node that does not hold the VIP: the others see it go, it comes back
    s=$(lab_rsc_nodes "$lab" vip); c=$(other_node "$lab" "$s")
    check "cut $c" lab_cut "$lab" "$c"
    check "client cannot reach $c's address while cut" client_cannot_reach "$lab" "$(lab_node_ip "$lab" "$c")"
    check "$s sees 2 nodes online after cut" wait_online_count "$lab" "$s" 2 60
    check "vip still on $s during the cut" equals "$(lab_rsc_nodes "$lab" vip "$s")" "$s"
    check "uncut $c" lab_uncut "$lab" "$c"
    check "$c rejoins after uncut" lab_wait_dc "$lab" 90
    teardown_and_verify "$lab" "$f0"
}

lab_addr_nodes_one() { lab_exec "$1" "$2" ip -o addr show 2>/dev/null | awk -v a="${3,,}" '{ split($4,p,"/"); if (tolower(p[1])==a) f=1 } END { exit !f }'; }
wait_online_count() {   # lab node count timeout
    local end=$(( $(lab__now_ms) + $4 * 1000 )) c
    while :; do
        c=$(lab_crm_mon_xml "$1" "$2" 2>/dev/null | grep -c '<node name="[^"]*"[^>]*online="true"')
        [[ $c == "$3" ]] && return 0
        (( $(lab__now_ms) > end )) && { echo "     $2 sees $c online, expected $3" >&2; lab__dump_status "$1" "$2"; return 1; }
        sleep 0.2
    done
}
no_netns_left() { ! ip netns list | grep -q "^$1-"; }
crm_mon_shows() { lab_crm_mon "$1" | grep -Eq "$2"; }
start_and_rejoin() { lab_start_node "$1" "$2" && lab_wait_dc "$1" 60; }
no_stale_vip() { [[ $(lab_rsc_nodes "$1" vip) == "$2" ]] || ! lab_addr_nodes_one "$1" "$2" "$3"; }
client_cannot_reach() { ! lab_client "$1" ping -n -c 2 -W 1 "$2" >/dev/null; }

# --------------------------------------------------------------- main
[[ $(id -u) == 0 ]] || { echo "must run as root" >&2; echo "0 passed, 1 failed"; exit 1; }
T0=$(lab__now_ms)
for s in $SCENARIOS; do "scenario_$s"; done

echo
echo "=== figures (agent $VIP_AGENT)"
for f in "${FIGURES[@]}"; do echo "  $f"; done
if (( FAIL )); then
    echo "=== failed checks"; for f in "${FAILED[@]}"; do echo "  $f"; done
    echo "  (logs of failed scenarios: $LOG_DIR)"
fi
echo "total time: $(( ($(lab__now_ms) - T0) / 1000 )) s"
echo "$PASS passed, $FAIL failed"
(( FAIL == 0 ))
