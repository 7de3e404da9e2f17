package train

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
)

// TestAdamFlatMatchesPerParameter: one update over a flow's flat buffers
// gives bit-identical parameters to the per-parameter updates (float32
// SIMD path and, with weight decay, the scalar path), and the moments seen
// through State agree.
func TestAdamFlatMatchesPerParameter(t *testing.T) {
	for _, wd := range []float64{0, 1e-2} {
		spec := &flow.Spec{Dim: 3, Base: "diag-normal", Layers: []flow.LayerSpec{
			{Type: "maf", Hidden: []int{8}}, {Type: "lu-linear"}, {Type: "nsf-coupling", Hidden: []int{8}, Bins: 4},
		}}
		x := tensor.New[float32](64, 3)
		rng := rand.New(rand.NewPCG(1, 1))
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64())
		}
		var got [2][]float32
		var mom [2][][]float32
		for k, flat := range []bool{false, true} {
			f, err := flow.Build[float32](spec, rand.New(rand.NewPCG(2, 2)))
			if err != nil {
				t.Fatal(err)
			}
			var ps []*flow.Param[float32]
			for _, p := range f.Params() {
				ps = append(ps, p.Param)
			}
			opt := NewAdam(ps)
			if flat {
				opt = NewAdamFlat(ps, f.ParamData(), f.GradData())
				if opt.value == nil {
					t.Fatal("NewAdamFlat did not take the flow's flat buffers")
				}
			}
			opt.WeightDecay = wd
			for step := 0; step < 5; step++ {
				f.ZeroGrad()
				if _, err := f.NLLGrad(x); err != nil {
					t.Fatal(err)
				}
				opt.Step(1e-2)
			}
			got[k] = slices.Clone(f.ParamData())
			m, _, _ := opt.State()
			mom[k] = m
		}
		if !slices.Equal(got[0], got[1]) {
			t.Errorf("weight decay %g: flat Adam differs from per-parameter Adam", wd)
		}
		for i := range mom[0] {
			if !slices.Equal(mom[0][i], mom[1][i]) {
				t.Errorf("weight decay %g: first moment %d differs", wd, i)
			}
		}
	}
}

// TestAdamFlatFallsBack: parameters that are not views of the buffers, or
// that are re-pointed later, are updated per parameter.
func TestAdamFlatFallsBack(t *testing.T) {
	p := flow.NewParam[float32]("p", 4)
	q := flow.NewParam[float32]("q", 3)
	if a := NewAdamFlat([]*flow.Param[float32]{p, q}, make([]float32, 7), make([]float32, 7)); a.value != nil {
		t.Error("took buffers the parameters do not view")
	}
	f, _ := flow.Build[float32](&flow.Spec{Dim: 2, Layers: []flow.LayerSpec{{Type: "lu-linear"}}}, rand.New(rand.NewPCG(1, 1)))
	var ps []*flow.Param[float32]
	for _, np := range f.Params() {
		ps = append(ps, np.Param)
	}
	a := NewAdamFlat(ps, f.ParamData(), f.GradData())
	g := flow.New[float32](2, f.Layers...) // takes the storage over
	for _, np := range g.Params() {
		for i := range np.Grad {
			np.Grad[i] = 1
		}
	}
	before := slices.Clone(g.ParamData())
	a.Step(0.1)
	if a.value != nil {
		t.Error("kept stale flat buffers")
	}
	if slices.Equal(before, g.ParamData()) {
		t.Error("the re-pointed parameters were not updated")
	}
}

// TestAdamSplitAcrossCores: an update large enough to be split across cores
// gives bit-identical parameters and moments to the same update on one
// core, with and without weight decay, in float32 (SIMD) and float64.
func TestAdamSplitAcrossCores(t *testing.T) {
	t.Run("float32", func(t *testing.T) { adamSplitCase[float32](t) })
	t.Run("float64", func(t *testing.T) { adamSplitCase[float64](t) })
}

func adamSplitCase[T flow.Float](t *testing.T) {
	const n = 5*adamGrain + 123
	prev := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	for _, wd := range []float64{0, 1e-2} {
		var got [2][]T
		var mom [2][]T
		for k, procs := range []int{1, 2} {
			runtime.GOMAXPROCS(procs)
			rng := rand.New(rand.NewPCG(3, 3))
			p := flow.NewParam[T]("w", n)
			for i := range p.Value {
				p.Value[i] = T(rng.NormFloat64())
			}
			opt := NewAdam([]*flow.Param[T]{p})
			opt.WeightDecay = wd
			for step := 0; step < 3; step++ {
				for i := range p.Grad {
					p.Grad[i] = T(rng.NormFloat64())
				}
				opt.Step(1e-2)
			}
			got[k] = slices.Clone(p.Value)
			m, _, _ := opt.State()
			mom[k] = slices.Clone(m[0])
		}
		if !slices.Equal(got[0], got[1]) || !slices.Equal(mom[0], mom[1]) {
			t.Errorf("weight decay %g: the update split across cores differs from one core's", wd)
		}
	}
}
