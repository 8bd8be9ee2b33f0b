#!/usr/bin/env bash
# The real-cluster part of `make test` (as root, after tests/packaging.sh installed the
# floatip package): runs tests/cluster/test_floatip.sh, which configures ocf:floatip:FloatIP
# with crmsh, tests/cluster/test_floatip_resident.sh (link_watch, and a cluster stack that
# dies under a running resident, in a lab whose corosync has a link of its own), and
# tests/cluster/test_floatip_pcs.sh, which drives it with pcs, in namespace-based Pacemaker
# clusters (tests/cluster/lab.sh), once per cluster stack: debian12, this machine's own
# packages, and debian13, Debian 13's packages in a root of their own that every node runs
# from (tests/cluster/debian13-root.sh builds it once and caches it).
#
#   bash tests/cluster/run.sh
#   CLUSTER_STACKS=debian12 bash tests/cluster/run.sh   # one stack only (default: both)
#   CLUSTER_PCS=0 bash tests/cluster/run.sh     # without the pcs scenario (-2 min 30 s a stack)
#   CLUSTER_RESIDENT=0 bash tests/cluster/run.sh   # without the resident scenarios (-65 s a stack)
#   CLUSTER_TICKLE=0 bash tests/cluster/run.sh   # without the power-off tickle scenario (-85 s a stack)
#   CLUSTER_SMOKE=1 bash tests/cluster/run.sh   # also the lab's own IPaddr2 smoke test (+70 s)
#
# Output: each test's lines; then per stack its count and the figures of its scripts, the
# figures of both stacks side by side, and "N passed, M failed" summed over what ran.
# Exit status: 0 only if every check passed.  Logs of labs with failures: $LOG_DIR
# (default /tmp/floatip-lab-logs).  The IPaddr2 vs FloatIP figures are in compare.sh.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STACKS=${CLUSTER_STACKS:-debian12 debian13}

fail_early() { echo "tests/cluster/run.sh: $*" >&2; echo "0 passed, 1 failed"; exit 1; }
[[ $(id -u) == 0 ]] || fail_early "must run as root (network namespaces, pacemaker)"
# the host's tools build the labs whatever the stack (namespaces, the initial CIB of debian12)
tools=(corosync pacemakerd crm crm_mon cibadmin ip ping nsenter unshare python3 xmllint)
[[ ${CLUSTER_PCS:-1} == 1 ]] && tools+=(pcs)
for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || fail_early "$tool not found (run tests/setup.sh)"
done
if [[ -z ${LAB_AGENT_OVERRIDE:-} && ! -x /usr/lib/ocf/resource.d/floatip/FloatIP ]]; then
    fail_early "ocf:floatip:FloatIP is not installed (bash tests/packaging.sh installs it)"
fi
for stack in $STACKS; do
    case $stack in
        debian12) ;;
        # built here if tests/setup.sh has not (about a minute), else reused
        debian13) bash "$HERE/debian13-root.sh" ensure >/dev/null || fail_early "no Debian 13 root (tests/cluster/debian13-root.sh)" ;;
        *) fail_early "CLUSTER_STACKS: debian12 and/or debian13, not '$stack'" ;;
    esac
done

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
passed=0 failed=0
declare -A SP SF ST   # per stack: passed, failed, seconds
t0=$SECONDS
run() {   # stack name script
    local stack=$1 name=$2 script=$3 out line p f rc
    echo "=== [$stack] $name"
    out=$OUT/$stack.$script.out
    LAB_STACK=$stack bash "$HERE/$script" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n1)
    if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
    else
        p=0 f=1; echo "[$stack] $name: no summary line (exit status $rc)"
    fi
    (( rc != 0 && f == 0 )) && { f=1; echo "[$stack] $name: exit status $rc"; }
    passed=$(( passed + p )) failed=$(( failed + f ))
    SP[$stack]=$(( ${SP[$stack]:-0} + p )) SF[$stack]=$(( ${SF[$stack]:-0} + f ))
    echo "$script" >> "$OUT/$stack.scripts"
}
# the figure lines of a script's output ("label: value", from its "=== figures" block), as
# "label<TAB>value": the label ends at the first ": " outside parentheses
figures_of() {
    awk '/^=== figures/ { on = 1; next } /^(===|total time)/ { on = 0 }
         on && /^  / {
             s = substr($0, 3); d = 0
             for (i = 1; i < length(s); i++) {
                 c = substr(s, i, 1)
                 if (c == "(") d++; else if (c == ")") d--
                 else if (d == 0 && substr(s, i, 2) == ": ") { print substr(s, 1, i - 1) "\t" substr(s, i + 2); next }
             }
             print s "\t" }' "$1" 2>/dev/null
}

for stack in $STACKS; do
    s0=$SECONDS
    run "$stack" "FloatIP in real Pacemaker clusters (test_floatip.sh)" test_floatip.sh
    if [[ ${CLUSTER_RESIDENT:-1} == 1 ]]; then
        run "$stack" "FloatIP's resident process: link_watch, a dead cluster stack (test_floatip_resident.sh)" test_floatip_resident.sh
    fi
    if [[ ${CLUSTER_PCS:-1} == 1 ]]; then
        run "$stack" "FloatIP driven by pcs (test_floatip_pcs.sh)" test_floatip_pcs.sh
    fi
    if [[ ${CLUSTER_TICKLE:-1} == 1 ]]; then
        run "$stack" "FloatIP tickles a lost owner's clients (test_floatip_tickle.sh)" test_floatip_tickle.sh
    fi
    if [[ ${CLUSTER_SMOKE:-0} == 1 ]]; then
        run "$stack" "lab smoke test with IPaddr2 (test_ipaddr2_smoke.sh)" test_ipaddr2_smoke.sh
    fi
    ST[$stack]=$(( SECONDS - s0 ))
done

echo
for stack in $STACKS; do
    echo "=== [$stack] ${SP[$stack]:-0} passed, ${SF[$stack]:-0} failed in ${ST[$stack]:-0} s"
    while read -r script; do
        echo "  $script"
        figures_of "$OUT/$stack.$script.out" | sed 's/\t/: /; s/^/    /'
    done < "$OUT/$stack.scripts"
done
# side by side: each figure's label (up to its first ": "), then its value on each stack
set -- $STACKS
if (( $# > 1 )); then
    echo
    echo "=== figures side by side ($*)"
    while read -r script; do
        echo "  $script"
        figures_of "$OUT/$1.$script.out" | cut -f1 | awk '!seen[$0]++' | while IFS= read -r label; do
            echo "    $label"
            for stack in "$@"; do
                printf '      %-9s %s\n' "$stack:" "$(figures_of "$OUT/$stack.$script.out" | awk -F'\t' -v l="$label" '$1 == l { print $2; exit }')"
            done
        done
    done < "$OUT/$1.scripts"
fi

echo
echo "tests/cluster: $(( SECONDS - t0 )) s ($(for s in $STACKS; do printf '%s %s s; ' "$s" "${ST[$s]}"; done | sed 's/; $//'))"
echo "$passed passed, $failed failed"
(( failed == 0 ))
