#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh Debian machine (as root), and nothing
# when it is all there already. Used by `make test`, `make demo` and .ci/run.
set -euo pipefail

packages=(
  iproute2 iputils-ping procps util-linux psmisc   # namespaces, ping, ps, setpriv/nsenter
  libxml2-utils                                     # xmllint for the meta-data checks
  resource-agents                                   # IPaddr2 (reference), ocft, ocf-tester, DTD
  pacemaker corosync crmsh                          # real clusters in tests/cluster
  pcs                                               # the pcs scenario (its pcsd is never started)
  mmdebstrap                                        # the Debian 13 root of the cluster tests
  dpkg-dev lintian rpm man-db groff-base            # packaging checks
  python3
)

missing=()
for p in "${packages[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Debian's pacemaker and corosync try to start services through policy-rc.d-less
  # postinst scripts; there is no init system here, so starting is simply refused.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ocft keeps its generated cases here.
mkdir -p /var/lib/resource-agents/ocft/cases 2>/dev/null || true
command -v cargo >/dev/null || { echo "setup: cargo (Rust) is required" >&2; exit 1; }

# cargo-deb builds the .deb from [package.metadata.deb] (packaging/build-deb.sh). Built from
# crates.io once per machine (about 1.5 minutes on 2 CPUs); 3.8 reads the symlink assets.
cargo_deb_wanted=3.8.0
cargo_deb_have=$(cargo deb --version 2>/dev/null | awk '{ print $2 }' || true)
if [ -z "$cargo_deb_have" ] ||
  [ "$(printf '%s\n%s\n' "$cargo_deb_wanted" "$cargo_deb_have" | sort -V | head -n 1)" != "$cargo_deb_wanted" ]; then
  echo "setup: installing cargo-deb $cargo_deb_wanted (cargo install cargo-deb --locked)"
  cargo install cargo-deb --locked --quiet --version "$cargo_deb_wanted"
fi

# The cluster tests' second stack: a Debian 13 root with its corosync, Pacemaker, crmsh and
# pcs (tests/cluster/debian13-root.sh), built once from the Debian registry (about a minute,
# 400 MB under /var/cache/floatip-lab) and reused while its package list is unchanged.
# CLUSTER_STACKS=debian12 leaves it out.
case " ${CLUSTER_STACKS:-debian12 debian13} " in
  *" debian13 "*)
    if [ "$(id -u)" -eq 0 ]; then
      bash "$(dirname "$0")/cluster/debian13-root.sh" ensure >/dev/null
    else
      echo "setup: not root: the Debian 13 root of the cluster tests is not built" >&2
    fi ;;
esac
