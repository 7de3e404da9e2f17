package flow

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/autonf/autonf/tensor"
)

func TestMaskBlocksMatchDense(t *testing.T) {
	for _, D := range []int{3, 8, 43} {
		for _, order := range [][]int{nil, reversed(D)} {
			masks := MADEMasks[float64](D, []int{64, 64}, 2, order)
			m := NewMLP[float64]("t.", []int{D, 64, 64, 2 * D}, ReLU, masks, rand.New(rand.NewPCG(1, uint64(D))))
			dense := NewMLP[float64]("t.", []int{D, 64, 64, 2 * D}, ReLU, nil, nil)
			for l := range m.W {
				copy(dense.W[l].Value, m.W[l].Value)
				copy(dense.B[l].Value, m.B[l].Value)
			}
			x := tensor.New[float64](5, D)
			for i := range x.Data {
				x.Data[i] = rand.NormFloat64()
			}
			a := m.Forward(m.NewWork(), x)
			b := dense.Forward(dense.NewWork(), x)
			for i := range a.Data {
				if math.Abs(a.Data[i]-b.Data[i]) > 1e-12 {
					t.Fatalf("D=%d: blocked forward %v, dense %v at %d", D, a.Data[i], b.Data[i], i)
				}
			}
			nb := 0
			for _, bs := range m.blocks {
				if bs != nil {
					nb++
				}
			}
			t.Logf("D=%d order %v: %d of %d layers blocked", D, order != nil, nb, len(m.blocks))
		}
	}
}

func reversed(D int) []int {
	o := make([]int, D)
	for i := range o {
		o[i] = D - 1 - i
	}
	return o
}

// TestMaskBlocksBackwardMatchesDense: the blocked backward pass gives the
// dense masked gradients (masked entries zero) and the same input gradient.
func TestMaskBlocksBackwardMatchesDense(t *testing.T) {
	for _, D := range []int{8, 43} {
		masks := MADEMasks[float64](D, []int{64, 64}, 2, nil)
		m := NewMLP[float64]("t.", []int{D, 64, 64, 2 * D}, ReLU, masks, rand.New(rand.NewPCG(2, uint64(D))))
		dense := NewMLP[float64]("t.", []int{D, 64, 64, 2 * D}, ReLU, nil, nil)
		for l := range m.W {
			copy(dense.W[l].Value, m.W[l].Value)
			copy(dense.B[l].Value, m.B[l].Value)
		}
		rng := rand.New(rand.NewPCG(3, 3))
		x := tensor.New[float64](9, D)
		g := tensor.New[float64](9, 2*D)
		for i := range x.Data {
			x.Data[i] = rng.NormFloat64()
		}
		for i := range g.Data {
			g.Data[i] = rng.NormFloat64()
		}
		dxa, dxb := tensor.New[float64](9, D), tensor.New[float64](9, D)
		wa, wb := m.NewWork(), dense.NewWork()
		m.Forward(wa, x)
		dense.Forward(wb, x)
		m.Backward(wa, g, dxa)
		dense.Backward(wb, g, dxb)
		for l := range m.W {
			for i, v := range dense.W[l].Grad {
				want := v * masks[l][i]
				if math.Abs(m.W[l].Grad[i]-want) > 1e-10 {
					t.Fatalf("D=%d layer %d: dW[%d] blocked %v, dense masked %v", D, l, i, m.W[l].Grad[i], want)
				}
			}
			for i, v := range dense.B[l].Grad {
				if math.Abs(m.B[l].Grad[i]-v) > 1e-10 {
					t.Fatalf("D=%d layer %d: dB[%d] differs", D, l, i)
				}
			}
		}
		for i := range dxa.Data {
			if math.Abs(dxa.Data[i]-dxb.Data[i]) > 1e-10 {
				t.Fatalf("D=%d: dx[%d] blocked %v, dense %v", D, i, dxa.Data[i], dxb.Data[i])
			}
		}
	}
}
