package search

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/autonf/autonf/data"
	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
)

// toyOutcome is the end of one toy-study run.
type toyOutcome struct {
	maxW      []float64 // every slot's largest weight
	upper     float64   // L^U on the held-out batch
	original  float64   // L^O on the held-out batch
	derived   float64   // NLL of the argmax architecture (α one-hot), same parameters
	arch      []int
	firstGapU float64 // L^U − L^O at the first step (uniform weights)
}

// runToyStudy is the AutoNF paper's toy study: 4 slots with candidates
// {planar, radial} on 2-D data, alternating α steps (validation batch) and
// θ steps (training batch) with Adam, on the objective kind.
func runToyStudy(t *testing.T, kind LossKind, dataset string, seed uint64, steps int, alphaLR float64) toyOutcome {
	t.Helper()
	net, err := NewFromSpecs[float32](2, Uniform(4, []flow.LayerSpec{{Type: "planar"}, {Type: "radial"}}), rand.New(rand.NewPCG(seed, 2)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSearcher(net, Config{Kind: kind, AlphaLR: alphaLR, NoHistory: true})
	if err != nil {
		t.Fatal(err)
	}
	tr := newBatcher(t, dataset, 4096, seed, 256)
	va := newBatcher(t, dataset, 1024, seed+100, 256)
	var out toyOutcome
	for i := 0; i < steps; i++ {
		rec, err := s.Step(tr.next(), va.next())
		if err != nil {
			t.Fatalf("%v step %d: %v", kind, i, err)
		}
		if i == 0 {
			out.firstGapU = rec.ValUpper - rec.ValOriginal
		}
	}
	held, err := data.Toy(dataset, 2048, seed+200)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.FromSlice(held.Rows, held.Cols, held.Float32())
	net.SetTraining(false)
	l, err := net.Evaluate(x, Upper, false, false)
	if err != nil {
		t.Fatal(err)
	}
	out.upper, out.original = l.Upper, l.Original
	for _, w := range net.Weights() {
		out.maxW = append(out.maxW, slices.Max(w))
	}
	// The derived (argmax) architecture with the same parameters: α one-hot.
	out.arch = net.Argmax()
	saved := make([][]float64, len(net.Alpha))
	for i, a := range net.Alpha {
		saved[i] = slices.Clone(a)
		for j := range a {
			a[j] = 0
		}
		a[out.arch[i]] = 60
	}
	d, err := net.Evaluate(x, Upper, false, false)
	if err != nil {
		t.Fatal(err)
	}
	out.derived = d.Upper
	for i := range net.Alpha {
		copy(net.Alpha[i], saved[i])
	}
	return out
}

// TestToyStudyBothLosses runs the toy study with both objectives (moons,
// 2500 steps, α lr 5e-3) and checks what the paper claims about them:
//
//   - L^U (upper) drives every slot to one-hot (max weight ≥ 0.9), so the
//     relaxation gap L^U − L^O vanishes and the derived architecture's NLL
//     equals the relaxed objective: no binarisation gap.
//   - L^O (original, the mixture NLL) does not: at least one slot stays
//     further from one-hot than every slot under L^U, the mixture is a
//     better density than any single path (L^O below the derived
//     architecture's NLL), and the derived architecture loses that
//     advantage (a binarisation gap of more than 0.1 nats).
//
// The final weights of both runs are logged (go test -run
// TestToyStudyBothLosses -v ./search prints the study).
func TestToyStudyBothLosses(t *testing.T) {
	start := time.Now()
	const steps, lr = 2500, 5e-3
	up := runToyStudy(t, Upper, "moons", 2, steps, lr)
	or := runToyStudy(t, Original, "moons", 2, steps, lr)
	for _, c := range []struct {
		name string
		o    toyOutcome
	}{{"upper", up}, {"original", or}} {
		t.Logf("--loss %-8s max weights %.3f  arch %v (0 planar, 1 radial)  held-out L^U %.4f  L^O %.4f  gap %.4f (first step %.4f)  derived-architecture NLL %.4f",
			c.name, c.o.maxW, c.o.arch, c.o.upper, c.o.original, c.o.upper-c.o.original, c.o.firstGapU, c.o.derived)
	}
	t.Logf("%d steps per loss in %v", steps, time.Since(start).Round(time.Millisecond))

	for i, w := range up.maxW {
		if w < 0.9 {
			t.Errorf("upper: slot %d max weight %.3f < 0.9", i+1, w)
		}
	}
	if gap := up.upper - up.original; gap > 0.02 || gap > up.firstGapU/10 {
		t.Errorf("upper: L^U − L^O = %.4f at the end (%.4f at the start); want → 0", gap, up.firstGapU)
	}
	if d := math.Abs(up.derived - up.upper); d > 0.02 {
		t.Errorf("upper: derived architecture NLL %.4f differs from L^U %.4f by %.4f", up.derived, up.upper, d)
	}

	if slices.Min(or.maxW) >= slices.Min(up.maxW) {
		t.Errorf("original: every slot at least as one-hot (min max weight %.3f) as under upper (%.3f)", slices.Min(or.maxW), slices.Min(up.maxW))
	}
	if or.original >= or.derived {
		t.Errorf("original: mixture NLL %.4f not below its derived architecture's %.4f", or.original, or.derived)
	}
	if gap := or.derived - or.original; gap < 0.1 {
		t.Errorf("original: binarisation gap %.4f < 0.1 nats", gap)
	}
}
