#!/usr/bin/env bash
# floatip cluster test lab: real corosync + pacemaker nodes in network namespaces.
#
# CLI:     tests/cluster/lab.sh help
# Library: source tests/cluster/lab.sh; lab_up 2; lab_exec "$LAB" node1 crm_mon -1; lab_down "$LAB"
#
# Everything that has an address or sends a packet lives in namespaces created
# here: one "switch" namespace holding the bridge, one namespace per node, one
# client namespace.  Nothing is ever added to, or sent on, an interface of the
# root namespace.  Only 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32 are
# used.  See tests/cluster/README.md.

# ----------------------------------------------------------------- settings
LAB_PREFIX=fipl                                  # every lab is named fipl-<hex>
LAB_ROOT=${LAB_ROOT:-/run/floatip-lab}           # per-lab state: $LAB_ROOT/<lab>/
LAB_NET4=198.51.100                              # node i = .1i, client = .254
LAB_NET6=2001:db8:100                            # node i = ::1i, client = ::254
LAB_MAC_PREFIX=02:f1:00:00:00                    # node i = :0i, client = :fe
# With --ring-link (lab_up), corosync runs on a link of its own: a second bridge in the
# namespace <lab>-ring, each node's eth1 on it.  The address link (eth0, with the client)
# can then be cut without cutting the cluster.
LAB_RING4=203.0.113                              # node i = .1i on eth1
LAB_RING_MAC_PREFIX=02:f1:00:00:01               # node i eth1 = :0i
LAB_COROSYNC_TOKEN=${LAB_COROSYNC_TOKEN:-3000}   # ms (corosync default)
LAB_DC_DEADTIME=${LAB_DC_DEADTIME:-2s}
LAB_PCMK_DEBUG=${LAB_PCMK_DEBUG:-no}
LAB_UP_TIMEOUT=${LAB_UP_TIMEOUT:-60}             # seconds, bring-up incl. DC election
# Optional: make an agent that is not installed system-wide visible inside the
# nodes, e.g. LAB_AGENT_OVERRIDE="floatip:FloatIP=/work/main/target/debug/floatip"
# (several, space separated).  The file is copied at `up` into a private
# resource.d that is bind-mounted over /usr/lib/ocf/resource.d in each node only.
LAB_AGENT_OVERRIDE=${LAB_AGENT_OVERRIDE:-}
LAB_SYS_PATH=/usr/sbin:/usr/bin:/sbin:/bin
# The cluster stack the nodes run: debian12, this machine's own packages, or debian13, a
# Debian 13 root (tests/cluster/debian13-root.sh) that becomes each node's / (pivot_root in
# the node's mount namespace, over an overlay of its own; see lab__node_mounts_root).
# LAB_STACK_ROOT names another root for debian13.
LAB_STACK=${LAB_STACK:-debian12}
LAB_STACK_ROOT=${LAB_STACK_ROOT:-}
LAB_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# ----------------------------------------------------------------- helpers
lab__log()  { printf '[lab %s] %s\n' "$(date +%T.%3N)" "$*" >&2; }
lab__err()  { printf '[lab %s] ERROR: %s\n' "$(date +%T.%3N)" "$*" >&2; return 1; }
lab__now_ms() { local t=${EPOCHREALTIME/./}; echo $(( t / 1000 )); }

lab__check_name() {
    [[ ${1:-} =~ ^${LAB_PREFIX}-[a-z0-9]+$ ]] || lab__err "not a lab name: '${1:-}' (expected ${LAB_PREFIX}-<id>)"
}
lab__dir() { echo "$LAB_ROOT/$1"; }
lab__nodes_n() { cat "$LAB_ROOT/$1/n" 2>/dev/null || lab__err "no such lab: $1"; }

# node1|1 -> node1
lab__node() {
    local lab=$1 n=$2 max
    [[ $n =~ ^[0-9]+$ ]] && n=node$n
    max=$(lab__nodes_n "$lab") || return 1
    [[ $n =~ ^node([0-9]+)$ ]] && (( ${BASH_REMATCH[1]} >= 1 && ${BASH_REMATCH[1]} <= max )) \
        || lab__err "lab $lab has no node '$2' (node1..node$max)"
    echo "$n"
}
lab__idx() { echo "${1#node}"; }

# "PID STARTTIME" of a live (non-zombie) process, or failure
lab__pid_stamp() {
    local pid=$1 stat rest
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    rest=${stat##*) }
    set -- $rest
    [[ $1 == Z || $1 == X ]] && return 1
    echo "$pid ${20}"
}
# record PID under key in the lab's pid dir
lab__record() {
    local lab=$1 key=$2 pid=$3 stamp
    stamp=$(lab__pid_stamp "$pid") || { lab__err "process $pid ($key) died right after start"; return 1; }
    mkdir -p "$LAB_ROOT/$lab/pids"
    echo "$stamp" > "$LAB_ROOT/$lab/pids/$key"
}
# is the recorded process still the same live process?
lab__recorded_alive() {
    local f=$1 pid st cur
    [[ -s $f ]] || return 1
    read -r pid st < "$f"
    cur=$(lab__pid_stamp "$pid") || return 1
    [[ $cur == "$pid $st" ]]
}
lab__recorded_pid() { local pid st; read -r pid st < "$1" 2>/dev/null && echo "$pid"; }

# inode of a namespace file; PIDs of all processes inside that network namespace.
# (Only processes started by this lab can be inside a namespace the lab created.)
lab__ns_ino() { stat -L -c %i "$1" 2>/dev/null; }
lab__netns_pids() {
    local ino=$1
    [[ -n $ino ]] || return 0
    find /proc/[0-9]*/ns/net -maxdepth 0 -lname "net:\[$ino\]" 2>/dev/null \
        | cut -d/ -f3 | grep -vx -e "$$" -e "${BASHPID:-$$}"
}
# SIGKILL everything inside a network namespace (STOP first, so nobody respawns)
lab__kill_netns() {
    local ino=$1 keep=${2:-} pids tries=0
    [[ -n $ino ]] || return 0
    while :; do
        pids=$(lab__netns_pids "$ino")
        [[ -n $keep ]] && pids=$(grep -vx "$keep" <<<"$pids")
        [[ -z $pids ]] && return 0
        kill -STOP $pids 2>/dev/null
        kill -KILL $pids 2>/dev/null
        (( ++tries > 50 )) && { lab__err "processes survive in netns $ino: $pids"; return 1; }
        sleep 0.1
    done
}
lab__kill_recorded() {
    local f=$1 sig=${2:-KILL} pid
    lab__recorded_alive "$f" || return 0
    pid=$(lab__recorded_pid "$f")
    kill -"$sig" "$pid" 2>/dev/null
}
lab__wait_recorded_dead() {
    local f=$1 t=${2:-10} end
    end=$(( $(lab__now_ms) + t * 1000 ))
    while lab__recorded_alive "$f"; do
        (( $(lab__now_ms) > end )) && return 1
        sleep 0.05
    done
}

# lab__bg OUTFILE CMD... : start CMD detached in its own session (so a Ctrl-C of the
# caller's terminal reaches only the caller, whose trap tears the lab down); sets
# LAB__BG_PID.  Job control is switched off meanwhile: with it, the job would lead a
# process group and setsid(1) would fork, making $! the wrong PID.
lab__bg() {
    local out=$1 jc=0; shift
    [[ $- == *m* ]] && { jc=1; set +m; }
    setsid "$@" </dev/null >>"$out" 2>&1 &
    LAB__BG_PID=$!
    disown "$LAB__BG_PID" 2>/dev/null   # no "Killed" notices, not waited for by `wait`
    (( jc )) && set -m
    return 0
}
# wait until PID has exec'd COMM (nsenter/unshare/env exec in place: same PID)
lab__wait_comm() {
    local pid=$1 comm=$2 i
    for ((i=0;i<200;i++)); do
        [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]] && return 0
        [[ -d /proc/$pid ]] || break
        sleep 0.01
    done
    lab__err "process $pid did not become '$comm' (is '$(cat "/proc/$pid/comm" 2>/dev/null)')"
}

# the lab's stack ("debian12" when the lab predates stacks), and its root (empty: the host's)
lab_stack() { cat "$LAB_ROOT/$1/stack" 2>/dev/null || echo debian12; }
lab__stack_root() { cat "$LAB_ROOT/$1/stack-root" 2>/dev/null; }
# "UID:GID" (or names) of hacluster:haclient as the lab's nodes know them: the Debian 13
# root's system users are numbered apart from the host's (100:101 there, 102:105 here)
lab__ha_ids() {
    local root u g
    root=$(lab__stack_root "$1")
    [[ -n $root ]] || { echo hacluster:haclient; return 0; }
    u=$(awk -F: '$1 == "hacluster" { print $3 }' "$root/etc/passwd")
    g=$(awk -F: '$1 == "haclient" { print $3 }' "$root/etc/group")
    [[ -n $u && -n $g ]] || { lab__err "no hacluster:haclient in $root"; return 1; }
    echo "$u:$g"
}
# "NAME DIR" of each OCF provider a node sees: the stack's, plus floatip as the host installed
# it (a Debian 13 node gets the host's floatip, see lab__node_mounts_root)
lab__ocf_providers() {
    local root p
    root=$(lab__stack_root "$1")
    for p in "$root"/usr/lib/ocf/resource.d/*; do [[ -d $p ]] && echo "${p##*/} $p"; done
    if [[ -n $root && -d /usr/lib/ocf/resource.d/floatip && ! -e $root/usr/lib/ocf/resource.d/floatip ]]; then
        echo "floatip /usr/lib/ocf/resource.d/floatip"
    fi
}

lab__holder_pid() {
    local lab=$1 who=$2 f
    f=$LAB_ROOT/$lab/pids/holder.$who
    lab__recorded_alive "$f" || { lab__err "lab $lab: $who is not running (no live holder)"; return 1; }
    lab__recorded_pid "$f"
}

# ----------------------------------------------------------------- exec
# lab_exec LAB NODE CMD... : run CMD inside the node's net+mnt+uts namespaces
lab_exec() {
    local lab=$1 node hp
    lab__check_name "$lab" || return 2
    node=$(lab__node "$lab" "$2") || return 2
    shift 2
    hp=$(lab__holder_pid "$lab" "$node") || return 2
    nsenter -t "$hp" --net --mount --uts -- \
        env HOME=/run/lab-home PATH="$LAB_SYS_PATH:$PATH" "$@"
}
# lab_client LAB CMD... : run CMD in the client's network namespace
lab_client() {
    local lab=$1
    lab__check_name "$lab" || return 2
    shift
    [[ -e /run/netns/$lab-client ]] || { lab__err "lab $lab has no client namespace"; return 2; }
    nsenter --net="/run/netns/$lab-client" -- "$@"
}
# lab_sw LAB CMD... : run CMD in the switch (bridge) namespace
lab_sw() {
    local lab=$1; shift
    nsenter --net="/run/netns/$lab-sw" -- "$@"
}

# lab_crm LAB NODE ARGS... : crmsh on NODE, plain output (crmsh colours its
# INFO/WARNING/ERROR lines whatever the terminal, and prints some of them on
# stdout, some on stderr: stripped from both, each stream kept apart)
lab_crm() {
    local lab=$1 node=$2; shift 2
    { { lab_exec "$lab" "$node" crm -D plain "$@" 2>&1 1>&3 3>&- | sed -u 's/\x1b\[[0-9;]*m//g' >&2
        exit "${PIPESTATUS[0]}"; } 3>&1 | sed -u 's/\x1b\[[0-9;]*m//g'
      return "${PIPESTATUS[0]}"; }
}

# lab_pcs LAB NODE ARGS... : pcs on NODE.  Only commands that work on the local CIB and
# pacemaker tools are meant (resource, constraint, status); pcsd is not running in a lab,
# so `pcs cluster setup/auth/start`, `pcs host auth` and the PCSD part of `pcs status --full`
# are out (pcs runs crm_resource, cibadmin and crm_mon underneath, like crmsh).
lab_pcs() {
    local lab=$1 node=$2; shift 2
    lab_exec "$lab" "$node" pcs "$@"
}

# does the lab run corosync on its own link (lab_up --ring-link)?
lab_has_ring() { [[ -e $LAB_ROOT/$1/ring ]]; }
lab_node_ring_ip() { echo "$LAB_RING4.1$(lab__idx "$2")"; }

lab_nodes() { local n i; n=$(lab__nodes_n "$1") || return 1; for ((i=1;i<=n;i++)); do echo "node$i"; done; }
lab_node_ip()  { echo "$LAB_NET4.1$(lab__idx "$2")"; }
lab_node_ip6() { echo "$LAB_NET6::1$(lab__idx "$2")"; }
lab_node_mac() { echo "$LAB_MAC_PREFIX:0$(lab__idx "$2")"; }
lab_client_mac() { echo "$LAB_MAC_PREFIX:fe"; }
lab_zombie_mac() { echo "$LAB_MAC_PREFIX:ee"; }
# node name owning MAC (or "client"/"unknown")
lab_mac_owner() {
    local lab=$1 mac=${2,,} n
    for n in $(lab_nodes "$lab"); do [[ $mac == "$(lab_node_mac "$lab" "$n")" ]] && { echo "$n"; return 0; }; done
    [[ $mac == "$(lab_client_mac)" ]] && { echo client; return 0; }
    [[ $mac == "$(lab_zombie_mac)" ]] && { echo zombie; return 0; }
    echo unknown
}

# ----------------------------------------------------------------- bring-up
lab__write_node_fs() {
    local lab=$1 node=$2 d=$LAB_ROOT/$1/nodes/$2 ids u g
    ids=$(lab__ha_ids "$lab") || return 1
    u=${ids%%:*} g=${ids#*:}
    mkdir -p "$d"/{etc-corosync/uidgid.d,lib-pacemaker,lib-corosync,lib-heartbeat,log}
    install -d -o "$u" -g "$g" -m 0750 "$d"/lib-pacemaker/{cib,pengine,blackbox,cores}
    install -d -m 0755 "$d"/lib-heartbeat/{lrm,cores}
    install -d -m 0755 "$d"/log/corosync
    install -d -o "$u" -g "$g" -m 0770 "$d"/log/pacemaker "$d"/log/pacemaker/bundles
    install -d -o "$u" -g "$g" -m 0775 "$d"/log/crmsh
    cp "$LAB_ROOT/$lab/corosync.conf" "$d/etc-corosync/corosync.conf"
    install -m 0400 "$LAB_ROOT/$lab/authkey" "$d/etc-corosync/authkey"
    install -o "$u" -g "$g" -m 0600 "$LAB_ROOT/$lab/cib.xml" "$d/lib-pacemaker/cib/cib.xml"
}

# mounts inside the node's (already unshared) mount namespace
lab__node_mounts() {
    local lab=$1 node=$2 hp=$3 d=$LAB_ROOT/$1/nodes/$2 ocf=""
    [[ -n $(lab__stack_root "$lab") ]] && { lab__node_mounts_root "$@"; return; }
    [[ -d $LAB_ROOT/$lab/resource.d ]] && ocf=$LAB_ROOT/$lab/resource.d
    nsenter -t "$hp" --net --mount --uts -- /bin/sh -euc '
        d=$1 node=$2 hosts=$3 ocf=$4
        mount --make-rprivate /
        hostname "$node"
        mount --bind "$d/etc-corosync"  /etc/corosync
        mount --bind "$d/lib-pacemaker" /var/lib/pacemaker
        mount --bind "$d/lib-corosync"  /var/lib/corosync
        mount --bind "$d/lib-heartbeat" /var/lib/heartbeat
        mount --bind "$d/log"           /var/log
        mount --bind "$hosts"           /etc/hosts
        if [ -n "$ocf" ]; then
            for p in "$ocf"/*; do
                [ -e "$p/.lab-override" ] || mount --bind "/usr/lib/ocf/resource.d/${p##*/}" "$p"
            done
            mount --rbind "$ocf" /usr/lib/ocf/resource.d
        fi
        mount -t sysfs  -o nosuid,nodev,noexec sysfs /sys
        mount -t tmpfs  -o mode=1777,nosuid,nodev tmpfs /dev/shm
        mount -t tmpfs  -o mode=1777,nosuid,nodev tmpfs /tmp
        # last: hides the lab state dir and /run/netns from inside the node
        mount -t tmpfs  -o mode=0755,nosuid,nodev tmpfs /run
        mkdir -p /run/lock /run/crm /run/resource-agents /run/lab-home
        chmod 1777 /run/lock; chmod 1755 /run/resource-agents; chmod 0700 /run/lab-home
        chown hacluster:haclient /run/crm
        ip link set lo up
    ' sh "$d" "$node" "$LAB_ROOT/$lab/hosts" "$ocf"
}

# The same for a node of a stack in a root of its own (debian13): an overlay of the root,
# the lab's mounts made inside it, then pivot_root, so that the root is the / of the node's
# mount namespace.  A chroot would not do: every command for the node enters that namespace
# (nsenter --mount), which sets the root to the namespace's, and would run the host's stack.
# The namespace itself is made by the host's unshare (lab__start_holder); the mounts vanish
# with it.  floatip is the host's installed one: its binary bound in, its OCF link copied.
lab__node_mounts_root() {
    local lab=$1 node=$2 hp=$3 d=$LAB_ROOT/$1/nodes/$2 ocf="" root ids
    root=$(lab__stack_root "$lab")
    ids=$(lab__ha_ids "$lab") || return 1
    [[ -x $root/usr/sbin/pacemakerd ]] || { lab__err "no cluster stack in $root"; return 1; }
    [[ -d $LAB_ROOT/$lab/resource.d ]] && ocf=$LAB_ROOT/$lab/resource.d
    mkdir -p "$d/root" "$d/upper" "$d/work" || return 1
    nsenter -t "$hp" --net --mount --uts -- /bin/sh -euc '
        d=$1 node=$2 hosts=$3 ocf=$4 lower=$5 ids=$6 new=$1/root
        mount --make-rprivate /
        hostname "$node"
        # writes of the node (pcs, crmsh, python) go to its own upper layer, never the cache
        mount -t overlay overlay -o "lowerdir=$lower,upperdir=$d/upper,workdir=$d/work" "$new"
        for m in etc/corosync:etc-corosync var/lib/pacemaker:lib-pacemaker \
                 var/lib/corosync:lib-corosync var/lib/heartbeat:lib-heartbeat var/log:log; do
            mkdir -p "$new/${m%%:*}"
            mount --bind "$d/${m#*:}" "$new/${m%%:*}"
        done
        mount --bind "$hosts" "$new/etc/hosts"
        if [ -e /usr/sbin/floatip ]; then
            : > "$new/usr/sbin/floatip"
            mount --bind /usr/sbin/floatip "$new/usr/sbin/floatip"
        fi
        if [ -d /usr/lib/ocf/resource.d/floatip ] && [ ! -e "$new/usr/lib/ocf/resource.d/floatip" ]; then
            cp -a /usr/lib/ocf/resource.d/floatip "$new/usr/lib/ocf/resource.d/"
        fi
        if [ -n "$ocf" ]; then
            for p in "$ocf"/*; do
                [ -e "$p/.lab-override" ] || mount --bind "$new/usr/lib/ocf/resource.d/${p##*/}" "$p"
            done
            mount --rbind "$ocf" "$new/usr/lib/ocf/resource.d"
        fi
        mount -t proc   -o nosuid,nodev,noexec proc "$new/proc"
        mount --rbind /dev "$new/dev"
        mount -t sysfs  -o nosuid,nodev,noexec sysfs "$new/sys"
        mount -t tmpfs  -o mode=1777,nosuid,nodev tmpfs "$new/dev/shm"
        mount -t tmpfs  -o mode=1777,nosuid,nodev tmpfs "$new/tmp"
        mount -t tmpfs  -o mode=0755,nosuid,nodev tmpfs "$new/run"
        mkdir -p "$new/run/lock" "$new/run/crm" "$new/run/resource-agents" "$new/run/lab-home"
        chmod 1777 "$new/run/lock"; chmod 1755 "$new/run/resource-agents"; chmod 0700 "$new/run/lab-home"
        chown "$ids" "$new/run/crm"
        ip link set lo up
        mkdir -p "$new/.lab-oldroot"
        cd "$new"
        pivot_root . .lab-oldroot
        cd /
        umount -l /.lab-oldroot
        rmdir /.lab-oldroot
    ' sh "$d" "$node" "$LAB_ROOT/$lab/hosts" "$ocf" "$root" "$ids"
}

# "reboot" of a node's volatile state: fresh /run, /dev/shm, /tmp, only static addresses
lab__node_fresh_boot() {
    local lab=$1 node=$2 hp=$3 ip4 ip6
    ip4=$(lab_node_ip "$lab" "$node"); ip6=$(lab_node_ip6 "$lab" "$node")
    nsenter -t "$hp" --net --mount --uts -- /bin/sh -euc '
        for m in /run /dev/shm /tmp; do umount -l "$m"; done
        mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
        mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
        mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
        mkdir -p /run/lock /run/crm /run/resource-agents /run/lab-home
        chmod 1777 /run/lock; chmod 1755 /run/resource-agents; chmod 0700 /run/lab-home
        chown hacluster:haclient /run/crm
        ip addr flush dev eth0
        ip addr add "$1/24" dev eth0
        ip addr add "$2/64" dev eth0 nodad
    ' sh "$ip4" "$ip6"
}

lab__write_config() {
    local lab=$1 n=$2 d=$LAB_ROOT/$1 i quorum ring=$LAB_NET4
    # node names resolve to the cluster's link (crmsh pings them before `node standby`)
    lab_has_ring "$lab" && ring=$LAB_RING4
    {
        echo "127.0.0.1 localhost"
        echo "::1 localhost ip6-localhost ip6-loopback"
        for ((i=1;i<=n;i++)); do echo "$ring.1$i node$i"; done
        echo "$LAB_NET4.254 client"
    } > "$d/hosts"
    dd if=/dev/urandom of="$d/authkey" bs=256 count=1 status=none
    chmod 0400 "$d/authkey"
    if (( n == 2 )); then quorum="    two_node: 1"; else quorum=""; fi
    {
        cat <<EOF
# generated by tests/cluster/lab.sh for lab $lab
totem {
    version: 2
    cluster_name: $lab
    transport: knet
    token: $LAB_COROSYNC_TOKEN
    crypto_cipher: aes256
    crypto_hash: sha256
}
nodelist {
EOF
        for ((i=1;i<=n;i++)); do
            printf '    node {\n        ring0_addr: %s\n        name: node%d\n        nodeid: %d\n    }\n' "$ring.1$i" "$i" "$i"
        done
        cat <<EOF
}
quorum {
    provider: corosync_votequorum
$quorum
}
logging {
    to_logfile: yes
    logfile: /var/log/corosync/corosync.log
    to_syslog: no
    to_stderr: no
    timestamp: hires
}
EOF
    } > "$d/corosync.conf"
    # initial CIB with fast DC election and lab cluster options
    local nqp=stop; (( n <= 2 )) && nqp=ignore
    lab__make_cib "$lab" "dc-deadtime=$LAB_DC_DEADTIME" "stonith-enabled=false" "no-quorum-policy=$nqp" \
        || { lab__err "cannot write the initial CIB"; return 1; }
    # optional agent overrides: a private resource.d, bind-mounted over the real one
    # inside the nodes.  Providers that are not overridden become mount points for
    # the real provider directories (see lab__node_mounts); an overridden provider
    # gets a copy of its installed agents plus a symlink to the override.
    if [[ -n $LAB_AGENT_OVERRIDE ]]; then
        local spec p prov rest agent path src
        mkdir -p "$d/resource.d"
        for spec in $LAB_AGENT_OVERRIDE; do
            prov=${spec%%:*} rest=${spec#*:}
            agent=${rest%%=*} path=${rest#*=}
            [[ $spec == *:*=* && -n $prov && -n $agent ]] || { lab__err "LAB_AGENT_OVERRIDE: '$spec' is not provider:Agent=/path"; return 1; }
            [[ -f $path && -x $path ]] || { lab__err "LAB_AGENT_OVERRIDE: $path is not an executable file"; return 1; }
            if [[ ! -d $d/resource.d/$prov ]]; then
                mkdir -p "$d/resource.d/$prov"
                src=$(lab__ocf_providers "$lab" | awk -v p="$prov" '$1 == p { print $2 }')
                [[ -n $src ]] && cp -a "$src/." "$d/resource.d/$prov/"
                touch "$d/resource.d/$prov/.lab-override"
            fi
            # a copy, not a symlink: the path may be hidden inside the node (/tmp, /run
            # are private there) and a rebuild must not change a running lab's agent
            rm -f "$d/resource.d/$prov/$agent"
            install -m 0755 "$path" "$d/resource.d/$prov/$agent" || return 1
        done
        for p in $(lab__ocf_providers "$lab" | cut -d' ' -f1); do
            [[ -e $d/resource.d/$p ]] || mkdir "$d/resource.d/$p"
        done
    fi
}

# the initial CIB, made by the stack's own tools (Pacemaker 3.0 writes a newer schema); a
# root's tools run chrooted, with the lab's directory as /mnt in a mount namespace of their own
lab__make_cib() {   # lab name=value...
    local lab=$1 d=$LAB_ROOT/$1 root script; shift
    root=$(lab__stack_root "$lab")
    # shellcheck disable=SC2016
    script='d=$1; shift
        cibadmin --empty > "$d/cib.xml" || exit 1
        for opt in "$@"; do
            CIB_file="$d/cib.xml" crm_attribute --type crm_config --name "${opt%%=*}" --update "${opt#*=}" >/dev/null \
                || { echo "cannot set $opt in the initial CIB" >&2; exit 1; }
        done'
    if [[ -z $root ]]; then
        sh -c "$script" sh "$d" "$@"
    else
        # shellcheck disable=SC2016
        unshare --mount --propagation private -- /bin/sh -c '
            mount --bind "$1" "$2/mnt" || exit 1
            root=$2 script=$3; shift 3
            exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /bin/sh -c "$script" sh /mnt "$@"' \
            sh "$d" "$root" "$script" "$@"
    fi
}

lab__start_holder() {
    local lab=$1 who=$2 hp i
    # the holder's working directory is /, so that a pivot_root carries it into the node's root
    lab__bg /dev/null nsenter --net="/run/netns/$lab-$who" --wd=/ -- \
        unshare --mount --uts --propagation private sleep infinity
    hp=$LAB__BG_PID
    for ((i=0;i<100;i++)); do
        if [[ $(cat /proc/$hp/comm 2>/dev/null) == sleep && \
              $(readlink /proc/$hp/ns/mnt 2>/dev/null) != "$(readlink /proc/self/ns/mnt)" ]]; then
            lab__record "$lab" "holder.$who" "$hp" || return 1
            echo "$hp"; return 0
        fi
        sleep 0.02
    done
    lab__err "holder for $who did not start"
}

lab__start_daemon() {   # lab node key cmd...
    local lab=$1 node=$2 key=$3 hp pid; shift 3
    hp=$(lab__holder_pid "$lab" "$node") || return 1
    lab__bg "$LAB_ROOT/$lab/nodes/$node/$key.out" nsenter -t "$hp" --net --mount --uts -- \
        env -i PATH="$LAB_SYS_PATH" LANG=C.UTF-8 HOME=/run/lab-home \
        PCMK_logfile=/var/log/pacemaker/pacemaker.log PCMK_logfacility=none \
        PCMK_debug="$LAB_PCMK_DEBUG" HA_LOGFACILITY=none \
        "$@"
    pid=$LAB__BG_PID
    lab__record "$lab" "$key.$node" "$pid" && lab__wait_comm "$pid" "${1:0:15}"
}

lab__start_cluster_on() {   # lab node : corosync, wait for its IPC, pacemakerd
    local lab=$1 node=$2 end
    lab__start_daemon "$lab" "$node" corosync corosync -f || return 1
    end=$(( $(lab__now_ms) + 20000 ))
    until lab_exec "$lab" "$node" corosync-cfgtool -s >/dev/null 2>&1; do
        lab__recorded_alive "$LAB_ROOT/$lab/pids/corosync.$node" || {
            lab__err "corosync on $node exited; see $LAB_ROOT/$lab/nodes/$node/log/corosync/corosync.log"
            tail -n 20 "$LAB_ROOT/$lab/nodes/$node/corosync.out" "$LAB_ROOT/$lab/nodes/$node/log/corosync/corosync.log" >&2 2>/dev/null
            return 1; }
        (( $(lab__now_ms) > end )) && { lab__err "corosync on $node: no IPC after 20 s"; return 1; }
        sleep 0.05
    done
    lab__start_daemon "$lab" "$node" pacemakerd pacemakerd
}

# lab_up N [--name NAME] [--owner PID|--no-owner] [--no-wait] [--ring-link]
# --ring-link: corosync on a second bridge (namespace <lab>-ring, 203.0.113.0/24 on each
# node's eth1), so that lab_cut of a node's address link leaves the cluster whole.
# Sets LAB (and LAB_STATE, LAB_UP_MS) in the calling shell; returns non-zero on failure
# (the partial lab is torn down).  The owner (default: $$ of the calling shell, or none
# for the CLI) is what the stale-lab sweeper looks at: a lab whose owner died is swept.
lab_up() {
    local n=${1:-}; shift || true
    local name="" owner=$$ wait=1 ring=0 t0 i
    while (( $# )); do
        case $1 in
            --name) name=$2; shift 2;;
            --owner) owner=$2; shift 2;;
            --no-owner) owner=""; shift;;
            --no-wait) wait=0; shift;;
            --ring-link) ring=1; shift;;
            *) lab__err "lab_up: unknown option $1"; return 2;;
        esac
    done
    [[ $n =~ ^[1-9]$ ]] || { lab__err "lab_up: node count 1..9 expected, got '$n'"; return 2; }
    [[ $(id -u) == 0 ]] || { lab__err "lab_up: must run as root"; return 2; }
    lab_sweep || true
    [[ -n $name ]] || name=$LAB_PREFIX-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
    lab__check_name "$name" || return 2
    [[ -e $LAB_ROOT/$name || -e /run/netns/$name-sw ]] && { lab__err "lab $name exists"; return 2; }
    local stack=$LAB_STACK sroot=""
    case $stack in
        debian12) ;;
        debian13) sroot=${LAB_STACK_ROOT:-$(bash "$LAB_HERE/debian13-root.sh" path)} \
                      || { lab__err "lab_up: no Debian 13 root (bash tests/cluster/debian13-root.sh ensure)"; return 2; } ;;
        *) lab__err "lab_up: LAB_STACK is debian12 or debian13, not '$stack'"; return 2 ;;
    esac
    LAB=$name; LAB_STATE=$LAB_ROOT/$name
    t0=$(lab__now_ms)
    mkdir -p "$LAB_STATE/pids" "$LAB_STATE/nodes" || return 1
    echo "$n" > "$LAB_STATE/n"
    echo "$stack" > "$LAB_STATE/stack"
    [[ -n $sroot ]] && echo "$sroot" > "$LAB_STATE/stack-root"
    if (( ring )); then : > "$LAB_STATE/ring"; fi
    if [[ -n $owner ]]; then lab__pid_stamp "$owner" > "$LAB_STATE/owner"; else : > "$LAB_STATE/owner"; fi
    lab__log "creating lab $name with $n nodes$( (( ring )) && echo ", corosync on its own link"), stack $stack${sroot:+ ($sroot)} (state: $LAB_STATE)"
    if ! lab__up_inner "$name" "$n"; then
        lab__err "bring-up of $name failed"
        [[ ${LAB_KEEP_ON_FAIL:-0} == 1 ]] || lab_down "$name"
        return 1
    fi
    if (( wait )); then
        if ! lab_wait_dc "$name" "$LAB_UP_TIMEOUT"; then
            [[ ${LAB_KEEP_ON_FAIL:-0} == 1 ]] || lab_down "$name"
            return 1
        fi
    fi
    LAB_UP_MS=$(( $(lab__now_ms) - t0 ))
    echo "$LAB_UP_MS" > "$LAB_STATE/up_ms"
    lab__log "lab $name up in ${LAB_UP_MS} ms"
}

lab__up_inner() {
    local lab=$1 n=$2 i node hp sw=$1-sw cl=$1-client
    lab__write_config "$lab" "$n" || return 1
    # switch
    ip netns add "$sw" || return 1
    ip -n "$sw" link set lo up
    ip -n "$sw" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0 || return 1
    ip -n "$sw" link set br0 up
    # the cluster's own link (--ring-link): a bridge with no client on it
    if lab_has_ring "$lab"; then
        ip netns add "$lab-ring" || return 1
        ip -n "$lab-ring" link set lo up
        ip -n "$lab-ring" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0 || return 1
        ip -n "$lab-ring" link set br0 up
    fi
    # client (network namespace only)
    ip netns add "$cl" || return 1
    ip -n "$sw" link add pc type veth peer name eth0 netns "$cl" || return 1
    ip -n "$sw" link set pc master br0 up
    ip -n "$cl" link set lo up
    ip -n "$cl" link set eth0 address "$(lab_client_mac)"
    ip netns exec "$cl" sh -c 'for k in all default eth0; do
            sysctl -qw net.ipv4.conf.$k.arp_accept=0
            sysctl -qw net.ipv6.conf.$k.accept_dad=0
        done' || return 1
    ip -n "$cl" link set eth0 up
    ip -n "$cl" addr add "$LAB_NET4.254/24" dev eth0
    ip -n "$cl" addr add "$LAB_NET6::254/64" dev eth0 nodad
    # nodes
    for ((i=1;i<=n;i++)); do
        node=node$i
        ip netns add "$lab-$node" || return 1
        ip -n "$sw" link add "p$i" type veth peer name eth0 netns "$lab-$node" || return 1
        ip -n "$sw" link set "p$i" master br0 up
        ip -n "$lab-$node" link set eth0 address "$(lab_node_mac "$lab" "$node")"
        ip -n "$lab-$node" link set eth0 up
        ip -n "$lab-$node" addr add "$(lab_node_ip "$lab" "$node")/24" dev eth0
        ip -n "$lab-$node" addr add "$(lab_node_ip6 "$lab" "$node")/64" dev eth0 nodad
        if lab_has_ring "$lab"; then
            ip -n "$lab-ring" link add "r$i" type veth peer name eth1 netns "$lab-$node" || return 1
            ip -n "$lab-ring" link set "r$i" master br0 up
            ip -n "$lab-$node" link set eth1 address "$LAB_RING_MAC_PREFIX:0$i"
            ip -n "$lab-$node" link set eth1 up
            ip -n "$lab-$node" addr add "$(lab_node_ring_ip "$lab" "$node")/24" dev eth1
        fi
        lab__write_node_fs "$lab" "$node" || return 1
        hp=$(lab__start_holder "$lab" "$node") || return 1
        lab__node_mounts "$lab" "$node" "$hp" || { lab__err "mount setup failed on $node"; return 1; }
    done
    # cluster stacks, in parallel across nodes
    local pids=() rc=0
    for ((i=1;i<=n;i++)); do lab__start_cluster_on "$lab" "node$i" & pids+=($!); done
    for i in "${pids[@]}"; do wait "$i" || rc=1; done
    return $rc
}

# ----------------------------------------------------------------- status / waits
# first node whose pacemaker is running (to ask for cluster status)
lab__any_live_node() {
    local lab=$1 n
    for n in $(lab_nodes "$lab"); do
        lab__recorded_alive "$LAB_ROOT/$lab/pids/pacemakerd.$n" && { echo "$n"; return 0; }
    done
    lab__err "lab $lab: no node with a running pacemaker"
}
lab_crm_mon() {   # lab [node] : crm_mon -1 (text) as seen from node
    local lab=$1 node=${2:-}
    [[ -n $node ]] || node=$(lab__any_live_node "$lab") || return 1
    lab_exec "$lab" "$node" timeout 20 crm_mon -1 -r "${@:3}"
}
lab_crm_mon_xml() {
    local lab=$1 node=${2:-}
    [[ -n $node ]] || node=$(lab__any_live_node "$lab") || return 1
    lab_exec "$lab" "$node" timeout 20 crm_mon -1 -r --output-as=xml
}
lab__dump_status() {
    local lab=$1 node=${2:-}
    echo "----- crm_mon -1 (lab $lab${node:+, from $node}) -----" >&2
    lab_crm_mon "$lab" "$node" >&2 2>&1 || echo "(crm_mon failed)" >&2
    echo "-------------------------------------------------------" >&2
}

# lab_wait_dc LAB [TIMEOUT_S] [NODE] : until every powered node (pacemakerd alive)
# sees a DC and all powered nodes online (or only NODE's view, if given)
lab_wait_dc() {
    local lab=$1 t=${2:-$LAB_UP_TIMEOUT} only=${3:-} end xml want live n from good last=""
    lab__check_name "$lab" || return 2
    end=$(( $(lab__now_ms) + t * 1000 ))
    while :; do
        live=()
        for n in $(lab_nodes "$lab"); do
            lab__recorded_alive "$LAB_ROOT/$lab/pids/pacemakerd.$n" && live+=("$n")
        done
        want=${#live[@]}
        good=$(( want > 0 ))
        for from in ${only:-${live[@]}}; do
            last=$from
            xml=$(lab_crm_mon_xml "$lab" "$from" 2>/dev/null) || { good=0; break; }
            grep -q '<current_dc present="true"' <<<"$xml" || { good=0; break; }
            n=$(grep -o '<node name="[^"]*"[^>]*online="true"[^>]*pending="false"' <<<"$xml" | wc -l)
            (( n == want )) || { good=0; break; }
        done
        (( good )) && return 0
        if (( $(lab__now_ms) > end )); then
            lab__err "lab $lab: no DC with all $want powered nodes online (as seen from ${last:-any node}) after ${t}s"
            lab__dump_status "$lab" "$last"
            return 1
        fi
        sleep 0.2
    done
}

# lab_rsc_nodes LAB RSC [FROM] [active] : node(s) where RSC is Started (from crm_mon XML,
# as FROM sees it), space separated, empty if stopped.  With "active": every node where it
# is active in any role (Starting, Stopping, failed...), empty only once it is fully stopped.
# (Attributes are matched whole: target_role="Started" must not pass for role="Started".)
lab_rsc_nodes() {
    local lab=$1 rsc=$2 node=${3:-} mode=${4:-started} xml
    xml=$(lab_crm_mon_xml "$lab" "$node") || return 1
    awk -v r="$rsc" -v mode="$mode" '
        /<resource / {
            inr = ($0 ~ "[ \t]id=\"" r "\"")
            if (mode != "active") inr = inr && ($0 ~ /[ \t]role="Started"/) && ($0 !~ /[ \t]failed="true"/)
            if ($0 ~ /\/>[ \t]*$/) inr = 0
            next }
        /<\/resource>/ { inr=0; next }
        inr && /<node name=/ { match($0, /name="[^"]*"/); print substr($0, RSTART+6, RLENGTH-7) }
    ' <<<"$xml" | sort -u | xargs
}
# lab_wait_rsc LAB RSC WHERE [TIMEOUT_S] : WHERE = node name | "stopped" | "any" (one node)
#   | "not:NODE" (one node other than NODE).  A node counts once RSC is Started there (not
#   while Starting); "stopped" means active nowhere (not even Stopping).
# prints the node it runs on
lab_wait_rsc() {
    local lab=$1 rsc=$2 where=$3 t=${4:-60} end cur
    end=$(( $(lab__now_ms) + t * 1000 ))
    while :; do
        if [[ $where == stopped ]]; then
            cur=$(lab_rsc_nodes "$lab" "$rsc" "" active 2>/dev/null) || cur="?"
        else
            cur=$(lab_rsc_nodes "$lab" "$rsc" 2>/dev/null)
        fi
        case $where in
            stopped) [[ -z $cur ]] && return 0;;
            any)     [[ -n $cur && $cur != *" "* ]] && { echo "$cur"; return 0; };;
            not:*)   [[ -n $cur && $cur != *" "* && $cur != "${where#not:}" ]] && { echo "$cur"; return 0; };;
            *)       [[ $cur == "$where" ]] && { echo "$cur"; return 0; };;
        esac
        if (( $(lab__now_ms) > end )); then
            lab__err "lab $lab: resource $rsc not '$where' after ${t}s (now: '${cur:-stopped}')"
            lab__dump_status "$lab"
            return 1
        fi
        sleep 0.2
    done
}
# wait until the cluster has no pending actions
lab_settle() {
    local lab=$1 t=${2:-60} node
    node=$(lab__any_live_node "$lab") || return 1
    lab_exec "$lab" "$node" timeout $((t+5)) crm_resource --wait --timeout="${t}s" >/dev/null 2>&1 \
        || { lab__err "lab $lab: cluster did not settle in ${t}s"; lab__dump_status "$lab" "$node"; return 1; }
}

# nodes that carry ADDR on any interface (compare the address part of `ip -o addr`)
lab_addr_nodes() {
    local lab=$1 addr=$2 n out=()
    for n in $(lab_nodes "$lab"); do
        lab__recorded_alive "$LAB_ROOT/$lab/pids/holder.$n" || continue
        lab_exec "$lab" "$n" ip -o addr show 2>/dev/null \
            | awk -v a="${addr,,}" '{ split($4, p, "/"); if (tolower(p[1]) == a) f = 1 } END { exit !f }' \
            && out+=("$n")
    done
    echo "${out[*]}"
}

# ----------------------------------------------------------------- faults
lab__port() { echo "p$(lab__idx "$2")"; }
lab_cut()   { local lab=$1 node; node=$(lab__node "$lab" "$2") || return 2; ip -n "$lab-sw" link set "$(lab__port "$lab" "$node")" down && lab__log "cut $node (switch port down)"; }
# lab_uncut LAB [NODE] : port up again; without NODE: every node that is not powered off
lab_uncut() {
    local lab=$1 node
    if [[ -z ${2:-} ]]; then
        for node in $(lab_nodes "$lab"); do
            [[ -e $LAB_ROOT/$lab/off.$node ]] || lab_uncut "$lab" "$node" || return 1
        done
        return 0
    fi
    node=$(lab__node "$lab" "$2") || return 2
    [[ -e $LAB_ROOT/$lab/off.$node ]] && { lab__err "$node is powered off (kill-node); use start-node"; return 1; }
    ip -n "$lab-sw" link set "$(lab__port "$lab" "$node")" up && lab__log "uncut $node (switch port up)"
}

# lab_kill_node LAB NODE [--keep-link] : power-off: SIGKILL the node's corosync,
# pacemaker (by recorded PID) and every other process inside the node's network
# namespace except the holder; set its switch port down (unless --keep-link).
lab_kill_node() {
    local lab=$1 node hp ino d; node=$(lab__node "$lab" "$2") || return 2
    d=$LAB_ROOT/$lab/pids
    if [[ ${3:-} != --keep-link ]]; then
        ip -n "$lab-sw" link set "$(lab__port "$lab" "$node")" down
        lab_has_ring "$lab" && ip -n "$lab-ring" link set "r$(lab__idx "$node")" down
        : > "$LAB_ROOT/$lab/off.$node"
    fi
    hp=$(lab__recorded_pid "$d/holder.$node")
    lab__kill_recorded "$d/pacemakerd.$node" STOP
    lab__kill_recorded "$d/corosync.$node" KILL
    lab__kill_recorded "$d/pacemakerd.$node" KILL
    ino=$(lab__ns_ino "/run/netns/$lab-$node")
    lab__kill_netns "$ino" "$hp" || return 1
    lab__wait_recorded_dead "$d/corosync.$node" 5 && lab__wait_recorded_dead "$d/pacemakerd.$node" 5 \
        || { lab__err "kill-node $node: recorded daemons still alive"; return 1; }
    lab__log "killed $node (power off${3:+, link kept})"
}
# lab_kill_stack LAB NODE : the cluster stack crashes and nobody fences the node: SIGKILL
# its corosync, its pacemakerd and pacemakerd's children (the daemons: pacemaker-based,
# -fenced, -execd, -attrd, -schedulerd, -controld), each by PID and start time.  Nothing
# else of the node is touched: its links stay up, its addresses stay, and processes the
# resource agents left running (a background process of a resource) live on.  Prints the
# killed processes ("comm:PID ...").  lab_start_node brings the stack back (fresh boot).
lab_kill_stack() {
    local lab=$1 node d pm ino p rest victims=() s pid left end
    node=$(lab__node "$lab" "$2") || return 2
    d=$LAB_ROOT/$lab/pids
    lab__recorded_alive "$d/pacemakerd.$node" || { lab__err "kill-stack $node: pacemakerd is not running"; return 1; }
    lab__recorded_alive "$d/corosync.$node" || { lab__err "kill-stack $node: corosync is not running"; return 1; }
    pm=$(lab__recorded_pid "$d/pacemakerd.$node")
    ino=$(lab__ns_ino "/run/netns/$lab-$node")
    # stopped first, so that it respawns nothing while its children are collected
    lab__kill_recorded "$d/pacemakerd.$node" STOP
    victims+=("$(cat "$d/pacemakerd.$node")" "$(cat "$d/corosync.$node")")
    for p in $(lab__netns_pids "$ino"); do
        rest=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        rest=${rest##*) }
        # shellcheck disable=SC2086
        set -- $rest
        [[ $2 == "$pm" ]] && s=$(lab__pid_stamp "$p") && victims+=("$s")
    done
    for s in "${victims[@]}"; do
        [[ $(lab__pid_stamp "${s%% *}") == "$s" ]] && kill -STOP "${s%% *}" 2>/dev/null
    done
    for s in "${victims[@]}"; do
        [[ $(lab__pid_stamp "${s%% *}") == "$s" ]] && kill -KILL "${s%% *}" 2>/dev/null
    done
    left="" end=$(( $(lab__now_ms) + 5000 ))
    for s in "${victims[@]}"; do
        pid=${s%% *}
        while [[ $(lab__pid_stamp "$pid" 2>/dev/null) == "$s" ]]; do
            (( $(lab__now_ms) > end )) && { left+=" $pid"; break; }
            sleep 0.02
        done
    done
    [[ -z $left ]] || { lab__err "kill-stack $node: still alive:$left"; return 1; }
    lab__log "killed the cluster stack of $node (${#victims[@]} processes; links and other processes kept)"
}

# lab_start_node LAB NODE : power-on after kill-node: fresh /run,/tmp,/dev/shm,
# only static addresses on eth0 (the VIP is gone as after a reboot), port up, daemons.
lab_start_node() {
    local lab=$1 node hp; node=$(lab__node "$lab" "$2") || return 2
    lab__recorded_alive "$LAB_ROOT/$lab/pids/pacemakerd.$node" && { lab__err "$node is running"; return 1; }
    lab__recorded_alive "$LAB_ROOT/$lab/pids/corosync.$node" && { lab__err "$node: corosync is running"; return 1; }
    hp=$(lab__holder_pid "$lab" "$node") || return 1
    lab__node_fresh_boot "$lab" "$node" "$hp" || return 1
    rm -f "$LAB_ROOT/$lab/off.$node"
    ip -n "$lab-sw" link set "$(lab__port "$lab" "$node")" up
    lab_has_ring "$lab" && ip -n "$lab-ring" link set "r$(lab__idx "$node")" up
    lab__start_cluster_on "$lab" "$node" && lab__log "started $node"
}
# lab_stop_node LAB NODE [TIMEOUT_S] : graceful: SIGTERM pacemakerd (stops resources), then corosync
lab_stop_node() {
    local lab=$1 node d t=${3:-60}; node=$(lab__node "$lab" "$2") || return 2
    d=$LAB_ROOT/$lab/pids
    lab__kill_recorded "$d/pacemakerd.$node" TERM
    lab__wait_recorded_dead "$d/pacemakerd.$node" "$t" || { lab__err "pacemakerd on $node did not stop in ${t}s"; return 1; }
    lab__kill_recorded "$d/corosync.$node" TERM
    lab__wait_recorded_dead "$d/corosync.$node" 20 || { lab__err "corosync on $node did not stop"; return 1; }
    lab__log "stopped $node (graceful)"
}

# lab_zombie_add LAB ADDR : another machine on the segment that holds ADDR (a failed owner
# whose kernel still answers ARP, a proxy-ARP router...): a namespace "<lab>-zombie" with
# its own port on the bridge, MAC $(lab_zombie_mac), and ADDR as its only address (/24 or
# /64, no DAD).  Its kernel answers ARP requests and probes for ADDR and Neighbor
# Solicitations; it sends nothing by itself (see lab_zombie_claim).  lab_down removes it
# with the lab's other namespaces.
lab_zombie_add() {
    local lab=$1 addr=$2 z=$1-zombie
    lab__check_name "$lab" || return 2
    [[ -e /run/netns/$z ]] && { lab__err "lab $lab already has a zombie"; return 1; }
    ip netns add "$z" || return 1
    { ip -n "$lab-sw" link add pz type veth peer name eth0 netns "$z" \
        && ip -n "$lab-sw" link set pz master br0 up \
        && ip -n "$z" link set lo up \
        && ip -n "$z" link set eth0 address "$(lab_zombie_mac)" \
        && ip -n "$z" link set eth0 up \
        && if [[ $addr == *:* ]]; then ip -n "$z" addr add "$addr/64" dev eth0 nodad
           else ip -n "$z" addr add "$addr/24" dev eth0; fi
    } || { lab__err "zombie for $addr: setup failed"; lab_zombie_del "$lab"; return 1; }
    lab__log "zombie $(lab_zombie_mac) holds $addr"
}
# lab_zombie_claim LAB : the zombie talks to the client once (a ping from its only address),
# so the client's ARP entry for that address takes the zombie's MAC (an ARP request updates
# the sender's existing entry whatever arp_accept says) -- as a stale owner's traffic would.
lab_zombie_claim() {
    lab_zombie "$1" ping -n -c 1 -W 2 "$LAB_NET4.254" >/dev/null
}
lab_zombie() {   # LAB CMD... : run CMD in the zombie's network namespace
    local lab=$1; shift
    [[ -e /run/netns/$lab-zombie ]] || { lab__err "lab $lab has no zombie"; return 2; }
    nsenter --net="/run/netns/$lab-zombie" -- "$@"
}
lab_zombie_del() {
    local lab=$1 z=$1-zombie
    lab__check_name "$lab" || return 2
    [[ -e /run/netns/$z ]] || return 0
    lab__kill_netns "$(lab__ns_ino "/run/netns/$z")"
    ip -n "$lab-sw" link del pz 2>/dev/null   # also removes the zombie's end
    ip netns del "$z" && lab__log "zombie removed"
}

# ----------------------------------------------------------------- client
# lab_neigh LAB IP : the client's neighbour entry for IP ("IP dev eth0 lladdr MAC STATE")
lab_neigh() { lab_client "$1" ip neigh show "$2" dev eth0; }
lab_neigh_mac() { lab_neigh "$@" | awk '{for(i=1;i<NF;i++) if($i=="lladdr") print $(i+1)}'; }
# lab_wait_neigh LAB IP MAC [TIMEOUT_S]
lab_wait_neigh() {
    local lab=$1 ip=$2 mac=${3,,} t=${4:-15} end cur
    end=$(( $(lab__now_ms) + t * 1000 ))
    while :; do
        cur=$(lab_neigh_mac "$lab" "$ip")
        [[ ${cur,,} == "$mac" ]] && return 0
        if (( $(lab__now_ms) > end )); then
            lab__err "client neighbour entry for $ip is '${cur:-none}' ($(lab_mac_owner "$lab" "${cur:-x}")), expected $mac after ${t}s: $(lab_neigh "$lab" "$ip")"
            return 1
        fi
        sleep 0.05
    done
}
# ping IP from the client until one reply (creates the neighbour entry)
lab_client_ping() {
    local lab=$1 ip=$2 t=${3:-10} end
    end=$(( $(lab__now_ms) + t * 1000 ))
    until lab_client "$lab" ping -n -c 1 -W 1 "$ip" >/dev/null 2>&1; do
        (( $(lab__now_ms) > end )) && { lab__err "client cannot ping $ip for ${t}s"; return 1; }
        sleep 0.1
    done
}

# lab_pinger_start LAB IP [INTERVAL_S] : ping IP from the client every 10 ms
lab_pinger_start() {
    local lab=$1 ip=$2 iv=${3:-0.01} d=$LAB_ROOT/$1 pid end
    lab__recorded_alive "$d/pids/pinger" && { lab__err "pinger already running in $lab"; return 1; }
    : > "$d/pinger.log"
    lab__bg "$d/pinger.log" nsenter --net="/run/netns/$lab-client" -- ping -n -D -O -i "$iv" "$ip"
    pid=$LAB__BG_PID
    lab__record "$lab" pinger "$pid" && lab__wait_comm "$pid" ping || return 1
    echo "$ip" > "$d/pinger.ip"
    end=$(( $(lab__now_ms) + 5000 ))
    until grep -q 'bytes from' "$d/pinger.log"; do
        (( $(lab__now_ms) > end )) && { lab__err "pinger: no reply from $ip within 5 s"; lab_pinger_stop "$lab" >&2; return 1; }
        sleep 0.02
    done
}
# lab_pinger_stop LAB : stop the pinger; prints
#   sent=N received=N lost=N dup=N max_gap_ms=N gap_start=EPOCH gap_end=EPOCH
# max_gap_ms is the longest time between two consecutive replies (the pause
# between the last reply and the stop counts too).
lab_pinger_stop() {
    local lab=$1 d=$LAB_ROOT/$1 stop_ts
    [[ -s $d/pids/pinger ]] || { lab__err "no pinger in $lab"; return 1; }
    stop_ts=$EPOCHREALTIME
    lab__kill_recorded "$d/pids/pinger" INT
    lab__wait_recorded_dead "$d/pids/pinger" 5 || { lab__kill_recorded "$d/pids/pinger" KILL; lab__wait_recorded_dead "$d/pids/pinger" 5; }
    rm -f "$d/pids/pinger"
    awk -v stop="$stop_ts" '
        /bytes from/ && !/DUP!/ {
            ts = substr($1, 2, length($1) - 2) + 0
            if (have && ts - prev > maxgap) { maxgap = ts - prev; gs = prev; ge = ts }
            prev = ts; have = 1; rcv++
        }
        /DUP!/ { dup++ }
        /packets transmitted/ { sent = $1; got = $4 }
        END {
            if (have && stop - prev > maxgap) { maxgap = stop - prev; gs = prev; ge = stop }
            if (sent == "") { sent = rcv; got = rcv }
            printf "sent=%d received=%d lost=%d dup=%d max_gap_ms=%d gap_start=%.3f gap_end=%.3f\n",
                sent, got, sent - got, dup, maxgap * 1000 + 0.5, gs, ge
        }' "$d/pinger.log"
}

# ----------------------------------------------------------------- logs / teardown
# lab_collect_logs LAB DEST : copy every node's logs (+ pinger log) to DEST
lab_collect_logs() {
    local lab=$1 dest=$2 n
    mkdir -p "$dest" || return 1
    for n in $(lab_nodes "$lab" 2>/dev/null); do
        mkdir -p "$dest/$n"
        cp -a "$LAB_ROOT/$lab/nodes/$n/log/." "$dest/$n/" 2>/dev/null
        cp -a "$LAB_ROOT/$lab/nodes/$n/"*.out "$dest/$n/" 2>/dev/null
    done
    cp -a "$LAB_ROOT/$lab/pinger.log" "$dest/" 2>/dev/null
    lab__log "logs of $lab copied to $dest"
}

# lab_down LAB : kill every process of the lab, delete its namespaces and state.
# Set LAB_KEEP_STATE=1 to keep $LAB_ROOT/LAB (logs) after the namespaces are gone.
lab_down() {
    local lab=$1 d ns ino f rc=0 left=""
    lab__check_name "$lab" || return 2
    d=$LAB_ROOT/$lab
    [[ -d $d || -n $(ip netns list 2>/dev/null | awk -v p="$lab-" 'index($1,p)==1') ]] || { lab__err "no such lab: $lab"; return 1; }
    # recorded processes first (pinger, daemons), then everything inside our namespaces
    for f in "$d"/pids/pinger "$d"/pids/pacemakerd.* "$d"/pids/corosync.*; do
        [[ -e $f ]] && lab__kill_recorded "$f" KILL
    done
    # snapshot of every process inside the lab's namespaces, verified dead below
    local snap=() p s
    for ns in $(ip netns list 2>/dev/null | awk -v p="$lab-" 'index($1,p)==1 {print $1}'); do
        ino=$(lab__ns_ino "/run/netns/$ns")
        for p in $(lab__netns_pids "$ino"); do s=$(lab__pid_stamp "$p") && snap+=("$s"); done
    done
    for ns in $(ip netns list 2>/dev/null | awk -v p="$lab-" 'index($1,p)==1 {print $1}'); do
        ino=$(lab__ns_ino "/run/netns/$ns")
        lab__kill_netns "$ino" || rc=1
    done
    for f in "$d"/pids/*; do [[ -e $f ]] && lab__kill_recorded "$f" KILL; done
    for s in "${snap[@]}"; do
        local end=$(( $(lab__now_ms) + 5000 ))
        while [[ $(lab__pid_stamp "${s%% *}" 2>/dev/null) == "$s" ]]; do
            (( $(lab__now_ms) > end )) && { left+=" pid=${s%% *}"; rc=1; break; }
            sleep 0.05
        done
    done
    for f in "$d"/pids/*; do
        [[ -e $f ]] || continue
        lab__wait_recorded_dead "$f" 5 || { left+=" ${f##*/}=$(lab__recorded_pid "$f")"; rc=1; }
    done
    for ns in $(ip netns list 2>/dev/null | awk -v p="$lab-" 'index($1,p)==1 {print $1}'); do
        ip netns del "$ns" || rc=1
    done
    [[ -n $left ]] && lab__err "lab $lab: processes still alive:$left"
    if [[ ${LAB_KEEP_STATE:-0} == 1 ]]; then
        lab__log "lab $lab down (state kept in $d)"
    else
        rm -rf --one-file-system "$d"
        lab__log "lab $lab down"
    fi
    return $rc
}

# lab_sweep [--all] : tear down labs whose owner process is gone (all labs with
# --all) and namespaces named $LAB_PREFIX-* that have no state directory.
lab_sweep() {
    local all=0 d lab ns ino own pid st
    [[ ${1:-} == --all ]] && all=1
    for d in "$LAB_ROOT"/"$LAB_PREFIX"-*; do
        [[ -d $d ]] || continue
        lab=${d##*/}
        if (( all )); then lab_down "$lab"; continue; fi
        own=$(cat "$d/owner" 2>/dev/null) || own=""
        [[ -z $own ]] && continue           # CLI lab without owner: only --all
        read -r pid st <<<"$own"
        [[ $(lab__pid_stamp "$pid" 2>/dev/null) == "$pid $st" ]] && continue
        lab__log "sweeping stale lab $lab (owner $pid gone)"
        lab_down "$lab"
    done
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$LAB_PREFIX-[a-z0-9]*-"); do
        lab=${ns%-*}
        [[ -d $LAB_ROOT/$lab ]] && continue
        lab__log "sweeping orphan namespace $ns"
        ino=$(lab__ns_ino "/run/netns/$ns")
        lab__kill_netns "$ino"
        ip netns del "$ns"
    done
}

# lab_down_mine : tear down every lab owned by this shell (for EXIT traps)
lab_down_mine() {
    local me d lab rc=0
    me=$(lab__pid_stamp $$) || return 1
    for d in "$LAB_ROOT"/"$LAB_PREFIX"-*; do
        [[ -d $d && $(cat "$d/owner" 2>/dev/null) == "$me" ]] || continue
        lab=${d##*/}
        lab_down "$lab" || rc=1
    done
    return $rc
}

lab_list() {
    local d lab
    for d in "$LAB_ROOT"/"$LAB_PREFIX"-*; do
        [[ -d $d ]] || continue
        lab=${d##*/}
        printf '%s nodes=%s stack=%s owner=%s up_ms=%s\n' "$lab" "$(cat "$d/n" 2>/dev/null)" "$(lab_stack "$lab")" \
            "$(cut -d' ' -f1 "$d/owner" 2>/dev/null)" "$(cat "$d/up_ms" 2>/dev/null)"
    done
}

# lab_pids LAB : every recorded PID with liveness
lab_pids() {
    local lab=$1 f
    for f in "$LAB_ROOT/$lab"/pids/*; do
        [[ -e $f ]] || continue
        printf '%-22s %s %s\n' "${f##*/}" "$(cat "$f")" "$(lab__recorded_alive "$f" && echo alive || echo dead)"
    done
}

# ----------------------------------------------------------------- CLI
lab__usage() {
    cat <<'EOF'
usage: lab.sh COMMAND ...
  up N [--name fipl-ID] [--owner PID] [--no-wait] [--ring-link]
                               create an N-node lab (1..9); prints LAB=..., LAB_STATE=...
                               (eval "$(lab.sh up 2)"); the CLI lab has no owner: it
                               lives until `down` (or `sweep --all`); --ring-link: corosync
                               on a second bridge (eth1, 203.0.113.1<i>), so that `cut`
                               leaves the cluster whole
  down LAB                     kill all its processes, delete namespaces and state
  exec LAB NODE CMD...         run CMD in NODE's net+mnt+uts namespaces (NODE: node1 or 1)
  crm LAB NODE ARGS...         crmsh on NODE (plain output)
  pcs LAB NODE ARGS...         pcs on NODE (no pcsd: resource/constraint/status commands)
  client LAB CMD...            run CMD in the client's network namespace
  wait-dc LAB [TIMEOUT_S]      until a DC exists and all powered nodes are online
  status LAB [NODE]            crm_mon -1 -r
  kill-node LAB NODE [--keep-link]
                               power-off: SIGKILL its processes (recorded PIDs + its
                               namespace), switch port down (both ports with --ring-link)
  kill-stack LAB NODE          the cluster stack crashes, unfenced: SIGKILL its corosync,
                               pacemakerd and pacemakerd's children; links, addresses and
                               other processes (an agent's background process) stay
  start-node LAB NODE          power-on after kill-node or kill-stack (fresh /run, static
                               addresses only)
  stop-node LAB NODE           graceful stop (SIGTERM pacemakerd, then corosync)
  cut LAB NODE / uncut LAB [NODE]
                               switch port of NODE down / up (uncut without NODE:
                               every node not powered off); with --ring-link only the
                               address link, the cluster's link stays up
  pinger-start LAB IP [INTERVAL_S]
                               client pings IP every 10 ms in the background
  pinger-stop LAB              stop it; prints sent= received= lost= dup= max_gap_ms=
  neigh LAB IP                 the client's neighbour entry for IP
  zombie LAB ADDR / unzombie LAB
                               another machine on the bridge that holds ADDR and answers
                               ARP / NS for it (MAC 02:f1:00:00:00:ee) / remove it
  zombie-claim LAB             the zombie pings the client once: the client's entry for
                               its address takes the zombie's MAC
  where LAB RSC                node(s) running RSC
  addr-nodes LAB ADDR          node(s) carrying ADDR
  pids LAB                     recorded PIDs and whether they are alive
  logs LAB DEST                copy all node logs to DEST
  list                         labs on this machine
  sweep [--all]                tear down labs whose owner died (--all: every lab)
Environment: LAB_STACK (debian12: this machine's cluster stack; debian13: the Debian 13 root
  of tests/cluster/debian13-root.sh, or LAB_STACK_ROOT), LAB_COROSYNC_TOKEN (ms, 3000),
  LAB_DC_DEADTIME (2s), LAB_PCMK_DEBUG (no),
  LAB_AGENT_OVERRIDE ("prov:Agent=/path ..."), LAB_ROOT (/run/floatip-lab),
  LAB_KEEP_STATE=1 (down keeps the state dir), LAB_KEEP_ON_FAIL=1.
EOF
}

lab_main() {
    local cmd=${1:-help}; shift || true
    case $cmd in
        up)
            local n=${1:-}; shift || true
            local args=(--no-owner)
            [[ " $* " == *" --owner "* ]] && args=()
            lab_up "$n" "${args[@]}" "$@" || exit 1
            printf 'LAB=%s\nLAB_STATE=%s\nLAB_NODES="%s"\n' "$LAB" "$LAB_STATE" "$(lab_nodes "$LAB" | xargs)"
            printf 'LAB_UP_MS=%s\n' "$LAB_UP_MS" ;;
        down)        lab_down "$@" ;;
        exec)        lab_exec "$@" ;;
        crm)         lab_crm "$@" ;;
        pcs)         lab_pcs "$@" ;;
        zombie)      lab_zombie_add "$@" ;;
        unzombie)    lab_zombie_del "$@" ;;
        zombie-claim) lab_zombie_claim "$@" ;;
        client)      lab_client "$@" ;;
        wait-dc)     lab_wait_dc "$@" && echo "DC elected, all nodes online" ;;
        status)      lab_crm_mon "$@" ;;
        kill-node)   lab_kill_node "$@" ;;
        kill-stack)  lab_kill_stack "$@" ;;
        start-node)  lab_start_node "$@" ;;
        stop-node)   lab_stop_node "$@" ;;
        cut)         lab_cut "$@" ;;
        uncut)       lab_uncut "$@" ;;
        pinger-start) lab_pinger_start "$@" ;;
        pinger-stop) lab_pinger_stop "$@" ;;
        neigh)       lab_neigh "$@" ;;
        where)       lab_rsc_nodes "$@" ;;
        addr-nodes)  lab_addr_nodes "$@" ;;
        pids)        lab_pids "$@" ;;
        logs)        lab_collect_logs "$@" ;;
        list)        lab_list ;;
        sweep)       lab_sweep "$@" ;;
        help|-h|--help) lab__usage ;;
        *) lab__usage >&2; exit 2 ;;
    esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -o pipefail
    lab_main "$@"
fi
