#!/usr/bin/env bash
# Installs OpenTofu (`tofu`), the Terraform roots' planner and applier, into .tools/bin,
# idempotently, from the Go module proxy only: `go build` of github.com/opentofu/opentofu/cmd/tofu
# through the scratch module scripts/opentofu-build (go.mod + go.sum pin every module), with the
# flags of OpenTofu's own release build (CGO off, -trimpath, version.dev=no so it reports 1.12.6,
# not 1.12.6-dev). v1.12.6's go.mod asks for go 1.26.6, which the machine's Go 1.26 satisfies.
# Cold (empty module and build caches, measured): 6m41s of CPU (5m32s user + 1m09s sys), 13m05s of
# wall time on the 2-core machine while other builds and tests ran beside it (load ~10), including
# about a minute of module downloads; warm: a stamp check. The binary is ~110 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
OPENTOFU_VERSION=v1.12.6
bin=.tools/bin
stamp=".tools/.opentofu-installed-$OPENTOFU_VERSION-$(sha256sum scripts/opentofu-build/go.sum | cut -c1-12)"
installed() { [ -f "$stamp" ] && [ -x "$bin/tofu" ]; }
if installed; then
  exit 0
fi
mkdir -p .tools
# One build at a time (two setup.sh runs at once): the second waits, then finds the stamp.
exec 9>.tools/.opentofu-build.lock
flock 9
if installed; then
  exit 0
fi
if ! command -v go >/dev/null; then
  echo "install-opentofu: go not found; the Terraform tests need it to build tofu" >&2
  exit 1
fi
mkdir -p "$bin"
started=$(date +%s)
echo "install-opentofu: building tofu $OPENTOFU_VERSION (cold: a few minutes)" >&2
(
  cd scripts/opentofu-build
  export GOFLAGS="-trimpath -buildvcs=false -mod=readonly" CGO_ENABLED=0
  # Build to a temporary name, then rename: a reader never sees a half-written binary.
  nice -n 10 go build -ldflags="-s -w -X github.com/opentofu/opentofu/version.dev=no" \
    -o "../../$bin/tofu.partial" github.com/opentofu/opentofu/cmd/tofu
)
mv -f "$bin/tofu.partial" "$bin/tofu"
rm -f .tools/.opentofu-installed-*
touch "$stamp"
echo "install-opentofu: $(env -u TF_CLI_CONFIG_FILE "$bin/tofu" version 2>/dev/null | head -1) in $(($(date +%s) - started)) s" >&2
