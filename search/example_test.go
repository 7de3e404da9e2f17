package search_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/autonf/autonf/data"
	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/search"
	"github.com/autonf/autonf/tensor"
)

// Search a 3-slot {planar, radial} flow on 2-D data with the exact
// estimator and the upper-bound loss, then derive the architecture.
func Example() {
	cands := []flow.LayerSpec{{Type: "planar"}, {Type: "radial"}}
	net, err := search.NewFromSpecs[float32](2, search.Uniform(3, cands), rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	s, err := search.NewSearcher(net, search.Config{Kind: search.Upper})
	if err != nil {
		panic(err)
	}
	tr, _ := data.Toy("8gaussians", 128, 1)
	va, _ := data.Toy("8gaussians", 128, 2)
	xt := tensor.FromSlice(tr.Rows, tr.Cols, tr.Float32())
	xv := tensor.FromSlice(va.Rows, va.Cols, va.Float32())
	for i := 0; i < 100; i++ {
		if _, err := s.Step(xt, xv); err != nil {
			panic(err)
		}
	}
	fmt.Println("paths:", net.NumPaths(), "steps recorded:", len(s.History))
	fmt.Println("derived layers:", len(net.DeriveSpec().Layers))
	// Output:
	// paths: 8 steps recorded: 100
	// derived layers: 3
}
