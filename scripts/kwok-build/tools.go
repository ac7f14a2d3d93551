//go:build tools

// kwok, built by scripts/install-kubernetes.sh: it plays the kubelet of fake nodes in the tests.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
