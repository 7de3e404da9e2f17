package bench_test

import (
	"context"
	"fmt"
	"os"

	"github.com/autonf/autonf/search/bench"
)

// Run the CI-sized bench on the real datasets and print the regret of one
// search variant.
func ExampleRun() {
	res, err := bench.Run(context.Background(), bench.Options{DataDir: "../shared/data", OutDir: "bench-out", Quick: true, Progress: os.Stderr})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, v := range bench.Summarize(res).Variants {
		fmt.Printf("%s on %s: median regret %.3f nats\n", v.Variant, v.Dataset, v.Regret.Median)
	}
}
