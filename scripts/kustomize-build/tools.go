//go:build tools

// kustomize, built by scripts/install-kustomize.sh: Airlock renders kustomize overlays with it.
package tools

import _ "sigs.k8s.io/kustomize/kustomize/v5"
