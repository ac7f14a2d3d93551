//go:build tools

// helm, built by scripts/install-helm.sh: Airlock renders charts with `helm template`.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
