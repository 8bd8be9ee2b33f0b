#!/usr/bin/env bash
# Builds target/rpm/floatip-<version>-1.<arch>.rpm with rpmbuild (Debian's rpm package is
# enough: apt-get install rpm) from packaging/rpm/floatip.spec, a binary-repackaging spec:
# the release binary (stripped here), the man page, the license and README.md are staged as
# sources in a temporary _topdir.
#
# Usage: packaging/build-rpm.sh [--no-build] [--keep-topdir]
#
#   --no-build     use the existing target/release/floatip instead of running
#                  `cargo build --release`
#   --keep-topdir  keep the temporary rpmbuild _topdir and print its path
#
# Environment: SOURCE_DATE_EPOCH (default: the last commit's time) dates the %changelog
# entry, the build time and the file times.
#
# Prints the path of the .rpm as the last line of output.
set -euo pipefail

die() { echo "build-rpm: $*" >&2; exit 1; }

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd -- "$script_dir/.." && pwd)
cd -- "$repo_root"

build=1
keep_topdir=0
while (($#)); do
    case $1 in
        --no-build) build=0 ;;
        --keep-topdir) keep_topdir=1 ;;
        -h | --help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
    shift
done

for tool in rpmbuild rpm strip; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install rpm binutils)"
done

version=$(awk '
    /^\[/ { in_package = ($0 == "[package]") ; next }
    in_package && /^[[:space:]]*version[[:space:]]*=/ {
        sub(/^[^=]*=[[:space:]]*"/, ""); sub(/".*$/, ""); print; exit
    }' Cargo.toml)
[[ $version =~ ^[0-9][0-9A-Za-z.+~]*$ ]] || die "cannot use the Cargo.toml version for RPM: '$version'"

if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
    SOURCE_DATE_EPOCH=$(git -C "$repo_root" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

if ((build)); then
    cargo build --release
fi
binary=$repo_root/target/release/floatip
[[ -x $binary ]] || die "$binary not found: run cargo build --release (or drop --no-build)"

gpl=/usr/share/common-licenses/GPL-2
[[ -f $gpl ]] || die "$gpl not found (it comes with Debian's base-files); it becomes COPYING"

topdir=$(mktemp -d "${TMPDIR:-/tmp}/floatip-rpm.XXXXXX")
cleanup() { if ((keep_topdir)); then echo "build-rpm: kept $topdir" >&2; else rm -rf -- "$topdir"; fi; }
trap cleanup EXIT
mkdir -p "$topdir"/{SOURCES,SPECS,BUILD,BUILDROOT,RPMS,SRPMS}
sources=$topdir/SOURCES

install -m 0755 "$binary" "$sources/floatip"
strip --remove-section=.comment --remove-section=.note "$sources/floatip"
install -m 0644 packaging/floatip.8 "$sources/floatip.8"
{
    echo "floatip - Pacemaker resource agent ocf:floatip:FloatIP"
    echo "Copyright 2026 the floatip developers"
    echo
    echo "floatip is free software; you can redistribute it and/or modify it under the"
    echo "terms of the GNU General Public License as published by the Free Software"
    echo "Foundation; either version 2 of the License, or (at your option) any later"
    echo "version (SPDX: GPL-2.0-or-later). The text of version 2 follows."
    echo
    cat "$gpl"
} >"$sources/COPYING"
chmod 0644 "$sources/COPYING"
readme=()
if [[ -f README.md ]]; then
    install -m 0644 README.md "$sources/README.md"
    readme=(--define "with_readme 1")
else
    echo "build-rpm: warning: README.md not found; the package ships no README" >&2
fi
cp packaging/rpm/floatip.spec "$topdir/SPECS/"

rpmbuild -bb --quiet \
    --define "_topdir $topdir" \
    --define "floatip_version $version" \
    --define "floatip_date $(LC_ALL=C date -u -d "@$SOURCE_DATE_EPOCH" '+%a %b %d %Y')" \
    --define "use_source_date_epoch_as_buildtime 1" \
    --define "clamp_mtime_to_source_date_epoch 1" \
    --define "_buildhost floatip-build" \
    --define "_binary_payload w6.xzdio" \
    "${readme[@]}" \
    "$topdir/SPECS/floatip.spec" >&2

built=$(find "$topdir/RPMS" -name "floatip-$version-1.*.rpm" -print)
[[ -n $built && $(wc -l <<<"$built") -eq 1 ]] || die "rpmbuild produced no single floatip rpm: $built"
out_dir=$repo_root/target/rpm
mkdir -p -- "$out_dir"
rpm_file=$out_dir/$(basename -- "$built")
cp -- "$built" "$rpm_file"
echo "build-rpm: $(stat -c %s "$rpm_file") bytes" >&2
echo "$rpm_file"
