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
