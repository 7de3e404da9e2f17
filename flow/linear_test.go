package flow_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/flow/flowtest"
)

func TestPermutationLayers(t *testing.T) {
	for _, typ := range []string{"reverse", "permutation"} {
		for _, d := range slDims {
			rng := rand.New(rand.NewPCG(uint64(d), 30))
			for name, x := range slInputs(rng, d) {
				t.Run(fmt.Sprintf("%s/D=%d/%s", typ, d, name), func(t *testing.T) {
					l := slBuild(t, typ, d, flow.LayerSpec{}, 1)
					slCheckAll(t, l, x, 1e-15)
					z, _ := flowtest.Forward(l, x)
					p := l.(*flow.Permutation[float64]).Perm()
					for r := 0; r < x.Rows; r++ {
						for j := 0; j < d; j++ {
							if z.At(r, j) != x.At(r, p[j]) {
								t.Fatalf("z[%d,%d] = %g, want x[%d,%d] = %g", r, j, z.At(r, j), r, p[j], x.At(r, p[j]))
							}
						}
					}
					if typ == "reverse" && p[0] != d-1 {
						t.Errorf("reverse perm %v", p)
					}
				})
			}
		}
	}
}

func TestPermutationSeedAndPerm(t *testing.T) {
	build := func(spec flow.LayerSpec, rng *rand.Rand) (*flow.Permutation[float64], error) {
		spec.Type = "permutation"
		l, err := flow.NewLayer[float64](10, spec, rng)
		if err != nil {
			return nil, err
		}
		return l.(*flow.Permutation[float64]), nil
	}
	a, _ := build(flow.LayerSpec{Seed: 42}, nil)
	b, _ := build(flow.LayerSpec{Seed: 42}, rand.New(rand.NewPCG(9, 9)))
	c, _ := build(flow.LayerSpec{Seed: 43}, nil)
	if !slices.Equal(a.Perm(), b.Perm()) {
		t.Errorf("same seed, different permutations: %v vs %v", a.Perm(), b.Perm())
	}
	if slices.Equal(a.Perm(), c.Perm()) {
		t.Errorf("seeds 42 and 43 give the same permutation %v", a.Perm())
	}
	if s := a.Spec(); s.Seed != 42 || !slices.Equal(s.Perm, a.Perm()) {
		t.Errorf("Spec() = %+v", s)
	}
	// No seed: drawn from the build rng, so two layers of one build differ
	// and the spec records seed and permutation.
	rng := rand.New(rand.NewPCG(1, 2))
	d1, _ := build(flow.LayerSpec{}, rng)
	d2, _ := build(flow.LayerSpec{}, rng)
	if d1.Spec().Seed == 0 || slices.Equal(d1.Perm(), d2.Perm()) {
		t.Errorf("unseeded layers: %+v and %+v", d1.Spec(), d2.Spec())
	}
	// A given Perm is used as is.
	given := []int{3, 1, 4, 0, 2, 9, 8, 7, 6, 5}
	g, err := build(flow.LayerSpec{Perm: given, Seed: 5}, nil)
	if err != nil || !slices.Equal(g.Perm(), given) {
		t.Fatalf("given perm: %v, %v", g.Perm(), err)
	}
	given[0] = 0 // the layer keeps its own copy
	if g.Perm()[0] != 3 {
		t.Errorf("layer aliases the spec's Perm")
	}
	for _, bad := range []struct {
		perm []int
		msg  string
	}{
		{[]int{0, 1, 2}, "3 entries, want 10"},
		{[]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 10}, "outside 0..9"},
		{[]int{0, 1, 2, 3, 4, 5, 6, 7, 8, -1}, "outside 0..9"},
		{[]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 8}, "repeats"},
	} {
		_, err := build(flow.LayerSpec{Perm: bad.perm}, nil)
		if err == nil || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("perm %v: error %v, want one mentioning %q", bad.perm, err, bad.msg)
		}
	}
}

func TestLULinear(t *testing.T) {
	for _, d := range slDims {
		rng := rand.New(rand.NewPCG(uint64(d), 40))
		for name, x := range slInputs(rng, d) {
			t.Run(fmt.Sprintf("D=%d/%s", d, name), func(t *testing.T) {
				l := slBuild(t, "lu-linear", d, flow.LayerSpec{}, 1)
				slRandomize(l, rng, 0.7) // far from the identity
				slCheckAll(t, l, x, 1e-9)
			})
		}
	}
}

func TestLULinearInitAndSpec(t *testing.T) {
	l := slBuild(t, "lu-linear", 4, flow.LayerSpec{}, 1)
	if s := l.Spec(); s.Eps != 1e-3 {
		t.Errorf("default eps: Spec() = %+v", s)
	}
	// Near the identity: |z − x| small, log-det ≈ 0.
	x := flowtest.RandMat(rand.New(rand.NewPCG(1, 1)), 3, 4, 1)
	z, ld := flowtest.Forward(l, x)
	for i := range z.Data {
		if d := z.Data[i] - x.Data[i]; d > 0.1 || d < -0.1 {
			t.Fatalf("fresh lu-linear is not near the identity: %v -> %v", x.Data, z.Data)
		}
	}
	if ld[0] > 0.05 || ld[0] < -0.05 {
		t.Errorf("fresh lu-linear log-det %g", ld[0])
	}
	if n := len(slBuild(t, "lu-linear", 1, flow.LayerSpec{}, 1).Params()); n != 2 {
		t.Errorf("D=1: %d params, want diag and bias", n)
	}
	for _, eps := range []float64{-1, 1, 2} {
		if _, err := flow.NewLayer[float64](3, flow.LayerSpec{Type: "lu-linear", Eps: eps}, nil); err == nil {
			t.Errorf("eps %g accepted", eps)
		}
	}
	if _, err := flow.NewLayer[float64](0, flow.LayerSpec{Type: "lu-linear"}, nil); err == nil {
		t.Errorf("dim 0 accepted")
	}
}
