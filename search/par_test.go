package search

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/autonf/autonf/flow"
)

// gradsOf returns a copy of every θ gradient and of AlphaGrad.
func gradsOf(net *Supernet[float64]) [][]float64 {
	var out [][]float64
	for _, p := range net.Params() {
		out = append(out, append([]float64(nil), p.Grad...))
	}
	return append(out, append([]float64(nil), net.AlphaParam().Grad...))
}

// TestWorkersBitIdentical checks that the losses and gradients of both
// estimators do not depend on the number of workers: every space of the
// tests (prefix and suffix included), one with two candidates of a slot
// sharing a layer, at random and at one-hot α (skipped tree nodes).
func TestWorkersBitIdentical(t *testing.T) {
	shared := func(net *Supernet[float64]) {
		// Candidate 2 of every slot is candidate 0 again.
		for i := range net.Slots {
			net.Slots[i][2] = net.Slots[i][0]
		}
	}
	cases := []struct {
		name   string
		sp     space
		edit   func(*Supernet[float64])
		oneHot bool
	}{
		{name: spaces[0].name, sp: spaces[0]},
		{name: spaces[1].name, sp: spaces[1]},
		{name: spaces[2].name, sp: spaces[2]},
		{name: spaces[3].name, sp: spaces[3]},
		{name: spaces[4].name, sp: spaces[4]},
		{name: spaces[4].name + "/one-hot", sp: spaces[4], oneHot: true},
		{name: "shared-candidate/n3", sp: space{dim: 3, n: 3, cands: []flow.LayerSpec{specAC, specMAF, specPlanar},
			suf: []flow.LayerSpec{specLU}}, edit: shared},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := randMat(rand.New(rand.NewPCG(4, 5)), 33, tc.sp.dim, 1)
			type result struct {
				loss  []float64
				grads [][][]float64
			}
			run := func(workers int, static bool) result {
				net := buildNet[float64](t, tc.sp, 21)
				if tc.edit != nil {
					tc.edit(net)
				}
				randomAlpha(net, rand.New(rand.NewPCG(6, 7)), 1)
				if tc.oneHot {
					net.SetOneHot(net.PathArch(net.NumPaths() / 2))
				}
				net.Workers = workers
				net.pool().static = static
				var res result
				for _, f := range []func() (float64, error){
					func() (float64, error) { return net.Loss(x, Upper, true, true) },
					func() (float64, error) { return net.Loss(x, Original, true, true) },
					func() (float64, error) { return net.SampleLoss(x, true, true) },
					func() (float64, error) { return net.SampleLoss(x, true, false) },
				} {
					net.ZeroGrad()
					l, err := f()
					if err != nil {
						t.Fatal(err)
					}
					res.loss = append(res.loss, l)
					res.grads = append(res.grads, gradsOf(net))
				}
				return res
			}
			ref := run(1, false)
			for _, cfg := range []struct {
				w      int
				static bool
			}{{2, true}, {3, true}, {2, false}, {8, false}} {
				w, got := cfg.w, run(cfg.w, cfg.static)
				for c := range ref.loss {
					if math.Float64bits(got.loss[c]) != math.Float64bits(ref.loss[c]) {
						t.Errorf("workers %d, loss %d: %v, serial %v", w, c, got.loss[c], ref.loss[c])
					}
					nonzero := false
					for q := range ref.grads[c] {
						for e, v := range ref.grads[c][q] {
							nonzero = nonzero || v != 0
							if math.Float64bits(got.grads[c][q][e]) != math.Float64bits(v) {
								t.Fatalf("workers %d, loss %d: gradient %d[%d] = %v, serial %v", w, c, q, e, got.grads[c][q][e], v)
							}
						}
					}
					if !nonzero {
						t.Errorf("loss %d: every gradient is 0", c)
					}
				}
			}
		})
	}
}
