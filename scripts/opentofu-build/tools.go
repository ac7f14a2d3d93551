//go:build tools

// The command setup builds; imported only so that go.mod and go.sum pin its dependencies.
package tools

import (
	_ "github.com/opentofu/opentofu/cmd/tofu"
)
