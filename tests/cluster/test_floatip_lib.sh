# shellcheck shell=bash disable=SC2034  # SW_* are read by the scripts that source this
# Helpers shared by test_floatip.sh, demo.sh and compare.sh (sourced after lab.sh).
#
#   fip_cap_start LAB OUT [MAX_S] [icmp]
#                                   capture ARP / NS / NA frames on the client's eth0
#   fip_cap_stop                    (one line per frame in OUT, epoch timestamps); with
#                                   "icmp", IPv4 echo requests and replies too
#   fip_first_reply_ms OUT IP MAC FROM
#                                   ms from FROM to the first echo reply from IP that the
#                                   client received from MAC
#   fip_count_sent_to OUT IP MAC [FROM] [TO]
#                                   IPv4 frames the client sent to IP at MAC
#   fip_wait_reply_from OUT IP MAC FROM TIMEOUT_S
#                                   until the capture holds such an echo reply
#   fip_link_cut LAB IP OWNER TIMEOUT_S
#                                   cut OWNER's address link under the 10 ms pinger and the
#                                   capture; the time until the other node answers (below)
#   fip_count_gratuitous OUT IP [FROM] [TO] [MAC]
#                                   gratuitous ARP (sender = target = IP, broadcast) or
#                                   unsolicited NA (target IP, to ff02::1, no S flag)
#   fip_count_sender OUT IP [FROM]  every ARP frame with sender IP = IP, and every NA for IP
#   fip_count_probes OUT IP MAC [FROM]
#                                   duplicate-address probes for IP from MAC (ARP requests
#                                   from 0.0.0.0, RFC 5227 2.1.1)
#   fip_count_arp_from OUT IP MAC [FROM]
#                                   ARP frames that say IP is at MAC (sender fields)
#   fip_switch LAB RSC IP TARGET CRMNODE CRM-ARGS...
#                                   a planned switch under the 10 ms pinger (see below);
#                                   FIP_CTL=pcs runs pcs instead of crm
#   fip_addr_watch_start LAB NODE OUT / fip_addr_watch_stop
#                                   `ip -ts monitor address` in NODE's namespace
#   fip_wait_rsc_from LAB RSC WHERE FROM [TIMEOUT_S]
#                                   lab_wait_rsc, as seen from one node (partitions)
#   fip_stray_addrs LAB NODE [ALLOWED...]
#                                   global addresses on NODE besides its static ones
#
# Everything here runs inside the lab's namespaces: the capture is a raw AF_PACKET socket
# bound to eth0 of the client namespace (it only listens).

FIP_AGENT=${FIP_AGENT:-ocf:floatip:FloatIP}
FIP_PY=$(command -v /usr/bin/python3 python3 2>/dev/null | head -n1)

# The capture program: one line per ARP, NS or NA frame seen on eth0 (and, given "icmp",
# per IPv4 echo request or reply).
#   EPOCH in|out arp op=request|reply sender_ip=.. sender_mac=.. target_ip=.. dst=MAC
#   EPOCH in|out na|ns target=.. src_mac=.. dst_ip=.. flags=[R][S][O]
#   EPOCH in|out icmp type=echo-request|echo-reply src_ip=.. src_mac=.. dst_ip=.. dst=MAC
FIP_CAP_PY='
import socket, struct, sys, time, signal
dur = float(sys.argv[1])
icmp = len(sys.argv) > 2 and sys.argv[2] == "icmp"
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
signal.signal(signal.SIGINT, lambda *a: sys.exit(0))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind(("eth0", 0))
def mac(b): return ":".join("%02x" % x for x in b)
print("%.6f ready" % time.time(), flush=True)
end = time.time() + dur
while True:
    left = end - time.time()
    if left <= 0: break
    s.settimeout(left)
    try: data, addr = s.recvfrom(65535)
    except socket.timeout: break
    ts = time.time()
    d = "out" if addr[2] == socket.PACKET_OUTGOING else "in"
    et = struct.unpack("!H", data[12:14])[0]
    if et == 0x0806 and len(data) >= 42:
        op = struct.unpack("!H", data[20:22])[0]
        print("%.6f %s arp op=%s sender_ip=%s sender_mac=%s target_ip=%s dst=%s" % (ts, d,
              {1: "request", 2: "reply"}.get(op, op), socket.inet_ntoa(data[28:32]), mac(data[22:28]),
              socket.inet_ntoa(data[38:42]), mac(data[0:6])), flush=True)
    elif et == 0x86dd and len(data) >= 78 and data[20] == 58 and data[54] in (135, 136):
        fl = data[58]
        print("%.6f %s %s target=%s src_mac=%s dst_ip=%s flags=%s%s%s" % (ts, d,
              "na" if data[54] == 136 else "ns",
              socket.inet_ntop(socket.AF_INET6, data[62:78]), mac(data[6:12]),
              socket.inet_ntop(socket.AF_INET6, data[38:54]),
              "R" if fl & 0x80 else "", "S" if fl & 0x40 else "", "O" if fl & 0x20 else ""), flush=True)
    elif icmp and et == 0x0800 and len(data) >= 34 and data[23] == 1:
        t = 14 + (data[14] & 15) * 4
        if len(data) > t and data[t] in (0, 8):
            print("%.6f %s icmp type=%s src_ip=%s src_mac=%s dst_ip=%s dst=%s" % (ts, d,
                  "echo-reply" if data[t] == 0 else "echo-request", socket.inet_ntoa(data[26:30]),
                  mac(data[6:12]), socket.inet_ntoa(data[30:34]), mac(data[0:6])), flush=True)
'
FIP_CAP_PID=""
fip_cap_start() {   # lab out [max_s] [icmp]
    local lab=$1 out=$2 max=${3:-120} i
    [[ -n $FIP_PY ]] || { echo "     python3 not found: no capture" >&2; return 1; }
    : > "$out"
    # a simple command: bash execs nsenter, nsenter execs python, so $! is the capture itself
    nsenter --net="/run/netns/$lab-client" -- "$FIP_PY" -c "$FIP_CAP_PY" "$max" ${4:+"$4"} >"$out" 2>&1 </dev/null &
    FIP_CAP_PID=$!
    for ((i=0;i<200;i++)); do
        grep -q ' ready$' "$out" 2>/dev/null && return 0
        kill -0 "$FIP_CAP_PID" 2>/dev/null || break
        sleep 0.02
    done
    echo "     capture did not start: $(head -c 300 "$out")" >&2
    fip_cap_stop
    return 1
}
fip_cap_stop() {
    [[ -n $FIP_CAP_PID ]] || return 0
    kill -TERM "$FIP_CAP_PID" 2>/dev/null
    wait "$FIP_CAP_PID" 2>/dev/null
    FIP_CAP_PID=""
}
# fip_count_gratuitous OUT IP [FROM_EPOCH] [TO_EPOCH] [SENDER_MAC]
fip_count_gratuitous() {
    local mac=${5:-}
    awk -v ip="${2,,}" -v from="${3:-0}" -v to="${4:-0}" -v mac="${mac,,}" '
        $2 != "in" || $1 < from + 0 || (to + 0 > 0 && $1 > to + 0) { next }
        $3 == "arp" && $5 == "sender_ip=" ip && $7 == "target_ip=" ip && $8 == "dst=ff:ff:ff:ff:ff:ff" \
            && (mac == "" || $6 == "sender_mac=" mac) { n++ }
        $3 == "na" && $4 == "target=" ip && $6 == "dst_ip=ff02::1" && $7 !~ /S/ \
            && (mac == "" || $5 == "src_mac=" mac) { n++ }
        END { print n + 0 }' "$1"
}
# fip_first_gratuitous_ms OUT IP FROM_EPOCH [SENDER_MAC] : ms from FROM to the first one
fip_first_gratuitous_ms() {
    local mac=${4:-}
    awk -v ip="${2,,}" -v from="$3" -v mac="${mac,,}" '
        $2 != "in" || $1 < from + 0 { next }
        ($3 == "arp" && $5 == "sender_ip=" ip && $7 == "target_ip=" ip && $8 == "dst=ff:ff:ff:ff:ff:ff" \
            && (mac == "" || $6 == "sender_mac=" mac)) ||
        ($3 == "na" && $4 == "target=" ip && $6 == "dst_ip=ff02::1" && $7 !~ /S/ \
            && (mac == "" || $5 == "src_mac=" mac)) { printf "%d\n", ($1 - from) * 1000 + 0.5; exit }' "$1"
}
# fip_first_reply_ms OUT IP MAC FROM_EPOCH : ms from FROM to the first echo reply from IP
# that came from MAC (empty if none)
fip_first_reply_ms() {
    awk -v ip="$2" -v mac="${3,,}" -v from="$4" '
        $2 == "in" && $1 >= from + 0 && $3 == "icmp" && $4 == "type=echo-reply" \
            && $5 == "src_ip=" ip && $6 == "src_mac=" mac { printf "%d\n", ($1 - from) * 1000 + 0.5; exit }' "$1"
}
# fip_count_sent_to OUT IP MAC [FROM_EPOCH] [TO_EPOCH] : IPv4 echo frames the client sent to
# IP with MAC as the Ethernet destination
fip_count_sent_to() {
    awk -v ip="$2" -v mac="${3,,}" -v from="${4:-0}" -v to="${5:-0}" '
        $2 != "out" || $1 < from + 0 || (to + 0 > 0 && $1 > to + 0) { next }
        $3 == "icmp" && $7 == "dst_ip=" ip && $8 == "dst=" mac { n++ }
        END { print n + 0 }' "$1"
}
# fip_wait_reply_from OUT IP MAC FROM_EPOCH TIMEOUT_S
fip_wait_reply_from() {
    local end=$(( $(lab__now_ms) + $5 * 1000 ))
    until [[ -n $(fip_first_reply_ms "$1" "$2" "$3" "$4") ]]; do
        (( $(lab__now_ms) > end )) && { echo "     no echo reply from $2 at $3 within $5 s" >&2; return 1; }
        sleep 0.05
    done
}
# fip_count_sender OUT IP [FROM_EPOCH] : any ARP with sender IP = IP, any NA for IP
fip_count_sender() {
    awk -v ip="${2,,}" -v from="${3:-0}" '
        $2 != "in" || $1 < from + 0 { next }
        $3 == "arp" && $5 == "sender_ip=" ip { n++ }
        $3 == "na" && $4 == "target=" ip { n++ }
        END { print n + 0 }' "$1"
}

# fip_count_probes OUT IP MAC [FROM_EPOCH]
fip_count_probes() {
    awk -v ip="$2" -v mac="${3,,}" -v from="${4:-0}" '
        $2 != "in" || $1 < from + 0 { next }
        $3 == "arp" && $4 == "op=request" && $5 == "sender_ip=0.0.0.0" && $6 == "sender_mac=" mac \
            && $7 == "target_ip=" ip { n++ }
        END { print n + 0 }' "$1"
}
# fip_count_arp_from OUT IP MAC [FROM_EPOCH]
fip_count_arp_from() {
    awk -v ip="$2" -v mac="${3,,}" -v from="${4:-0}" '
        $2 != "in" || $1 < from + 0 { next }
        $3 == "arp" && $5 == "sender_ip=" ip && $6 == "sender_mac=" mac { n++ }
        END { print n + 0 }' "$1"
}

# fip_addr_watch_start LAB NODE OUT : every address added or deleted in NODE's network
# namespace, with timestamps, until fip_addr_watch_stop ("Deleted ..." lines for removals)
FIP_WATCH_PID=""
fip_addr_watch_start() {
    local lab=$1 node=$2 out=$3 i
    : > "$out"
    # a simple command: nsenter execs ip, so $! is the monitor itself
    nsenter --net="/run/netns/$lab-$node" -- ip -ts monitor address >"$out" 2>&1 </dev/null &
    FIP_WATCH_PID=$!
    # ready once ip holds its netlink socket (it subscribes right after opening it)
    for ((i=0;i<200;i++)); do
        [[ $(cat "/proc/$FIP_WATCH_PID/comm" 2>/dev/null) == ip ]] \
            && find "/proc/$FIP_WATCH_PID/fd" -lname 'socket:*' 2>/dev/null | grep . >/dev/null && return 0
        sleep 0.01
    done
    echo "     ip monitor did not start" >&2
    fip_addr_watch_stop
    return 1
}
fip_addr_watch_stop() {
    [[ -n $FIP_WATCH_PID ]] || return 0
    kill -TERM "$FIP_WATCH_PID" 2>/dev/null
    wait "$FIP_WATCH_PID" 2>/dev/null
    FIP_WATCH_PID=""
}

fip_stat() { sed -n "s/.*\\b$1=\\([0-9.]*\\).*/\\1/p" <<<"$2"; }

# fip_wait_rsc_from LAB RSC WHERE FROM [TIMEOUT_S] : like lab_wait_rsc, but as FROM sees it
fip_wait_rsc_from() {
    local lab=$1 rsc=$2 where=$3 from=$4 t=${5:-60} end cur
    end=$(( $(lab__now_ms) + t * 1000 ))
    while :; do
        if [[ $where == stopped ]]; then
            cur=$(lab_rsc_nodes "$lab" "$rsc" "$from" active 2>/dev/null) || cur="?"
        else
            cur=$(lab_rsc_nodes "$lab" "$rsc" "$from" 2>/dev/null)
        fi
        case $where in
            stopped) [[ -z $cur ]] && return 0;;
            any)     [[ -n $cur && $cur != *" "* ]] && { echo "$cur"; return 0; };;
            not:*)   [[ -n $cur && $cur != *" "* && $cur != "${where#not:}" ]] && { echo "$cur"; return 0; };;
            *)       [[ $cur == "$where" ]] && { echo "$cur"; return 0; };;
        esac
        if (( $(lab__now_ms) > end )); then
            echo "     $rsc not '$where' as $from sees it after ${t}s (now: '${cur:-stopped}')" >&2
            lab__dump_status "$lab" "$from"
            return 1
        fi
        sleep 0.2
    done
}

# fip_stray_addrs LAB NODE [ALLOWED...] : global-scope addresses on NODE other than its
# static ones and ALLOWED (empty output = nothing stray)
fip_stray_addrs() {
    local lab=$1 node=$2; shift 2
    local ring=""
    lab_has_ring "$lab" && ring=$(lab_node_ring_ip "$lab" "$node")
    lab_exec "$lab" "$node" ip -o addr show scope global \
        | awk -v keep="$(lab_node_ip "$lab" "$node") $(lab_node_ip6 "$lab" "$node") $ring $*" '
            BEGIN { n = split(keep, k, " "); for (i = 1; i <= n; i++) ok[tolower(k[i])] = 1 }
            { split($4, p, "/"); if (!(tolower(p[1]) in ok)) printf "%s%s(%s)", sep, $4, $2; sep = " " }'
}

# fip_switch LAB RSC IP TARGET CRMNODE CRM-ARGS...
# With an existing client neighbour entry for IP: starts the 10 ms pinger and the capture,
# runs `crm CRM-ARGS` (`pcs CRM-ARGS` with FIP_CTL=pcs) on CRMNODE, waits until RSC is Started on TARGET and the client's
# neighbour entry has TARGET's MAC, lets the pinger see 1 s of steady replies, stops both.
# Sets SW_STATS (pinger-stop line), SW_MS (command -> Started), SW_NEIGH_MS (command ->
# the client's entry has the new MAC), SW_ANN (gratuitous ARP / unsolicited NA frames from
# TARGET's MAC after the command), SW_FIRST_ANN_MS (command -> the first of them, empty
# if none), SW_T0 (epoch of the command), SW_CAP (capture file).
fip_switch() {
    local lab=$1 rsc=$2 ip=$3 target=$4 crmnode=$5 t0 rc=0 mac; shift 5
    SW_STATS="" SW_MS="" SW_NEIGH_MS="" SW_ANN="" SW_T0=""
    SW_CAP=$LAB_ROOT/$lab/capture.$rsc.$$.txt
    mac=$(lab_node_mac "$lab" "$target")
    lab_client_ping "$lab" "$ip" 10 || return 1
    fip_cap_start "$lab" "$SW_CAP" 120 || return 1
    lab_pinger_start "$lab" "$ip" || { fip_cap_stop; return 1; }
    sleep 0.5
    SW_T0=$EPOCHREALTIME
    t0=$(lab__now_ms)
    "lab_${FIP_CTL:-crm}" "$lab" "$crmnode" "$@" >/dev/null || { echo "     ${FIP_CTL:-crm} $* failed" >&2; rc=1; }
    if (( rc == 0 )); then
        lab_wait_rsc "$lab" "$rsc" "$target" 60 >/dev/null || rc=1
        SW_MS=$(( $(lab__now_ms) - t0 ))
    fi
    if (( rc == 0 )); then
        lab_wait_neigh "$lab" "$ip" "$mac" 15 || rc=1
        SW_NEIGH_MS=$(( $(lab__now_ms) - t0 ))
    fi
    sleep 1
    SW_STATS=$(lab_pinger_stop "$lab")
    fip_cap_stop
    SW_ANN=$(fip_count_gratuitous "$SW_CAP" "$ip" "$SW_T0" 0 "$mac")
    SW_FIRST_ANN_MS=$(fip_first_gratuitous_ms "$SW_CAP" "$ip" "$SW_T0" "$mac")
    echo "     pinger: $SW_STATS" >&2
    return $rc
}

# fip_link_cut LAB IP OWNER TIMEOUT_S
# With an existing client neighbour entry for IP: starts the capture (echo frames too) and
# the 10 ms pinger, cuts OWNER's address link (its switch port down: carrier loss on its
# eth0; with lab_up --ring-link the cluster stays whole), waits at most TIMEOUT_S for the
# client's first echo reply from IP at the other node's MAC, then stops both.  The link stays
# cut.  Sets LC_MS (carrier loss -> that reply, empty if none came), LC_STATS (pinger-stop
# line), LC_T0 (epoch of the cut), LC_TO (the other node), LC_CAP (capture file).
fip_link_cut() {
    local lab=$1 ip=$2 owner=$3 t=$4 rc=0
    LC_MS="" LC_STATS="" LC_T0=""
    LC_TO=$(other_node_of "$lab" "$owner")
    LC_CAP=$LAB_ROOT/$lab/capture.cut.$owner.$$.$RANDOM.txt
    fip_cap_start "$lab" "$LC_CAP" $(( t + 60 )) icmp || return 1
    lab_pinger_start "$lab" "$ip" || { fip_cap_stop; return 1; }
    LC_T0=$EPOCHREALTIME
    lab_cut "$lab" "$owner" || rc=1
    (( rc == 0 )) && { fip_wait_reply_from "$LC_CAP" "$ip" "$(lab_node_mac "$lab" "$LC_TO")" "$LC_T0" "$t" || rc=1; }
    LC_MS=$(fip_first_reply_ms "$LC_CAP" "$ip" "$(lab_node_mac "$lab" "$LC_TO")" "$LC_T0")
    LC_STATS=$(lab_pinger_stop "$lab")
    fip_cap_stop
    echo "     pinger: $LC_STATS" >&2
    return $rc
}
# the next node after NODE (node2 after node1, node1 after the last)
other_node_of() { local max i; max=$(lab__nodes_n "$1"); i=$(lab__idx "$2"); echo "node$(( i % max + 1 ))"; }
