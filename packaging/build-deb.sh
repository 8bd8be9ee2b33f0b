#!/usr/bin/env bash
# Builds target/debian/floatip_<version>_<arch>.deb from the release binary, without
# cargo-deb and without any download: a staged tree packed by dpkg-deb.
#
# Usage: packaging/build-deb.sh [--no-build] [--revision N] [--keep-stage]
#
#   --no-build    use the existing target/release/floatip instead of running
#                 `cargo build --release`
#   --revision N  build a non-native package <cargo version>-N, whose changelog is
#                 changelog.Debian.gz; by default the package is native: its version is
#                 the one in Cargo.toml and its changelog is changelog.gz (what lintian
#                 wants for a native version)
#   --keep-stage  leave the staged tree in target/debian/stage for inspection
#
# Environment: SOURCE_DATE_EPOCH (default: the last commit's time) dates the changelog entry
# and every file in the package, so two builds of one commit give the same .deb.
#
# Prints the path of the .deb as the last line of output.
set -euo pipefail

die() { echo "build-deb: $*" >&2; exit 1; }

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd -- "$script_dir/.." && pwd)
cd -- "$repo_root"

build=1
revision=
keep_stage=0
while (($#)); do
    case $1 in
        --no-build) build=0 ;;
        --revision) [[ $# -ge 2 ]] || die "--revision needs a value"; revision=$2; shift ;;
        --revision=*) revision=${1#*=} ;;
        --keep-stage) keep_stage=1 ;;
        -h | --help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
    shift
done
[[ -z $revision || $revision =~ ^[0-9A-Za-z.+~]+$ ]] || die "bad revision: $revision"

for tool in dpkg dpkg-deb objdump strip gzip md5sum; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install dpkg-dev binutils gzip)"
done

# --- version and architecture -----------------------------------------------------------
# The first version key of the [package] table of Cargo.toml.
upstream_version=$(awk '
    /^\[/ { in_package = ($0 == "[package]") ; next }
    in_package && /^[[:space:]]*version[[:space:]]*=/ {
        sub(/^[^=]*=[[:space:]]*"/, ""); sub(/".*$/, ""); print; exit
    }' Cargo.toml)
[[ $upstream_version =~ ^[0-9][0-9A-Za-z.+~-]*$ ]] || die "cannot read the version from Cargo.toml"
if [[ -n $revision ]]; then
    version=$upstream_version-$revision
else
    version=$upstream_version
fi
arch=$(dpkg --print-architecture)
package=floatip

if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
    SOURCE_DATE_EPOCH=$(git -C "$repo_root" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

# --- build ------------------------------------------------------------------------------
if ((build)); then
    cargo build --release
fi
binary=$repo_root/target/release/floatip
[[ -x $binary ]] || die "$binary not found: run cargo build --release (or drop --no-build)"
[[ -f packaging/floatip.8 ]] || die "packaging/floatip.8 is missing"

# --- stage ------------------------------------------------------------------------------
out_dir=$repo_root/target/debian
mkdir -p -- "$out_dir"
stage=$out_dir/stage
rm -rf -- "$stage"
cleanup() { if ((!keep_stage)); then rm -rf -- "$stage"; fi; }
trap cleanup EXIT
umask 022

doc=$stage/usr/share/doc/$package
install -d -m 0755 "$stage/DEBIAN" "$stage/usr/sbin" "$stage/usr/lib/ocf/resource.d/floatip" \
    "$stage/usr/share/man/man8" "$doc"

# The binary, stripped the way dh_strip strips executables.
install -m 0755 "$binary" "$stage/usr/sbin/floatip"
strip --remove-section=.comment --remove-section=.note "$stage/usr/sbin/floatip"

# Pacemaker runs /usr/lib/ocf/resource.d/<provider>/<type> ACTION; floatip dispatches on
# argv[1] only, so a relative symlink to the binary is the whole agent.
ln -s ../../../../sbin/floatip "$stage/usr/lib/ocf/resource.d/floatip/FloatIP"
[[ $(readlink -f "$stage/usr/lib/ocf/resource.d/floatip/FloatIP") == "$stage/usr/sbin/floatip" ]] \
    || die "the OCF symlink does not resolve to usr/sbin/floatip"

gzip -9n <packaging/floatip.8 >"$stage/usr/share/man/man8/floatip.8.gz"

# Documentation is compressed (Debian policy 12.3 and lintian); the copyright file never is.
if [[ -f README.md ]]; then
    gzip -9n <README.md >"$doc/README.md.gz"
else
    echo "build-deb: warning: README.md not found; the package ships no README" >&2
fi

cat >"$doc/copyright" <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: floatip
Upstream-Contact: floatip developers <floatip@example.org>
Comment: The floatip source code is licensed under GPL-2.0-or-later (SPDX),
 which the Debian copyright format calls GPL-2+. The binary statically links
 Rust crates from crates.io (clap, env_logger, futures, libc, log, pnet,
 rtnetlink, serde_json, tokio and their dependencies) under MIT and/or
 Apache-2.0 terms, which are compatible with this license.

Files: *
Copyright: 2026 the floatip developers
License: GPL-2+

License: GPL-2+
 This program is free software; you can redistribute it and/or modify
 it under the terms of the GNU General Public License as published by
 the Free Software Foundation; either version 2 of the License, or
 (at your option) any later version.
 .
 This program is distributed in the hope that it will be useful,
 but WITHOUT ANY WARRANTY; without even the implied warranty of
 MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
 GNU General Public License for more details.
 .
 You should have received a copy of the GNU General Public License
 along with this program; if not, see <https://www.gnu.org/licenses/>.
 .
 On Debian systems, the complete text of the GNU General Public License
 version 2 can be found in "/usr/share/common-licenses/GPL-2".
EOF
chmod 0644 "$doc/copyright"

# A Debian changelog entry for this version. A native package (the default: the packaging
# lives in the upstream tree) ships it as changelog.gz; with --revision it is
# changelog.Debian.gz. lintian flags either name on the other kind of package.
changelog_date=$(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")
if [[ -n $revision ]]; then changelog=$doc/changelog.Debian.gz; else changelog=$doc/changelog.gz; fi
{
    echo "$package ($version) unstable; urgency=medium"
    echo
    echo "  * floatip $upstream_version: the Pacemaker resource agent ocf:floatip:FloatIP,"
    echo "    packaged with packaging/build-deb.sh."
    echo
    echo " -- floatip developers <floatip@example.org>  $changelog_date"
} | gzip -9n >"$changelog"

# --- Depends, the way dpkg-shlibdeps computes it ---------------------------------------
# Every library the binary needs is mapped to its package; for each package the minimum
# version is the highest one that any undefined, non-weak versioned symbol needs, looked up
# in the package's symbols file when installed (as dpkg-shlibdeps does), else taken from
# the symbol version itself (GLIBC_2.34 -> 2.34, GCC_4.2.0 -> 4.2).
min_version() { # package symbol-version-prefix binary
    local pkg=$1 prefix=$2 bin=$3 symbols
    symbols=$(dpkg-query --control-path "$pkg:$arch" symbols 2>/dev/null \
        || dpkg-query --control-path "$pkg" symbols 2>/dev/null || true)
    objdump -T "$bin" | awk -v prefix="$prefix" '
        /\*UND\*/ {
            weak = 0
            for (i = 2; i <= NF && $i != "*UND*"; i++) if ($i == "w") weak = 1
            if (weak || !match($0, "\\(?" prefix "_[0-9.]+\\)?")) next
            ver = substr($0, RSTART, RLENGTH); gsub(/[()]/, "", ver)
            print $NF "@" ver
        }' | sort -u |
        awk -v symbols="${symbols:-/nonexistent}" -v prefix="$prefix" '
            BEGIN {
                while ((getline line < symbols) > 0)
                    if (line ~ /^ /) { split(line, f, " "); minver[f[1]] = f[2] }
            }
            {
                if ($0 in minver) { print minver[$0]; next }
                v = $0; sub(".*@" prefix "_", "", v)
                if (prefix == "GCC") sub(/\.0$/, "", v)
                print v
            }' | {
            best=
            while read -r v; do
                if [[ -z $best ]] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
            done
            echo "$best"
        }
}

shlib_depends() { # binary
    local bin=$1 lib pkg prefix v deps=() seen=" "
    for lib in $(objdump -p "$bin" | awk '$1 == "NEEDED" { print $2 }'); do
        case $lib in
            libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.* | libutil.so.* | ld-linux*)
                pkg=libc6 prefix=GLIBC ;;
            libgcc_s.so.1) pkg=libgcc-s1 prefix=GCC ;;
            *) die "$bin needs $lib, which shlib_depends does not know: add its package" ;;
        esac
        [[ $seen == *" $pkg "* ]] && continue
        seen+="$pkg "
        v=$(min_version "$pkg" "$prefix" "$bin")
        if [[ -n $v ]]; then deps+=("$pkg (>= $v)"); else deps+=("$pkg"); fi
    done
    # Sorted by package name, as dpkg-shlibdeps lists them.
    printf '%s\n' "${deps[@]}" | LC_ALL=C sort | paste -s -d, - | sed 's/,/, /g'
}

depends=$(shlib_depends "$stage/usr/sbin/floatip")
[[ $depends == *"libc6 (>= "* ]] || die "could not compute Depends (got: $depends)"

# --- control files ----------------------------------------------------------------------
# Installed-Size as dpkg-gencontrol counts it: KiB per regular file, rounded up, and 1 for
# every directory and symlink.
installed_size=$(find "$stage" -path "$stage/DEBIAN" -prune -o -mindepth 1 -printf '%y %s\n' |
    awk '$1 == "f" { total += int(($2 + 1023) / 1024); next } { total += 1 } END { print total }')

cat >"$stage/DEBIAN/control" <<EOF
Package: $package
Version: $version
Architecture: $arch
Maintainer: floatip developers <floatip@example.org>
Installed-Size: $installed_size
Depends: $depends
Suggests: pacemaker, resource-agents, crmsh | pcs
Section: admin
Priority: optional
Description: Pacemaker resource agent for a floating IPv4/IPv6 address
 floatip is ocf:floatip:FloatIP, an OCF 1.1 resource agent for the Pacemaker
 cluster resource manager. It manages one floating IPv4 or IPv6 address: it
 adds, checks and removes the address through netlink and announces it to
 the local network itself, with gratuitous ARP for IPv4 and unsolicited
 Neighbor Advertisements for IPv6, without helpers such as send_arp or
 arping.
 .
 It is meant as a drop-in replacement for ocf:heartbeat:IPaddr2 in the
 common single-node case: parameter names and defaults follow IPaddr2, and
 IPaddr2 features it does not implement (CLUSTERIP, unique clone addresses)
 are rejected instead of being silently ignored. Announcement settings can
 be changed with reload-agent without moving the address.
EOF

(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort |
    xargs -r -d '\n' md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"

# Reproducible: every file dated SOURCE_DATE_EPOCH, directories 0755.
find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

deb=$out_dir/${package}_${version}_${arch}.deb
rm -f -- "$deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "build-deb: Depends: $depends" >&2
echo "build-deb: Installed-Size: $installed_size KiB, package $(stat -c %s "$deb") bytes" >&2
echo "$deb"
