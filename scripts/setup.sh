#!/usr/bin/env bash
# Installs every outside tool the tests and the dev stack need into .tools/ (idempotent): each
# scripts/install-*.sh is one tool, pinned, installed from a package registry.
# The Kubernetes control plane is a Go build (about 10 minutes cold on 2 cores), so by default it
# builds in the background, beside the tests that don't need it (lint, typecheck and the suites
# before test/kubernetes); the Kubernetes tests wait for it (test/helpers/kubernetes-cluster.ts).
# AIRLOCK_SETUP_FOREGROUND=1 builds it here instead.
set -euo pipefail
cd "$(dirname "$0")/.."
for installer in scripts/install-*.sh; do
  if [ "$installer" = scripts/install-kubernetes.sh ] && [ "${AIRLOCK_SETUP_FOREGROUND:-}" != 1 ]; then
    mkdir -p .tools/kubernetes
    rm -f .tools/kubernetes/.background-status
    (
      status=0
      # One build at a time: a second setup.sh (npm test, then npx vitest) waits for the first
      # build and then finds its stamp, instead of building the same binaries beside it.
      flock .tools/kubernetes/.build.lock nice -n 10 bash "$installer" >>.tools/kubernetes/install.log 2>&1 </dev/null || status=$?
      echo "$status" >.tools/kubernetes/.background-status
    ) </dev/null >/dev/null 2>&1 &
    echo "setup: building the Kubernetes test cluster in the background (log: .tools/kubernetes/install.log)" >&2
    continue
  fi
  if [ "$installer" = scripts/install-kubernetes.sh ]; then
    mkdir -p .tools/kubernetes
    flock .tools/kubernetes/.build.lock bash "$installer"
  else
    bash "$installer"
  fi
done
