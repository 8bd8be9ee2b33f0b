#!/usr/bin/env bash
# floatip's resident process in a real 2-node Pacemaker cluster whose corosync runs on a link
# of its own (lab_up --ring-link: eth1 on a second bridge), so that the address's link (eth0,
# the client's bridge) can be cut without cutting the cluster.
#
#   tests/cluster/test_floatip_resident.sh      # as root, the floatip package installed
#   LAB_AGENT_OVERRIDE="floatip:FloatIP=$PWD/target/release/floatip" tests/cluster/test_floatip_resident.sh
#
# link_watch: the owner's address link is cut (its switch port down: carrier loss on eth0).
#   With link_watch=true the resident tells Pacemaker at once (crm_resource --fail, seen as a
#   failed "asyncmon" in pacemaker.log) and the VIP moves; with link_watch=false (set by a
#   reload) the next recurring monitor (every 10 s) finds "link down on NIC eth0".  Measured:
#   carrier loss -> the client's first echo reply from the other node.
# A dead cluster stack: the owner's corosync and Pacemaker daemons are SIGKILLed (no
#   fencing), floatip's resident of a VIP with arp_refresh_interval=2 and conflict_defend=true
#   is not.  It stands down when its executor dies; the survivor takes the VIP over, and in
#   the DEAD_WATCH seconds after that the client sends nothing to the old owner's MAC, and the
#   old owner announces nothing.
#
# Environment (optional): LOG_DIR (/tmp/floatip-lab-logs), LW_MONITOR (10: the monitor
# interval in s of the link cases), DEAD_WATCH (20: s watched after the takeover).
# Prints one ok/FAIL line per check, the figures, then "N passed, M failed".
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$HERE/lab.sh"
# shellcheck source=test_floatip_lib.sh
source "$HERE/test_floatip_lib.sh"
# shellcheck source=checks.sh
source "$HERE/checks.sh"

LOG_DIR=${LOG_DIR:-/tmp/floatip-lab-logs}
LW_MONITOR=${LW_MONITOR:-10}
DEAD_WATCH=${DEAD_WATCH:-20}
LVIP=198.51.100.100
ZVIP=198.51.100.103
RSC_T=60      # s, for a resource to reach a state
NEIGH_T=15    # s, for the client's neighbour entry to follow
AGENT_BIN=/usr/lib/ocf/resource.d/floatip/FloatIP   # inside a node: the override, if any

# FIELD of RSC's resident as `floatip status --json` on NODE shows it (a Python expression
# over `r`, the resident object; "none" when no resident runs)
resident_field() {   # lab node rsc expr
    lab_exec "$1" "$2" "$AGENT_BIN" status --json 2>/dev/null | "$FIP_PY" -c '
import json, sys
rows = [x for x in json.load(sys.stdin) if x["resource"] == sys.argv[1]]
r = rows[0]["resident"] if rows else None
print("none" if r is None else json.dumps(eval(sys.argv[2])))' "$3" "$4"
}
# until the process recorded as "PID STARTTIME" is gone (a zombie counts as gone)
wait_stamp_gone() {   # stamp timeout_s
    local end=$(( $(lab__now_ms) + $2 * 1000 ))
    while [[ $(lab__pid_stamp "${1%% *}" 2>/dev/null) == "$1" ]]; do
        (( $(lab__now_ms) > end )) && { echo "     process ${1%% *} still alive after $2 s" >&2; return 1; }
        sleep 0.005
    done
}
# the running pacemaker-execd child of pacemakerd PID (its respawned one, once killed)
execd_of() {   # pacemakerd_pid
    local p rest
    for p in $(pgrep -P "$1" -x pacemaker-execd); do
        rest=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        rest=${rest##*) }
        [[ ${rest%% *} == [RSD] ]] && { echo "$p"; return 0; }
    done
    return 1
}
wait_respawned_execd() {   # pacemakerd_pid old_execd_pid timeout_s
    local end=$(( $(lab__now_ms) + $3 * 1000 )) now
    while :; do
        now=$(execd_of "$1") && [[ $now != "$2" ]] && return 0
        (( $(lab__now_ms) > end )) && { echo "     no new pacemaker-execd under pacemakerd $1" >&2; return 1; }
        sleep 0.02
    done
}
not_since() {   # lab mark regex node : no line after MARK in NODE's log matches REGEX
    local hits
    hits=$(fip_log_since "$1" "$2" "$4" | grep -E -- "$3" | cut -c1-220)
    [[ -z $hits ]] && return 0
    echo "     pacemaker.log of $4 since the mark:" >&2; sed 's/^/       | /' <<<"$hits" >&2
    return 1
}
quietly() { "$@" >/dev/null; }   # a wait that prints what it found
cluster_whole() {   # lab from : FROM sees both nodes online (the ring is up)
    all_online "$1" "$2" 2
}

# --------------------------------------------------------------- link_watch
# t_link_cut LAB WATCH : cut the owner's address link; WATCH = true|false (lvip's link_watch)
t_link_cut() {
    local lab=$1 watch=$2 a b amac bmac mark
    a=$(lab_wait_rsc "$lab" lvip any "$RSC_T") || { bad "lvip Started somewhere"; return 1; }
    b=$(other_node "$lab" "$a"); amac=$(lab_node_mac "$lab" "$a"); bmac=$(lab_node_mac "$lab" "$b")
    section "cut $a's address link (eth0's switch port down; corosync stays up on eth1), link_watch=$watch, monitor every ${LW_MONITOR}s"
    check "client pings $LVIP" lab_client_ping "$lab" "$LVIP" 10
    check "client's entry for $LVIP is $a's MAC" lab_wait_neigh "$lab" "$LVIP" "$amac" "$NEIGH_T"
    mark=$(fip_log_mark "$lab")
    check "cut $a (carrier loss on its eth0), under the 10 ms pinger: the client gets echo replies from $LVIP at $b's MAC" \
        fip_link_cut "$lab" "$LVIP" "$a" "$RSC_T"
    figure "address link cut, link_watch=$watch, monitor ${LW_MONITOR}s: carrier loss -> client's first reply from $b ${LC_MS:-?} ms ($(fip_stat lost "$LC_STATS") pings lost, longest gap $(fip_stat max_gap_ms "$LC_STATS") ms)"
    check "$b sees lvip Started on $b" quietly fip_wait_rsc_from "$lab" lvip "$b" "$b" "$RSC_T"
    check "client's entry for $LVIP follows to $b's MAC" lab_wait_neigh "$lab" "$LVIP" "$bmac" "$NEIGH_T"
    check "the cluster stayed whole through the cut ($b sees 2 nodes online)" cluster_whole "$lab" "$b"
    check "crm_mon -1 shows 'lvip ($FIP_AGENT): Started $b'" crm_mon_has "$lab" "$b" "$(started_line lvip "$b")"
    check "$LVIP left $a" wait_addr_gone "$lab" "$a" "$LVIP" 30
    if [[ $watch == true ]]; then
        check "$a's pacemaker.log: crm_resource --fail reached the controller (fail_lrm_resource: Failing resource lvip)" \
            since_has "$lab" "$mark" "\(fail_lrm_resource\).*Failing resource lvip" "$a"
        check "$a's pacemaker.log: Result of asyncmon operation for lvip on $a: $PCMK_ERR (Simulated failure)" \
            since_has "$lab" "$mark" "Result of asyncmon operation for lvip on $a: $PCMK_ERR \(Simulated failure\)" "$a"
        # Pacemaker 2.1.5 has counted the one report once or twice (the CIB's modify and
        # create); the attribute writer (any node) logs each count
        figure "fail count after one crm_resource --fail: $(fip_log_since "$lab" "$mark" \
            | sed -n 's/.*Expanded fail-count-lvip#asyncmon_0=value++ to \([0-9]*\).*/\1/p' | sort -n | tail -n1)"
    else
        check "$a's recurring monitor failed: 'link down on NIC eth0' (pacemaker.log)" \
            since_has "$lab" "$mark" "Result of monitor operation for lvip on $a: $PCMK_NOT_RUNNING \(link down on NIC eth0" "$a"
        check "nothing told Pacemaker besides the monitor (no asyncmon failure in $a's pacemaker.log)" \
            not_since "$lab" "$mark" "Result of asyncmon operation for lvip" "$a"
    fi
    check "the DC planned the recovery on $b (Actions: Recover lvip ( $a -> $b ) in pacemaker.log)" \
        since_has "$lab" "$mark" "Actions: +(Recover|Move|Start) +lvip +\( ($a -> )?$b \)"
    CUT_OWNER=$a
}

scenario_link_watch() {
    local lab=$1 a b mark
    section "primitive lvip $FIP_AGENT ($LVIP/24) link_watch=true, op monitor interval=${LW_MONITOR}s"
    echo "     \$ crm configure primitive lvip $FIP_AGENT params ip=$LVIP cidr_netmask=24 link_watch=true op monitor interval=${LW_MONITOR}s timeout=20s"
    check "crm configure primitive lvip ... link_watch=true" crm_quiet "$lab" node1 configure primitive lvip "$FIP_AGENT" \
        params ip="$LVIP" cidr_netmask=24 link_watch=true op monitor interval="${LW_MONITOR}s" timeout=20s
    a=$(lab_wait_rsc "$lab" lvip any "$RSC_T") && ok "lvip Started on $a" || { bad "lvip Started"; return 1; }
    check "floatip status on $a: lvip's resident watches the link (plan.link_watch true)" \
        equals "$(resident_field "$lab" "$a" lvip 'r["plan"]["link_watch"]')" true
    check "floatip status on $a: it stands down with its executor" \
        equals "$(resident_field "$lab" "$a" lvip 'r["stands_down_with_executor"]')" true
    t_link_cut "$lab" true
    a=$CUT_OWNER; b=$(other_node "$lab" "$a")
    # reloadable: changed before the cleanup, so Pacemaker reloads instead of restarting
    mark=$(fip_log_mark "$lab")
    echo "     \$ crm resource param lvip set link_watch false"
    check "crm resource param lvip set link_watch false" crm_quiet "$lab" "$b" resource param lvip set link_watch false
    check "reloaded on $b, not restarted (Result of reload-agent operation for lvip on $b: ok)" \
        wait_since "$lab" "$mark" "Result of reload-agent operation for lvip on $b: $PCMK_OK" "$b" 30
    check "floatip status on $b: no resident watches the link any more" \
        is_true grep -qx -e none -e false <<<"$(resident_field "$lab" "$b" lvip 'r["plan"]["link_watch"]')"
    check "uncut $a" lab_uncut "$lab" "$a"
    check "crm resource cleanup lvip" crm_quiet "$lab" "$b" resource cleanup lvip
    lab_settle "$lab" 60
    t_link_cut "$lab" false
    check "uncut $CUT_OWNER" lab_uncut "$lab" "$CUT_OWNER"
    check "crm resource cleanup lvip" crm_quiet "$lab" node1 resource cleanup lvip
    lab_settle "$lab" 60
    check "crm resource stop lvip" crm_quiet "$lab" node1 resource stop lvip
    check "lvip Stopped, $LVIP on no node" wait_addr_nodes "$lab" "$LVIP" "" 30
    lab_wait_rsc "$lab" lvip stopped "$RSC_T" >/dev/null; lab_settle "$lab" 60
    check "crm configure delete lvip" crm_quiet "$lab" node1 configure delete lvip
    lab_settle "$lab" 60
}

# --------------------------------------------------------------- a dead cluster stack
scenario_dead_stack() {
    local lab=$1 o s omac smac res cap t_kill t_dead t_gone t_over ms gone_ms stats to_old to_new ann_old ann_new arp_old
    section "primitive zvip $FIP_AGENT ($ZVIP/24) arp_refresh_interval=2 conflict_defend=true"
    echo "     \$ crm configure primitive zvip $FIP_AGENT params ip=$ZVIP cidr_netmask=24 arp_refresh_interval=2 conflict_defend=true op monitor interval=${LW_MONITOR}s timeout=20s"
    check "crm configure primitive zvip ... arp_refresh_interval=2 conflict_defend=true" crm_quiet "$lab" node1 configure primitive zvip "$FIP_AGENT" \
        params ip="$ZVIP" cidr_netmask=24 arp_refresh_interval=2 conflict_defend=true op monitor interval="${LW_MONITOR}s" timeout=20s
    o=$(lab_wait_rsc "$lab" zvip any "$RSC_T") && ok "zvip Started on $o" || { bad "zvip Started"; return 1; }
    s=$(other_node "$lab" "$o"); omac=$(lab_node_mac "$lab" "$o"); smac=$(lab_node_mac "$lab" "$s")
    check "floatip status on $o: zvip's resident refreshes every 2 s and defends" \
        equals "$(resident_field "$lab" "$o" zvip '[r["plan"]["refresh_every_ms"], r["plan"]["defend"]]')" "[2000, true]"
    check "floatip status on $o: it stands down with its executor" \
        equals "$(resident_field "$lab" "$o" zvip 'r["stands_down_with_executor"]')" true
    res=$(resident_field "$lab" "$o" zvip 'r["pid"]')
    res=$(lab__pid_stamp "$res") && ok "$o's resident for zvip runs (PID ${res%% *})" || { bad "$o's resident for zvip runs"; return 1; }
    local pm execd
    pm=$(lab__recorded_pid "$LAB_ROOT/$lab/pids/pacemakerd.$o")
    check "floatip status on $o: it stands down with $o's pacemakerd (PID $pm)" \
        equals "$(resident_field "$lab" "$o" zvip 'r["stands_down_with_pacemakerd"]')" "$pm"
    section "$o's pacemaker-execd alone dies (SIGKILL); pacemakerd respawns it (issue 15, finding 8)"
    execd=$(execd_of "$pm") && ok "$o's pacemaker-execd is PID $execd" || { bad "$o's pacemaker-execd runs"; return 1; }
    mark=$(fip_log_mark "$lab")
    check "kill -KILL $execd" kill -KILL "$execd"
    check "pacemakerd respawned pacemaker-execd" wait_respawned_execd "$pm" "$execd" 10
    sleep 3
    # The resident logs into pacemaker.log (it logs where Pacemaker does).
    check "$o's resident noticed the respawned executor (pacemaker.log)" \
        since_has "$lab" "$mark" 'FloatIP\(zvip\) .*pacemakerd respawned the executor' "$o"
    check "$o's resident did not stand down on its own" \
        not_since "$lab" "$mark" 'FloatIP\(zvip\) .*standing down and leaving' "$o"
    # The controller exits when its executor dies; without fencing, the DC may start zvip on
    # the other node before it rejoins, and then recovers the double start by stopping zvip
    # everywhere. A resident ended by that stop is Pacemaker's choice, not a stand-down.
    if lab__pid_stamp "${res%% *}" >/dev/null 2>&1; then
        check "$o's resident carried on: the same process, not stood down nor restarted" \
            equals "$(lab__pid_stamp "${res%% *}" 2>/dev/null)" "$res"
    else
        echo "     the resident was replaced: Pacemaker recovered zvip while $o's controller restarted"
        check "Pacemaker ran a stop of zvip on $o (its recovery), which ended the resident" \
            since_has "$lab" "$mark" 'Result of stop operation for zvip on '"$o"': '"$PCMK_OK" "$o"
        # stop ends a resident with SIGKILL (it wins over whatever the resident is doing), so
        # the old one leaves no line of its own; that it never stood down is checked above.
        check "the old resident is gone (PID ${res%% *})" \
            is_true test "$(lab__pid_stamp "${res%% *}" 2>/dev/null)" != "$res"
        # the recovery starts zvip on either node (nothing prefers one): the node it chose
        # is the owner from here on
        lab_settle "$lab" 60
        o=$(lab_wait_rsc "$lab" zvip any "$RSC_T") && ok "zvip is Started again (on $o)" || { bad "zvip is Started again"; return 1; }
        s=$(other_node "$lab" "$o"); omac=$(lab_node_mac "$lab" "$o"); smac=$(lab_node_mac "$lab" "$s")
        res=$(resident_field "$lab" "$o" zvip 'r["pid"]')
        res=$(lab__pid_stamp "$res") && ok "$o's new resident for zvip runs (PID ${res%% *})" || bad "$o's new resident for zvip runs"
    fi
    check "floatip status on $o: it still refreshes zvip (plan.refresh_every_ms 2000)" \
        equals "$(resident_field "$lab" "$o" zvip 'r["plan"]["refresh_every_ms"]')" 2000
    section "$o's corosync and Pacemaker daemons die (SIGKILL, no fencing); its links and floatip's resident stay"
    check "client pings $ZVIP" lab_client_ping "$lab" "$ZVIP" 10
    check "client's entry for $ZVIP is $o's MAC" lab_wait_neigh "$lab" "$ZVIP" "$omac" "$NEIGH_T"
    cap=$LAB_ROOT/$lab/capture.dead.txt
    fip_cap_start "$lab" "$cap" $(( DEAD_WATCH + RSC_T + 30 )) icmp || { bad "capture on the client"; return 1; }
    lab_pinger_start "$lab" "$ZVIP" || { fip_cap_stop; bad "pinger"; return 1; }
    t_kill=$EPOCHREALTIME
    check "kill-stack $o: corosync, pacemakerd and its daemons SIGKILLed by PID" lab_kill_stack "$lab" "$o"
    t_dead=$EPOCHREALTIME
    check "$o's resident stands down: it exits once pacemakerd is dead" wait_stamp_gone "$res" 10
    check "and says why in pacemaker.log" \
        since_has "$lab" "$mark" 'floatip +\['"${res%% *}"'\] \(resident\).*exiting: pacemakerd is gone' "$o"
    t_gone=$EPOCHREALTIME
    gone_ms=$(( (${t_gone/./} - ${t_dead/./}) / 1000 ))
    check "$ZVIP is still on $o's eth0 (no stop ran there; only the survivor's takeover helps the client)" has_addr "$lab" "$o" "$ZVIP"
    check "$s takes zvip over (as $s sees it: Started on $s)" quietly fip_wait_rsc_from "$lab" zvip "$s" "$s" "$RSC_T"
    check "the client gets echo replies from $ZVIP at $s's MAC" fip_wait_reply_from "$cap" "$ZVIP" "$smac" "$t_kill" "$NEIGH_T"
    check "client's entry for $ZVIP follows to $s's MAC" lab_wait_neigh "$lab" "$ZVIP" "$smac" "$NEIGH_T"
    t_over=$EPOCHREALTIME
    ms=$(fip_first_reply_ms "$cap" "$ZVIP" "$smac" "$t_kill")
    echo "     watching the client's wire for ${DEAD_WATCH} s (10 refresh periods of the old owner's resident)"
    sleep "$DEAD_WATCH"
    stats=$(lab_pinger_stop "$lab"); echo "     pinger: $stats"
    fip_cap_stop
    to_old=$(fip_count_sent_to "$cap" "$ZVIP" "$omac" "$t_over")
    to_new=$(fip_count_sent_to "$cap" "$ZVIP" "$smac" "$t_over")
    # from the resident's exit on: a round it sent in the instant between the executor's
    # death and its noticing is no fight (the watch after the takeover is the real test)
    ann_old=$(fip_count_gratuitous "$cap" "$ZVIP" "$t_gone" 0 "$omac")
    arp_old=$(fip_count_arp_from "$cap" "$ZVIP" "$omac" "$t_over")
    ann_new=$(fip_count_gratuitous "$cap" "$ZVIP" "$t_kill" 0 "$smac")
    check "in the ${DEAD_WATCH} s after the takeover the client sent $to_new echo requests to $ZVIP at $s's MAC" gt_zero "$to_new"
    check "and none to $o's MAC ($to_old)" equals "$to_old" 0
    # (before the takeover, $o's kernel may still ask for the client with $ZVIP as the sender
    # while it answers the pings: that is the kernel serving an address it holds, not floatip)
    check "$o sent no gratuitous ARP for $ZVIP once its stack was dead ($ann_old), no ARP frame with sender $ZVIP after the takeover ($arp_old)" \
        equals "$ann_old $arp_old" "0 0"
    check "$s announced $ZVIP ($ann_new gratuitous frames)" gt_zero "$ann_new"
    check "the client's entry for $ZVIP is still $s's MAC" equals "$(lab_neigh_mac "$lab" "$ZVIP")" "$smac"
    figure "dead cluster stack on the owner (unfenced, link up): resident exited ${gone_ms} ms after its executor was dead; kill -> client's first reply from $s ${ms:-?} ms ($(fip_stat lost "$stats") pings lost, longest gap $(fip_stat max_gap_ms "$stats") ms); in ${DEAD_WATCH} s after the takeover: $to_old frames to the old owner, $ann_old announcements from it"
}

main_lab() {
    echo "=== 2-node cluster, corosync on its own link, stack $LAB_STACK, agent $FIP_AGENT"
    local f0=$FAIL lab
    if ! lab_up 2 --ring-link; then bad "2-node lab with a separate corosync link comes up"; lab_down_mine; return; fi
    ok "2-node lab $LAB comes up, corosync on eth1 (203.0.113.0/24), the address link on eth0"
    figure "bring-up 2 nodes with the ring link: ${LAB_UP_MS} ms"
    lab=$LAB
    t_stack "$lab"
    check "corosync's ring is on eth1 (corosync-cfgtool -s: addr = $(lab_node_ring_ip "$lab" node1))" \
        is_true grep -q "addr[[:space:]]*= $(lab_node_ring_ip "$lab" node1)" <<<"$(lab_exec "$lab" node1 corosync-cfgtool -s 2>&1)"
    scenario_link_watch "$lab"
    scenario_dead_stack "$lab"
    section "teardown"
    teardown_and_verify "$lab" "$f0"
}

checks_preflight
main_lab
checks_summary "agent $FIP_AGENT, monitor interval ${LW_MONITOR}s, corosync token $LAB_COROSYNC_TOKEN ms on its own link"
