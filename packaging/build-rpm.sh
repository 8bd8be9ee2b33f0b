#!/usr/bin/env bash
# Builds target/rpm/floatip-<version>-1.<arch>.rpm with rpmbuild from packaging/rpm/floatip.spec
# (Debian's rpm package is enough), packaging the release build of this tree.
#
# Usage: packaging/build-rpm.sh [--no-build]   (--no-build: package the existing release build)
#
# SOURCE_DATE_EPOCH (default: the last commit's time) dates the %changelog entry, the build
# time and the file times. Prints the path of the .rpm as the last line.
set -euo pipefail
cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."
[[ ${1:-} == --no-build ]] || cargo build --release --locked
version=$(cargo metadata --no-deps --format-version 1 --locked |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["packages"][0]["version"])')
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH
rpmbuild -bb --quiet \
    --define "_sourcedir $PWD" \
    --define "_topdir $PWD/target/rpm/build" \
    --define "_rpmdir $PWD/target/rpm" \
    --define "_build_name_fmt %{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}.rpm" \
    --define "floatip_version $version" \
    --define "floatip_date $(LC_ALL=C date -u -d "@$SOURCE_DATE_EPOCH" '+%a %b %d %Y')" \
    packaging/rpm/floatip.spec >&2
ls -1 "$PWD/target/rpm/floatip-$version-1.$(rpm --eval '%{_arch}').rpm"
