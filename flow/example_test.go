package flow_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
)

// Build a preset flow, evaluate log-densities and draw samples.
func Example() {
	spec, err := flow.PresetSpec("realnvp5", 2)
	if err != nil {
		panic(err)
	}
	f, err := flow.Build[float64](spec, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	x := tensor.FromSlice(2, 2, []float64{0, 0, 1, -1})
	lp := make([]float64, x.Rows)
	if err := f.LogProb(x, lp); err != nil {
		panic(err)
	}
	s := f.Sample(3, 7)
	fmt.Println(len(f.Layers), "layers,", f.NumParams(), "parameters")
	fmt.Println(len(lp), "log-densities;", s.Rows, "samples of", s.Cols, "columns")
	// Output:
	// 5 layers, 334090 parameters
	// 2 log-densities; 3 samples of 2 columns
}

// A spec can be written by hand: here a chain of the AutoNF paper's
// candidate block [reverse → LU linear → MAF].
func ExampleParseSpec() {
	spec, err := flow.ParseSpec([]byte(`{
		"format": "autonf.arch/v1", "dim": 3,
		"layers": [{"type": "reverse"}, {"type": "lu-linear"}, {"type": "maf", "hidden": [16, 16]}]
	}`), "example.json")
	if err != nil {
		panic(err)
	}
	f, _ := flow.Build[float32](spec, rand.New(rand.NewPCG(1, 1)))
	for _, l := range f.Spec().Layers {
		fmt.Println(l.Type)
	}
	// Output:
	// reverse
	// lu-linear
	// maf
}
