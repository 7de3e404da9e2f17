package flow

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/autonf/autonf/tensor"
)

// r16 is x rounded to bf16, in float64.
func r16(x float32) float64 { return float64(tensor.BF16ToFloat32(tensor.RoundBF16(x))) }

func randMat(rng *rand.Rand, rows, cols int) *Mat[float32] {
	m := tensor.New[float32](rows, cols)
	for i := range m.Data {
		m.Data[i] = float32(rng.NormFloat64())
	}
	return m
}

type bf16MLPCase struct {
	name   string
	sizes  []int
	masked bool // MADE masks (column blocks), D = sizes[0], P = sizes[L]/D
	order  []int
}

var bf16MLPCases = []bf16MLPCase{
	{"dense", []int{7, 33, 5}, false, nil},
	{"made natural", []int{10, 96, 70, 20}, true, nil},
	{"made reversed", []int{43, 256, 256, 86}, true, func() []int {
		o := make([]int, 43)
		for i := range o {
			o[i] = 42 - i
		}
		return o
	}()},
	{"made odd outputs", []int{9, 64, 45}, true, nil},
}

func newBF16TestMLP(c bf16MLPCase, rng *rand.Rand) *MLP[float32] {
	var masks [][]float32
	if c.masked {
		L := len(c.sizes) - 1
		masks = MADEMasks[float32](c.sizes[0], c.sizes[1:L], c.sizes[L]/c.sizes[0], c.order)
	}
	m := NewMLP[float32]("t.", c.sizes, ReLU, masks, rng)
	m.BF16 = true
	return m
}

// TestMLPBF16Layers checks each bf16 product of each layer against a
// float64 sum of the bf16-rounded operands (masked weights included, so
// the blocked products must skip only zeros): forward in·W (overwriting
// stale values; the bias is added after), weight gradient inᵀ·g (added to
// the gradient), input gradient g·Wᵀ.
func TestMLPBF16Layers(t *testing.T) {
	if !tensor.HasBF16() {
		t.Log("no AVX512-BF16: the hooks run on the generic bf16 kernel")
	}
	for _, c := range bf16MLPCases {
		for _, rows := range []int{1, 13, 100} {
			t.Run(fmt.Sprintf("%s/rows=%d", c.name, rows), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(rows), 9))
				m := newBF16TestMLP(c, rng)
				blocked := false
				for _, bs := range m.blocks {
					blocked = blocked || bs != nil
				}
				if blocked != c.masked {
					t.Fatalf("MADE column blocks: %v, want %v", blocked, c.masked)
				}
				w := m.NewWork()
				for l := range m.W {
					nIn, nOut := m.Sizes[l], m.Sizes[l+1]
					W := m.W[l].Value
					in, g := randMat(rng, rows, nIn), randMat(rng, rows, nOut)
					// forward, overwriting stale values (the bias is added after)
					dst := randMat(rng, rows, nOut)
					if !m.forwardBF16(w, l, in, dst) {
						t.Fatal("forwardBF16 declined")
					}
					for r := 0; r < rows; r++ {
						for j := 0; j < nOut; j++ {
							s, a := 0.0, 0.0
							for i := 0; i < nIn; i++ {
								p := r16(in.Data[r*nIn+i]) * r16(W[i*nOut+j])
								s, a = s+p, a+math.Abs(p)
							}
							check(t, "forward", l, r, j, float64(dst.Data[r*nOut+j]), s, a, nIn)
						}
					}
					// weight gradient, added to a non-zero gradient
					dw := make([]float32, nIn*nOut)
					for i := range dw {
						dw[i] = float32(rng.NormFloat64())
					}
					dw0 := append([]float32(nil), dw...)
					if !m.weightGradBF16(w, l, in, g, dw) {
						t.Fatal("weightGradBF16 declined")
					}
					for i := 0; i < nIn; i++ {
						for j := 0; j < nOut; j++ {
							if c.masked && m.Masks[l][i*nOut+j] == 0 {
								continue // masked: Backward clears these afterwards
							}
							s, a := float64(dw0[i*nOut+j]), math.Abs(float64(dw0[i*nOut+j]))
							for r := 0; r < rows; r++ {
								p := r16(in.Data[r*nIn+i]) * r16(g.Data[r*nOut+j])
								s, a = s+p, a+math.Abs(p)
							}
							check(t, "weight grad", l, i, j, float64(dw[i*nOut+j]), s, a, rows)
						}
					}
					// input gradient, overwriting stale values
					dx := randMat(rng, rows, nIn)
					if !m.inputGradBF16(w, l, g, dx) {
						t.Fatal("inputGradBF16 declined")
					}
					for r := 0; r < rows; r++ {
						for i := 0; i < nIn; i++ {
							s, a := 0.0, 0.0
							for j := 0; j < nOut; j++ {
								p := r16(g.Data[r*nOut+j]) * r16(W[i*nOut+j])
								s, a = s+p, a+math.Abs(p)
							}
							check(t, "input grad", l, r, i, float64(dx.Data[r*nIn+i]), s, a, nOut)
						}
					}
				}
			})
		}
	}
}

func check(t *testing.T, what string, l, i, j int, got, want, absSum float64, k int) {
	t.Helper()
	if tol := float64(k+4) * 0x1p-24 * (absSum + math.Abs(want)); math.Abs(got-want) > tol {
		t.Fatalf("%s layer %d (%d,%d): got %g, want %g (tol %g)", what, l, i, j, got, want, tol)
	}
}

// TestMLPBF16EndToEnd: a whole Forward/Backward in bf16 stays within bf16
// accuracy of the float32 one, masked weight gradients stay zero, and
// switching BF16 off gives the float32 results back exactly.
func TestMLPBF16EndToEnd(t *testing.T) {
	for _, c := range bf16MLPCases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			m := newBF16TestMLP(c, rng)
			x := randMat(rng, 64, c.sizes[0])
			dout := randMat(rng, 64, c.sizes[len(c.sizes)-1])
			run := func(bf bool) ([]float32, []float32, [][]float32) {
				m.BF16 = bf
				for _, p := range m.Params() {
					clear(p.Grad)
				}
				w := m.NewWork()
				out := append([]float32(nil), m.Forward(w, x).Data...)
				dx := &Mat[float32]{}
				m.Backward(w, dout, dx)
				var gs [][]float32
				for _, p := range m.Params() {
					gs = append(gs, append([]float32(nil), p.Grad...))
				}
				return out, append([]float32(nil), dx.Data...), gs
			}
			o32, dx32, g32 := run(false)
			o16, dx16, g16 := run(true)
			o32b, dx32b, g32b := run(false)
			near := func(what string, a, b []float32) {
				num, den := 0.0, 0.0
				for i := range a {
					d := float64(a[i] - b[i])
					num, den = num+d*d, den+float64(b[i])*float64(b[i])
				}
				// bf16 keeps 8 significant bits; ReLU units near zero can flip
				// gating, so the whole-network tolerance is loose: it catches
				// wiring errors (a wrong buffer, layer or block gives O(1)).
				if rel := math.Sqrt(num / math.Max(den, 1e-30)); rel > 0.15 {
					t.Fatalf("%s: bf16 relative error %g", what, rel)
				}
			}
			near("output", o16, o32)
			near("input gradient", dx16, dx32)
			for i := range g16 {
				near(fmt.Sprintf("gradient %d", i), g16[i], g32[i])
			}
			if c.masked {
				for l, mk := range m.Masks {
					for i, v := range mk {
						if v == 0 && g16[2*l][i] != 0 {
							t.Fatalf("masked weight gradient (%d, %d) = %g", l, i, g16[2*l][i])
						}
					}
				}
			}
			same := func(what string, a, b []float32) {
				for i := range a {
					if a[i] != b[i] {
						t.Fatalf("%s differs after switching bf16 off", what)
					}
				}
			}
			same("output", o32b, o32)
			same("input gradient", dx32b, dx32)
			for i := range g32 {
				same("gradient", g32b[i], g32[i])
			}
		})
	}
}

func TestSetBF16(t *testing.T) {
	spec := &Spec{Dim: 6, Layers: []LayerSpec{
		{Type: "maf", Hidden: []int{16}},
		{Type: "affine-coupling", Hidden: []int{16}, Mask: "even"},
		{Type: "reverse"},
		{Type: "nsf-ar", Hidden: []int{16}, Bins: 4},
	}}
	f, err := Build[float32](spec, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	n, err := SetBF16(f, true)
	if !tensor.HasBF16() {
		if err != ErrNoBF16 {
			t.Fatalf("SetBF16 without AVX512-BF16: err = %v, want ErrNoBF16", err)
		}
		return
	}
	if err != nil || n != 3 {
		t.Fatalf("SetBF16 = %d, %v; want 3 conditioners", n, err)
	}
	if _, err := SetBF16(f, false); err != nil {
		t.Fatal(err)
	}
	f64, err := Build[float64](spec, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SetBF16(f64, true); err == nil {
		t.Fatal("SetBF16 on a float64 flow: no error")
	}
}
