package search

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autonf/autonf/data"
	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/model"
	"github.com/autonf/autonf/tensor"
	"github.com/autonf/autonf/train"
)

// biasVariant is one way of training θ at fixed α.
type biasVariant struct {
	name     string
	est      Estimator
	uniform  float64 // ThetaUniform
	unitMass bool    // rescale each candidate's θ gradient by B/(rows that chose it)
}

var biasVariants = []biasVariant{
	{"exact", Exact, 0, false},
	{"sample", Sampled, 0, false},
	{"sample, unit-mass θ gradients", Sampled, 0, true},
	{"sample, ThetaUniform 0.5", Sampled, 0.5, false},
	{"sample, ThetaUniform 1", Sampled, 1, false},
}

// thetaAtFixedAlpha trains the θ of a one-slot supernet whose two
// candidates are identical copies (same spec, same initial parameters) at
// fixed weights w = (1 − w1, w1) for steps θ steps (batch 256), and returns
// the held-out NLL of each candidate's path. With the exact estimator both
// copies follow the same Adam trajectory (Adam is invariant to the factor
// w_j in their gradients), so any difference under the sample estimator is
// its bias.
func thetaAtFixedAlpha(t testing.TB, tr, ho *tensor.Mat[float32], spec flow.LayerSpec, w1 float64, v biasVariant, steps int, seed uint64) [2]float64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 11))
	net, err := NewFromSpecs[float32](tr.Cols, [][]flow.LayerSpec{{spec, spec}}, rng)
	if err != nil {
		t.Fatal(err)
	}
	p0, p1 := net.Slots[0][0].Params(), net.Slots[0][1].Params()
	for k := range p0 {
		copy(p1[k].Value, p0[k].Value)
	}
	net.Alpha[0][0], net.Alpha[0][1] = math.Log(1-w1), math.Log(w1)
	net.ThetaUniform = v.uniform
	s, err := NewSearcher(net, Config{Estimator: v.est, ClipNorm: 5, NoHistory: true})
	if err != nil {
		t.Fatal(err)
	}
	const B = 256
	b := tensor.New[float32](B, tr.Cols)
	brng := rand.New(rand.NewPCG(seed, 12))
	for step := 0; step < steps; step++ {
		for r := 0; r < B; r++ {
			copy(b.Row(r), tr.Row(brng.IntN(tr.Rows)))
		}
		net.Seed(seed<<20 | uint64(step))
		for _, p := range s.params {
			clear(p.Grad)
		}
		if v.est == Sampled {
			_, err = net.SampleLoss(b, true, false)
		} else {
			_, err = net.Loss(b, Upper, true, false)
		}
		if err != nil {
			t.Fatal(err)
		}
		if v.unitMass {
			for j := range net.Slots[0] {
				if n := len(net.sm.groups[0][j].rows); n > 0 {
					for _, p := range net.Slots[0][j].Params() {
						for e := range p.Grad {
							p.Grad[e] *= float32(B) / float32(n)
						}
					}
				}
			}
		}
		if g := train.GradNorm(s.params); g > 5 {
			train.ScaleGrads(s.params, 5/g)
		}
		s.ThetaOpt.Step(s.Cfg.ThetaLR)
	}
	var out [2]float64
	buf := make([]float32, 512)
	for j := range out {
		f := flow.New(tr.Cols, net.Layers([]int{j})...)
		if out[j], err = train.MeanNLL(f, ho, buf); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestSampledThetaBias measures the rich-get-richer bias of the sample
// estimator's θ training on toy data: at fixed weights (0.9, 0.1), the
// held-out NLL of the weight-0.1 copy minus that of the weight-0.9 copy.
// With the exact estimator it is 0 (to float rounding); the plain sample
// estimator under-trains the light copy; ThetaUniform 1 (θ paths drawn
// uniformly) removes the difference between the copies.
func TestSampledThetaBias(t *testing.T) {
	tab, err := data.Toy("8gaussians", 4000, 1)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.FromSlice(tab.Rows, tab.Cols, tab.Float32())
	tr, ho := x.SliceRows(0, 3000), x.SliceRows(3000, 4000)
	spec := flow.LayerSpec{Type: "nsf-ar", Hidden: []int{16, 16}, Bins: 8}
	diff := map[string]float64{}
	for _, v := range biasVariants {
		nll := thetaAtFixedAlpha(t, tr, ho, spec, 0.1, v, 150, 1)
		diff[v.name] = nll[1] - nll[0]
		t.Logf("%s: held-out NLL of the w=0.9 copy %.4f, of the w=0.1 copy %.4f (difference %+.4f)", v.name, nll[0], nll[1], diff[v.name])
	}
	if d := diff["exact"]; math.Abs(d) > 5e-3 { // Adam's ε and float32 rounding
		t.Errorf("exact estimator: the identical copies differ by %.2g nats", d)
	}
	if d := diff["sample"]; d < 0.02 {
		t.Errorf("sample estimator: the light copy is only %.4f nats worse; the test expects a visible bias", d)
	}
	if d, d0 := diff["sample, ThetaUniform 1"], diff["sample"]; math.Abs(d) > d0/3 {
		t.Errorf("ThetaUniform 1: the copies differ by %.4f nats, without it %.4f", d, d0)
	}
}

// TestSampledThetaBiasEvidence is the measurement of BENCHMARKS.md
// ("Search convergence (issue 6)", bias), on real data; it runs only with
// AUTONF_BIAS set to datasets of ../shared/data:
//
//	AUTONF_BIAS=shuttle,satellite go test ./search -run SampledThetaBiasEvidence -v
func TestSampledThetaBiasEvidence(t *testing.T) {
	sets := os.Getenv("AUTONF_BIAS")
	if sets == "" {
		t.Skip("set AUTONF_BIAS=shuttle,satellite to measure the sample estimator's θ bias on ../shared/data")
	}
	dir := filepath.Join("..", "..", "shared", "data")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("../shared/data is absent")
	}
	files := map[string]string{"miniboone": "miniboone/val.npy", "satellite": "satellite.csv", "shuttle": "shuttle.csv", "flights": "flights.csv"}
	spec := flow.LayerSpec{Type: "chain", Layers: flow.CandidateBlock("nsf-ar", []int{32, 32}, 8)}
	for _, name := range strings.Split(sets, ",") {
		prep, err := model.PrepareData(model.DataConfig{Data: filepath.Join(dir, files[name]), ValFrac: 0.2, TestFrac: 0.01, Shuffle: true, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		ho := prep.Val
		if ho.Rows > 2000 {
			ho = ho.SliceRows(0, 2000)
		}
		for _, w1 := range []float64{0.1, 0.02} {
			for _, seed := range []uint64{1, 2, 3} {
				var ref [2]float64
				var row []string
				for k, v := range biasVariants {
					nll := thetaAtFixedAlpha(t, prep.Train, ho, spec, w1, v, 300, seed)
					if k == 0 {
						ref = nll
					}
					row = append(row, fmt.Sprintf("%+.4f / %+.4f", nll[0]-ref[0], nll[1]-ref[1]))
				}
				t.Logf("| %s | %.2f | %d | %.4f / %.4f | %s |", name, w1, seed, ref[0], ref[1], strings.Join(row[1:], " | "))
			}
		}
	}
}
