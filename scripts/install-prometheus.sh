#!/usr/bin/env bash
# Installs Debian's pinned prometheus package into .tools/prometheus (idempotent, no root needed
# for the unpacking): `apt-get download` + `dpkg -x`. The monitoring tests start it on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
PROMETHEUS_DEB_VERSION="2.42.0+ds-5+deb12u1"
target=.tools/prometheus
bin="$target/usr/bin/prometheus"
stamp="$target/.installed-$PROMETHEUS_DEB_VERSION"
if [ -f "$stamp" ] && [ -x "$bin" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then
  echo "install-prometheus: apt-get/dpkg not found; the Prometheus tests will be skipped with a reason" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then sudo="sudo -n"; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
download() { (cd "$work" && apt-get download -q "prometheus${1:+=$1}") >/dev/null 2>&1; }
if ! download "$PROMETHEUS_DEB_VERSION"; then
  # A fresh machine has no package lists yet: refresh them once (needs root or passwordless sudo).
  echo "install-prometheus: refreshing apt package lists" >&2
  $sudo apt-get update -q >/dev/null || true
  if ! download "$PROMETHEUS_DEB_VERSION"; then
    # Debian replaces a version when it ships a security update: take the archive's current one
    # rather than fail, and say so (bump PROMETHEUS_DEB_VERSION to silence this).
    if download ""; then
      echo "install-prometheus: prometheus=$PROMETHEUS_DEB_VERSION is gone from the archive; installed $(cd "$work" && ls prometheus_*.deb)" >&2
    else
      echo "install-prometheus: apt-get download prometheus failed (no apt sources, or no network to Debian)" >&2
      exit 1
    fi
  fi
fi
rm -rf "$target"
mkdir -p "$target"
dpkg -x "$work"/prometheus_*.deb "$target"
"$bin" --version >/dev/null
touch "$stamp"
echo "install-prometheus: $("$bin" --version 2>&1 | head -1)" >&2
