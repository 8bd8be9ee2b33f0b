# shellcheck shell=bash disable=SC2034  # PASS, FAIL, ... are read by the scripts that source this
# The check harness and the steps shared by test_floatip.sh (crmsh) and test_floatip_pcs.sh
# (pcs), sourced after lab.sh and test_floatip_lib.sh.  Sourcing it installs the EXIT trap
# that tears down every lab of the calling shell.
#
#   check WHAT CMD...     runs CMD: "ok   - WHAT" or "FAIL - WHAT" (counted); figure TEXT
#   checks_preflight      root, the agent under test, python3 (else "0 passed, 1 failed")
#   checks_summary TITLE  the figures, the failed checks, "N passed, M failed"; its status
#   t_degraded ...        another machine answers for the VIP: the deep monitor's
#                         OCF_DEGRADED as crm_mon shows it, no recovery (see below)

PASS=0 FAIL=0 FAILED=() FIGURES=()
# How the stack the labs run (LAB_STACK) words an operation's result, in pacemaker.log
# ("Result of stop operation for vip on node1: ok"), crm_mon's Failed Resource Actions and
# crm_resource's (pcs debug-*) "returned 7 (not running)": Pacemaker 2.1 prints the OCF
# names in lower case and 190 as its code name, 3.0 capitalised descriptions.  Plain text,
# no regex characters: used with grep -F and -E alike.
case ${LAB_STACK:-debian12} in
    debian13)
        PCMK_OK=OK PCMK_ERR='Error occurred' PCMK_NOT_RUNNING='Not running'
        PCMK_NOT_CONFIGURED='Not configured' PCMK_DEGRADED='Service is active but might fail soon' ;;
    *)
        PCMK_OK=ok PCMK_ERR=error PCMK_NOT_RUNNING='not running'
        PCMK_NOT_CONFIGURED='not configured' PCMK_DEGRADED=OCF_DEGRADED ;;
esac
ok()     { PASS=$((PASS+1)); echo "ok   - $*"; }
bad()    { FAIL=$((FAIL+1)); FAILED+=("$*"); echo "FAIL - $*"; }
check()  { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; return 1; fi; }
figure() { FIGURES+=("$*"); echo "     # $*"; }
equals() { [[ $1 == "$2" ]] || { echo "     got '$1', expected '$2'" >&2; return 1; }; }
section() { echo; echo "--- $*"; }

on_exit() {
    local rc=$?
    trap - EXIT INT TERM HUP
    fip_cap_stop
    fip_addr_watch_stop
    lab_down_mine || true
    exit $rc
}
trap on_exit EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM HUP

# --------------------------------------------------------------- small assertions
other_node() { local max i; max=$(lab__nodes_n "$1"); i=$(lab__idx "$2"); echo "node$(( i % max + 1 ))"; }
crm_mon_has() {   # lab from regex : crm_mon -1 as FROM sees it matches REGEX (extended)
    local out
    out=$(lab_crm_mon "$1" "$2" 2>&1)
    grep -Eq -- "$3" <<<"$out" && return 0
    echo "     crm_mon -1 on $2 does not match /$3/:" >&2; sed 's/^/       | /' <<<"$out" >&2
    return 1
}
wait_crm_mon_has() {   # lab from regex timeout_s
    local end=$(( $(lab__now_ms) + $4 * 1000 ))
    until lab_crm_mon "$1" "$2" 2>/dev/null | grep -E -- "$3" >/dev/null; do
        (( $(lab__now_ms) > end )) && { crm_mon_has "$1" "$2" "$3"; return 1; }
        sleep 0.3
    done
}
started_line() { echo "$1[[:space:]]+\\($FIP_AGENT\\):[[:space:]]+Started $2"; }
has_addr() { lab_exec "$1" "$2" ip -o addr show 2>/dev/null | awk -v a="${3,,}" '{ split($4,p,"/"); if (tolower(p[1])==a) f=1 } END { exit !f }'; }
wait_addr_gone() {   # lab node addr timeout_s
    local end=$(( $(lab__now_ms) + $4 * 1000 ))
    while has_addr "$1" "$2" "$3"; do
        (( $(lab__now_ms) > end )) && { echo "     $3 still on $2 after $4 s" >&2; return 1; }
        sleep 0.1
    done
}
wait_addr_nodes() {   # lab addr expected timeout_s : lab_addr_nodes becomes EXPECTED
    local end=$(( $(lab__now_ms) + $4 * 1000 )) cur
    while :; do
        cur=$(lab_addr_nodes "$1" "$2")
        [[ $cur == "$3" ]] && return 0
        (( $(lab__now_ms) > end )) && { echo "     $2 is on '$cur', expected '$3' (after $4 s)" >&2; return 1; }
        sleep 0.1
    done
}
no_stray_anywhere() {   # lab [allowed...] : no node has a global address besides its static ones
    local lab=$1 n s out=""; shift
    for n in $(lab_nodes "$lab"); do
        s=$(fip_stray_addrs "$lab" "$n" "$@")
        [[ -n $s ]] && out+=" $n: $s;"
    done
    [[ -z $out ]] || { echo "     stray addresses:$out" >&2; return 1; }
}
all_online() {   # lab from count : FROM sees COUNT nodes online and none unclean
    local out n
    out=$(lab_crm_mon "$1" "$2" 2>&1)
    grep -qi 'unclean' <<<"$out" && { echo "     a node is UNCLEAN:" >&2; sed 's/^/       | /' <<<"$out" >&2; return 1; }
    n=$(lab_crm_mon_xml "$1" "$2" 2>/dev/null | grep -c '<node name="[^"]*"[^>]*online="true"')
    equals "$n" "$3"
}
# the pacemaker log of NODE, from line FROM on, has "Result of start operation" for A before B
started_in_order() {   # lab node from_line a b
    local log=$LAB_ROOT/$1/nodes/$2/log/pacemaker/pacemaker.log order
    order=$(tail -n +"$3" "$log" | grep -oE "Result of start operation for ($4|$5) on $2: $PCMK_OK" \
        | awk '{print $6}' | xargs)
    equals "$order" "$4 $5"
}
crm_quiet() { lab_crm "$@" >/dev/null; }   # crm's chatter on stdout dropped, errors kept
log_lines() { wc -l < "$LAB_ROOT/$1/nodes/$2/log/pacemaker/pacemaker.log"; }
log_has() { grep -Fq -- "$3" "$LAB_ROOT/$1/nodes/$2/log/pacemaker/pacemaker.log" || { echo "     not in $2's pacemaker.log: $3" >&2; return 1; }; }
log_matches() { grep -Eq -- "$3" "$LAB_ROOT/$1/nodes/$2/log/pacemaker/pacemaker.log" || { echo "     no line matching /$3/ in $2's pacemaker.log" >&2; return 1; }; }
is_true() { "$@"; }
gt_zero() { (( ${1:-0} > 0 )) || { echo "     got $1, expected > 0" >&2; return 1; }; }
gap_sane() {   # stats : a longest gap was measured and is below 60 s
    local g; g=$(fip_stat max_gap_ms "$1")
    [[ -n $g ]] && (( g < 60000 )) || { echo "     longest gap '$g' ms" >&2; return 1; }
}
switch_figure() {   # label
    figure "$1: $(fip_stat lost "$SW_STATS") pings lost, longest gap $(fip_stat max_gap_ms "$SW_STATS") ms, command->Started ${SW_MS:-?} ms, first announcement +${SW_FIRST_ANN_MS:-?} ms, ${SW_ANN:-?} announcement frames"
}

# tear the lab down and prove nothing of it survives (as test_ipaddr2_smoke.sh does)
teardown_and_verify() {
    local lab=$1 f0=$2 ns_inos=() pids=() f ns p leftover="" ino
    (( FAIL > f0 )) && lab_collect_logs "$lab" "$LOG_DIR/$lab"
    for ns in $(ip netns list | awk -v p="$lab-" 'index($1,p)==1 {print $1}'); do
        ns_inos+=("$(lab__ns_ino "/run/netns/$ns")")
    done
    for f in "$LAB_ROOT/$lab"/pids/*; do [[ -s $f ]] && pids+=("$(cat "$f")"); done
    for ino in "${ns_inos[@]}"; do
        for p in $(lab__netns_pids "$ino"); do pids+=("$(lab__pid_stamp "$p")"); done
    done
    check "$lab: lab_down succeeds" lab_down "$lab"
    check "$lab: no namespace left" is_true test -z "$(ip netns list | grep "^$lab-")"
    # the nodes' mounts (binds, a Debian 13 node's overlay) lived in their mount namespaces only
    check "$lab: no mount of its files left in any process's mount namespace" \
        is_true test -z "$(grep -lF "$LAB_ROOT/$lab/" /proc/[0-9]*/mountinfo 2>/dev/null)"
    for p in "${pids[@]}"; do
        [[ -n $p && $(lab__pid_stamp "${p%% *}" 2>/dev/null) == "$p" ]] && leftover+=" ${p%% *}"
    done
    check "$lab: none of its ${#pids[@]} processes survives" equals "$leftover" ""
}

# crm_mon -1 as FROM sees it contains TEXT (fixed string) within TIMEOUT_S
wait_crm_mon_text() {   # lab from text timeout_s
    local end=$(( $(lab__now_ms) + $4 * 1000 ))
    until lab_crm_mon "$1" "$2" 2>/dev/null | grep -F -- "$3" >/dev/null; do
        if (( $(lab__now_ms) > end )); then
            echo "     crm_mon -1 on $2 does not show, after $4 s: $3" >&2
            lab_crm_mon "$1" "$2" 2>&1 | sed 's/^/       | /' >&2
            return 1
        fi
        sleep 0.3
    done
}
crm_mon_lacks() {   # lab from regex : crm_mon -1 does not match REGEX
    local out
    out=$(lab_crm_mon "$1" "$2" 2>&1)
    grep -Eq -- "$3" <<<"$out" || return 0
    echo "     crm_mon -1 on $2 matches /$3/:" >&2; sed 's/^/       | /' <<<"$out" >&2
    return 1
}
wait_crm_mon_lacks() {   # lab from regex timeout_s
    local end=$(( $(lab__now_ms) + $4 * 1000 ))
    while lab_crm_mon "$1" "$2" 2>/dev/null | grep -E -- "$3" >/dev/null; do
        (( $(lab__now_ms) > end )) && { crm_mon_lacks "$1" "$2" "$3"; return 1; }
        sleep 0.3
    done
}
# the fail count Pacemaker keeps for RSC on NODE (crm_failcount: "... value=N")
failcount_is() {   # lab rsc node expected
    local v
    v=$(lab_exec "$1" "$3" crm_failcount --query -r "$2" -N "$3" 2>&1 | sed -n 's/.*value=\([0-9A-Za-z]*\).*/\1/p')
    equals "${v:-?}" "$4"
}

# (Greps at the end of a pipe read all of it, never -q: with pipefail, a writer cut short by
# grep -q's early exit makes the pipe fail though the line was found.)
# Positions in every node's pacemaker.log ("node1:LINES node2:LINES"), and the lines added
# after such a mark, so a check can ask what Pacemaker did since a given moment.
fip_log_mark() {
    local n out=()
    for n in $(lab_nodes "$1"); do out+=("$n:$(log_lines "$1" "$n")"); done
    echo "${out[*]}"
}
fip_log_since() {   # lab mark [node] : the lines after MARK (of NODE only, if given)
    local m n
    for m in $2; do
        n=${m%%:*}
        [[ -n ${3:-} && $n != "$3" ]] && continue
        tail -n +"$(( ${m#*:} + 1 ))" "$LAB_ROOT/$1/nodes/$n/log/pacemaker/pacemaker.log"
    done
}
since_has() {   # lab mark regex [node] : a line after MARK matches REGEX (extended)
    fip_log_since "$1" "$2" "${4:-}" | grep -E -- "$3" >/dev/null && return 0
    echo "     no line matching /$3/ in pacemaker.log${4:+ of $4} since the mark" >&2
    return 1
}
# Nothing happened to RSC since MARK but monitors: no stop, no start (on any node) and no
# action for it in any transition the scheduler computed ("Actions: Recover vip (node1)").
no_actions_since() {   # lab rsc mark
    local hits
    hits=$(fip_log_since "$1" "$3" | grep -E "Result of (stop|start|reload-agent|migrate_to|migrate_from) operation for $2 on |Actions: +[A-Za-z]+ +$2 +\(" | cut -c1-220)
    [[ -z $hits ]] && return 0
    echo "     pacemaker.log since the mark:" >&2; sed 's/^/       | /' <<<"$hits" >&2
    return 1
}
no_stop_start_since() {   # lab rsc mark : no stop and no start of RSC since MARK
    local hits
    hits=$(fip_log_since "$1" "$3" | grep -E "Result of (stop|start) operation for $2 on " | cut -c1-220)
    [[ -z $hits ]] && return 0
    echo "     pacemaker.log since the mark:" >&2; sed 's/^/       | /' <<<"$hits" >&2
    return 1
}
# until the client's capture holds COUNT duplicate-address probes for IP from MAC (the deep
# monitor sends two per run: ARP requests from 0.0.0.0, RFC 5227)
wait_probes() {   # cap ip mac from count timeout_s
    local end=$(( $(lab__now_ms) + $6 * 1000 )) n
    while :; do
        n=$(fip_count_probes "$1" "$2" "$3" "$4")
        (( n >= $5 )) && return 0
        (( $(lab__now_ms) > end )) && { echo "     $n probes for $2 from $3 after $6 s, expected $5" >&2; return 1; }
        sleep 0.5
    done
}

# t_degraded LAB RSC IP OWNER CTL INTERVAL_S RUNS   (DEGRADED_HOOK=FUNCTION: more checks
# while degraded, called as FUNCTION LAB RSC OWNER)
# RSC runs on OWNER with a monitor at OCF_CHECK_LEVEL=10 every INTERVAL_S seconds; CTL (crm
# or pcs) is the tool whose cleanup is used.  A zombie appears on the segment with IP and
# makes the client's entry point at it; then:
#   * crm_mon shows the deep monitor's OCF_DEGRADED with the reason naming the zombie's MAC,
#     while the resource line stays "Started OWNER", the fail count stays 0, the scheduler
#     plans nothing for RSC and nothing is stopped or started;
#   * the client's entry is OWNER's MAC again (the deep monitor announced again);
#   * with RUNS > 1, RUNS - 1 further deep monitors with the zombie still there change none
#     of that, and once the zombie is gone the next deep monitor returns ok while crm_mon
#     still lists the degraded result;
#   * `CTL resource cleanup RSC` brings crm_mon back to plain Started, no failed action.
t_degraded() {
    local lab=$1 rsc=$2 ip=$3 owner=$4 ctl=$5 iv=$6 runs=$7
    local omac zmac cap mark mark2 t0 t_claim want n shown t_settle
    omac=$(lab_node_mac "$lab" "$owner"); zmac=$(lab_zombie_mac)
    section "another machine answers for $ip while $rsc runs on $owner (deep monitor every ${iv}s)"
    check "client pings $ip" lab_client_ping "$lab" "$ip" 10
    check "client's entry for $ip is $owner's MAC" lab_wait_neigh "$lab" "$ip" "$omac" "$NEIGH_T"
    # A deep monitor that has returned ok once has its result recorded; had the zombie been
    # there for the first one, the record would stay pending (t_degraded_at_start)
    check "a deep monitor of $rsc returned ok before the zombie comes (pacemaker.log of $owner)" wait_since "$lab" "$owner:0" \
        "Result of monitor operation for $rsc on $owner: $PCMK_OK .*key=${rsc}_monitor_${iv}000" "$owner" $(( iv + 30 ))
    cap=$LAB_ROOT/$lab/capture.degraded.$rsc.$$.txt
    fip_cap_start "$lab" "$cap" $(( iv * (runs + 3) + 120 )) || { bad "capture on the client"; return 1; }
    mark=$(fip_log_mark "$lab")
    t0=$EPOCHREALTIME
    echo "     \$ lab.sh zombie: namespace on the bridge, MAC $zmac, $ip/24 on its eth0"
    check "a zombie ($zmac) holds $ip on the segment" lab_zombie_add "$lab" "$ip"
    t_claim=$EPOCHREALTIME
    check "the zombie talks to the client (ARP request: $ip is at $zmac)" lab_zombie_claim "$lab"
    figure "client's entry for $ip after the zombie's ARP request: $(lab_neigh_mac "$lab" "$ip") ($(lab_mac_owner "$lab" "$(lab_neigh_mac "$lab" "$ip")"))"
    want="$rsc ${iv}s-interval monitor on $owner returned '$PCMK_DEGRADED' ($ip is also answered by $zmac on eth0's link (this node is $omac); announced again)"
    if check "crm_mon -1 shows, within one interval: * $want" wait_crm_mon_text "$lab" "$owner" "$want" $(( iv + 30 )); then
        shown=$(lab_crm_mon "$lab" "$owner" 2>/dev/null | sed -n '/^Full List of Resources/,$p')
        sed 's/^/     | /' <<<"$shown"
        figure "crm_mon -1, degraded: $(grep -F "$PCMK_DEGRADED" <<<"$shown" | sed 's/^ *//')"
    fi
    check "crm_mon -1 still shows '$rsc ($FIP_AGENT): Started $owner'" crm_mon_has "$lab" "$owner" "$(started_line "$rsc" "$owner")"
    check "crm_mon XML: $rsc role Started on $owner, not failed" equals "$(lab_rsc_nodes "$lab" "$rsc" "$owner")" "$owner"
    check "fail-count of $rsc on $owner is 0 (crm_failcount)" failcount_is "$lab" "$rsc" "$owner" 0
    [[ -n ${DEGRADED_HOOK:-} ]] && "$DEGRADED_HOOK" "$lab" "$rsc" "$owner"
    check "the client saw the zombie's ARP request ($ip at $zmac)" gt_zero "$(fip_count_arp_from "$cap" "$ip" "$zmac" "$t0")"
    check "then gratuitous ARP from $owner ($omac): the deep monitor announced again" \
        gt_zero "$(fip_count_gratuitous "$cap" "$ip" "$t_claim" 0 "$omac")"
    check "the client's entry for $ip is $owner's MAC again" lab_wait_neigh "$lab" "$ip" "$omac" "$NEIGH_T"
    if (( runs > 1 )); then
        n=$(fip_count_probes "$cap" "$ip" "$omac" "$t0")
        check "$(( runs - 1 )) more deep monitors with the zombie still answering (their probes on the client's wire)" \
            wait_probes "$cap" "$ip" "$omac" "$t0" $(( n + 2 * (runs - 1) )) $(( iv * runs + 30 ))
    fi
    t_settle=$(lab__now_ms)
    check "the cluster settles (crm_resource --wait)" lab_settle "$lab" 60
    figure "settled after the degraded monitors: $(( $(lab__now_ms) - t_settle )) ms"
    check "no recovery: nothing stopped, started or scheduled for $rsc since the zombie came (pacemaker.log)" \
        no_actions_since "$lab" "$rsc" "$mark"
    check "fail-count of $rsc on $owner still 0" failcount_is "$lab" "$rsc" "$owner" 0
    check "$ip is on $owner only" equals "$(lab_addr_nodes "$lab" "$ip")" "$owner"
    check "the client reaches $ip at $owner's MAC (ping answered, entry $omac)" client_reaches "$lab" "$ip" "$omac"
    fip_cap_stop
    mark2=$(fip_log_mark "$lab")
    check "the zombie leaves" lab_zombie_del "$lab"
    if (( runs > 1 )); then
        check "the next deep monitor returns ok (pacemaker.log of $owner)" wait_since "$lab" "$mark2" \
            "Result of monitor operation for $rsc on $owner: $PCMK_OK .*key=${rsc}_monitor_${iv}000" "$owner" $(( iv + 30 ))
        check "crm_mon -1 still lists the degraded result under Failed Resource Actions (until a cleanup)" \
            crm_mon_has "$lab" "$owner" "^Failed Resource Actions:"
    fi
    echo "     \$ $ctl resource cleanup $rsc"
    check "$ctl resource cleanup $rsc" ctl_quiet "$ctl" "$lab" "$owner" resource cleanup "$rsc"
    check "crm_mon -1: no Failed Resource Actions any more" wait_crm_mon_lacks "$lab" "$owner" "$PCMK_DEGRADED|Failed Resource Actions" 30
    lab_settle "$lab" 60
    check "crm_mon -1 shows '$rsc ($FIP_AGENT): Started $owner'" crm_mon_has "$lab" "$owner" "$(started_line "$rsc" "$owner")"
    check "no stop, no start of $rsc through all of it (the cleanup only probes)" no_stop_start_since "$lab" "$rsc" "$mark"
}
wait_since() {   # lab mark regex node timeout_s : a line after MARK in NODE's log matches
    local end=$(( $(lab__now_ms) + $5 * 1000 ))
    until fip_log_since "$1" "$2" "$4" | grep -E -- "$3" >/dev/null; do
        (( $(lab__now_ms) > end )) && { since_has "$1" "$2" "$3" "$4"; return 1; }
        sleep 0.3
    done
}
client_reaches() {   # lab ip mac
    lab_client_ping "$1" "$2" 10 && equals "$(lab_neigh_mac "$1" "$2")" "$3"
}
ctl_quiet() {   # crm|pcs lab node args... : the tool's chatter on stdout dropped, errors kept
    local ctl=$1; shift
    "lab_$ctl" "$@" >/dev/null
}

# --------------------------------------------------------------- the cluster stack
# What each stack's nodes must run (extended regexes): Debian release, pacemakerd, corosync,
# crmsh, pcs.
stack_expect() {
    case $1 in
        debian12) echo '^12\. ^2\.1\. ^3\.1\.7$ ^4\. ^0\.11\.' ;;
        debian13) echo '^13\. ^3\.0\. ^3\.1\.9$ ^5\. ^0\.12\.' ;;
        *) echo 'none none none none none' ;;
    esac
}
# Every node of LAB runs the stack the lab was made for (LAB_STACK), as seen from inside the
# node's namespaces: its /etc/debian_version, the version the running pacemakerd and corosync
# print (their /proc/PID/exe, so the binaries that run, not the ones on the PATH), crm and pcs.
# A Debian 13 lab that silently ran this machine's stack fails here.
t_stack() {   # lab
    local lab=$1 stack n pm cs got want i w g
    stack=$(lab_stack "$lab")
    read -r -a want <<<"$(stack_expect "$stack")"
    section "the cluster stack inside each node ($stack)"
    for n in $(lab_nodes "$lab"); do
        pm=$(lab__recorded_pid "$LAB_ROOT/$lab/pids/pacemakerd.$n")
        cs=$(lab__recorded_pid "$LAB_ROOT/$lab/pids/corosync.$n")
        # shellcheck disable=SC2016
        got=$(lab_exec "$lab" "$n" sh -c '
            read -r deb < /etc/debian_version
            pcmk=$(/proc/$1/exe --version 2>/dev/null | sed -n "s/^Pacemaker \([^ ]*\).*/\1/p")
            cs=$(/proc/$2/exe -v 2>/dev/null | sed -n "s/.*version .\([0-9][0-9.]*\).*/\1/p")
            crm=$(crm --version 2>/dev/null | sed -n "s/^crm \([^ ]*\).*/\1/p")
            pcs=$(pcs --version 2>/dev/null)
            echo "${deb:-?} ${pcmk:-?} ${cs:-?} ${crm:-?} ${pcs:-?}"' sh "${pm:-0}" "${cs:-0}" 2>/dev/null)
        read -r -a g <<<"$got"
        w=1
        for i in 0 1 2 3 4; do [[ ${g[i]:-?} =~ ${want[i]} ]] || w=0; done
        check "$n runs $stack's stack: Debian ${g[0]:-?}, pacemakerd ${g[1]:-?} (PID ${pm:-?}), corosync ${g[2]:-?} (PID ${cs:-?}), crmsh ${g[3]:-?}, pcs ${g[4]:-?}" \
            is_true test "$w" = 1 || echo "     expected: ${want[*]}" >&2
        # the daemons' own root (from outside): the same release
        check "$n: the running corosync and pacemakerd see Debian ${g[0]:-?} as their /" equals \
            "$(cat "/proc/${cs:-0}/root/etc/debian_version" 2>/dev/null) $(cat "/proc/${pm:-0}/root/etc/debian_version" 2>/dev/null)" "${g[0]:-?} ${g[0]:-?}"
    done
    figure "cluster stack: $stack, Debian ${g[0]:-?}, Pacemaker ${g[1]:-?}, corosync ${g[2]:-?}, crmsh ${g[3]:-?}, pcs ${g[4]:-?}"
}

# --------------------------------------------------------------- preflight / summary
checks_preflight() {
    [[ $(id -u) == 0 ]] || { echo "must run as root" >&2; echo "0 passed, 1 failed"; exit 1; }
    if [[ -z $LAB_AGENT_OVERRIDE && ! -x /usr/lib/ocf/resource.d/floatip/FloatIP ]]; then
        echo "ocf:floatip:FloatIP is not installed (run tests/packaging.sh, or set LAB_AGENT_OVERRIDE)" >&2
        echo "0 passed, 1 failed"; exit 1
    fi
    [[ -n $FIP_PY ]] || { echo "python3 is needed for the client-side capture" >&2; echo "0 passed, 1 failed"; exit 1; }
    echo "agent: $FIP_AGENT ($( [[ -n $LAB_AGENT_OVERRIDE ]] && echo "override: $LAB_AGENT_OVERRIDE" || /usr/lib/ocf/resource.d/floatip/FloatIP --version 2>/dev/null))"
    CHECKS_T0=$(lab__now_ms)
}
checks_summary() {   # title
    local f
    echo
    echo "=== figures ($1; stack $LAB_STACK)"
    for f in "${FIGURES[@]}"; do echo "  $f"; done
    if (( FAIL )); then
        echo "=== failed checks"; for f in "${FAILED[@]}"; do echo "  $f"; done
        echo "  (logs of labs with failures: $LOG_DIR)"
    fi
    echo "total time: $(( ($(lab__now_ms) - CHECKS_T0) / 1000 )) s"
    echo "$PASS passed, $FAIL failed"
    (( FAIL == 0 ))
}
# the interval of RSC's monitor that has OCF_CHECK_LEVEL=10 in the CIB ("30s"), empty if none
deep_monitor_interval() {   # lab rsc
    lab_exec "$1" node1 cibadmin -Q -o resources 2>/dev/null | xmllint --xpath \
        "string(//primitive[@id='$2']/operations/op[@name='monitor'][instance_attributes/nvpair[@name='OCF_CHECK_LEVEL'][@value='10']]/@interval)" - 2>/dev/null
}
