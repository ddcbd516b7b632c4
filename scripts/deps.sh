#!/usr/bin/env bash
# Install what ctflow needs to build, test and benchmark on Debian 12.
# Idempotent: packages already present are not touched; apt-get runs only
# when something is missing. Usage: scripts/deps.sh [build|run|test|container]
#   build: compile ctflow; run: also what `ctflow run` calls (nft);
#   test: also the test suites' peers, collectors and tools;
#   container: what docker/test.sh needs (podman without a daemon, a base
#   image made by debootstrap, a real collector); the image builds ctflow
#   itself, so the build packages are not needed on the host for it.
set -euo pipefail

build_pkgs=(
  build-essential pkg-config meson ninja-build
  libglib2.0-dev libfixbuf-dev libpcap-dev libmnl-dev libnetfilter-conntrack-dev
)
run_pkgs=(
  nftables iproute2
)
test_pkgs=(
  libcmocka-dev libfixbuf-tools nfdump tshark python3 python3-ipfix python3-scapy
  conntrack nftables iproute2 procps psmisc softflowd time
  iputils-ping
  ulogd2 util-linux
  groff-base man-db passwd
)

container_pkgs=(
  podman buildah runc debootstrap
  nfdump conntrack nftables iproute2 procps iputils-ping python3-yaml
)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  run) want+=("${run_pkgs[@]}") ;;
  test) want+=("${run_pkgs[@]}" "${test_pkgs[@]}") ;;
  container) want=("${container_pkgs[@]}") ;;
  *) echo "usage: scripts/deps.sh [build|run|test|container]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "deps.sh: missing packages: ${missing[*]}; run as root (or with sudo)" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture: answer no, non-interactively
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
