#!/usr/bin/env bash
# Validate the FloatIP meta-data XML the two ways it is checked elsewhere:
#
#  1. OCF 1.1 RELAX NG schema:
#       xmllint --noout --relaxng /work/shared/ocf/ra-api-1.1.rng FILE
#  2. Debian ocf-tester's DTD check against the old ra-api-1.dtd:
#       cat FILE | (cd /usr/share/resource-agents && xmllint --noout --valid -)
#
# Usage: ocf/check-metadata.sh [FILE]   (default: metadata/FloatIP.xml in the repo)
# Environment overrides: OCF_RNG (schema path), OCF_DTD_DIR (dir holding ra-api-1.dtd).
set -euo pipefail

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd -- "$script_dir/.." && pwd)

xml=${1:-$repo_root/metadata/FloatIP.xml}
rng=${OCF_RNG:-/work/shared/ocf/ra-api-1.1.rng}
dtd_dir=${OCF_DTD_DIR:-/usr/share/resource-agents}

die() { echo "check-metadata: $*" >&2; exit 1; }

command -v xmllint >/dev/null 2>&1 || die "xmllint not found (install libxml2-utils)"
[[ -f $xml && -r $xml ]] || die "cannot read XML file: $xml"
[[ -f $rng && -r $rng ]] || die "cannot read RELAX NG schema: $rng"
[[ -f $dtd_dir/ra-api-1.dtd ]] || die "old DTD not found: $dtd_dir/ra-api-1.dtd"

failed=0

# 1. RELAX NG (OCF 1.1). --path lets xmllint resolve the DOCTYPE's
# "ra-api-1.dtd" without a "failed to load external entity" warning; the
# schema check itself does not depend on it.
echo "check-metadata: RELAX NG check of $xml against $rng"
if out=$(xmllint --noout --path "$dtd_dir" --relaxng "$rng" "$xml" 2>&1); then
    echo "  OK: $out"
else
    rc=$?
    echo "$out" | sed 's/^/  /' >&2
    echo "check-metadata: FAILED: RELAX NG validation (xmllint exit $rc)" >&2
    failed=1
fi

# 2. Old DTD, exactly as ocf-tester does it (stdin, cwd = DTD directory).
echo "check-metadata: DTD check of $xml against $dtd_dir/ra-api-1.dtd (ocf-tester style)"
if out=$(cat -- "$xml" | (cd -- "$dtd_dir" && xmllint --noout --valid -) 2>&1); then
    if [[ -n $out ]]; then
        # xmllint exits 0 on warnings; ocf-tester would pass, but show them.
        echo "$out" | sed 's/^/  warning: /' >&2
    fi
    echo "  OK: valid"
else
    rc=$?
    echo "$out" | sed 's/^/  /' >&2
    echo "check-metadata: FAILED: DTD validation (xmllint exit $rc)" >&2
    failed=1
fi

if (( failed )); then
    echo "check-metadata: $xml is NOT valid meta-data" >&2
    exit 1
fi
echo "check-metadata: $xml passed both checks"
