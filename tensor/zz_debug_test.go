package tensor

import (
	"fmt"
	"testing"
	"time"
)

func TestZZDebugPar(t *testing.T) {
	m, n, k := 512, 86, 256
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	for _, procs := range []int{1, 2} {
		useThreads(t, procs)
		for range 100 {
			Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		}
		st := time.Now()
		for range 1000 {
			Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		}
		t.Logf("procs %d: %v/op", procs, time.Since(st)/1000)
	}
	// half the rows, single thread
	useThreads(t, 1)
	st := time.Now()
	for range 1000 {
		Gemm(false, false, m/2, n, k, 1, a, k, b, n, 0, c, n)
	}
	t.Logf("half rows: %v/op", time.Since(st)/1000)
}

func TestZZPlainGo(t *testing.T) {
	m, n, k := 256, 86, 256
	a, b := make([]float32, m*k), make([]float32, k*n)
	c1, c2 := make([]float32, m*n), make([]float32, m*n)
	useThreads(t, 2)
	parallelThreshold = 1 << 60
	done := make(chan int64, 2)
	for it := range 5 {
		st := time.Now()
		for range 100 {
			go func() { Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c1, n); done <- 0 }()
			Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c2, n)
			<-done
		}
		t.Logf("%d: %v per pair", it, time.Since(st)/100)
	}
}

func TestZZPlainGoSep(t *testing.T) {
	m, n, k := 256, 86, 256
	a, b := make([]float32, m*k), make([]float32, k*n)
	a2, b2 := make([]float32, m*k), make([]float32, k*n)
	c1, c2 := make([]float32, m*n), make([]float32, m*n)
	useThreads(t, 2)
	parallelThreshold = 1 << 60
	done := make(chan int64, 2)
	for it := range 3 {
		st := time.Now()
		for range 100 {
			go func() { Gemm(false, false, m, n, k, 1, a2, k, b2, n, 0, c1, n); done <- 0 }()
			Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c2, n)
			<-done
		}
		t.Logf("%d: %v per pair", it, time.Since(st)/100)
	}
	st := time.Now()
	for range 100 {
		Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c2, n)
	}
	t.Logf("single: %v", time.Since(st)/100)
	go func() {
		for range 300 {
			Gemm(false, false, m, n, k, 1, a2, k, b2, n, 0, c1, n)
		}
		done <- 0
	}()
	st = time.Now()
	for range 300 {
		Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c2, n)
	}
	t.Logf("long concurrent loops: %v", time.Since(st)/300)
	<-done
}

func TestZZItems(t *testing.T) {
	m, n, k := 512, 86, 256
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	useThreads(t, 2)
	for i := range 300 {
		Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		if i%60 == 59 {
			s := ""
			for j := 0; j < pool.per; j++ {
				s += fmt.Sprintf(" [%d: %d-%d w%d]", j, dbgItems[j][0]/1000, dbgItems[j][1]/1000, dbgItems[j][2])
			}
			t.Log(s)
		}
	}
}

func TestZZCounts(t *testing.T) {
	m, n, k := 512, 86, 256
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	useThreads(t, 2)
	for range 300 {
		Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
	}
	t.Log("works", dbgWorks.Load(), "parks", dbgParks.Load(), "gen", pool.gen)
}

func TestZZSeen(t *testing.T) {
	m, n, k := 512, 86, 256
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	useThreads(t, 2)
	for i := range 300 {
		Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		if i%30 == 0 {
			time.Sleep(time.Millisecond)
			t.Log("seen", dbgSeen)
		}
	}
}

func TestZZKernelPar(t *testing.T) {
	a := make([]float32, 12*256)
	b := make([]float32, 32*256)
	run := func(c []float32, iters int) {
		for range iters {
			kernAVX512(256, &a[0], 256, 1, &b[0], &c[0], 32, 1, 0)
		}
	}
	const iters = 20000
	c1, c2 := make([]float32, 12*32), make([]float32, 12*32)
	st := time.Now()
	run(c1, iters)
	one := time.Since(st)
	st = time.Now()
	done := make(chan bool)
	go func() { run(c2, iters); done <- true }()
	run(c1, iters)
	<-done
	two := time.Since(st)
	fl := 2.0 * 12 * 32 * 256 * iters
	t.Logf("one: %v (%.1f GF), two: %v (%.1f GF total)", one, fl/one.Seconds()/1e9, two, 2*fl/two.Seconds()/1e9)
	// generic Go fp loop
	fp := func(n int) float64 {
		x, y := 1.0, 0.5
		for i := 0; i < n; i++ {
			x = x*0.999999 + y
		}
		return x
	}
	st = time.Now()
	fp(1e8)
	one = time.Since(st)
	st = time.Now()
	go func() { fp(1e8); done <- true }()
	fp(1e8)
	<-done
	t.Logf("scalar fp one %v two %v", one, time.Since(st))
}
