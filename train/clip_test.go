package train

import (
	"math"
	"testing"

	"github.com/autonf/autonf/flow"
)

// TestClipGrads checks the one ClipNorm rule: 0 is DefaultClipNorm,
// negative is off, positive clips to that norm.
func TestClipGrads(t *testing.T) {
	cases := []struct {
		clip, wantNorm float64
	}{
		{0, DefaultClipNorm}, {-1, 20}, {2, 2}, {50, 20},
	}
	for _, c := range cases {
		p := flow.NewParam[float64]("p", 2)
		p.Grad[0], p.Grad[1] = 12, 16 // norm 20
		if g := ClipGrads([]*flow.Param[float64]{p}, c.clip); g != 20 {
			t.Errorf("clip %g: returned norm %g, want the pre-clip 20", c.clip, g)
		}
		if got := GradNorm([]*flow.Param[float64]{p}); math.Abs(got-c.wantNorm) > 1e-12 {
			t.Errorf("clip %g: norm after %g, want %g", c.clip, got, c.wantNorm)
		}
	}
}
