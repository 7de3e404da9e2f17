package pipeline_test

import (
	"context"
	"fmt"

	"github.com/autonf/autonf/model"
	"github.com/autonf/autonf/search/cost"
	"github.com/autonf/autonf/search/pipeline"
	"github.com/autonf/autonf/search/strategy"
)

// A search on built-in data: 2 slots × {planar, affine coupling}, the
// architecture derived, retrained and evaluated on the held-out test rows.
func ExampleRun() {
	data := model.DataConfig{Data: "toy:8gaussians", ToyRows: 2000, Seed: 1}
	res, err := pipeline.Run(context.Background(), data, pipeline.Options{
		Layers: 2, Candidates: []string{"planar", "affine-coupling"}, Hidden: []int{16},
		Cost:    cost.Params,
		Search:  strategy.Options{Steps: 60, Batch: 256, Seed: 1},
		Retrain: pipeline.RetrainOptions{Epochs: 5},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	run := res.Runs[0]
	fmt.Println("slots:", len(run.Arch), "test rows:", run.Test.N)
	// Output: slots: 2 test rows: 200
}
