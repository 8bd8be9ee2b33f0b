#!/usr/bin/env bash
# End-to-end tests of ocf:floatip:FloatIP in real Pacemaker clusters (tests/cluster/lab.sh),
# configured with crmsh as a user would, asserting on what crm_mon and the client show.
#
#   tests/cluster/test_floatip.sh                 # as root, the floatip package installed
#   SCENARIOS=two tests/cluster/test_floatip.sh   # only the 2-node lab
#   LAB_AGENT_OVERRIDE="floatip:FloatIP=$PWD/target/release/floatip" tests/cluster/test_floatip.sh
#
# 2-node lab: crm ra info, start, crm resource move, crm node standby, stop without a late
# announcement, a group with a Dummy service, IPv6 moves (with and without DAD), a link cut
# of the owner (check_link_status), a bad parameter, another machine answering for a VIP
# with a deep monitor (OCF_CHECK_LEVEL=10): OCF_DEGRADED in crm_mon, no recovery.
# 3-node lab: link cut of the owner (no quorum: it gives the VIP up), power-off of the owner.
#
# Environment (optional): SCENARIOS ("two three"), LOG_DIR (/tmp/floatip-lab-logs: logs of a
# lab that had a failure), MONITOR_INTERVAL (2s), METADATA (metadata/FloatIP.xml: the
# parameter list `crm ra info` must show; the agent under test must be built from it).
# Prints one ok/FAIL line per check, the measured figures, then "N passed, M failed";
# exit status 0 only if nothing failed.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=lab.sh
source "$HERE/lab.sh"
# shellcheck source=test_floatip_lib.sh
source "$HERE/test_floatip_lib.sh"
# shellcheck source=checks.sh
source "$HERE/checks.sh"

SCENARIOS=${SCENARIOS:-"two three"}
LOG_DIR=${LOG_DIR:-/tmp/floatip-lab-logs}
MONITOR_INTERVAL=${MONITOR_INTERVAL:-2s}
METADATA=${METADATA:-$REPO/metadata/FloatIP.xml}   # the parameters crm ra info must list
OPS="op monitor interval=$MONITOR_INTERVAL timeout=20s"
VIP4=198.51.100.100
VIP6=2001:db8:100::100
GVIP=198.51.100.101
DVIP=198.51.100.102
DVIP2=198.51.100.104   # the conflict that is there before the resource starts
DEEP_INTERVAL=5   # s, the OCF_CHECK_LEVEL=10 monitor of the degraded case
BAD_IP=300.1.1.1
RSC_T=60      # s, for a resource to reach a state
NEIGH_T=15    # s, for the client's neighbour entry to follow

# --------------------------------------------------------------- 2-node scenarios
t_ra_info() {
    local lab=$1 out p missing=() names
    section "crm ra info $FIP_AGENT"
    out=$(lab_crm "$lab" node1 ra info "$FIP_AGENT" 2>&1)
    mapfile -t names < <(grep -o '<parameter name="[^"]*"' "$METADATA" | cut -d'"' -f2)
    check "${METADATA#"$REPO"/} declares parameters (${#names[@]})" gt_zero "${#names[@]}"
    for p in "${names[@]}"; do
        grep -Eq "^$p\\*? \\(" <<<"$out" || missing+=("$p")
    done
    check "crm ra info lists all ${#names[@]} parameters of ${METADATA#"$REPO"/}" equals "${missing[*]:-}" ""
    check "crm ra info marks ip as required (ip*)" grep -Eq '^ip\* \(string\)' <<<"$out"
    check "crm ra info shows check_link_status default true" grep -Eq '^check_link_status \(boolean, \[true\]\)' <<<"$out"
}

# primitive vip, Started on one node, address there only, client knows it; echoes the node
t_start_vip() {
    local lab=$1 a
    section "primitive vip $FIP_AGENT ($VIP4/24)"
    echo "     \$ crm configure primitive vip $FIP_AGENT params ip=$VIP4 cidr_netmask=24 $OPS"
    # shellcheck disable=SC2086
    lab_crm "$lab" node1 configure primitive vip "$FIP_AGENT" params ip="$VIP4" cidr_netmask=24 $OPS >/dev/null
    a=$(lab_wait_rsc "$lab" vip any "$RSC_T") && ok "vip Started on $a" || { bad "vip Started"; return 1; }
    check "crm_mon -1 shows 'vip ($FIP_AGENT): Started $a'" crm_mon_has "$lab" node1 "$(started_line vip "$a")"
    check "$VIP4 is on $a only" equals "$(lab_addr_nodes "$lab" "$VIP4")" "$a"
    check "client pings $VIP4" lab_client_ping "$lab" "$VIP4" 10
    check "client neighbour entry for $VIP4 has $a's MAC" equals "$(lab_neigh_mac "$lab" "$VIP4")" "$(lab_node_mac "$lab" "$a")"
    VIP_NODE=$a
}

t_move() {
    local lab=$1 a=$2 b
    b=$(other_node "$lab" "$a")
    section "crm resource move vip $b (client pinging every 10 ms)"
    if check "crm resource move vip $b: Started on $b, client neighbour entry follows to $b's MAC" \
        fip_switch "$lab" vip "$VIP4" "$b" node1 resource move vip "$b"; then
        switch_figure "IPv4 crm resource move"
    fi
    check "after move: $VIP4 on $b only" equals "$(lab_addr_nodes "$lab" "$VIP4")" "$b"
    check "after move: client neighbour entry is $b's MAC" equals "$(lab_neigh_mac "$lab" "$VIP4")" "$(lab_node_mac "$lab" "$b")"
    check "after move: pings were answered again (longest gap measured)" gap_sane "$SW_STATS"
    check "client saw 10 gratuitous ARP frames from $b (5 rounds of request + reply)" equals "$SW_ANN" 10
    check "crm resource clear vip" lab_crm "$lab" node1 resource clear vip
    lab_settle "$lab" 60
}

t_standby() {
    local lab=$1 c d
    c=$(lab_rsc_nodes "$lab" vip); d=$(other_node "$lab" "$c")
    section "crm node standby $c (client pinging every 10 ms)"
    if check "crm node standby $c: vip Started on $d, client neighbour entry follows to $d's MAC" \
        fip_switch "$lab" vip "$VIP4" "$d" node1 node standby "$c"; then
        switch_figure "IPv4 crm node standby"
    fi
    check "after standby: $VIP4 on $d only" equals "$(lab_addr_nodes "$lab" "$VIP4")" "$d"
    check "after standby: pings were answered again" gap_sane "$SW_STATS"
    check "crm node online $c" lab_crm "$lab" node1 node online "$c"
    lab_settle "$lab" 60
}

# stop while the agent is still announcing: nothing is announced once the address is gone
stop_quiet_case() {   # lab label seconds-before-stop name=value...
    local lab=$1 what=$2 wait_s=$3 cap n t_start t_stop t_gone during late after kv; shift 3
    cap=$LAB_ROOT/$lab/capture.stop.$RANDOM.txt
    section "crm resource stop vip during $what"
    check "crm resource stop vip (to reconfigure)" lab_crm "$lab" node1 resource stop vip
    lab_wait_rsc "$lab" vip stopped "$RSC_T" >/dev/null; lab_settle "$lab" 60
    for kv in "$@"; do
        check "crm resource param vip set ${kv%%=*} ${kv#*=}" crm_quiet "$lab" node1 resource param vip set "${kv%%=*}" "${kv#*=}"
    done
    fip_cap_start "$lab" "$cap" 60 || { bad "capture on the client"; return 1; }
    t_start=$EPOCHREALTIME
    check "crm resource start vip" lab_crm "$lab" node1 resource start vip
    n=$(lab_wait_rsc "$lab" vip any "$RSC_T") || bad "vip Started again"
    sleep "$wait_s"
    t_stop=$EPOCHREALTIME
    check "crm resource stop vip ($wait_s s after Started)" lab_crm "$lab" node1 resource stop vip
    check "crm_mon shows vip Stopped" lab_wait_rsc "$lab" vip stopped "$RSC_T"
    check "$VIP4 is on no node after stop" wait_addr_nodes "$lab" "$VIP4" "" 10
    t_gone=$EPOCHREALTIME
    sleep 2.5
    fip_cap_stop
    during=$(fip_count_gratuitous "$cap" "$VIP4" "$t_start" "$t_stop")
    late=$(fip_count_gratuitous "$cap" "$VIP4" "$t_stop" "$t_gone")
    after=$(fip_count_sender "$cap" "$VIP4" "$t_gone")
    check "announcements were still going when stop came ($during frames from ${n:-?} before it)" gt_zero "$during"
    check "no ARP frame with sender $VIP4 in the 2.5 s after stop ($after)" equals "$after" 0
    figure "stop during $what: $during announcement frames before the stop command, $late between it and the address being gone, $after after"
    lab_settle "$lab" 60
    for kv in "$@"; do lab_crm "$lab" node1 resource param vip delete "${kv%%=*}" >/dev/null; done
}
t_stop_quiet() {
    local lab=$1
    stop_quiet_case "$lab" "an announcement burst (arp_count=30: 6 s of rounds)" 1 arp_count=30
    if grep -q '<parameter name="arp_refresh_interval"' "$METADATA"; then
        stop_quiet_case "$lab" "background refreshes (arp_refresh_interval=1)" 2.5 arp_refresh_interval=1
    fi
    check "crm resource start vip" lab_crm "$lab" node1 resource start vip
    lab_wait_rsc "$lab" vip any "$RSC_T" >/dev/null
}

t_group() {
    local lab=$1 n m from
    section "group g: gvip ($FIP_AGENT $GVIP) + svc (ocf:pacemaker:Dummy)"
    echo "     \$ crm configure  (primitive gvip ..., primitive svc ocf:pacemaker:Dummy, group g gvip svc)"
    lab_crm "$lab" node1 configure >/dev/null <<EOF
primitive gvip $FIP_AGENT params ip=$GVIP cidr_netmask=24 $OPS
primitive svc ocf:pacemaker:Dummy op monitor interval=10s
group g gvip svc
commit
EOF
    n=$(lab_wait_rsc "$lab" gvip any "$RSC_T") && ok "gvip Started on $n" || { bad "gvip Started"; return 1; }
    check "svc Started on $n too" lab_wait_rsc "$lab" svc "$n" "$RSC_T"
    check "crm_mon -1 shows group g with gvip and svc Started on $n" \
        crm_mon_has "$lab" node1 "Resource Group: g"
    check "$GVIP is on $n only" equals "$(lab_addr_nodes "$lab" "$GVIP")" "$n"
    m=$(other_node "$lab" "$n")
    from=$(log_lines "$lab" "$m")
    if check "crm resource move g $m: gvip Started on $m, client follows" \
        fip_switch "$lab" gvip "$GVIP" "$m" node1 resource move g "$m"; then
        switch_figure "group move (crm resource move g)"
    fi
    check "svc moved with it to $m" lab_wait_rsc "$lab" svc "$m" "$RSC_T"
    check "on $m, svc started after gvip (pacemaker.log)" started_in_order "$lab" "$m" "$from" gvip svc
    check "$GVIP is on $m only" equals "$(lab_addr_nodes "$lab" "$GVIP")" "$m"
    lab_crm "$lab" node1 resource clear g >/dev/null
    check "crm resource stop g" lab_crm "$lab" node1 resource stop g
    check "gvip and svc Stopped" lab_wait_rsc "$lab" gvip stopped "$RSC_T"
    lab_wait_rsc "$lab" svc stopped "$RSC_T"
    check "$GVIP is on no node" equals "$(lab_addr_nodes "$lab" "$GVIP")" ""
    lab_settle "$lab" 60
    check "crm configure delete g gvip svc" lab_crm "$lab" node1 configure delete g gvip svc
    lab_settle "$lab" 60
}

t_ipv6() {
    local lab=$1 e f g
    section "IPv6 vip6 ($VIP6/64)"
    echo "     \$ crm configure primitive vip6 $FIP_AGENT params ip=$VIP6 cidr_netmask=64 $OPS"
    # shellcheck disable=SC2086
    lab_crm "$lab" node1 configure primitive vip6 "$FIP_AGENT" params ip="$VIP6" cidr_netmask=64 $OPS >/dev/null
    e=$(lab_wait_rsc "$lab" vip6 any "$RSC_T") && ok "vip6 Started on $e" || { bad "vip6 Started"; return 1; }
    check "crm_mon -1 shows vip6 Started on $e" crm_mon_has "$lab" node1 "$(started_line vip6 "$e")"
    check "$VIP6 is on $e only" equals "$(lab_addr_nodes "$lab" "$VIP6")" "$e"
    check "client pings $VIP6" lab_client_ping "$lab" "$VIP6" 10
    check "client neighbour entry for $VIP6 has $e's MAC" equals "$(lab_neigh_mac "$lab" "$VIP6")" "$(lab_node_mac "$lab" "$e")"
    f=$(other_node "$lab" "$e")
    if check "crm resource move vip6 $f (nodad=false, DAD runs): client neighbour entry follows (unsolicited NA)" \
        fip_switch "$lab" vip6 "$VIP6" "$f" node1 resource move vip6 "$f"; then
        switch_figure "IPv6 crm resource move, nodad=false"
    fi
    check "after move: $VIP6 on $f only" equals "$(lab_addr_nodes "$lab" "$VIP6")" "$f"
    check "client saw 5 unsolicited NAs from $f" equals "$SW_ANN" 5
    lab_crm "$lab" node1 resource clear vip6 >/dev/null
    check "crm resource param vip6 set nodad true" crm_quiet "$lab" node1 resource param vip6 set nodad true
    lab_settle "$lab" 60
    f=$(lab_wait_rsc "$lab" vip6 any "$RSC_T")
    g=$(other_node "$lab" "$f")
    if check "crm resource move vip6 $g (nodad=true): client neighbour entry follows" \
        fip_switch "$lab" vip6 "$VIP6" "$g" node1 resource move vip6 "$g"; then
        switch_figure "IPv6 crm resource move, nodad=true"
    fi
    check "after move: $VIP6 on $g only" equals "$(lab_addr_nodes "$lab" "$VIP6")" "$g"
    lab_crm "$lab" node1 resource clear vip6 >/dev/null
    check "crm resource stop vip6" lab_crm "$lab" node1 resource stop vip6
    check "vip6 Stopped" lab_wait_rsc "$lab" vip6 stopped "$RSC_T"
    check "$VIP6 is on no node" equals "$(lab_addr_nodes "$lab" "$VIP6")" ""
    lab_settle "$lab" 60
    check "crm configure delete vip6" lab_crm "$lab" node1 configure delete vip6
    lab_settle "$lab" 60
}

# switch port of the owner down: its monitor says "link down on NIC", the VIP leaves it
t_cut_two() {
    local lab=$1 a b t0
    a=$(lab_rsc_nodes "$lab" vip); b=$(other_node "$lab" "$a")
    section "2 nodes: cut $a (the owner's switch port down), check_link_status=true (default)"
    lab_client_ping "$lab" "$VIP4" 10
    lab_pinger_start "$lab" "$VIP4" || { bad "pinger"; return 1; }
    sleep 0.5
    t0=$(lab__now_ms)
    check "cut $a" lab_cut "$lab" "$a"
    check "$b sees vip Started on $b" fip_wait_rsc_from "$lab" vip "$b" "$b" "$RSC_T"
    check "$VIP4 left $a" wait_addr_gone "$lab" "$a" "$VIP4" 30
    check "client neighbour entry follows to $b's MAC" lab_wait_neigh "$lab" "$VIP4" "$(lab_node_mac "$lab" "$b")" "$NEIGH_T"
    local ms=$(( $(lab__now_ms) - t0 ))
    sleep 1
    SW_STATS=$(lab_pinger_stop "$lab"); echo "     pinger: $SW_STATS"
    figure "2 nodes, cut of the owner: $(fip_stat lost "$SW_STATS") pings lost, longest gap $(fip_stat max_gap_ms "$SW_STATS") ms, cut->client follows ${ms} ms (token ${LAB_COROSYNC_TOKEN} ms)"
    check "crm_mon -1 on $a shows the failure 'link down on NIC eth0'" crm_mon_has "$lab" "$a" "vip .*link down on NIC eth0"
    check "$a's monitor found the address not running, 'link down on NIC' (pacemaker.log; 7, as IPaddr2 today)" \
        log_matches "$lab" "$a" "Result of monitor operation for vip on $a: $PCMK_NOT_RUNNING \\(link down on NIC eth0"
    check "uncut $a" lab_uncut "$lab" "$a"
    check "$a rejoins" lab_wait_dc "$lab" 90
    check "crm resource cleanup vip" crm_quiet "$lab" "$b" resource cleanup vip
    lab_settle "$lab" 60
    check "after the cut: vip Started on one node, $VIP4 on that node only" vip_on_one_node "$lab" "$VIP4"
}
vip_on_one_node() {
    local n; n=$(lab_wait_rsc "$1" vip any "$RSC_T") || return 1
    equals "$(lab_addr_nodes "$1" "$2")" "$n"
}

t_bad_param() {
    local lab=$1 owner
    section "bad parameter: primitive bad $FIP_AGENT params ip=$BAD_IP"
    echo "     \$ crm configure primitive bad $FIP_AGENT params ip=$BAD_IP $OPS"
    # shellcheck disable=SC2086
    check "crm configure primitive bad ... ip=$BAD_IP (accepted by crmsh)" \
        lab_crm "$lab" node1 configure primitive bad "$FIP_AGENT" params ip="$BAD_IP" $OPS
    check "crm_mon -1 shows the failed action with floatip's reason 'invalid ip'" \
        wait_crm_mon_has "$lab" node1 "bad .*$PCMK_NOT_CONFIGURED.*invalid ip" 30
    lab_crm_mon "$lab" node1 2>/dev/null | sed -n '/Failed Resource Actions/,$p' | sed 's/^/     | /'
    sleep 3   # give a wrong reaction (restarts, fencing) time to show
    check "bad is Started nowhere" equals "$(lab_rsc_nodes "$lab" bad)" ""
    check "all nodes stay online, none unclean (nobody fenced)" all_online "$lab" node1 2
    owner=$(lab_rsc_nodes "$lab" vip)
    check "no stray address on any node (only vip's $VIP4 on ${owner:-none})" no_stray_anywhere "$lab" "$VIP4"
    check "$VIP4 is still on ${owner:-?} only" equals "$(lab_addr_nodes "$lab" "$VIP4")" "$owner"
    check "crm configure delete bad" lab_crm "$lab" node1 configure delete bad
    lab_crm "$lab" node1 resource cleanup bad >/dev/null 2>&1
    lab_settle "$lab" 60
}

# a deep monitor hears another machine answer for the address: degraded, not failed
t_degraded_crm() {
    local lab=$1 n t0
    t0=$(lab__now_ms)
    section "primitive dvip with a deep monitor (OCF_CHECK_LEVEL=10 every ${DEEP_INTERVAL}s)"
    echo "     \$ crm configure primitive dvip $FIP_AGENT params ip=$DVIP cidr_netmask=24 $OPS op monitor interval=${DEEP_INTERVAL}s timeout=20s OCF_CHECK_LEVEL=10"
    # shellcheck disable=SC2086
    check "crm configure primitive dvip ... op monitor interval=${DEEP_INTERVAL}s OCF_CHECK_LEVEL=10" \
        crm_quiet "$lab" node1 configure primitive dvip "$FIP_AGENT" params ip="$DVIP" cidr_netmask=24 \
        $OPS op monitor interval="${DEEP_INTERVAL}s" timeout=20s OCF_CHECK_LEVEL=10
    n=$(lab_wait_rsc "$lab" dvip any "$RSC_T") && ok "dvip Started on $n" || { bad "dvip Started"; return 1; }
    check "the CIB has dvip's ${DEEP_INTERVAL}s monitor with OCF_CHECK_LEVEL=10" equals \
        "$(deep_monitor_interval "$lab" dvip)" "${DEEP_INTERVAL}s"
    t_degraded "$lab" dvip "$DVIP" "$n" crm "$DEEP_INTERVAL" 3
    check "crm resource stop dvip" lab_crm "$lab" node1 resource stop dvip
    check "dvip Stopped, $DVIP on no node" wait_addr_nodes "$lab" "$DVIP" "" 30
    lab_wait_rsc "$lab" dvip stopped "$RSC_T" >/dev/null; lab_settle "$lab" 60
    check "crm configure delete dvip" lab_crm "$lab" node1 configure delete dvip
    lab_settle "$lab" 60
    figure "deep-monitor degraded case, create to delete: $(( ($(lab__now_ms) - t0) / 1000 )) s"
}

# Another machine already answers when the resource starts, so the first result of its deep
# monitor is 190.  Pacemaker (2.1.5 and 3.0.0) then leaves that operation's record pending
# in the CIB until its result changes: crm_mon shows "Started node1 (Monitoring)", and
# Pacemaker 3.0's crm_resource --wait (pcs's --wait too) does not return meanwhile, where
# 2.1.5's does.  floatip's part is the same as in t_degraded: no recovery, the address kept.
t_degraded_at_start() {
    local lab=$1 n mark mark2 t0 line settle
    section "another machine already answers for $DVIP2 when primitive dvip2 starts (deep monitor every ${DEEP_INTERVAL}s)"
    check "a zombie ($(lab_zombie_mac)) holds $DVIP2 on the segment" lab_zombie_add "$lab" "$DVIP2"
    mark=$(fip_log_mark "$lab")
    # shellcheck disable=SC2086
    check "crm configure primitive dvip2 ... op monitor interval=${DEEP_INTERVAL}s OCF_CHECK_LEVEL=10" \
        crm_quiet "$lab" node1 configure primitive dvip2 "$FIP_AGENT" params ip="$DVIP2" cidr_netmask=24 \
        $OPS op monitor interval="${DEEP_INTERVAL}s" timeout=20s OCF_CHECK_LEVEL=10
    n=$(lab_wait_rsc "$lab" dvip2 any "$RSC_T") && ok "dvip2 Started on $n" || { bad "dvip2 Started"; lab_zombie_del "$lab"; return 1; }
    check "its first deep monitor is degraded: crm_mon -1 shows 'returned '$PCMK_DEGRADED' ($DVIP2 is also answered by $(lab_zombie_mac) ...'" \
        wait_crm_mon_text "$lab" "$n" "dvip2 ${DEEP_INTERVAL}s-interval monitor on $n returned '$PCMK_DEGRADED' ($DVIP2 is also answered by $(lab_zombie_mac)" $(( DEEP_INTERVAL + 30 ))
    line=$(lab_crm_mon "$lab" "$n" 2>/dev/null | grep -E '^ *\* dvip2[[:space:]]' | head -n1 | sed 's/^ *\* //; s/[[:space:]]\+/ /g')
    figure "first deep monitor degraded, crm_mon -1: $line"
    t0=$(lab__now_ms)
    if lab_exec "$lab" "$n" timeout 15 crm_resource --wait --timeout=10s >/dev/null 2>&1; then
        settle="returned after $(( $(lab__now_ms) - t0 )) ms"
    else
        settle="had not returned after 10 s"
    fi
    figure "first deep monitor degraded, crm_resource --wait: $settle"
    check "dvip2 was started once and never stopped" equals \
        "$(fip_log_since "$lab" "$mark" | grep -cE "Result of (start|stop) operation for dvip2 on ")" 1
    check "crm_mon XML: dvip2 role Started on $n, not failed" equals "$(lab_rsc_nodes "$lab" dvip2 "$n")" "$n"
    check "fail-count of dvip2 on $n is 0" failcount_is "$lab" dvip2 "$n" 0
    check "$DVIP2 is on $n only" equals "$(lab_addr_nodes "$lab" "$DVIP2")" "$n"
    mark2=$(fip_log_mark "$lab")
    check "the zombie leaves" lab_zombie_del "$lab"
    check "the next deep monitor returns ok (pacemaker.log of $n)" wait_since "$lab" "$mark2" \
        "Result of monitor operation for dvip2 on $n: $PCMK_OK .*key=dvip2_monitor_${DEEP_INTERVAL}000" "$n" $(( DEEP_INTERVAL + 30 ))
    check "then crm_mon -1 shows plain 'dvip2 ($FIP_AGENT): Started $n'" \
        wait_crm_mon_has "$lab" "$n" "$(started_line dvip2 "$n")\$" 15
    check "and the cluster settles (crm_resource --wait)" lab_settle "$lab" 30
    check "crm resource stop dvip2" crm_quiet "$lab" node1 resource stop dvip2
    check "dvip2 Stopped, $DVIP2 on no node" wait_addr_nodes "$lab" "$DVIP2" "" 30
    lab_wait_rsc "$lab" dvip2 stopped "$RSC_T" >/dev/null; lab_settle "$lab" 60
    check "crm configure delete dvip2" crm_quiet "$lab" node1 configure delete dvip2
    lab_crm "$lab" node1 resource cleanup dvip2 >/dev/null 2>&1
    lab_settle "$lab" 60
}

scenario_two() {
    echo "=== 2-node cluster, stack $LAB_STACK, agent $FIP_AGENT"
    local f0=$FAIL lab
    if ! lab_up 2; then bad "2-node lab comes up"; lab_down_mine; return; fi
    ok "2-node lab $LAB comes up (DC, 2 online)"; figure "bring-up 2 nodes: ${LAB_UP_MS} ms"
    lab=$LAB
    t_stack "$lab"
    t_ra_info "$lab"
    VIP_NODE=""
    if t_start_vip "$lab"; then
        t_move "$lab" "$VIP_NODE"
        t_standby "$lab"
        t_stop_quiet "$lab"
    fi
    t_group "$lab"
    t_ipv6 "$lab"
    [[ -n $(lab_rsc_nodes "$lab" vip) ]] && t_cut_two "$lab"
    t_bad_param "$lab"
    t_degraded_crm "$lab"
    t_degraded_at_start "$lab"
    section "teardown"
    teardown_and_verify "$lab" "$f0"
}

# --------------------------------------------------------------- 3-node scenarios
t_cut_three() {
    local lab=$1 a b t0 ms
    a=$(lab_rsc_nodes "$lab" vip); b=$(other_node "$lab" "$a")
    section "3 nodes: cut $a (the owner): it loses quorum (no-quorum-policy=stop)"
    lab_client_ping "$lab" "$VIP4" 10
    lab_pinger_start "$lab" "$VIP4" || { bad "pinger"; return 1; }
    sleep 0.5
    t0=$(lab__now_ms)
    check "cut $a" lab_cut "$lab" "$a"
    check "crm_mon -1 on $a: partition WITHOUT quorum" wait_crm_mon_has "$lab" "$a" "partition WITHOUT quorum" 30
    check "$VIP4 left the isolated $a" wait_addr_gone "$lab" "$a" "$VIP4" 30
    b=$(fip_wait_rsc_from "$lab" vip "not:$a" "$b" "$RSC_T") && ok "the quorate partition runs vip on $b" || bad "vip Started in the quorate partition"
    if [[ -n $b ]]; then
        check "client neighbour entry follows to $b's MAC" lab_wait_neigh "$lab" "$VIP4" "$(lab_node_mac "$lab" "$b")" "$NEIGH_T"
    fi
    ms=$(( $(lab__now_ms) - t0 ))
    sleep 1
    SW_STATS=$(lab_pinger_stop "$lab"); echo "     pinger: $SW_STATS"
    figure "3 nodes, cut of the owner: $(fip_stat lost "$SW_STATS") pings lost, longest gap $(fip_stat max_gap_ms "$SW_STATS") ms, cut->client follows ${ms} ms"
    check "in $a's own view (crm_mon), vip runs nowhere" is_true test -z "$(lab_rsc_nodes "$lab" vip "$a")"
    check "$a's monitor found the address not running, 'link down on NIC' (pacemaker.log; 7, as IPaddr2 today)" \
        log_matches "$lab" "$a" "Result of monitor operation for vip on $a: $PCMK_NOT_RUNNING \\(link down on NIC eth0"
    check "uncut $a" lab_uncut "$lab" "$a"
    check "$a rejoins" lab_wait_dc "$lab" 90
    lab_crm "$lab" "$b" resource cleanup vip >/dev/null 2>&1
    lab_settle "$lab" 60
    check "after the cut: vip on one node, $VIP4 on that node only" vip_on_one_node "$lab" "$VIP4"
}

t_kill() {
    local lab=$1 a s t0 ms live=() n
    a=$(lab_rsc_nodes "$lab" vip)
    section "3 nodes: power-off of the owner $a (kill-node: daemons SIGKILLed, link down)"
    lab_client_ping "$lab" "$VIP4" 10
    lab_pinger_start "$lab" "$VIP4" || { bad "pinger"; return 1; }
    sleep 0.5
    t0=$(lab__now_ms)
    check "kill-node $a" lab_kill_node "$lab" "$a"
    s=$(lab_wait_rsc "$lab" vip "not:$a" "$RSC_T") && ok "vip Started on survivor $s" || bad "vip Started on a survivor"
    [[ -n $s ]] && check "client neighbour entry follows to $s's MAC" lab_wait_neigh "$lab" "$VIP4" "$(lab_node_mac "$lab" "$s")" "$NEIGH_T"
    ms=$(( $(lab__now_ms) - t0 ))
    sleep 1
    SW_STATS=$(lab_pinger_stop "$lab"); echo "     pinger: $SW_STATS"
    figure "3 nodes, power-off of the owner: $(fip_stat lost "$SW_STATS") pings lost, longest gap $(fip_stat max_gap_ms "$SW_STATS") ms, kill->client follows ${ms} ms (token ${LAB_COROSYNC_TOKEN} ms)"
    check "crm_mon -1 shows vip Started on $s" crm_mon_has "$lab" "$s" "$(started_line vip "$s")"
    for n in $(lab_nodes "$lab"); do [[ $n != "$a" ]] && has_addr "$lab" "$n" "$VIP4" && live+=("$n"); done
    check "$VIP4 on exactly one live node" equals "${live[*]:-}" "${s:-}"
    check "start-node $a (power on) and it rejoins" start_and_rejoin "$lab" "$a"
    lab_settle "$lab" 60
    check "after rejoin: vip on one node, $VIP4 on that node only" vip_on_one_node "$lab" "$VIP4"
}
start_and_rejoin() { lab_start_node "$1" "$2" && lab_wait_dc "$1" 60; }

scenario_three() {
    echo; echo "=== 3-node cluster, stack $LAB_STACK, agent $FIP_AGENT"
    local f0=$FAIL lab a
    if ! lab_up 3; then bad "3-node lab comes up"; lab_down_mine; return; fi
    ok "3-node lab $LAB comes up (DC, 3 online)"; figure "bring-up 3 nodes: ${LAB_UP_MS} ms"
    lab=$LAB
    t_stack "$lab"
    # shellcheck disable=SC2086
    lab_crm "$lab" node1 configure primitive vip "$FIP_AGENT" params ip="$VIP4" cidr_netmask=24 $OPS >/dev/null
    if a=$(lab_wait_rsc "$lab" vip any "$RSC_T"); then
        ok "vip Started on $a"
        check "$VIP4 is on $a only" equals "$(lab_addr_nodes "$lab" "$VIP4")" "$a"
        t_cut_three "$lab"
        t_kill "$lab"
    else
        bad "vip Started"
    fi
    section "teardown"
    teardown_and_verify "$lab" "$f0"
}

# --------------------------------------------------------------- main
checks_preflight
for s in $SCENARIOS; do "scenario_$s"; done
checks_summary "agent $FIP_AGENT, monitor interval $MONITOR_INTERVAL, corosync token $LAB_COROSYNC_TOKEN ms"
