#!/usr/bin/env bash
# ocf:floatip:FloatIP driven by pcs (Debian 12's pcs 0.11) in a real 2-node Pacemaker cluster
# (tests/cluster/lab.sh), as a pcs user would, asserting on what crm_mon, pcs and the client
# show.  pcsd is not running: only pcs commands that work on the local CIB are used.
#
#   tests/cluster/test_floatip_pcs.sh             # as root, the floatip package and pcs installed
#   LAB_AGENT_OVERRIDE="floatip:FloatIP=$PWD/target/release/floatip" tests/cluster/test_floatip_pcs.sh
#
# pcs resource describe; pcs resource create with pcs's default operations (a monitor every
# 10 s and, from the meta-data, one at OCF_CHECK_LEVEL=10 every 30 s): Started and never
# restarted over DEEP_RUNS deep monitors; debug-monitor and debug-start next to the running
# resource; pcs resource move under the 10 ms pinger; pcs resource update of a reloadable
# parameter (reload-agent, the address never removed); another machine answering for the VIP
# (the deep monitor's OCF_DEGRADED in crm_mon and pcs status, no recovery, the client kept),
# pcs resource cleanup; debug-start / debug-stop of the disabled resource; pcs resource delete.
#
# Environment (optional): LOG_DIR (/tmp/floatip-lab-logs), METADATA (metadata/FloatIP.xml),
# DEEP_RUNS (3: deep monitors watched after create, 30 s apart).
# Prints one ok/FAIL line per check, the figures, then "N passed, M failed".
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=lab.sh
source "$HERE/lab.sh"
# shellcheck source=test_floatip_lib.sh
source "$HERE/test_floatip_lib.sh"
# shellcheck source=checks.sh
source "$HERE/checks.sh"

LOG_DIR=${LOG_DIR:-/tmp/floatip-lab-logs}
METADATA=${METADATA:-$REPO/metadata/FloatIP.xml}
DEEP_RUNS=${DEEP_RUNS:-3}
VIP4=198.51.100.100
RSC_T=60      # s, for a resource to reach a state
NEIGH_T=15    # s, for the client's neighbour entry to follow

# pcs_run LAB NODE ARGS... : pcs on NODE; its output (both streams) in PCS_OUT, status in PCS_RC
pcs_run() {
    local lab=$1 node=$2; shift 2
    PCS_OUT=$(lab_pcs "$lab" "$node" "$@" 2>&1); PCS_RC=$?
    echo "     [$node]\$ pcs $* -> $PCS_RC"
    [[ -n $PCS_OUT ]] && sed 's/^/     | /' <<<"$PCS_OUT"
    return 0
}
pcs_said() { grep -Fq -- "$1" <<<"$PCS_OUT" || { echo "     pcs did not print: $1" >&2; return 1; }; }
# the operations of RSC in the CIB, one "name interval [OCF_CHECK_LEVEL=n]" per op
cib_ops() {   # lab rsc
    lab_exec "$1" node1 cibadmin -Q -o resources 2>/dev/null | awk -v r="$2" '
        /<primitive / { inr = ($0 ~ "id=\"" r "\"") }
        /<\/primitive>/ { inr = 0 }
        inr && /<op / {
            if (line != "") print line
            match($0, /name="[^"]*"/); n = substr($0, RSTART + 6, RLENGTH - 7)
            match($0, /interval="[^"]*"/); iv = substr($0, RSTART + 10, RLENGTH - 11)
            line = n " " iv }
        inr && /name="OCF_CHECK_LEVEL"/ { match($0, /value="[^"]*"/); line = line " OCF_CHECK_LEVEL=" substr($0, RSTART + 7, RLENGTH - 8) }
        END { if (line != "") print line }'
}
no_location_constraint() {   # lab rsc
    local c
    c=$(lab_exec "$1" node1 cibadmin -Q -o constraints 2>/dev/null | grep -o "<rsc_location [^>]*rsc=\"$2\"[^>]*>")
    [[ -z $c ]] || { echo "     constraint left: $c" >&2; return 1; }
}
# the exec time Pacemaker recorded for RSC's recurring monitor of INTERVAL_MS on NODE
monitor_exec_ms() {   # lab rsc node interval_ms
    lab_crm_mon_xml "$1" "$3" 2>/dev/null | awk -v r="$2" -v n="$3" -v iv="interval=\"$4ms\"" '
        /<node name="/ && !/\/>/ { match($0, /name="[^"]*"/); cur = substr($0, RSTART + 6, RLENGTH - 7) }
        /<resource_history / { inr = ($0 ~ "id=\"" r "\"") }
        inr && cur == n && /<operation_history / && index($0, iv) && /rc="0"/ {
            match($0, /exec-time="[^"]*"/); t = substr($0, RSTART + 11, RLENGTH - 12) }
        END { print t }'
}
no_deleted_addr() {   # watch-file addr : ip monitor saw no deletion of ADDR
    local d
    d=$(grep -F "Deleted" "$1" | grep -F " $2/")
    [[ -z $d ]] || { echo "     ip monitor: $d" >&2; return 1; }
}

# --------------------------------------------------------------- steps
t_describe() {
    local lab=$1 out p missing=() names ops
    section "pcs resource describe $FIP_AGENT"
    out=$(lab_pcs "$lab" node1 resource describe "$FIP_AGENT" 2>&1)
    mapfile -t names < <(grep -o '<parameter name="[^"]*"' "$METADATA" | cut -d'"' -f2)
    check "${METADATA#"$REPO"/} declares parameters (${#names[@]})" gt_zero "${#names[@]}"
    for p in "${names[@]}"; do
        grep -Eq "^  $p( \\(|:|\$)" <<<"$out" || missing+=("$p")
    done
    check "pcs resource describe lists all ${#names[@]} parameters of ${METADATA#"$REPO"/}" equals "${missing[*]:-}" ""
    check "pcs resource describe marks ip as required" grep -Eq '^  ip \(required\)' <<<"$out"
    # "Default operations:" then per op "  name:" and its "key=value" settings below, one a
    # line (pcs 0.11) or all on one line (pcs 0.12)
    ops=$(awk '/^Default operations:/ { on = 1; next }
               on && /^  [a-z-]+:$/ { if (op != "") print op; op = $1 }
               on && /^    / { for (i = 1; i <= NF; i++) op = op " " $i }
               END { if (op != "") print op }' <<<"$out")
    figure "pcs resource describe, default operations: $(paste -sd';' <<<"$ops" | sed 's/;/; /g')"
    check "pcs resource describe shows the default deep monitor: monitor: interval=30s OCF_CHECK_LEVEL=10" \
        grep -Eq '^monitor: interval=30s .*OCF_CHECK_LEVEL=10' <<<"$ops"
}

# create with pcs's defaults; Started on one node and left alone over DEEP_RUNS deep monitors
t_create() {
    local lab=$1 a b cap t0 mark ops iv ms
    section "pcs resource create vip $FIP_AGENT ip=$VIP4 cidr_netmask=24 (pcs's default operations)"
    cap=$LAB_ROOT/$lab/capture.create.$$.txt
    fip_cap_start "$lab" "$cap" $(( 30 * DEEP_RUNS + 180 )) || { bad "capture on the client"; return 1; }
    t0=$EPOCHREALTIME
    mark=$(fip_log_mark "$lab")
    pcs_run "$lab" node1 resource create vip "$FIP_AGENT" ip="$VIP4" cidr_netmask=24
    check "pcs resource create vip ... exits 0" equals "$PCS_RC" 0
    ops=$(cib_ops "$lab" vip)
    figure "operations pcs created for vip: $(paste -sd';' <<<"$ops" | sed 's/;/; /g')"
    iv=$(deep_monitor_interval "$lab" vip)
    check "the CIB has a monitor with OCF_CHECK_LEVEL=10, which nobody asked for (every ${iv:-?})" equals "$iv" 30s
    check "and the plain monitor every 10s" grep -qx 'monitor 10s' <<<"$ops"
    check "and reload-agent (the agent advertises it)" grep -q '^reload-agent ' <<<"$ops"
    DEEP_S=${iv%s}; [[ $DEEP_S =~ ^[0-9]+$ ]] || DEEP_S=30
    a=$(lab_wait_rsc "$lab" vip any "$RSC_T") && ok "vip Started on $a" || { bad "vip Started"; fip_cap_stop; return 1; }
    VIP_NODE=$a; b=$(other_node "$lab" "$a")
    check "crm_mon -1 shows 'vip ($FIP_AGENT): Started $a'" crm_mon_has "$lab" "$a" "$(started_line vip "$a")"
    check "$VIP4 is on $a only" equals "$(lab_addr_nodes "$lab" "$VIP4")" "$a"
    check "client pings $VIP4, its entry has $a's MAC" client_reaches "$lab" "$VIP4" "$(lab_node_mac "$lab" "$a")"

    section "pcs resource debug-monitor / debug-start next to the running resource"
    pcs_run "$lab" "$a" resource debug-monitor vip
    check "debug-monitor on $a (the address is there) exits 0" equals "$PCS_RC" 0
    check "  and says 'Operation force-check for vip ($FIP_AGENT) returned 0 ($PCMK_OK)'" \
        pcs_said "Operation force-check for vip ($FIP_AGENT) returned 0 ($PCMK_OK)"
    pcs_run "$lab" "$b" resource debug-monitor vip
    check "debug-monitor on $b (no address) exits 7" equals "$PCS_RC" 7
    check "  and says 'returned 7 ($PCMK_NOT_RUNNING)'" pcs_said "Operation force-check for vip ($FIP_AGENT) returned 7 ($PCMK_NOT_RUNNING)"
    pcs_run "$lab" "$a" resource debug-start vip
    check "debug-start on $a, where vip runs, exits 0" equals "$PCS_RC" 0
    check "  and announces the address again ('is already on eth0; announcing it again')" \
        pcs_said "$VIP4/24 is already on eth0; announcing it again"
    check "$VIP4 is still on $a only" equals "$(lab_addr_nodes "$lab" "$VIP4")" "$a"

    section "vip left alone over $DEEP_RUNS deep monitors (nothing else answers for $VIP4)"
    check "the client's wire shows $DEEP_RUNS deep monitors from $a ($(( 2 * DEEP_RUNS )) ARP probes from 0.0.0.0)" \
        wait_probes "$cap" "$VIP4" "$(lab_node_mac "$lab" "$a")" "$t0" $(( 2 * DEEP_RUNS )) $(( DEEP_S * DEEP_RUNS + 60 ))
    fip_cap_stop
    check "the deep monitor returned ok ($a's pacemaker.log: vip_monitor_${DEEP_S}000)" \
        since_has "$lab" "$mark" "Result of monitor operation for vip on $a: $PCMK_OK .*key=vip_monitor_${DEEP_S}000" "$a"
    check "vip was started once and never stopped" equals \
        "$(fip_log_since "$lab" "$mark" | grep -cE "Result of (start|stop) operation for vip on ")" 1
    check "fail-count of vip on $a is 0" failcount_is "$lab" vip "$a" 0
    check "crm_mon -1 has no Failed Resource Actions" crm_mon_lacks "$lab" "$a" "Failed Resource Actions"
    check "crm_mon -1 still shows 'vip ($FIP_AGENT): Started $a'" crm_mon_has "$lab" "$a" "$(started_line vip "$a")"
    ms=$(monitor_exec_ms "$lab" vip "$a" $(( DEEP_S * 1000 )))
    figure "deep monitor (OCF_CHECK_LEVEL=10, arp_probe_wait 300 ms): exec-time ${ms:-?} (crm_mon XML)"
}

t_move() {
    local lab=$1 a=$2 b
    b=$(other_node "$lab" "$a")
    section "pcs resource move vip $b (client pinging every 10 ms)"
    if FIP_CTL=pcs check "pcs resource move vip $b: Started on $b, client neighbour entry follows to $b's MAC" \
        fip_switch "$lab" vip "$VIP4" "$b" node1 resource move vip "$b"; then
        switch_figure "pcs resource move"
    fi
    check "after move: $VIP4 on $b only" equals "$(lab_addr_nodes "$lab" "$VIP4")" "$b"
    check "client saw 10 gratuitous ARP frames from $b (5 rounds of request + reply)" equals "$SW_ANN" 10
    check "pcs (0.11 and 0.12) removed its location constraint once vip had moved" no_location_constraint "$lab" vip
    lab_settle "$lab" 60
    check "vip stays on $b" equals "$(lab_rsc_nodes "$lab" vip)" "$b"
    VIP_NODE=$b
}

# pcs resource update of a reloadable parameter: reload-agent, no stop, the address stays
reload_case() {   # lab node value
    local lab=$1 n=$2 v=$3 watch mark shown
    watch=$LAB_ROOT/$lab/addr-watch.$$.txt
    fip_addr_watch_start "$lab" "$n" "$watch" || { bad "ip monitor on $n"; return 1; }
    mark=$(fip_log_mark "$lab")
    pcs_run "$lab" node1 resource update vip "arp_refresh_interval=$v"
    check "pcs resource update vip arp_refresh_interval=$v exits 0" equals "$PCS_RC" 0
    lab_settle "$lab" 60
    fip_addr_watch_stop
    shown=$(lab_pcs "$lab" node1 resource config vip 2>&1)
    if [[ -n $v ]]; then
        check "pcs resource config vip shows arp_refresh_interval=$v" grep -q "^ *arp_refresh_interval=$v\$" <<<"$shown"
    else
        check "pcs resource config vip no longer has arp_refresh_interval" is_true test -z "$(grep arp_refresh_interval <<<"$shown")"
    fi
    check "the scheduler planned 'Reload vip' (pacemaker.log)" since_has "$lab" "$mark" "Actions: +Reload +vip +\\( +$n +\\)"
    check "$n ran reload-agent: 'Result of reload-agent operation for vip on $n: ok'" \
        since_has "$lab" "$mark" "Result of reload-agent operation for vip on $n: $PCMK_OK" "$n"
    check "the agent applied it: 'reloaded: ... arp_refresh_interval=${v:-0}s'" \
        since_has "$lab" "$mark" "reloaded: .*arp_refresh_interval=${v:-0}s" "$n"
    check "no stop, no start of vip" no_stop_start_since "$lab" vip "$mark"
    check "$VIP4 was never removed from $n (ip monitor address: no Deleted)" no_deleted_addr "$watch" "$VIP4"
    check "$VIP4 is on $n only" equals "$(lab_addr_nodes "$lab" "$VIP4")" "$n"
}
t_update() {
    local lab=$1 n=$2
    section "pcs resource update vip arp_refresh_interval=5 (a reloadable parameter), then back to the default"
    reload_case "$lab" "$n" 5
    # off again, so that in the next step only the deep monitor defends the address
    reload_case "$lab" "$n" ""
}

# pcs's own view of the degraded resource (called by t_degraded before the cleanup)
pcs_degraded_view() {
    local lab=$1 rsc=$2 n=$3 out
    out=$(lab_pcs "$lab" "$n" status 2>&1)
    check "pcs status shows the same 'returned '$PCMK_DEGRADED'' line" grep -Fq "$rsc ${DEEP_S}s-interval monitor on $n returned '$PCMK_DEGRADED' (" <<<"$out"
    check "pcs status still shows '$rsc ($FIP_AGENT): Started $n'" grep -Eq "$(started_line "$rsc" "$n")" <<<"$out"
    check "pcs resource failcount show $rsc: 'No failcounts for resource '$rsc''" \
        grep -Fq "No failcounts for resource '$rsc'" <<<"$(lab_pcs "$lab" "$n" resource failcount show "$rsc" 2>&1)"
}

# the usual way to debug an agent: the resource disabled, the actions run by hand on one node
t_debug_disabled() {
    local lab=$1 n=$2
    section "pcs resource disable vip, then debug-start / debug-monitor / debug-stop on $n"
    pcs_run "$lab" node1 resource disable vip --wait=60
    check "pcs resource disable vip --wait=60 exits 0" equals "$PCS_RC" 0
    check "vip Stopped, $VIP4 on no node" wait_addr_nodes "$lab" "$VIP4" "" 30
    pcs_run "$lab" "$n" resource debug-start vip
    check "debug-start on $n exits 0" equals "$PCS_RC" 0
    check "  and says 'returned 0 ($PCMK_OK)' and 'added $VIP4/24 to eth0'" \
        eval 'pcs_said "Operation force-start for vip ($FIP_AGENT) returned 0 ($PCMK_OK)" && pcs_said "added $VIP4/24 to eth0"'
    check "$VIP4 is on $n only" equals "$(lab_addr_nodes "$lab" "$VIP4")" "$n"
    check "the client follows $n (its entry has $n's MAC, ping answered)" \
        eval 'lab_wait_neigh "$lab" "$VIP4" "$(lab_node_mac "$lab" "$n")" "$NEIGH_T" && lab_client_ping "$lab" "$VIP4" 10'
    pcs_run "$lab" "$n" resource debug-monitor vip
    check "debug-monitor on $n exits 0" equals "$PCS_RC" 0
    pcs_run "$lab" "$n" resource debug-stop vip
    check "debug-stop on $n exits 0" equals "$PCS_RC" 0
    check "$VIP4 is on no node" equals "$(lab_addr_nodes "$lab" "$VIP4")" ""
    pcs_run "$lab" "$n" resource debug-monitor vip
    check "debug-monitor on $n exits 7 ('returned 7 ($PCMK_NOT_RUNNING)')" \
        eval '[[ $PCS_RC == 7 ]] && pcs_said "returned 7 ($PCMK_NOT_RUNNING)"'
    pcs_run "$lab" node1 resource delete vip
    check "pcs resource delete vip exits 0" equals "$PCS_RC" 0
    lab_settle "$lab" 60
    check "crm_mon -1 no longer lists vip" crm_mon_lacks "$lab" node1 "^ *\\* vip[[:space:]]"
    check "no stray address on any node" no_stray_anywhere "$lab"
}

scenario_pcs() {
    echo "=== 2-node cluster, stack $LAB_STACK, agent $FIP_AGENT"
    local f0=$FAIL lab
    if ! lab_up 2; then bad "2-node lab comes up"; lab_down_mine; return; fi
    ok "2-node lab $LAB comes up (DC, 2 online)"; figure "bring-up 2 nodes: ${LAB_UP_MS} ms"
    lab=$LAB
    t_stack "$lab"
    PCS_VERSION=$(lab_pcs "$lab" node1 --version 2>/dev/null)   # the nodes' pcs, not the host's
    t_describe "$lab"
    VIP_NODE="" DEEP_S=30
    if t_create "$lab"; then
        t_move "$lab" "$VIP_NODE"
        t_update "$lab" "$VIP_NODE"
        DEGRADED_HOOK=pcs_degraded_view t_degraded "$lab" vip "$VIP4" "$VIP_NODE" pcs "$DEEP_S" 1
        t_debug_disabled "$lab" "$(other_node "$lab" "$VIP_NODE")"
    fi
    section "teardown"
    teardown_and_verify "$lab" "$f0"
}

# --------------------------------------------------------------- main
checks_preflight
command -v pcs >/dev/null || { echo "pcs is not installed (tests/setup.sh installs it)" >&2; echo "0 passed, 1 failed"; exit 1; }
scenario_pcs
checks_summary "agent $FIP_AGENT with pcs ${PCS_VERSION:-?}, pcs's default operations, corosync token $LAB_COROSYNC_TOKEN ms"
