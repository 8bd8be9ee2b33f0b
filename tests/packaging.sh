#!/usr/bin/env bash
# Packaging checks, as root (used by `make packages` and .ci/run): builds the .deb from the
# release binary with cargo-deb, runs lintian on it, installs it with dpkg -i and checks the installed agent
# (meta-data, version, dispatch through the OCF symlink, crm ra info), then builds the RPM
# and checks its contents. Ends with "N passed, M failed" and fails if M > 0.
#
# The package is left installed: later tests (tests/cluster) use it.
#
# Nothing here touches a network interface: the agent is only run for meta-data, usage,
# --version, validate-all at check level 0 and a read-only probe of an address from
# TEST-NET-3 that no node has.
set -euo pipefail

repo_root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd -- "$repo_root"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
# check DESCRIPTION COMMAND...: runs COMMAND, PASS when it exits 0.
check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
indent() { sed 's/^/    /'; }

if [[ $(id -u) -ne 0 ]]; then
    echo "tests/packaging.sh must run as root (it installs the package)" >&2
    exit 1
fi
for tool in cargo cargo-deb dpkg-deb lintian rpmbuild rpm crm man; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "tests/packaging.sh: $tool not found (run tests/setup.sh)" >&2
        exit 1
    }
done

version=$(awk '
    /^\[/ { in_package = ($0 == "[package]") ; next }
    in_package && /^[[:space:]]*version[[:space:]]*=/ {
        sub(/^[^=]*=[[:space:]]*"/, ""); sub(/".*$/, ""); print; exit
    }' Cargo.toml)
arch=$(dpkg --print-architecture)
agent=/usr/lib/ocf/resource.d/floatip/FloatIP
# Every parameter name the meta-data declares.
mapfile -t meta_params < <(grep -o '<parameter name="[^"]*"' metadata/FloatIP.xml | cut -d'"' -f2)
[[ ${#meta_params[@]} -gt 0 ]] || { echo "no parameters found in metadata/FloatIP.xml" >&2; exit 1; }

echo "== release build"
cargo build --release --locked

# --- the man page -------------------------------------------------------------------------
echo "== man page"
man_warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l packaging/floatip.8 2>&1 >/dev/null || echo "man failed")
if [[ -z $man_warnings ]]; then
    pass "man --warnings reports nothing for packaging/floatip.8"
else
    fail "man --warnings reports problems in packaging/floatip.8:"
    echo "$man_warnings" | indent
fi

# --- the .deb -----------------------------------------------------------------------------
echo "== build the .deb"
deb=
if deb_out=$(bash packaging/build-deb.sh --no-build 2>&1); then
    deb=$(tail -n 1 <<<"$deb_out")
    echo "$deb_out" | indent
    check "the .deb is target/debian/floatip_${version}_${arch}.deb" \
        test "$deb" = "$repo_root/target/debian/floatip_${version}_${arch}.deb" -a -f "$deb"
else
    echo "$deb_out" | indent
    fail "packaging/build-deb.sh --no-build"
fi

if [[ -n $deb && -f $deb ]]; then
    field() { dpkg-deb -f "$deb" "$1"; }
    check "Package is floatip" test "$(field Package)" = floatip
    check "Version is the Cargo.toml version $version" test "$(field Version)" = "$version"
    check "Architecture is $arch" test "$(field Architecture)" = "$arch"
    check "Section admin, Priority optional" test "$(field Section)/$(field Priority)" = admin/optional
    check "Suggests pacemaker, resource-agents, crmsh | pcs" \
        test "$(field Suggests)" = "pacemaker, resource-agents, crmsh | pcs"
    depends=$(field Depends)
    echo "    Depends: $depends"
    # The computed Depends must be what dpkg-shlibdeps itself says, less libgcc-s1: cargo-deb
    # leaves it out, as every libc6 depends on it.
    if command -v dpkg-shlibdeps >/dev/null 2>&1; then
        shl=$(mktemp -d)
        mkdir -p "$shl/debian"
        printf 'Source: floatip\n\nPackage: floatip\nArchitecture: any\n' >"$shl/debian/control"
        dpkg-deb -x "$deb" "$shl/root"
        expected=$(cd "$shl" && dpkg-shlibdeps -O root/usr/sbin/floatip 2>/dev/null |
            sed -n 's/^shlibs:Depends=//p' | sed 's/, libgcc-s1 ([^)]*)//; s/^libgcc-s1 ([^)]*), //')
        rm -rf -- "$shl"
        check "Depends equals dpkg-shlibdeps' answer less libgcc-s1 ($expected)" test "$depends" = "$expected"
        check "libc6 depends on libgcc-s1" grep -q 'libgcc-s1' <<<"$(dpkg-query -W -f '${Depends}' libc6)"
    else
        check "Depends names libc6 with a minimum version" grep -q 'libc6 (>= ' <<<"$depends"
    fi

    contents=$(dpkg-deb -c "$deb")
    for path in ./usr/sbin/floatip ./usr/share/man/man8/floatip.8.gz \
        ./usr/share/doc/floatip/copyright ./usr/share/doc/floatip/changelog.gz; do
        check ".deb contains $path" grep -q " $path\$" <<<"$contents"
    done
    check ".deb contains ./usr/share/doc/floatip/README.md" \
        grep -q ' ./usr/share/doc/floatip/README.md$' <<<"$contents"
    changelog_head=$(dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./usr/share/doc/floatip/changelog.gz | gzip -dc | head -n 1)
    check "the changelog's latest entry is floatip ($version)" \
        grep -q "^floatip ($version) " <<<"$changelog_head"
    check ".deb links $agent to ../../../../sbin/floatip" \
        grep -q " .$agent -> ../../../../sbin/floatip\$" <<<"$contents"
    only_usr() { ! grep -v ' \./usr/\| \./$' <<<"$contents"; }
    check ".deb has no file outside /usr" only_usr

    echo "== lintian"
    lintian_out=$(lintian --fail-on error --display-info --color never "$deb" 2>&1) && lintian_rc=0 || lintian_rc=$?
    grep -v '^running with root privileges' <<<"$lintian_out" | indent || true
    check "lintian --fail-on error passes" test "$lintian_rc" -eq 0

    echo "== install"
    dpkg_out=$(dpkg -i "$deb" 2>&1) && dpkg_rc=0 || dpkg_rc=$?
    indent <<<"$dpkg_out"
    check "dpkg -i $(basename -- "$deb")" test "$dpkg_rc" -eq 0
    # The package ships no md5sums (cargo-deb writes none); dpkg records the digests itself.
    check "dpkg recorded the digests of the installed files" \
        grep -q ' usr/sbin/floatip$' /var/lib/dpkg/info/floatip.md5sums
fi

# --- the installed agent ------------------------------------------------------------------
echo "== installed agent"
check "dpkg reports floatip $version installed" \
    test "$(dpkg-query -W -f '${Status} ${Version}' floatip 2>/dev/null)" = "install ok installed $version"
check "$agent is a symlink to /usr/sbin/floatip" \
    test -L "$agent" -a "$(readlink -f "$agent" 2>/dev/null)" = /usr/sbin/floatip
stripped() { ! readelf -S -W /usr/sbin/floatip | grep '\.symtab\|\.debug_' >/dev/null; }
check "/usr/sbin/floatip is stripped" stripped

meta=$("$agent" meta-data 2>/dev/null) && meta_rc=0 || meta_rc=$?
check "$agent meta-data exits 0" test "$meta_rc" -eq 0
check "$agent meta-data prints the XML of metadata/FloatIP.xml" \
    cmp -s <(printf '%s\n' "$meta") metadata/FloatIP.xml
check "the meta-data is the FloatIP resource-agent document" \
    grep -q '<resource-agent name="FloatIP"' <<<"$meta"

version_line=$(floatip --version 2>/dev/null || true)
echo "    floatip --version: $version_line"
check "floatip --version prints 'floatip $version (...)'" grep -q "^floatip $version (.*)\$" <<<"$version_line"

# Pacemaker's call: argv[0] is FloatIP, argv[1] the action, parameters in the environment.
rc_of() { "$@" >/dev/null 2>&1 && echo 0 || echo $?; }
check "$agent usage exits 0 (OCF_SUCCESS)" test "$(rc_of "$agent" usage)" = 0
check "$agent promote exits 3 (OCF_ERR_UNIMPLEMENTED)" test "$(rc_of "$agent" promote)" = 3
check "$agent validate-all without ip exits 6 (OCF_ERR_CONFIGURED)" \
    test "$(rc_of env -i OCF_CHECK_LEVEL=0 "$agent" validate-all)" = 6
check "$agent validate-all at check level 0 exits 0" \
    test "$(rc_of env -i OCF_CHECK_LEVEL=0 OCF_RESKEY_ip=203.0.113.254 "$agent" validate-all)" = 0
state_dir=$(mktemp -d)
check "$agent monitor (probe) of an absent address exits 7 (OCF_NOT_RUNNING)" \
    test "$(rc_of env -i FLOATIP_STATE_DIR="$state_dir" OCF_RESOURCE_INSTANCE=pkgtest \
        OCF_RESKEY_ip=203.0.113.254 OCF_RESKEY_nic=lo OCF_RESKEY_cidr_netmask=32 \
        OCF_RESKEY_CRM_meta_interval=0 "$agent" monitor)" = 7
rm -rf -- "$state_dir"
# Pacemaker's own executor finds the agent by class:provider:type and runs it.
if command -v crm_resource >/dev/null 2>&1; then
    check "crm_resource --validate runs ocf:floatip:FloatIP (exit 0)" test "$(rc_of crm_resource \
        --validate --class ocf --provider floatip --agent FloatIP \
        --option ip=203.0.113.254 --option nic=lo --option cidr_netmask=32)" = 0
    check "crm_resource --validate with ip=bogus exits 6 (not configured)" test "$(rc_of crm_resource \
        --validate --class ocf --provider floatip --agent FloatIP --option ip=bogus)" = 6
fi
check "man finds the installed floatip(8)" test "$(man -w floatip 2>/dev/null)" = /usr/share/man/man8/floatip.8.gz

echo "== crm ra info ocf:floatip:FloatIP"
# crm exits 0 even when it cannot read the meta-data, so its output is what is checked.
ra_info=$(timeout 120 crm ra info ocf:floatip:FloatIP 2>&1 || true)
if grep -q '(ocf:floatip:FloatIP)' <<<"$ra_info"; then
    pass "crm ra info shows ocf:floatip:FloatIP"
else
    fail "crm ra info shows ocf:floatip:FloatIP; it said:"
    head -n 5 <<<"$ra_info" | indent
fi
missing=()
for name in "${meta_params[@]}"; do
    grep -Eq "^${name}\\*? \\(" <<<"$ra_info" || missing+=("$name")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    pass "crm ra info lists all ${#meta_params[@]} parameters of metadata/FloatIP.xml"
else
    fail "crm ra info does not list ${#missing[@]} of ${#meta_params[@]} parameters: ${missing[*]}"
fi

# --- the RPM ------------------------------------------------------------------------------
echo "== build the RPM"
rpm_file=
if rpm_out=$(bash packaging/build-rpm.sh --no-build 2>&1); then
    rpm_file=$(tail -n 1 <<<"$rpm_out")
    echo "$rpm_out" | indent
    rpm_arch=$(rpm --eval '%{_arch}')
    check "the RPM is target/rpm/floatip-$version-1.$rpm_arch.rpm" \
        test "$rpm_file" = "$repo_root/target/rpm/floatip-$version-1.$rpm_arch.rpm" -a -f "$rpm_file"
else
    echo "$rpm_out" | indent
    fail "packaging/build-rpm.sh --no-build"
fi
if [[ -n $rpm_file && -f $rpm_file ]]; then
    echo "    rpm -qip:"
    rpm -qip "$rpm_file" 2>&1 | indent | indent
    echo "    rpm -qlp:"
    rpm_list=$(rpm -qlp "$rpm_file" 2>&1)
    indent <<<"$rpm_list" | indent
    check "RPM version-release is $version-1" test "$(rpm -qp --qf '%{VERSION}-%{RELEASE}' "$rpm_file")" = "$version-1"
    check "RPM License is GPL-2.0-or-later" test "$(rpm -qp --qf '%{LICENSE}' "$rpm_file")" = GPL-2.0-or-later
    for path in /usr/sbin/floatip "$agent" /usr/share/man/man8/floatip.8.gz \
        /usr/share/licenses/floatip/COPYING; do
        check "RPM contains $path" grep -qx "$path" <<<"$rpm_list"
    done
    check "RPM contains /usr/share/doc/floatip/README.md" \
        grep -qx /usr/share/doc/floatip/README.md <<<"$rpm_list"
    check "RPM links $agent to ../../../../sbin/floatip" \
        grep -q "$agent -> ../../../../sbin/floatip\$" <(rpm -qlvp "$rpm_file")
    check "RPM requires libc.so.6 symbol versions" grep -q 'libc.so.6(GLIBC_' <(rpm -qpR "$rpm_file")
fi

echo
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
