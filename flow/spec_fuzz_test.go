package flow_test

import (
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/model"
	"github.com/autonf/autonf/tensor"
)

// FuzzParseSpec: any bytes either parse to a spec or fail; a spec that
// passes model.CheckSpecParams (small bound) builds, and the flow
// evaluates and samples without a panic.
func FuzzParseSpec(f *testing.F) {
	for _, name := range []string{"maf5", "realnvp5", "nsf-ar-8", "nsf-c-8", "planar-3", "radial-3"} {
		if s, err := flow.PresetSpec(name, 3); err == nil {
			f.Add(s.JSON())
		}
	}
	f.Add([]byte(`{"format":"autonf.arch/v1","dim":2,"layers":[{"type":"chain","layers":[{"type":"permutation","perm":[1,0]},{"type":"actnorm"}]}]}`))
	f.Add([]byte(`{"dim":4,"base":"diag-normal","layers":[{"type":"batchnorm","momentum":0.1},{"type":"lu-linear"},{"type":"affine-coupling","hidden":[3],"mask":"odd","min_scale":0.01}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := flow.ParseSpec(b, "fuzz.json")
		if err != nil {
			return
		}
		if model.CheckSpecParams(s, 1<<14) != nil || s.Dim > 64 {
			return
		}
		fl, err := flow.Build[float32](s, nil)
		if err != nil {
			return
		}
		x := tensor.New[float32](3, s.Dim)
		for i := range x.Data {
			x.Data[i] = float32(i%7) - 3
		}
		fl.LogProb(x, make([]float32, 3))
		fl.Sample(3, 1)
	})
}
