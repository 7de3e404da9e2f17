package train_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
	"github.com/autonf/autonf/train"
)

// Fit a small MAF to correlated 2-D Gaussian data with early stopping on a
// validation split; the flow ends with the best weights seen.
func ExampleFit() {
	rng := rand.New(rand.NewPCG(1, 2))
	sample := func(n int) *tensor.Mat[float32] {
		m := tensor.New[float32](n, 2)
		for r := 0; r < n; r++ {
			a := rng.NormFloat64()
			m.Set(r, 0, float32(a))
			m.Set(r, 1, float32(0.9*a+0.3*rng.NormFloat64()))
		}
		return m
	}
	trainX, valX := sample(2000), sample(500)
	f, err := flow.Build[float32](&flow.Spec{Dim: 2, Layers: []flow.LayerSpec{
		{Type: "maf", Hidden: []int{16, 16}}, {Type: "reverse"}, {Type: "maf", Hidden: []int{16, 16}},
	}}, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		panic(err)
	}
	before := make([]float32, valX.Rows)
	if err := f.LogProb(valX, before); err != nil {
		panic(err)
	}
	res, err := train.Fit(context.Background(), f, trainX, valX, train.Config{Epochs: 20, Batch: 256, LR: 3e-3, Seed: 1})
	if err != nil {
		panic(err)
	}
	mean := 0.0
	for _, v := range before {
		mean -= float64(v) / float64(len(before))
	}
	fmt.Println("epochs:", res.Epochs)
	fmt.Println("validation NLL improved:", res.BestValNLL < mean)
	// Output:
	// epochs: 20
	// validation NLL improved: true
}
