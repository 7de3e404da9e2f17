package flow_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
	"github.com/autonf/autonf/train"
)

// BenchmarkTrainStepBF16 compares float32 and bf16 conditioner GEMMs in one
// run (-count alternates them): the 5-layer maf and nsf-ar flows at D = 43
// (hidden 2×256, batch 512) and the reference step (one MADE 8→256→256→16).
// Besides wall time it reports the process's CPU time per step (user +
// system, all threads), which other jobs on a shared machine disturb less.
func BenchmarkTrainStepBF16(b *testing.B) {
	if !tensor.HasBF16() {
		b.Skip("CPU lacks AVX512-BF16")
	}
	cases := []struct {
		name        string
		typ         string
		layers, dim int
	}{{"maf5/D=43", "maf", 5, 43}, {"nsf-ar5/D=43", "nsf-ar", 5, 43}, {"reference", "maf", 1, 8}}
	for _, c := range cases {
		for _, prec := range []string{"fp32", "bf16"} {
			b.Run(c.name+"/"+prec, func(b *testing.B) {
				f := benchFlow(b, c.typ, c.layers, c.dim)
				if _, err := flow.SetBF16(f, prec == "bf16"); err != nil {
					b.Fatal(err)
				}
				benchStepCPU(b, f, randBatch(512, c.dim))
			})
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchStepCPU(b *testing.B, f *flow.Flow[float32], x *tensor.Mat[float32]) {
	ps := f.Params()
	params := make([]*flow.Param[float32], len(ps))
	for i, p := range ps {
		params[i] = p.Param
	}
	opt := train.NewAdam(params)
	step := func() {
		f.ZeroGrad()
		if _, err := f.NLLGrad(x); err != nil {
			b.Fatal(err)
		}
		opt.Step(1e-4)
	}
	step()
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		step()
	}
	cpu := cpuTime() - c0
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/step")
	b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N), "cpu-ms/step")
}
