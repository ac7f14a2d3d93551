#!/usr/bin/env bash
# Installs Helm into .tools/bin/helm, idempotently, built from the Go module proxy through the
# scratch module scripts/helm-build. Airlock renders a service's chart with `helm template`
# (src/integrations/render/).
# v3.22.0: Helm 3 is the line the charts in the field are written and tested against, and this
# release builds with this machine's Go 1.26 (its go.mod says go 1.26.0). Helm 4 (v4.3.1 builds
# here too) changes plugins, apply defaults and chart API v3, none of which `helm template` of
# today's charts needs; moving to it is a version bump in scripts/helm-build.
# Cold (empty module and build caches): 4m47s wall, 1m56s user + 28 s sys CPU (measured on the
# shared 2-core machine beside another build); warm: a stamp check.
set -euo pipefail
cd "$(dirname "$0")/.."
HELM_VERSION=v3.22.0

# As Helm's Makefile does: without these, `helm version` says v3.22+unreleased and
# .Capabilities.KubeVersion in `helm template` is v1.20.0, which fails charts whose kubeVersion asks
# for a newer cluster. The Kubernetes version is client-go's minor with major 1 (v0.34 -> 1.34).
helm_ldflags() {
  local minor
  minor=$(go list -m -f '{{.Version}}' k8s.io/client-go | cut -d. -f2)
  echo "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    echo "-X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$minor"
  done
}

source scripts/lib/install-go-tool.sh
install_go_tool helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm helm_ldflags
