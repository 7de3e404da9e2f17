package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// bf16Kernels are the bf16 kernels this CPU runs (the generic one always).
func bf16Kernels() []*bf16Kernel {
	ks := []*bf16Kernel{bf16Generic}
	if hasBF16Asm {
		ks = append(ks, bf16Active)
	}
	return ks
}

func useBF16Kernel(t testing.TB, k *bf16Kernel) {
	prev := bf16Active
	bf16Active = k
	t.Cleanup(func() { bf16Active = prev })
}

func TestRoundBF16(t *testing.T) {
	nan := math.Float32frombits(0x7fa00001) // signalling NaN with low payload
	cases := []struct {
		name string
		in   uint32 // float32 bits
		want uint16
	}{
		{"one", 0x3f800000, 0x3f80},
		{"minus zero", 0x80000000, 0x8000},
		{"below half ulp", 0x3f807fff, 0x3f80},
		{"tie to even (down)", 0x3f808000, 0x3f80},
		{"tie to even (up)", 0x3f818000, 0x3f82},
		{"above half ulp", 0x3f808001, 0x3f81},
		{"carry into exponent", 0x3fffffff, 0x4000},
		{"denormal to zero", 0x00000001, 0x0000},
		{"negative denormal to minus zero", 0x807fffff, 0x8000},
		{"smallest normal", 0x00800000, 0x0080},
		{"max float to inf", 0x7f7fffff, 0x7f80},
		{"inf", 0x7f800000, 0x7f80},
		{"minus inf", 0xff800000, 0xff80},
		{"nan quieted", math.Float32bits(nan), 0x7fe0},
		{"negative quiet nan", 0xffc00000, 0xffc0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := RoundBF16(math.Float32frombits(c.in)); got != c.want {
				t.Fatalf("RoundBF16(%#08x) = %#04x, want %#04x", c.in, got, c.want)
			}
		})
	}
}

// TestRoundBF16Nearest checks, in float64, that the result is a nearest
// bf16 (and the even one on ties) for random finite normal values.
func TestRoundBF16Nearest(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for it := 0; it < 100000; it++ {
		u := rng.Uint32()
		x := math.Float32frombits(u)
		if e := u & 0x7f800000; e == 0 || e == 0x7f800000 {
			continue
		}
		h := RoundBF16(x)
		got := float64(BF16ToFloat32(h))
		lo := float64(math.Float32frombits(u &^ 0xffff))
		hiBits := (u &^ 0xffff) + 0x10000
		hi := float64(math.Float32frombits(hiBits))
		if math.IsInf(hi, 0) {
			continue // x rounds past the largest bf16; covered by the table
		}
		dlo, dhi := math.Abs(float64(x)-lo), math.Abs(hi-float64(x))
		want := lo
		if dhi < dlo || (dhi == dlo && (hiBits>>16)&1 == 0) {
			want = hi
		}
		if got != want {
			t.Fatalf("RoundBF16(%g) = %g, want %g", x, got, want)
		}
	}
}

// bfRound is x rounded to bf16, as float64.
func bfRound(x float32) float64 { return float64(BF16ToFloat32(RoundBF16(x))) }

type bfCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
}

var bfCases = []bfCase{
	{false, false, 1, 1, 1, 1, 0},
	{false, false, 1, 1, 2, 1, 0},
	{false, false, 12, 32, 8, 1, 0},
	{false, false, 13, 33, 7, 1, 0},
	{false, false, 25, 65, 9, 0.5, 1},
	{false, false, 7, 3, 5, -2, 0.25},
	{true, false, 17, 40, 31, 1, 0},
	{false, true, 29, 37, 41, 1, 1},
	{true, true, 11, 45, 13, 1.5, -1},
	{false, false, 24, 64, 1, 1, 0},
	{false, false, 36, 300, 513, 1, 0},  // K > one block (512), N > one block
	{true, false, 40, 70, 1031, 1, 0.5}, // K odd over three blocks
	{false, true, 50, 33, 600, 1, 0},
}

// bfAt is op(X)(r, q) for X with row stride ld.
func bfAt(x []float32, trans bool, ld, r, q int) float32 {
	if trans {
		return x[q*ld+r]
	}
	return x[r*ld+q]
}

// bfRef is the float64 reference of the bf16-rounded inputs.
func bfRef(c bfCase, a []float32, lda int, b []float32, ldb int, c0 []float32, ldc int) []float64 {
	out := make([]float64, c.m*c.n)
	for i := 0; i < c.m; i++ {
		for j := 0; j < c.n; j++ {
			s := 0.0
			for p := 0; p < c.k; p++ {
				s += bfRound(bfAt(a, c.transA, lda, i, p)) * bfRound(bfAt(b, c.transB, ldb, p, j))
			}
			out[i*c.n+j] = float64(c.alpha)*s + float64(c.beta)*float64(c0[i*ldc+j])
		}
	}
	return out
}

// bfAbsSum is Σ|a||b| per element (the float32 accumulation error scale).
func bfAbsSum(c bfCase, a []float32, lda int, b []float32, ldb int, i, j int) float64 {
	s := 0.0
	for p := 0; p < c.k; p++ {
		s += math.Abs(bfRound(bfAt(a, c.transA, lda, i, p)) * bfRound(bfAt(b, c.transB, ldb, p, j)))
	}
	return s
}

func randVals(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

func TestGemmBF16(t *testing.T) {
	for _, kn := range bf16Kernels() {
		for _, c := range bfCases {
			name := fmt.Sprintf("%s/tA=%v,tB=%v,%dx%dx%d,a=%g,b=%g", kn.name, c.transA, c.transB, c.m, c.n, c.k, c.alpha, c.beta)
			t.Run(name, func(t *testing.T) {
				useBF16Kernel(t, kn)
				rng := rand.New(rand.NewPCG(uint64(c.m), uint64(c.k)))
				lda, ldb, ldc := c.k+3, c.n+1, c.n+2
				ar, br := c.m, c.k
				if c.transA {
					lda, ar = c.m+1, c.k
				}
				if c.transB {
					ldb, br = c.k+5, c.n
				}
				a, b := randVals(rng, ar*lda), randVals(rng, br*ldb)
				cm := randVals(rng, c.m*ldc)
				if c.beta == 0 {
					for i := range cm {
						cm[i] = float32(math.NaN()) // must not be read
					}
				}
				want := bfRef(c, a, lda, b, ldb, cm, ldc)
				GemmBF16(c.transA, c.transB, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, cm, ldc)
				for i := 0; i < c.m; i++ {
					for j := 0; j < c.n; j++ {
						got := float64(cm[i*ldc+j])
						w := want[i*c.n+j]
						scale := math.Abs(float64(c.alpha))*bfAbsSum(c, a, lda, b, ldb, i, j) + math.Abs(w)
						tol := float64(c.k+4) * 0x1p-24 * scale
						if math.Abs(got-w) > tol {
							t.Fatalf("C(%d,%d) = %g, want %g (tol %g)", i, j, got, w, tol)
						}
					}
				}
			})
		}
	}
}

// TestGemmBF16RoundsInputs: with exactly representable inputs whose
// unrounded product differs, the result is the product of the bf16 values
// (a float32 GEMM would give a different answer).
func TestGemmBF16RoundsInputs(t *testing.T) {
	for _, kn := range bf16Kernels() {
		t.Run(kn.name, func(t *testing.T) {
			useBF16Kernel(t, kn)
			a := []float32{1 + 0x1p-8, 3} // 1+2⁻⁸ is a tie: rounds to 1
			b := []float32{1 + 0x1p-7 + 0x1p-9, 1}
			c := []float32{0}
			GemmBF16(false, false, 1, 1, 2, 1, a, 2, b, 1, 0, c, 1)
			want := float32(1*(1+0x1p-7) + 3)
			if c[0] != want {
				t.Fatalf("got %v, want %v", c[0], want)
			}
		})
	}
}

// TestGemmBF16Packed: a packed A serves sub-products A[0:m, k0:k0+k]
// (row prefixes, even column offsets, odd k), as the MLP's blocks use it.
func TestGemmBF16Packed(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const M, K = 37, 70
	for _, transA := range []bool{false, true} {
		lda := K
		if transA {
			lda = M
		}
		a := randVals(rng, M*K)
		var pa BF16Mat
		pa.Pack(transA, M, K, a, lda)
		for _, kn := range bf16Kernels() {
			for _, s := range []struct{ m, n, k0, k int }{{M, 20, 0, K}, {13, 33, 32, 32}, {25, 5, 2, 31}, {1, 1, 68, 2}, {36, 40, 0, 7}} {
				t.Run(fmt.Sprintf("%s/tA=%v/%v", kn.name, transA, s), func(t *testing.T) {
					useBF16Kernel(t, kn)
					b := randVals(rng, s.k*s.n)
					c := make([]float32, s.m*s.n)
					GemmBF16Packed(s.m, s.n, s.k0, s.k, 1, &pa, false, b, s.n, 0, c, s.n)
					// the same product on a copy of the sub-matrix
					sub := make([]float32, s.m*s.k)
					for i := 0; i < s.m; i++ {
						for p := 0; p < s.k; p++ {
							v := a[i*lda+s.k0+p]
							if transA {
								v = a[(s.k0+p)*lda+i]
							}
							sub[i*s.k+p] = v
						}
					}
					bc := bfCase{m: s.m, n: s.n, k: s.k, alpha: 1}
					want := bfRef(bc, sub, s.k, b, s.n, c, s.n)
					for i, w := range want {
						r, j := i/s.n, i%s.n
						tol := float64(s.k+4) * 0x1p-24 * bfAbsSum(bc, sub, s.k, b, s.n, r, j)
						if math.Abs(float64(c[i])-w) > tol {
							t.Fatalf("C[%d] = %g, want %g", i, c[i], w)
						}
					}
				})
			}
		}
	}
}

func TestGemmBF16BadShape(t *testing.T) {
	var pa BF16Mat
	pa.Pack(false, 4, 4, make([]float32, 16), 4)
	cases := []struct {
		name string
		f    func()
	}{
		{"short A", func() {
			GemmBF16(false, false, 4, 4, 4, 1, make([]float32, 15), 4, make([]float32, 16), 4, 0, make([]float32, 16), 4)
		}},
		{"small ldc", func() {
			GemmBF16(false, false, 4, 4, 4, 1, make([]float32, 16), 4, make([]float32, 16), 4, 0, make([]float32, 16), 3)
		}},
		{"odd k0", func() {
			GemmBF16Packed(4, 4, 1, 2, 1, &pa, false, make([]float32, 8), 4, 0, make([]float32, 16), 4)
		}},
		{"k past packed", func() {
			GemmBF16Packed(4, 4, 2, 3, 1, &pa, false, make([]float32, 12), 4, 0, make([]float32, 16), 4)
		}},
		{"rows past packed", func() {
			GemmBF16Packed(5, 4, 0, 4, 1, &pa, false, make([]float32, 16), 4, 0, make([]float32, 20), 4)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			c.f()
		})
	}
}
