#!/usr/bin/env bash
# IPaddr2 vs FloatIP in the same 2-node lab: the same planned switches, alternating the two
# agents round by round, measured from the client that pings the VIP every 10 ms.
# Not part of the test suite (it asserts nothing beyond "the switch happened").
#
#   bash tests/cluster/compare.sh              # as root, floatip installed (tests/packaging.sh)
#   ROUNDS=5 COMPARE_IPV6=0 bash tests/cluster/compare.sh
#
# Per round and agent: crm resource move (IPv4), crm node standby (IPv4), and, unless
# COMPARE_IPV6=0, crm resource move of an IPv6 VIP (both agents with their default nodad=false,
# so both wait for DAD).  Every agent gets the same parameters (ip, cidr_netmask) and
# `op monitor interval=2s`.
# Then, unless COMPARE_LINK=0, LINK_ROUNDS rounds (default ROUNDS) of link loss: the owner's
# address link is cut (its switch port down: carrier loss on eth0; corosync runs on a link of
# its own, lab_up --ring-link, so the cluster stays whole) and the figure is the time from
# the cut to the client's first echo reply from the other node, for IPaddr2, FloatIP, and
# FloatIP with link_watch=true, each with `op monitor interval=10s`, waiting at most
# LINK_WAIT s (25) for a reply.  The cut comes at a random point of the monitor's interval
# (a uniform 0-10 s wait after the client follows the new resource), as a real cable's
# would: without link_watch the reaction depends on that point.
# Prints a table (median and min-max over the rounds) and writes every sample and the
# summary to target/bench/cluster-compare.json (OUT=... to change).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=lab.sh
source "$HERE/lab.sh"
# shellcheck source=test_floatip_lib.sh
source "$HERE/test_floatip_lib.sh"

ROUNDS=${ROUNDS:-3}
COMPARE_IPV6=${COMPARE_IPV6:-1}
COMPARE_LINK=${COMPARE_LINK:-1}
LINK_ROUNDS=${LINK_ROUNDS:-$ROUNDS}
LINK_WAIT=${LINK_WAIT:-25}
LINK_OPS="op monitor interval=10s timeout=20s"
OUT=${OUT:-$REPO/target/bench/cluster-compare.json}
AGENTS=(ocf:heartbeat:IPaddr2 ocf:floatip:FloatIP)
VIP4=198.51.100.100
VIP6=2001:db8:100::100
OPS="op monitor interval=2s timeout=20s"

on_exit() {
    local rc=$?
    trap - EXIT INT TERM HUP
    fip_cap_stop
    lab_down_mine >/dev/null 2>&1 || true
    exit $rc
}
trap on_exit EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM HUP

[[ $(id -u) == 0 ]] || { echo "compare.sh: run as root" >&2; exit 1; }
[[ -n ${LAB_AGENT_OVERRIDE:-} || -x /usr/lib/ocf/resource.d/floatip/FloatIP ]] \
    || { echo "compare.sh: ocf:floatip:FloatIP is not installed (tests/packaging.sh)" >&2; exit 1; }
[[ -x /usr/lib/ocf/resource.d/heartbeat/IPaddr2 ]] \
    || { echo "compare.sh: ocf:heartbeat:IPaddr2 is not installed (resource-agents)" >&2; exit 1; }

SAMPLES=$(mktemp)
ERRORS=0
other_node() { [[ $1 == node1 ]] && echo node2 || echo node1; }
# sample AGENT SCENARIO ROUND OK : append the last fip_switch's figures
sample() {
    printf '%s %s %s %s %s %s %s %s %s\n' "$1" "$2" "$3" "$4" \
        "$(fip_stat lost "$SW_STATS")" "$(fip_stat max_gap_ms "$SW_STATS")" \
        "${SW_MS:--}" "${SW_FIRST_ANN_MS:--}" "${SW_ANN:--}" >>"$SAMPLES"
    printf '  %-22s %-9s round %s: %s lost, longest gap %s ms, command->Started %s ms, first announcement +%s ms, %s frames%s\n' \
        "$1" "$2" "$3" "$(fip_stat lost "$SW_STATS")" "$(fip_stat max_gap_ms "$SW_STATS")" \
        "${SW_MS:-?}" "${SW_FIRST_ANN_MS:-?}" "${SW_ANN:-?}" "$( [[ $4 == ok ]] || echo "  (FAILED)")"
    [[ $4 == ok ]] || ERRORS=$((ERRORS+1))
}
crm_q() { lab_crm "$LAB" node1 "$@" >/dev/null 2>&1; }

one_round() {   # agent round
    local agent=$1 r=$2 a b c d e f res
    # shellcheck disable=SC2086
    crm_q configure primitive vip "$agent" params ip=$VIP4 cidr_netmask=24 $OPS
    a=$(lab_wait_rsc "$LAB" vip any 60 2>/dev/null) || { echo "  $agent: vip did not start" >&2; ERRORS=$((ERRORS+1)); return 1; }
    b=$(other_node "$a")
    fip_switch "$LAB" vip "$VIP4" "$b" node1 resource move vip "$b" 2>/dev/null && res=ok || res=failed
    sample "$agent" move4 "$r" "$res"
    crm_q resource clear vip; lab_settle "$LAB" 60
    c=$(lab_wait_rsc "$LAB" vip any 60 2>/dev/null); d=$(other_node "$c")
    fip_switch "$LAB" vip "$VIP4" "$d" node1 node standby "$c" 2>/dev/null && res=ok || res=failed
    sample "$agent" standby4 "$r" "$res"
    crm_q node online "$c"; lab_settle "$LAB" 60
    if [[ $COMPARE_IPV6 == 1 ]]; then
        # shellcheck disable=SC2086
        crm_q configure primitive vip6 "$agent" params ip=$VIP6 cidr_netmask=64 $OPS
        if e=$(lab_wait_rsc "$LAB" vip6 any 60 2>/dev/null); then
            f=$(other_node "$e")
            fip_switch "$LAB" vip6 "$VIP6" "$f" node1 resource move vip6 "$f" 2>/dev/null && res=ok || res=failed
            sample "$agent" move6 "$r" "$res"
        else
            echo "  $agent: vip6 did not start" >&2; ERRORS=$((ERRORS+1))
        fi
        crm_q resource clear vip6
        crm_q resource stop vip6; lab_wait_rsc "$LAB" vip6 stopped 60 >/dev/null 2>&1; lab_settle "$LAB" 60
        crm_q configure delete vip6 || echo "  $agent: crm configure delete vip6 failed" >&2
    fi
    crm_q resource stop vip; lab_wait_rsc "$LAB" vip stopped 60 >/dev/null 2>&1; lab_settle "$LAB" 60
    crm_q configure delete vip || echo "  $agent: crm configure delete vip failed" >&2
    lab_settle "$LAB" 60
    [[ -z $(lab_addr_nodes "$LAB" "$VIP4") && -z $(lab_addr_nodes "$LAB" "$VIP6") ]] \
        || { echo "  $agent: an address was left behind" >&2; ERRORS=$((ERRORS+1)); }
}

# link_round AGENT VARIANT ROUND : VARIANT plain or watch (link_watch=true); cut the owner's
# address link, measure, then uncut and remove the resource
LINK_SAMPLES=$(mktemp)
link_round() {
    local agent=$1 variant=$2 r=$3 a extra="" res lost gap phase
    [[ $variant == watch ]] && extra="link_watch=true"
    # shellcheck disable=SC2086
    crm_q configure primitive lvip "$agent" params ip=$VIP4 cidr_netmask=24 $extra $LINK_OPS
    a=$(lab_wait_rsc "$LAB" lvip any 60 2>/dev/null) || { echo "  $agent $variant: lvip did not start" >&2; ERRORS=$((ERRORS+1)); return 1; }
    lab_client_ping "$LAB" "$VIP4" 10 2>/dev/null
    lab_wait_neigh "$LAB" "$VIP4" "$(lab_node_mac "$LAB" "$a")" 15 2>/dev/null
    phase=$(( RANDOM % 10 )).$(( RANDOM % 10 ))
    sleep "$phase"
    fip_link_cut "$LAB" "$VIP4" "$a" "$LINK_WAIT" 2>/dev/null && res=ok || res=none
    # IPaddr2's monitor does not look at the link: no reply from the other node is its figure
    if [[ $res == none && ( $agent == *IPaddr2 ) ]]; then res=nofailover; fi
    lost=$(fip_stat lost "$LC_STATS"); gap=$(fip_stat max_gap_ms "$LC_STATS")
    printf '%s %s %s %s %s %s %s\n' "$agent" "$variant" "$r" "$res" "${LC_MS:--}" "${lost:--}" "${gap:--}" >>"$LINK_SAMPLES"
    printf '  %-22s %-9s round %s: cut %s s after the client followed; carrier loss -> first reply from %s: %s%s\n' \
        "$agent" "link-$variant" "$r" "$phase" "$LC_TO" \
        "$( [[ -n $LC_MS ]] && echo "$LC_MS ms" || echo "none within $LINK_WAIT s")" \
        "$( [[ $res == nofailover ]] && echo " (monitor ok: $(lab_rsc_nodes "$LAB" lvip "$LC_TO"))")"
    [[ $res == none ]] && ERRORS=$((ERRORS+1))
    lab_uncut "$LAB" "$a" >/dev/null 2>&1
    lab_wait_dc "$LAB" 60 >/dev/null 2>&1
    crm_q resource cleanup lvip; lab_settle "$LAB" 60
    crm_q resource stop lvip; lab_wait_rsc "$LAB" lvip stopped 60 >/dev/null 2>&1; lab_settle "$LAB" 60
    crm_q configure delete lvip || echo "  $agent: crm configure delete lvip failed" >&2
    lab_settle "$LAB" 60
    [[ -z $(lab_addr_nodes "$LAB" "$VIP4") ]] || { echo "  $agent: an address was left behind" >&2; ERRORS=$((ERRORS+1)); }
}

T0=$SECONDS
echo "IPaddr2 vs FloatIP: $ROUNDS rounds each, alternating, in one 2-node lab"
echo "  IPaddr2: resource-agents $(dpkg-query -W -f='${Version}' resource-agents 2>/dev/null)"
echo "  FloatIP: $( [[ -n ${LAB_AGENT_OVERRIDE:-} ]] && echo "override $LAB_AGENT_OVERRIDE" || /usr/lib/ocf/resource.d/floatip/FloatIP --version)"
lab_up 2 --ring-link 2>/dev/null || { echo "the lab did not come up" >&2; exit 1; }
echo "  lab $LAB up in ${LAB_UP_MS} ms (corosync token ${LAB_COROSYNC_TOKEN} ms on its own link, monitor interval 2s)"
for ((r = 1; r <= ROUNDS; r++)); do
    if (( r % 2 )); then order=("${AGENTS[@]}"); else order=("${AGENTS[1]}" "${AGENTS[0]}"); fi
    for agent in "${order[@]}"; do one_round "$agent" "$r"; done
done
if [[ $COMPARE_LINK == 1 ]]; then
    LINK_CASES=("${AGENTS[0]} plain" "${AGENTS[1]} plain" "${AGENTS[1]} watch")
    for ((r = 1; r <= LINK_ROUNDS; r++)); do
        for c in "${LINK_CASES[@]}"; do
            # shellcheck disable=SC2086
            link_round $c "$r"
        done
    done
fi
lab_down "$LAB" >/dev/null 2>&1

# --------------------------------------------------------------- table + JSON
summary=$(awk '
    function med(list,   n, a, i, j, t) {
        n = split(list, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        if (n == 0) return "-"
        lo[0] = a[1]; hi[0] = a[n]
        return (n % 2) ? a[(n + 1) / 2] : int((a[n / 2] + a[n / 2 + 1]) / 2 + 0.5)
    }
    $4 == "ok" { k = $2 " " $1; keys[k] = 1
                 lost[k] = lost[k] " " $5; gap[k] = gap[k] " " $6; st[k] = st[k] " " $7; ann[k] = ann[k] " " $9; n[k]++ }
    END {
        for (k in keys) {
            split(k, p, " ")
            m1 = med(lost[k]); l1 = lo[0]; h1 = hi[0]
            m2 = med(gap[k]);  l2 = lo[0]; h2 = hi[0]
            m3 = med(st[k]);   l3 = lo[0]; h3 = hi[0]
            m4 = med(ann[k])
            print p[1], p[2], n[k], m1, l1, h1, m2, l2, h2, m3, l3, h3, m4
        }
    }' "$SAMPLES" | awk '{ o = ($1 == "move4") ? 1 : ($1 == "standby4") ? 2 : 3; print o, $0 }' \
    | sort -k1,1n -k3,3r | cut -d' ' -f2-)

label() { case $1 in move4) echo "IPv4 crm resource move";; standby4) echo "IPv4 crm node standby";; move6) echo "IPv6 crm resource move";; esac; }
short() { [[ $1 == *IPaddr2 ]] && echo IPaddr2 || echo FloatIP; }
echo
printf '%-24s %-8s %6s  %-16s  %-20s  %-20s  %s\n' "scenario" "agent" "rounds" "lost pings" "longest gap (ms)" "command->Started" "announce frames"
printf '%-24s %-8s %6s  %-16s  %-20s  %-20s  %s\n' "" "" "" "median (min-max)" "median (min-max)" "ms, median (min-max)" "median"
while read -r sc ag nn m1 l1 h1 m2 l2 h2 m3 l3 h3 m4; do
    printf '%-24s %-8s %6s  %-16s  %-20s  %-20s  %s\n' "$(label "$sc")" "$(short "$ag")" "$nn" \
        "$m1 ($l1-$h1)" "$m2 ($l2-$h2)" "$m3 ($l3-$h3)" "$m4"
done <<<"$summary"
echo
echo "client: ping -i 0.01 (10 ms), arp_accept=0, an existing neighbour entry before each switch;"
echo "'longest gap' = longest time between two replies; 'lost' undercounts long outages (see README)."

# link loss: per case, median (min-max) of the reaction time, lost pings and longest gap
link_summary=$(awk '
    function med(list,   n, a, i, j, t) {
        n = split(list, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        if (n == 0) { lo[0] = "-"; hi[0] = "-"; return "-" }
        lo[0] = a[1]; hi[0] = a[n]
        return (n % 2) ? a[(n + 1) / 2] : int((a[n / 2] + a[n / 2 + 1]) / 2 + 0.5)
    }
    { k = $1 " " $2; if (!(k in seen)) { seen[k] = 1; order[++nk] = k }; n[k]++
      if ($4 == "ok") { ms[k] = ms[k] " " $5; lost[k] = lost[k] " " $6; gap[k] = gap[k] " " $7; ok[k]++ }
      if ($4 == "nofailover") nofo[k]++ }
    END {
        for (i = 1; i <= nk; i++) {
            k = order[i]; split(k, p, " ")
            m1 = med(ms[k]); l1 = lo[0]; h1 = hi[0]
            m2 = med(lost[k]); l2 = lo[0]; h2 = hi[0]
            m3 = med(gap[k]); l3 = lo[0]; h3 = hi[0]
            print p[1], p[2], n[k], ok[k] + 0, nofo[k] + 0, m1, l1, h1, m2, l2, h2, m3, l3, h3
        }
    }' "$LINK_SAMPLES")
if [[ -n $link_summary ]]; then
    echo
    printf '%-24s %-11s %6s  %-16s  %-20s  %s\n' "scenario" "agent" "rounds" "lost pings" "longest gap (ms)" "carrier loss->reply"
    printf '%-24s %-11s %6s  %-16s  %-20s  %s\n' "" "" "" "median (min-max)" "median (min-max)" "ms, median (min-max)"
    while read -r ag va nn nok nnofo m1 l1 h1 m2 l2 h2 m3 l3 h3; do
        lbl=$(short "$ag"); [[ $va == watch ]] && lbl+=" lw"
        if (( nok == 0 )); then
            printf '%-24s %-11s %6s  %-16s  %-20s  %s\n' "IPv4 address link cut" "$lbl" "$nn" "all" "> $((LINK_WAIT * 1000))" \
                "none in $LINK_WAIT s$( (( nnofo )) && echo ": no failover, monitor ok")"
        else
            printf '%-24s %-11s %6s  %-16s  %-20s  %s\n' "IPv4 address link cut" "$lbl" "$nok" "$m2 ($l2-$h2)" "$m3 ($l3-$h3)" "$m1 ($l1-$h1)"
        fi
    done <<<"$link_summary"
    echo
    echo "link cut: the owner's switch port down (carrier loss on its eth0), corosync on a link of its own;"
    echo "op monitor interval=10s, the cut at a random point of it; 'lw' = link_watch=true; the reply is"
    echo "the client's first echo reply from the other node's MAC (client-side capture), awaited $LINK_WAIT s at most."
fi

mkdir -p "$(dirname "$OUT")"
{
    printf '{\n  "generated": "%s",\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf '  "environment": {"kernel": "%s", "cpus": %s, "pacemaker": "%s", "corosync": "%s", "resource_agents": "%s", "floatip": "%s",\n' \
        "$(uname -r)" "$(nproc)" "$(dpkg-query -W -f='${Version}' pacemaker 2>/dev/null)" \
        "$(dpkg-query -W -f='${Version}' corosync 2>/dev/null)" "$(dpkg-query -W -f='${Version}' resource-agents 2>/dev/null)" \
        "$( [[ -n ${LAB_AGENT_OVERRIDE:-} ]] && echo override || /usr/lib/ocf/resource.d/floatip/FloatIP --version 2>/dev/null)"
    printf '    "corosync_token_ms": %s, "corosync_link": "separate", "monitor_interval": "2s", "ping_interval_ms": 10, "rounds": %s,\n' "$LAB_COROSYNC_TOKEN" "$ROUNDS"
    printf '    "link_loss": {"monitor_interval": "10s", "rounds": %s, "wait_s": %s}},\n' "$( [[ $COMPARE_LINK == 1 ]] && echo "$LINK_ROUNDS" || echo 0)" "$LINK_WAIT"
    echo '  "samples": ['
    awk '{ printf "%s    {\"agent\": \"%s\", \"scenario\": \"%s\", \"round\": %s, \"ok\": %s, \"lost\": %s, \"max_gap_ms\": %s, \"command_to_started_ms\": %s, \"first_announcement_ms\": %s, \"announcement_frames\": %s}",
                  (NR > 1 ? ",\n" : ""), $1, $2, $3, ($4 == "ok" ? "true" : "false"),
                  ($5 == "" ? "null" : $5), ($6 == "" ? "null" : $6),
                  ($7 == "-" ? "null" : $7), ($8 == "-" ? "null" : $8), ($9 == "-" ? "null" : $9) }
         END { print "" }' "$SAMPLES"
    echo '  ],'
    echo '  "summary": ['
    awk '{ printf "%s    {\"scenario\": \"%s\", \"agent\": \"%s\", \"rounds\": %s, \"lost\": {\"median\": %s, \"min\": %s, \"max\": %s}, \"max_gap_ms\": {\"median\": %s, \"min\": %s, \"max\": %s}, \"command_to_started_ms\": {\"median\": %s, \"min\": %s, \"max\": %s}, \"announcement_frames_median\": %s}",
                  (NR > 1 ? ",\n" : ""), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 }
         END { print "" }' <<<"$summary"
    echo '  ],'
    echo '  "link_loss_samples": ['
    awk '{ printf "%s    {\"agent\": \"%s\", \"link_watch\": %s, \"round\": %s, \"result\": \"%s\", \"carrier_loss_to_reply_ms\": %s, \"lost\": %s, \"max_gap_ms\": %s}",
                  (NR > 1 ? ",\n" : ""), $1, ($2 == "watch" ? "true" : "false"), $3, $4, ($5 == "-" ? "null" : $5),
                  ($6 == "-" ? "null" : $6), ($7 == "-" ? "null" : $7) }
         END { print "" }' "$LINK_SAMPLES"
    echo '  ]'
    echo '}'
} >"$OUT"
rm -f "$SAMPLES" "$LINK_SAMPLES"
echo "written: ${OUT#"$REPO"/}   ($(( SECONDS - T0 )) s)"
(( ERRORS == 0 )) || { echo "$ERRORS switch(es) failed; their samples are marked \"ok\": false" >&2; exit 1; }
