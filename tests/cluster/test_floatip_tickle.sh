#!/usr/bin/env bash
# Issue 17, the unplanned failover, in a real 2-node Pacemaker cluster: a client holds an idle
# connection to the VIP (it sent a request and waits for the answer); the owner's resident
# records it and shares the list through attrd (under the other node's name); the owner loses
# power (its switch port dark first, then every process of it killed); the survivor's start
# tickles the client, whose wait ends with a reset. With tickle_clients=false the client is
# still waiting at the end of the same window.
#
#   tests/cluster/test_floatip_tickle.sh      # as root, the floatip package installed
#   LAB_AGENT_OVERRIDE="floatip:FloatIP=$PWD/target/debug/floatip" tests/cluster/test_floatip_tickle.sh
#
# Environment (optional): LOG_DIR (/tmp/floatip-lab-logs), RESET_WINDOW (30: s after the
# power-off within which the client must be reset).
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
RESET_WINDOW=${RESET_WINDOW:-30}
TVIP=198.51.100.104
PORT=8080
RSC_T=60
AGENT_BIN=/usr/lib/ocf/resource.d/floatip/FloatIP   # inside a node: the override, if any

# The server: in NODE's network namespace, accepts on PORT and never answers.
SERVER_PY='
import socket, sys, time
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", int(sys.argv[1]))); s.listen(16); held = []
while True:
    c, _ = s.accept(); held.append(c)
'
# The client: connects to VIP:PORT, sends a request, waits for the answer; writes
# "connected", then "<outcome> <unix time>" (reset, eof, data, timeout) to its file.
CLIENT_PY='
import socket, sys, time
out = open(sys.argv[3], "w", buffering=1)
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
c.sendall(b"request\n"); out.write("connected %d\n" % c.getsockname()[1])
c.settimeout(float(sys.argv[4]))
try:
    got = c.recv(64); what = "data" if got else "eof"
except ConnectionResetError: what = "reset"
except socket.timeout: what = "timeout"
except OSError as e: what = "error-%d" % e.errno
out.write("%s %.3f\n" % (what, time.time()))
'

# the recorded client count and the time the list was shared, as floatip status --json shows
clients_field() {   # lab node rsc
    lab_exec "$1" "$2" "$AGENT_BIN" status --json 2>/dev/null | "$FIP_PY" -c '
import json, sys
rows = [x for x in json.load(sys.stdin) if x["resource"] == sys.argv[1]]
c = rows[0].get("clients") if rows else None
print("none" if not c else "%s %s" % (c["recorded"], c["shared"]))' "$3"
}
wait_recorded() {   # lab node rsc count timeout_s : status shows COUNT recorded and shared
    local end=$(( $(lab__now_ms) + $5 * 1000 )) got
    while :; do
        got=$(clients_field "$1" "$2" "$3")
        [[ $got =~ ^$4\ [0-9]+$ ]] && return 0
        (( $(lab__now_ms) > end )) && { echo "     floatip status: '$got'" >&2; return 1; }
        sleep 0.5
    done
}
wait_attr_has() {   # lab node rsc text timeout_s : NODE's own copy of the list contains TEXT
    local end=$(( $(lab__now_ms) + $5 * 1000 )) got
    while :; do
        got=$(lab_exec "$1" "$2" attrd_updater -Q -n "floatip-clients-$3" -N "$2" 2>&1)
        [[ $got == *"$4"* ]] && return 0
        (( $(lab__now_ms) > end )) && { echo "     attrd_updater -Q on $2: $got" >&2; return 1; }
        sleep 0.5
    done
}
client_outcome() { sed -n '2p' "$1" 2>/dev/null | cut -d' ' -f1; }
client_at() { sed -n '2p' "$1" 2>/dev/null | cut -d' ' -f2; }
wait_outcome() {   # file timeout_s
    local end=$(( $(lab__now_ms) + $2 * 1000 ))
    while [[ -z $(client_outcome "$1") ]]; do
        (( $(lab__now_ms) > end )) && return 1
        sleep 0.05
    done
}

# t_power_off LAB TICKLE : one resource tvip with tickle_clients=TICKLE; its owner loses power
t_power_off() {
    local lab=$1 tickle=$2 o s f w srv cli t_kill ms up
    section "primitive tvip $FIP_AGENT ($TVIP/24) tickle_clients=$tickle; a client waits on an idle connection; the owner loses power"
    check "crm configure primitive tvip ... tickle_clients=$tickle" crm_quiet "$lab" node1 configure primitive tvip "$FIP_AGENT" \
        params ip="$TVIP" cidr_netmask=24 tickle_clients="$tickle" op monitor interval=10s timeout=20s
    o=$(lab_wait_rsc "$lab" tvip any "$RSC_T") && ok "tvip Started on $o" || { bad "tvip Started"; return 1; }
    s=$(other_node "$lab" "$o")
    nsenter --net="/run/netns/$lab-$o" -- "$FIP_PY" -c "$SERVER_PY" "$PORT" </dev/null >/dev/null 2>&1 &
    srv=$!
    sleep 0.5
    f=$LAB_ROOT/$lab/client.$tickle.txt
    lab_client "$lab" "$FIP_PY" -c "$CLIENT_PY" "$TVIP" "$PORT" "$f" $(( RESET_WINDOW + 60 )) </dev/null >/dev/null 2>&1 &
    cli=$!
    check "the client connects to $TVIP:$PORT and waits for an answer" is_true wait_until_file "$f" 10
    if [[ $tickle == true ]]; then
        check "floatip status on $o: 1 client recorded, the list shared" wait_recorded "$lab" "$o" tvip 1 20
        check "$s holds its own copy of the list (attrd_updater -Q -N $s: the client $(lab_client_ip4))" \
            wait_attr_has "$lab" "$s" tvip "$(lab_client_ip4)," 20
    else
        check "floatip status on $o: no clients recorded (tickle_clients=false)" equals "$(clients_field "$lab" "$o" tvip)" none
        sleep 6
    fi
    w=$LAB_ROOT/$lab/addr.$tickle.txt
    fip_addr_watch_start "$lab" "$s" "$w" || bad "ip monitor address on $s"
    t_kill=$EPOCHREALTIME
    check "cut $o (switch port dark)" lab_cut "$lab" "$o"
    check "kill-node $o: every process of it killed" lab_kill_node "$lab" "$o"
    check "$s takes tvip over" quietly lab_wait_rsc "$lab" tvip "$s" "$RSC_T"
    if [[ $tickle == true ]]; then
        check "the client's wait ends with a reset within ${RESET_WINDOW} s of the power-off" wait_outcome "$f" "$RESET_WINDOW"
        check "the outcome is a reset" equals "$(client_outcome "$f")" reset
        ms=$(( ($(tr -d . <<<"$(client_at "$f")") - ${t_kill/./} / 1000) ))
        up=$(addr_up_ms "$w" "$TVIP")
        figure "power-off failover, tickle_clients=true: power-off -> the client's reset ${ms} ms; $TVIP up on $s -> the client's reset $(( $(tr -d . <<<"$(client_at "$f")") - ${up:-0} )) ms"
    else
        sleep "$RESET_WINDOW"
        check "without tickles the client still waits ${RESET_WINDOW} s after the power-off" equals "$(client_outcome "$f")" ""
    fi
    fip_addr_watch_stop
    kill "$cli" 2>/dev/null; wait "$cli" 2>/dev/null
    kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
    check "start-node $o again" lab_start_node "$lab" "$o"
    check "uncut $o" lab_uncut "$lab" "$o"
    check "wait-dc" quietly lab_wait_dc "$lab" 90
    check "crm resource stop tvip" crm_quiet "$lab" "$s" resource stop tvip
    lab_wait_rsc "$lab" tvip stopped "$RSC_T" >/dev/null; lab_settle "$lab" 60
    check "crm configure delete tvip" crm_quiet "$lab" "$s" configure delete tvip
    lab_settle "$lab" 60
}
wait_until_file() {   # file timeout_s : FILE has its first line
    local end=$(( $(lab__now_ms) + $2 * 1000 ))
    until [[ -s $1 ]]; do (( $(lab__now_ms) > end )) && return 1; sleep 0.05; done
}
addr_up_ms() {   # watch_file addr : unix ms when ADDR was added (ip -ts monitor address)
    local ts
    ts=$(grep -v Deleted "$1" | grep -F " $2/" | head -n1 | sed -n 's/^\[\([^]]*\)\].*/\1/p')
    [[ -n $ts ]] && echo $(( $(date -d "$ts" +%s%N) / 1000000 ))
}
lab_client_ip4() { echo "$LAB_NET4.254"; }
quietly() { "$@" >/dev/null; }

main_lab() {
    echo "=== 2-node cluster, stack $LAB_STACK, agent $FIP_AGENT"
    local f0=$FAIL lab
    if ! lab_up 2; then bad "2-node lab comes up"; lab_down_mine; return; fi
    ok "2-node lab $LAB comes up"
    lab=$LAB
    t_stack "$lab"
    t_power_off "$lab" true
    t_power_off "$lab" false
    section "teardown"
    teardown_and_verify "$lab" "$f0"
}

checks_preflight
main_lab
checks_summary "agent $FIP_AGENT, reset window ${RESET_WINDOW}s"
