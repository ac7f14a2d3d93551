#!/usr/bin/env bash
# Installs every outside tool the tests and the dev stack need into .tools/ (idempotent): each
# scripts/install-*.sh is one tool, pinned, installed from a package registry.
# The Go builds (the Kubernetes control plane, about 17 CPU-minutes cold; kustomize, Helm and
# OpenTofu, about 10 more) run by default in one background job, one after another, beside the
# tests that don't need them (lint, typecheck and the suites before test/kubernetes); the
# Kubernetes tier runs last and its tests wait for the job (test/helpers/background-build.ts).
# AIRLOCK_SETUP_FOREGROUND=1 builds them here instead.
set -euo pipefail
cd "$(dirname "$0")/.."
# In the order the Kubernetes tier needs them: the cluster first (most of its files start one).
background=(scripts/install-kubernetes.sh scripts/install-kustomize.sh scripts/install-helm.sh scripts/install-opentofu.sh)
is_background() {
  local b
  for b in "${background[@]}"; do [ "$b" = "$1" ] && return 0; done
  return 1
}
for installer in scripts/install-*.sh; do
  is_background "$installer" || bash "$installer"
done
mkdir -p .tools/kubernetes
if [ "${AIRLOCK_SETUP_FOREGROUND:-}" = 1 ]; then
  for installer in "${background[@]}"; do flock .tools/kubernetes/.build.lock bash "$installer"; done
  exit 0
fi
rm -f .tools/kubernetes/.background-status
(
  status=0
  # One build at a time: a second setup.sh (npm test, then npx vitest) waits for the first
  # build and then finds its stamps, instead of building the same binaries beside it.
  for installer in "${background[@]}"; do
    flock .tools/kubernetes/.build.lock nice -n 10 bash "$installer" >>.tools/kubernetes/install.log 2>&1 </dev/null || {
      status=$?
      break
    }
  done
  echo "$status" >.tools/kubernetes/.background-status
) </dev/null >/dev/null 2>&1 &
echo "setup: building the Kubernetes test cluster, kustomize, Helm and OpenTofu in the background (log: .tools/kubernetes/install.log)" >&2
