# Sourced by scripts/install-<tool>.sh for a single-binary Go tool (kustomize, helm): builds it with
# `go build` from the Go module proxy through the scratch module scripts/<tool>-build (go.mod and
# go.sum pin every module) into .tools/bin/<tool>. A stamp naming the version and go.sum makes a
# second run a no-op; the binary is moved into place whole, so a killed build leaves none half-written.
#
# install_go_tool <tool> <version> <package> [function printing extra -ldflags, run in the module]
install_go_tool() {
  local tool=$1 version=$2 package=$3 ldflags_fn=${4:-}
  local bin=.tools/bin
  local stamp
  stamp=".tools/.installed-$tool-$version-$(sha256sum <"scripts/$tool-build/go.sum" | cut -c1-12)"
  if [ -f "$stamp" ] && [ -x "$bin/$tool" ]; then
    return 0
  fi
  if ! command -v go >/dev/null; then
    echo "install-$tool: go not found; it is needed to build $tool $version" >&2
    return 1
  fi
  mkdir -p "$bin"
  local started
  started=$(date +%s)
  echo "install-$tool: building $tool $version" >&2
  (
    cd "scripts/$tool-build"
    export GOFLAGS="-trimpath -buildvcs=false -mod=readonly" CGO_ENABLED=0
    local extra=""
    if [ -n "$ldflags_fn" ]; then extra=$("$ldflags_fn"); fi
    nice -n 10 go build -ldflags="-s -w $extra" -o "../../$bin/$tool.partial.$$" "$package"
    mv -f "../../$bin/$tool.partial.$$" "../../$bin/$tool"
  )
  rm -f ".tools/.installed-$tool-"*
  touch "$stamp"
  echo "install-$tool: done in $(($(date +%s) - started)) s" >&2
}
