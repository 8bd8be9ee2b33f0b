#!/usr/bin/env bash
# The real-cluster part of `make test` (as root, after tests/packaging.sh installed the
# floatip package): runs tests/cluster/test_floatip.sh, which configures ocf:floatip:FloatIP
# with crmsh, tests/cluster/test_floatip_resident.sh (link_watch, and a cluster stack that
# dies under a running resident, in a lab whose corosync has a link of its own), and
# tests/cluster/test_floatip_pcs.sh, which drives it with pcs, in namespace-based Pacemaker
# clusters (tests/cluster/lab.sh).
#
#   bash tests/cluster/run.sh
#   CLUSTER_PCS=0 bash tests/cluster/run.sh     # without the pcs scenario (-2 min 30 s)
#   CLUSTER_RESIDENT=0 bash tests/cluster/run.sh   # without the resident scenarios (-65 s)
#   CLUSTER_SMOKE=1 bash tests/cluster/run.sh   # also the lab's own IPaddr2 smoke test (+70 s)
#
# Output: each test's lines, then "N passed, M failed" summed over what ran.
# Exit status: 0 only if every check passed.  Logs of labs with failures: $LOG_DIR
# (default /tmp/floatip-lab-logs).  The IPaddr2 vs FloatIP figures are in compare.sh.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

fail_early() { echo "tests/cluster/run.sh: $*" >&2; echo "0 passed, 1 failed"; exit 1; }
[[ $(id -u) == 0 ]] || fail_early "must run as root (network namespaces, pacemaker)"
tools=(corosync pacemakerd crm crm_mon cibadmin ip ping nsenter unshare python3 xmllint)
[[ ${CLUSTER_PCS:-1} == 1 ]] && tools+=(pcs)
for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || fail_early "$tool not found (run tests/setup.sh)"
done
if [[ -z ${LAB_AGENT_OVERRIDE:-} && ! -x /usr/lib/ocf/resource.d/floatip/FloatIP ]]; then
    fail_early "ocf:floatip:FloatIP is not installed (bash tests/packaging.sh installs it)"
fi

passed=0 failed=0
t0=$SECONDS
run() {   # name script [env...]
    local name=$1 script=$2 out line p f rc; shift 2
    echo "=== $name"
    out=$(mktemp)
    env "$@" bash "$HERE/$script" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n1)
    rm -f "$out"
    if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
    else
        p=0 f=1; echo "$name: no summary line (exit status $rc)"
    fi
    (( rc != 0 && f == 0 )) && { f=1; echo "$name: exit status $rc"; }
    passed=$(( passed + p )) failed=$(( failed + f ))
}

run "FloatIP in real Pacemaker clusters (test_floatip.sh)" test_floatip.sh
if [[ ${CLUSTER_RESIDENT:-1} == 1 ]]; then
    run "FloatIP's resident process: link_watch, a dead cluster stack (test_floatip_resident.sh)" test_floatip_resident.sh
fi
if [[ ${CLUSTER_PCS:-1} == 1 ]]; then
    run "FloatIP driven by pcs (test_floatip_pcs.sh)" test_floatip_pcs.sh
fi
if [[ ${CLUSTER_SMOKE:-0} == 1 ]]; then
    run "lab smoke test with IPaddr2 (test_ipaddr2_smoke.sh)" test_ipaddr2_smoke.sh
fi

echo
echo "tests/cluster: $(( SECONDS - t0 )) s"
echo "$passed passed, $failed failed"
(( failed == 0 ))
