package flow_test

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/flow/flowtest"
)

// TestShardedMatchesSerial: data parallelism (batch shards, one op and one
// gradient buffer each, on the same layers)
// gives the same loss, gradients, log-densities and samples as one shard.
func TestShardedMatchesSerial(t *testing.T) {
	spec := &flow.Spec{Dim: 3, Layers: []flow.LayerSpec{
		{Type: "maf", Hidden: []int{16}}, {Type: "lu-linear"}, {Type: "affine-coupling", Hidden: []int{16}}, {Type: "nsf-ar", Hidden: []int{16}, Bins: 4},
	}}
	build := func(workers int) *flow.Flow[float64] {
		f, err := flow.Build[float64](spec, rand.New(rand.NewPCG(3, 3)))
		if err != nil {
			t.Fatal(err)
		}
		f.Workers = workers
		return f
	}
	x := flowtest.RandMat(rand.New(rand.NewPCG(1, 1)), 301, 3, 1)
	serial, sharded := build(1), build(3)
	for step := 0; step < 2; step++ { // twice: shards must see the new values
		serial.ZeroGrad()
		sharded.ZeroGrad()
		a, err1 := serial.NLLGrad(x)
		b, err2 := sharded.NLLGrad(x)
		if err1 != nil || err2 != nil || math.Abs(a-b) > 1e-12 {
			t.Fatalf("loss serial %v, sharded %v (%v %v)", a, b, err1, err2)
		}
		ps, pp := serial.Params(), sharded.Params()
		for i := range ps {
			for k := range ps[i].Grad {
				if math.Abs(ps[i].Grad[k]-pp[i].Grad[k]) > 1e-12 {
					t.Fatalf("%s[%d]: grad serial %v, sharded %v", ps[i].Name, k, ps[i].Grad[k], pp[i].Grad[k])
				}
			}
			for k := range ps[i].Value { // an identical "optimiser step"
				ps[i].Value[k] -= 0.01 * ps[i].Grad[k]
				pp[i].Value[k] -= 0.01 * pp[i].Grad[k]
			}
		}
	}
	la, lb := make([]float64, x.Rows), make([]float64, x.Rows)
	if err := serial.LogProb(x, la); err != nil {
		t.Fatal(err)
	}
	if err := sharded.LogProb(x, lb); err != nil {
		t.Fatal(err)
	}
	for i := range la {
		if math.Abs(la[i]-lb[i]) > 1e-12 {
			t.Fatalf("row %d: log p serial %v, sharded %v", i, la[i], lb[i])
		}
	}
	sa, pa := serial.SampleAndLogProb(500, 9)
	sb, pb := sharded.SampleAndLogProb(500, 9)
	for i := range sa.Data {
		if math.Abs(sa.Data[i]-sb.Data[i]) > 1e-12 {
			t.Fatalf("sample value %d differs: %v vs %v", i, sa.Data[i], sb.Data[i])
		}
	}
	for i := range pa {
		if math.Abs(pa[i]-pb[i]) > 1e-12 {
			t.Fatalf("sample log p %d differs", i)
		}
	}
}

// TestShardedReduceLarge: with more parameters than one core's share of the
// gradient reduce (split across cores), and with a call that uses fewer
// shards than an earlier one (whose gradient buffers stay stale), the
// sharded gradients still equal the serial ones.
func TestShardedReduceLarge(t *testing.T) {
	prev := runtime.GOMAXPROCS(2)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	spec := &flow.Spec{Dim: 8, Layers: []flow.LayerSpec{{Type: "maf", Hidden: []int{256, 256}}}}
	build := func(workers int) *flow.Flow[float64] {
		f, err := flow.Build[float64](spec, rand.New(rand.NewPCG(4, 4)))
		if err != nil {
			t.Fatal(err)
		}
		f.Workers = workers
		return f
	}
	serial, sharded := build(1), build(3)
	if n := len(sharded.GradData()); n < 1<<16 {
		t.Fatalf("only %d parameters: the reduce would not be split", n)
	}
	for _, rows := range []int{301, 130, 301} { // 3 shards, then 2, then 3
		x := flowtest.RandMat(rand.New(rand.NewPCG(uint64(rows), 1)), rows, 8, 1)
		serial.ZeroGrad()
		sharded.ZeroGrad()
		if _, err := serial.NLLGrad(x); err != nil {
			t.Fatal(err)
		}
		if _, err := sharded.NLLGrad(x); err != nil {
			t.Fatal(err)
		}
		gs, gp := serial.GradData(), sharded.GradData()
		for k := range gs {
			if math.Abs(gs[k]-gp[k]) > 1e-12*(1+math.Abs(gs[k])) {
				t.Fatalf("rows=%d: grad[%d] serial %v, sharded %v", rows, k, gs[k], gp[k])
			}
		}
	}
}
