package flow

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/autonf/autonf/tensor"
)

// The incremental MADE evaluation of the autoregressive inverses
// (madeStepper) against the reference that recomputes the whole network in
// every pass (Autoregressive.madeColumns).

// stepCase is one autoregressive layer configuration.
type stepCase struct {
	typ, order string
	hidden     []int
	act        string
}

var stepCases = []stepCase{
	{"maf", "natural", []int{16, 16}, "relu"},
	{"maf", "reversed", []int{7}, "tanh"},
	{"maf", "natural", []int{5, 33, 9}, "elu"}, // widths below D−1: degree gaps
	{"maf", "reversed", []int{3, 40}, "relu"},
	{"nsf-ar", "natural", []int{16, 16}, "relu"},
	{"nsf-ar", "reversed", []int{9}, "elu"},
	{"nsf-ar", "natural", []int{4, 30}, "tanh"},
}

// newStepTestLayer builds a float64 layer with random weights, its last layer
// scaled up so that the conditioner outputs are O(1) and depend strongly on
// the inputs.
func newStepTestLayer(t testing.TB, c stepCase, dim int, seed uint64) Layer[float64] {
	t.Helper()
	spec := LayerSpec{Type: c.typ, Order: c.order, Hidden: c.hidden, Activation: c.act}
	if c.typ == "nsf-ar" {
		spec.Bins = 5
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	l, err := NewLayer[float64](dim, spec, rng)
	if err != nil {
		t.Fatal(err)
	}
	ps := l.Params()
	w, b := ps[len(ps)-2], ps[len(ps)-1]
	for i := range w.Value {
		w.Value[i] *= 3
	}
	for i := range b.Value {
		b.Value[i] = rng.NormFloat64() * 0.5
	}
	return l
}

// inverseReference inverts with full MADE passes.
func inverseReference(l Layer[float64], z, x *Mat[float64], ld []float64) {
	w := l.NewWork().(*arWork[float64])
	w.stepInit = true // initialised without a stepper: full passes
	l.Inverse(w, z, x, ld)
}

func stepperOf(w Work) *madeStepper[float64] { return w.(*arWork[float64]).step }

func checkAgainstReference(t *testing.T, l Layer[float64], rows int, seed uint64) {
	t.Helper()
	dim := l.Dim()
	rng := rand.New(rand.NewPCG(seed, 3))
	z := tensor.New[float64](rows, dim)
	for i := range z.Data {
		z.Data[i] = rng.NormFloat64() * 1.5
	}
	x, xr := tensor.New[float64](rows, dim), tensor.New[float64](rows, dim)
	ld, ldr := make([]float64, rows), make([]float64, rows)
	w := l.NewWork()
	// Twice on the same work: the second call reuses the buffers (and
	// x already holds the previous answer).
	for range 2 {
		l.Inverse(w, z, x, ld)
	}
	if stepperOf(w) == nil {
		t.Fatal("the incremental MADE was not used")
	}
	inverseReference(l, z, xr, ldr)
	for i := range x.Data {
		if d := math.Abs(x.Data[i] - xr.Data[i]); !(d <= 1e-10*(1+math.Abs(xr.Data[i]))) {
			t.Fatalf("x[%d, %d] = %.17g, reference %.17g", i/dim, i%dim, x.Data[i], xr.Data[i])
		}
	}
	for r := range ld {
		if d := math.Abs(ld[r] - ldr[r]); !(d <= 1e-10*(1+math.Abs(ldr[r]))) {
			t.Fatalf("ld[%d] = %.17g, reference %.17g", r, ld[r], ldr[r])
		}
	}
	// Without ld.
	x2 := tensor.New[float64](rows, dim)
	l.Inverse(w, z, x2, nil)
	for i := range x2.Data {
		if x2.Data[i] != x.Data[i] {
			t.Fatalf("x[%d] with ld nil %g, with ld %g", i, x2.Data[i], x.Data[i])
		}
	}
}

func TestMADEStepperMatchesFullPasses(t *testing.T) {
	defer func(h, o int) { madeStepBlock, madeStepBlockOut = h, o }(madeStepBlock, madeStepBlockOut)
	// Block sizes: one pass per block, small blocks, the default.
	for _, blk := range [][2]int{{1, 1}, {5, 3}, {madeStepBlock, madeStepBlockOut}} {
		madeStepBlock, madeStepBlockOut = blk[0], blk[1]
		for ci, c := range stepCases {
			for _, dim := range []int{1, 2, 3, 5, 8, 13} {
				t.Run(fmt.Sprintf("blk%v-%s-%s-%v-D%d", blk, c.typ, c.order, c.hidden, dim), func(t *testing.T) {
					l := newStepTestLayer(t, c, dim, uint64(10*ci+dim))
					checkAgainstReference(t, l, 37, uint64(dim))
				})
			}
		}
	}
}

// A MADE whose masks are sparser than the standard ones (still
// autoregressive) changes the ready degrees of the hidden units; the
// stepper derives them from the masks, so it still matches.
func TestMADEStepperSparserMasks(t *testing.T) {
	for ci, c := range stepCases {
		t.Run(fmt.Sprintf("%s-%s-%v", c.typ, c.order, c.hidden), func(t *testing.T) {
			const dim = 7
			l := newStepTestLayer(t, c, dim, uint64(ci+100))
			m := l.(interface{ MADE() *MLP[float64] }).MADE()
			rng := rand.New(rand.NewPCG(uint64(ci), 5))
			// Fresh mask slices: the masks may be shared with other layers.
			for k, mk := range m.Masks {
				mk = append([]float64(nil), mk...)
				for i := range mk {
					if rng.Float64() < 0.3 {
						mk[i] = 0
						m.W[k].Value[i] = 0
					}
				}
				m.Masks[k] = mk
			}
			checkAgainstReference(t, l, 11, 1)
		})
	}
}

// Masks that are not autoregressive for the order make newMADEStepper
// decline (the inverse then falls back to full passes).
func TestMADEStepperRejects(t *testing.T) {
	order := []int{0, 1, 2}
	masks := MADEMasks[float64](3, []int{4}, 2, order)
	m := NewMLP[float64]("m.", []int{3, 4, 6}, ReLU, masks, nil)
	if newMADEStepper(m, order, 2) == nil {
		t.Fatal("declined a MADE")
	}
	if newMADEStepper(m, []int{2, 1, 0}, 2) != nil {
		t.Error("accepted a MADE for the wrong order")
	}
	if newMADEStepper(m, order, 3) != nil {
		t.Error("accepted the wrong number of outputs per variable")
	}
	m.Masks = nil
	if newMADEStepper(m, order, 2) != nil {
		t.Error("accepted an unmasked MLP")
	}
}

// BenchmarkARInverse times one layer's inverse (512 rows, hidden 2×256) on
// one thread (as in a shard of Flow's data parallelism), incremental
// ("step") against full passes ("full").
func BenchmarkARInverse(b *testing.B) {
	tensor.BeginSerial()
	defer tensor.EndSerial()
	for _, typ := range []string{"maf", "nsf-ar"} {
		for _, dim := range []int{8, 43} {
			spec := LayerSpec{Type: typ, Hidden: []int{256, 256}}
			if typ == "nsf-ar" {
				spec.Bins = 8
			}
			l, err := NewLayer[float32](dim, spec, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				b.Fatal(err)
			}
			const rows = 512
			rng := rand.New(rand.NewPCG(2, 2))
			z, x := tensor.New[float32](rows, dim), tensor.New[float32](rows, dim)
			for i := range z.Data {
				z.Data[i] = float32(rng.NormFloat64())
			}
			ld := make([]float32, rows)
			for _, mode := range []string{"step", "full"} {
				b.Run(fmt.Sprintf("%s/D=%d/%s", typ, dim, mode), func(b *testing.B) {
					w := l.NewWork()
					w.(*arWork[float32]).stepInit = mode == "full"
					l.Inverse(w, z, x, ld)
					b.ResetTimer()
					for range b.N {
						l.Inverse(w, z, x, ld)
					}
					b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
				})
			}
		}
	}
}
