package search

import (
	"math/rand/v2"
	"testing"
)

func TestZZDebug(t *testing.T) {
	for _, sp := range spaces[:4] {
		rng := rand.New(rand.NewPCG(11, 12))
		net := buildNet[float64](t, sp, 4)
		x := randMat(rng, 7, sp.dim, 1.2)
		obj0 := pathObjective(t, net, x, nil, 0)
		t.Logf("%s: %.4f", sp.name, obj0)
	}
	sp := spaces[1]
	rng := rand.New(rand.NewPCG(21, 22))
	x := randMat(rng, 64, sp.dim, 1.2)
	netE := buildNet[float64](t, sp, 8)
	obj := pathObjective(t, netE, x, nil, 0)
	t.Logf("same-arch: %.4f", obj)
	for _, st := range []int{300, 1000, 3000} {
		for i := range netE.Alpha { clear(netE.Alpha[i]) }
		optimiseAlpha(t, netE, x, nil, 0, Exact, st, 0.05)
		t.Logf("%d: %v %.3f", st, netE.Argmax(), netE.Weights())
	}
}
