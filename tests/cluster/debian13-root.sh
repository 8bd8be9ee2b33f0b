#!/usr/bin/env bash
# The Debian 13 (trixie) root the cluster lab runs a node's corosync, Pacemaker, crmsh and pcs
# from (LAB_STACK=debian13, see lab.sh), built with mmdebstrap from the Debian registry and
# cached between runs under $FLOATIP_ROOT_CACHE (default /var/cache/floatip-lab).  The
# directory's name carries a key of the recipe (suite, mirror, package list), so a changed
# list builds a new root, and the old ones are removed then.  The root is never written to:
# each node mounts it as the lower layer of an overlay of its own.
#
#   tests/cluster/debian13-root.sh ensure    # build it unless it is there; print its path
#   tests/cluster/debian13-root.sh path      # print its path; fail if it is not built
#   tests/cluster/debian13-root.sh rebuild   # build it again (a newer point release)
#   tests/cluster/debian13-root.sh info      # path, size, versions of the cluster stack
#
# As root; `ensure` and `rebuild` need mmdebstrap (tests/setup.sh installs it).  A build
# takes about 70 s and 400 MB.
set -uo pipefail

CACHE=${FLOATIP_ROOT_CACHE:-/var/cache/floatip-lab}
SUITE=trixie
MIRROR=${FLOATIP_DEBIAN13_MIRROR:-http://deb.debian.org/debian}
# What a node runs (lab.sh, the test scripts through lab_exec): the cluster stack, the agents
# Pacemaker ships (ocf:pacemaker:Dummy), the tools the mount set-up and the tests call inside
# a node (mount, ip, ping for crmsh's node check, ps, xmllint, python3 for crmsh and pcs).
PACKAGES=(pacemaker corosync crmsh pcs resource-agents iproute2 iputils-ping procps
          util-linux mount python3 libxml2-utils)
RECIPE=1   # raise when the way the root is made changes
KEY=$(printf '%s\n' "$RECIPE" "$SUITE" "$MIRROR" "${PACKAGES[@]}" | sha256sum | cut -c1-12)
ROOT=$CACHE/debian13-$KEY
DONE=$ROOT/.floatip-root   # written last: a root without it is not finished

die() { echo "debian13-root: $*" >&2; exit 1; }

ready() { [[ -s $DONE && -x $ROOT/usr/sbin/pacemakerd && -x $ROOT/usr/sbin/corosync ]]; }

build() {
    local tmp t0 rc
    [[ $(id -u) == 0 ]] || die "must run as root"
    command -v mmdebstrap >/dev/null || die "mmdebstrap not found (apt-get install mmdebstrap; tests/setup.sh does)"
    mkdir -p "$CACHE" || die "cannot create $CACHE"
    tmp=$CACHE/.build-$KEY.$$
    rm -rf --one-file-system "$tmp"
    echo "debian13-root: building $ROOT (mmdebstrap $SUITE: ${PACKAGES[*]})" >&2
    t0=$SECONDS
    # --mode=root: we are root, and the root keeps real owners (hacluster's files).  The
    # packages' postinst scripts try to start services; mmdebstrap's policy-rc.d refuses.
    mmdebstrap --mode=root --variant=apt --include="$(IFS=,; echo "${PACKAGES[*]}")" \
        "$SUITE" "$tmp" "$MIRROR" > "$CACHE/.build-$KEY.log" 2>&1
    rc=$?
    if (( rc != 0 )) || [[ ! -x $tmp/usr/sbin/pacemakerd ]]; then
        tail -n 20 "$CACHE/.build-$KEY.log" >&2
        rm -rf --one-file-system "$tmp"
        die "mmdebstrap failed (exit status $rc; log: $CACHE/.build-$KEY.log)"
    fi
    rm -rf --one-file-system "$ROOT"
    mv "$tmp" "$ROOT" || die "cannot move the root into place"
    {
        echo "key=$KEY suite=$SUITE mirror=$MIRROR"
        echo "built=$(date -u +%FT%TZ) seconds=$(( SECONDS - t0 )) size=$(du -sm "$ROOT" | cut -f1)M"
        chroot "$ROOT" dpkg-query -W pacemaker corosync crmsh pcs resource-agents
    } > "$DONE.tmp" && mv "$DONE.tmp" "$DONE"
    echo "debian13-root: built in $(( SECONDS - t0 )) s, $(du -sh "$ROOT" | cut -f1)" >&2
    # roots of other recipes are stale now
    local old
    for old in "$CACHE"/debian13-*; do
        [[ -d $old && $old != "$ROOT" ]] && rm -rf --one-file-system "$old"
    done
    rm -f "$CACHE/.build-$KEY.log"
}

# one build at a time (two test runs, or setup.sh and a run, may ask at once)
locked() {
    mkdir -p "$CACHE" || die "cannot create $CACHE"
    exec 9>"$CACHE/.lock"
    flock 9 || die "cannot lock $CACHE/.lock"
    "$@"
}

case ${1:-ensure} in
    ensure)  locked eval 'ready || build'; ready || die "no root at $ROOT"; echo "$ROOT" ;;
    rebuild) locked build; ready || die "no root at $ROOT"; echo "$ROOT" ;;
    path)    ready || die "not built: $ROOT (tests/cluster/debian13-root.sh ensure)"; echo "$ROOT" ;;
    info)    ready || die "not built: $ROOT"; echo "$ROOT"; cat "$DONE"; echo "$(du -sh "$ROOT" | cut -f1) on disk" ;;
    *)       sed -n '2,14p' "$0" >&2; exit 2 ;;
esac
