package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

// gemmCase is one GEMM problem: shapes, layout, strides (extra columns of
// padding beyond the row width) and scalars.
type gemmCase struct {
	transA, transB bool
	m, n, k        int
	pad            int
	alpha          float64
}

func (tc gemmCase) layout() string {
	s := [2]string{"N", "T"}
	l := s[0]
	if tc.transA {
		l = s[1]
	}
	if tc.transB {
		return l + s[1]
	}
	return l + s[0]
}

func (tc gemmCase) String() string {
	return fmt.Sprintf("%s_%dx%dx%d_pad%d_alpha%g", tc.layout(), tc.m, tc.n, tc.k, tc.pad, tc.alpha)
}

// operands holds a case's inputs in float64 and the exact reference
// op(A)·op(B) and Σ|op(A)||op(B)| per element of C.
type operands struct {
	a, b, c0      []float64
	lda, ldb, ldc int
	ref, abs      []float64
}

func makeOperands(tc gemmCase, rng *rand.Rand) *operands {
	ar, ac := tc.m, tc.k
	if tc.transA {
		ar, ac = tc.k, tc.m
	}
	br, bc := tc.k, tc.n
	if tc.transB {
		br, bc = tc.n, tc.k
	}
	o := &operands{lda: ac + tc.pad, ldb: bc + tc.pad, ldc: tc.n + tc.pad}
	fill := func(rows, ld int) []float64 {
		s := make([]float64, rows*ld)
		for i := range s {
			s[i] = rng.Float64()*2 - 1
		}
		return s
	}
	o.a, o.b, o.c0 = fill(ar, o.lda), fill(br, o.ldb), fill(tc.m, o.ldc)
	o.ref = make([]float64, tc.m*tc.n)
	o.abs = make([]float64, tc.m*tc.n)
	return makeOperandsFrom(tc, o)
}

func to32(s []float64) []float32 {
	d := make([]float32, len(s))
	for i, v := range s {
		d[i] = float32(v)
	}
	return d
}

// check runs Gemm[T] for one beta and compares with the reference:
// |got − want| ≤ 1e-6·(k+1)·(|alpha|·Σ|a||b| + |beta·c0|) elementwise (plus
// a tiny absolute term), with C's padding columns left untouched.
func check[T Float](t *testing.T, tc gemmCase, o *operands, beta float64) {
	t.Helper()
	conv := func(s []float64) []T {
		d := make([]T, len(s))
		for i, v := range s {
			d[i] = T(v)
		}
		return d
	}
	a, b := conv(o.a), conv(o.b)
	c := conv(o.c0)
	if beta == 0 {
		for i := 0; i < tc.m; i++ {
			for j := 0; j < tc.n; j++ {
				c[i*o.ldc+j] = T(math.NaN())
			}
		}
	}
	// The operands are rounded to T: the reference uses the same rounded
	// values through o (generated in float64, converted exactly once).
	Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, T(tc.alpha), a, o.lda, b, o.ldb, T(beta), c, o.ldc)
	tol := 1e-6 * float64(tc.k+1)
	bad := 0
	for i := 0; i < tc.m; i++ {
		for j := 0; j < o.ldc; j++ {
			got := float64(c[i*o.ldc+j])
			if j >= tc.n {
				if got != float64(T(o.c0[i*o.ldc+j])) {
					t.Fatalf("C padding (%d,%d) changed: %v", i, j, got)
				}
				continue
			}
			c0 := float64(T(o.c0[i*o.ldc+j]))
			want := tc.alpha * o.ref[i*tc.n+j]
			scale := math.Abs(tc.alpha) * o.abs[i*tc.n+j]
			if beta != 0 {
				want += beta * c0
				scale += math.Abs(beta * c0)
			}
			if d := math.Abs(got - want); !(d <= tol*scale+1e-30) {
				if bad++; bad <= 3 {
					t.Errorf("beta=%g C(%d,%d) = %v, want %v (err %.3g, bound %.3g)", beta, i, j, got, want, d, tol*scale)
				}
			}
		}
	}
	if bad > 0 {
		t.Fatalf("beta=%g: %d wrong elements", beta, bad)
	}
}

// gemmCases covers every layout with edge sizes (not multiples of 4, 6, 12,
// 16, 32), k across the K block (256), padded strides and alpha ≠ 1, plus
// random shapes.
func gemmCases() []gemmCase {
	shapes := [][3]int{
		{1, 1, 1}, {1, 1, 7}, {2, 3, 4}, {12, 32, 256}, {13, 33, 257}, {11, 31, 5},
		{24, 64, 8}, {7, 5, 300}, {25, 47, 513}, {37, 86, 43}, {1, 100, 50}, {100, 1, 50},
		{5, 300, 3}, {36, 290, 20}, {6, 16, 1}, {18, 48, 2},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 8 {
		shapes = append(shapes, [3]int{1 + rng.IntN(70), 1 + rng.IntN(90), 1 + rng.IntN(600)})
	}
	var cases []gemmCase
	for si, s := range shapes {
		for l := range 4 {
			cases = append(cases, gemmCase{
				transA: l&2 != 0, transB: l&1 != 0,
				m: s[0], n: s[1], k: s[2],
				pad:   (si + l) % 3 * 3,
				alpha: []float64{1, -0.75, 2.5}[(si+l)%3],
			})
		}
	}
	return cases
}

// kernelNames are every float32 path; tests skip those the CPU lacks.
var kernelNames = []string{"avx512", "avx2", "generic"}

// useKernel selects a kernel for the test and restores the previous one.
func useKernel(t testing.TB, name string) {
	prev := KernelName()
	if !setKernel(name) {
		t.Skipf("CPU lacks the %s GEMM path", name)
	}
	t.Cleanup(func() { setKernel(prev) })
}

// useThreads forces the threaded path (with procs threads) or the
// single-thread path (procs == 1) and restores the settings.
func useThreads(t testing.TB, procs int) {
	prevP, prevT := runtime.GOMAXPROCS(procs), parallelThreshold
	if procs > 1 {
		parallelThreshold = 0
	}
	t.Cleanup(func() { runtime.GOMAXPROCS(prevP); parallelThreshold = prevT })
}

func TestGemmFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cases := gemmCases()
	ops := make([]*operands, len(cases))
	for i, tc := range cases {
		// Round the inputs to float32 once so both sides see the same values.
		o := makeOperands(tc, rng)
		for _, s := range [][]float64{o.a, o.b, o.c0} {
			for j, v := range s {
				s[j] = float64(float32(v))
			}
		}
		ops[i] = makeOperandsFrom(tc, o)
	}
	for _, name := range kernelNames {
		for _, procs := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%s/threads%d", name, procs), func(t *testing.T) {
				useKernel(t, name)
				useThreads(t, procs)
				for i, tc := range cases {
					t.Run(tc.String(), func(t *testing.T) {
						for _, beta := range []float64{0, 1, 0.5} {
							check[float32](t, tc, ops[i], beta)
						}
					})
				}
			})
		}
	}
}

// makeOperandsFrom recomputes the reference of o's (already rounded)
// inputs.
func makeOperandsFrom(tc gemmCase, o *operands) *operands {
	for i := 0; i < tc.m; i++ {
		for j := 0; j < tc.n; j++ {
			var s, sa float64
			for p := 0; p < tc.k; p++ {
				var av, bv float64
				if tc.transA {
					av = o.a[p*o.lda+i]
				} else {
					av = o.a[i*o.lda+p]
				}
				if tc.transB {
					bv = o.b[j*o.ldb+p]
				} else {
					bv = o.b[p*o.ldb+j]
				}
				s += av * bv
				sa += math.Abs(av * bv)
			}
			o.ref[i*tc.n+j], o.abs[i*tc.n+j] = s, sa
		}
	}
	return o
}

func TestGemmFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range gemmCases() {
		o := makeOperands(tc, rng)
		t.Run(tc.String(), func(t *testing.T) {
			for _, beta := range []float64{0, 1, 0.5} {
				check[float64](t, tc, o, beta)
			}
		})
	}
}

// myFloat checks that named float types take the same paths.
type myFloat float32

func TestGemmNamedType(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	tc := gemmCase{m: 30, n: 40, k: 50, pad: 1, alpha: 1}
	o := makeOperands(tc, rng)
	for _, s := range [][]float64{o.a, o.b, o.c0} {
		for j, v := range s {
			s[j] = float64(float32(v))
		}
	}
	check[myFloat](t, tc, makeOperandsFrom(tc, o), 0.5)
}

// TestGemmNaNPropagates: a NaN or Inf in B must reach C even when the
// matching A values are 0 (no skipped terms), on every path.
func TestGemmNaNPropagates(t *testing.T) {
	for _, name := range kernelNames {
		t.Run(name, func(t *testing.T) {
			useKernel(t, name)
			for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				const m, n, k = 13, 35, 20
				a := make([]float32, m*k) // all zero
				b := make([]float32, k*n)
				if tr[1] {
					b[7*k+3] = float32(math.NaN()) // op(B)(3,7)
				} else {
					b[3*n+7] = float32(math.NaN())
				}
				c := make([]float32, m*n)
				lda, ldb := k, n
				if tr[0] {
					lda = m
				}
				if tr[1] {
					ldb = k
				}
				Gemm(tr[0], tr[1], m, n, k, 1, a, lda, b, ldb, 0, c, n)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						if got := c[i*n+j]; (j == 7) != math.IsNaN(float64(got)) {
							t.Fatalf("trans=%v C(%d,%d) = %v", tr, i, j, got)
						}
					}
				}
				c64 := make([]float64, m*n)
				a64, b64 := make([]float64, len(a)), make([]float64, len(b))
				for i, v := range b {
					b64[i] = float64(v)
				}
				Gemm(tr[0], tr[1], m, n, k, 1, a64, lda, b64, ldb, 0, c64, n)
				if !math.IsNaN(c64[7]) || math.IsNaN(c64[6]) {
					t.Fatalf("float64 trans=%v: NaN not propagated exactly", tr)
				}
			}
		})
	}
}

func TestGemmDegenerate(t *testing.T) {
	c := []float32{1, 2, 3, 4}
	Gemm(false, false, 2, 2, 0, 1, nil, 0, nil, 2, 0.5, c, 2)
	if c[0] != 0.5 || c[3] != 2 {
		t.Fatalf("k=0 beta=0.5: %v", c)
	}
	Gemm(false, false, 2, 2, 3, 0, make([]float32, 6), 3, make([]float32, 6), 2, 0, c, 2)
	if c[0] != 0 || c[3] != 0 {
		t.Fatalf("alpha=0 beta=0: %v", c)
	}
	Gemm[float32](false, false, 0, 5, 3, 1, nil, 3, make([]float32, 15), 5, 0, nil, 5)
	Gemm[float32](true, true, 4, 0, 3, 1, make([]float32, 12), 4, nil, 3, 0, nil, 1)
}

func TestGemmBadArgsPanic(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("short C did not panic")
		}
	}()
	Gemm(false, false, 4, 4, 4, 1, make([]float32, 16), 4, make([]float32, 16), 4, 0, make([]float32, 15), 4)
}

func TestMatMul(t *testing.T) {
	a, b := New[float32](3, 5), New[float32](5, 4)
	for i := range a.Data {
		a.Data[i] = float32(i)
	}
	for i := range b.Data {
		b.Data[i] = float32(i % 7)
	}
	c := New[float32](3, 4)
	MatMul(c, a, b, false, false, 0)
	for i := 0; i < 3; i++ {
		for j := 0; j < 4; j++ {
			var s float32
			for p := 0; p < 5; p++ {
				s += a.At(i, p) * b.At(p, j)
			}
			if c.At(i, j) != s {
				t.Fatalf("C(%d,%d) = %v, want %v", i, j, c.At(i, j), s)
			}
		}
	}
}

// TestGemmConcurrent runs threaded-size GEMMs from several goroutines at
// once: one gets the pool, the others run single-threaded.
func TestGemmConcurrent(t *testing.T) {
	useThreads(t, 2)
	parallelThreshold = parallelMinFlops
	const m, n, k = 200, 150, 300
	rng := rand.New(rand.NewPCG(9, 10))
	tc := gemmCase{m: m, n: n, k: k, alpha: 1}
	o := makeOperands(tc, rng)
	for _, s := range [][]float64{o.a, o.b, o.c0} {
		for j, v := range s {
			s[j] = float64(float32(v))
		}
	}
	o = makeOperandsFrom(tc, o)
	a, b := to32(o.a), to32(o.b)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := make([]float32, m*n)
			for range 5 {
				Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
				for i, v := range c {
					if d := math.Abs(float64(v) - o.ref[i]); d > 1e-6*(k+1)*o.abs[i] {
						errs <- fmt.Sprintf("C[%d] = %v, want %v", i, v, o.ref[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func TestGemmNoAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, name := range kernelNames {
		for _, sz := range [][3]int{{64, 64, 64}, {512, 256, 256}} {
			for _, procs := range []int{1, 2} {
				t.Run(fmt.Sprintf("%s/%dx%dx%d/threads%d", name, sz[0], sz[1], sz[2], procs), func(t *testing.T) {
					useKernel(t, name)
					useThreads(t, procs)
					parallelThreshold = parallelMinFlops
					m, n, k := sz[0], sz[1], sz[2]
					a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
					for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}} {
						lda, ldb := k, n
						if tr[0] {
							lda = m
						}
						if tr[1] {
							ldb = k
						}
						allocs := testing.AllocsPerRun(5, func() {
							Gemm(tr[0], tr[1], m, n, k, 1, a, lda, b, ldb, 0, c, n)
						})
						if allocs != 0 {
							t.Errorf("trans=%v: %v allocations per call", tr, allocs)
						}
					}
				})
			}
		}
	}
}
