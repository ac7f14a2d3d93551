#!/usr/bin/env bash
# Installs kustomize into .tools/bin/kustomize, idempotently, built from the Go module proxy through
# the scratch module scripts/kustomize-build. Airlock renders a service's kustomize overlays with it
# (src/integrations/render/).
# v5.8.2: the newest release whose go.mod asks for no newer Go than this machine's 1.26 (v5.8.3
# says go 1.27.0).
# Cold (empty module and build caches): 2m42s wall, 44 s user + 10 s sys CPU, mostly module
# downloads (measured on the shared 2-core machine beside another build); warm: a stamp check.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/install-go-tool.sh
install_go_tool kustomize v5.8.2 sigs.k8s.io/kustomize/kustomize/v5
