#!/usr/bin/env bash
# Builds target/debian/floatip_<version>_<arch>.deb with cargo-deb, from [package.metadata.deb]
# in Cargo.toml (tests/setup.sh installs cargo-deb). Extra arguments go to `cargo deb`, e.g.
# --no-build to package the existing release build.
#
# SOURCE_DATE_EPOCH (default: the last commit's time) dates every file in the package, so two
# builds of one commit give the same .deb. Prints the path of the .deb as the last line.
set -euo pipefail
cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."
command -v cargo-deb >/dev/null 2>&1 ||
    { echo "build-deb: cargo-deb not found: cargo install cargo-deb --locked" >&2; exit 1; }
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH
exec cargo deb --locked "$@"
