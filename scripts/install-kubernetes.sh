#!/usr/bin/env bash
# Installs a throwaway Kubernetes control plane for the tests into .tools/kubernetes/bin,
# idempotently, from package registries only:
#   - kube-apiserver, kube-controller-manager and kube-scheduler built with `go build` from the Go
#     module proxy through the scratch module scripts/kubernetes-build (go.mod + go.sum pin every
#     module; k8s.io/kubernetes's ./staging replaces point at the published v0.X modules), and kwok
#     likewise through scripts/kwok-build;
#   - etcd from the same scratch module (go.etcd.io/etcd/server/v3, the version k8s.io/kubernetes
#     pins, v3.6.4; about 25 s of CPU on top, as it shares its dependencies with the API server).
#     Debian's etcd-server is 3.4.23, older than the etcd this Kubernetes release is tested with.
# Cold (empty module and build caches): about 17 CPU-minutes of `go build` (measured: 14m13s user +
# 3m03s sys), so roughly 9-10 minutes on an idle 2-core machine; warm: a stamp check (~0.05 s).
set -euo pipefail
cd "$(dirname "$0")/.."
KUBERNETES_VERSION=v1.34.4
KWOK_VERSION=v0.7.0
target=.tools/kubernetes
bin="$target/bin"
stamp="$target/.installed-$KUBERNETES_VERSION-$KWOK_VERSION-$(cat scripts/kubernetes-build/go.sum scripts/kwok-build/go.sum | sha256sum | cut -c1-12)"
all_present() {
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do [ -x "$bin/$b" ] || return 1; done
}
if [ -f "$stamp" ] && all_present; then
  exit 0
fi
mkdir -p "$bin"
started=$(date +%s)

if ! command -v go >/dev/null; then
  echo "install-kubernetes: go not found; the Kubernetes tests need it to build kube-apiserver" >&2
  exit 1
fi
echo "install-kubernetes: building etcd, kube-apiserver, kube-controller-manager, kube-scheduler $KUBERNETES_VERSION and kwok $KWOK_VERSION (cold: several minutes)" >&2
(
  cd scripts/kubernetes-build
  export GOFLAGS="-trimpath -buildvcs=false -mod=readonly"
  # Without -X the binaries report v0.0.0-master; clients that compare versions want the real one.
  minor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)
  version_flags=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    version_flags="$version_flags -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  nice -n 10 go build -ldflags="-s -w $version_flags" -o "../../$bin/" \
    ./cmd/etcd \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler
)
# kwok has its own module: it pins older k8s.io modules than this Kubernetes release.
(
  cd scripts/kwok-build
  export GOFLAGS="-trimpath -buildvcs=false -mod=readonly"
  nice -n 10 go build -ldflags="-s -w" -o "../../$bin/" sigs.k8s.io/kwok/cmd/kwok
)
rm -f "$target"/.installed-*
touch "$stamp"
echo "install-kubernetes: done in $(($(date +%s) - started)) s" >&2
