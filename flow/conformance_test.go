package flow_test

import (
	"testing"

	"github.com/autonf/autonf/flow/flowtest"
)

// TestConformance runs the one conformance table over every registered
// layer type.
func TestConformance(t *testing.T) { flowtest.Conformance(t) }
