package flow

import (
	"errors"

	"github.com/autonf/autonf/tensor"
)

// Mixed precision (opt-in): an MLP with BF16 set runs its three GEMMs per
// layer — forward X·W, input gradient dY·Wᵀ and weight gradient Xᵀ·dY —
// with the operands rounded to bfloat16 and float32 accumulation
// (tensor.GemmBF16Packed). Everything else stays float32: the master
// weights and their gradients' storage, biases, activations, the
// transformers (affine, splines), log-determinants and the optimiser. Each
// layer's input (or output gradient) is rounded once and serves all the
// MADE column blocks.

// mlpBF16 is one workspace's packed bf16 operand.
type mlpBF16 struct{ a tensor.BF16Mat }

// ErrNoBF16 is returned by SetBF16 on a CPU without AVX512-BF16.
var ErrNoBF16 = errors.New("this CPU lacks AVX512-BF16 (tensor.HasBF16 is false): bf16 GEMMs would run on a slow emulation; train in float32")

// SetBF16 switches every conditioner MLP of f (the MADE networks of
// autoregressive layers and the coupling conditioners, inside chains too)
// to bf16 GEMMs with float32 accumulation, or back to float32, and returns
// how many MLPs it switched. Turning it on fails with ErrNoBF16 where the
// CPU lacks the instructions and for float64 flows.
func SetBF16[T Float](f *Flow[T], on bool) (int, error) {
	if on && !tensor.Is32[T]() {
		return 0, errors.New("flow.SetBF16: bf16 GEMMs are for float32 flows; this flow is float64")
	}
	if on && !tensor.HasBF16() {
		return 0, ErrNoBF16
	}
	n := 0
	var walk func(ls []Layer[T])
	walk = func(ls []Layer[T]) {
		for _, l := range ls {
			var m *MLP[T]
			switch v := l.(type) {
			case *Chain[T]:
				walk(v.Layers)
				continue
			case interface{ MADE() *MLP[T] }:
				m = v.MADE()
			case interface{ Conditioner() *MLP[T] }:
				m = v.Conditioner()
			}
			if m != nil {
				m.BF16 = on
				n++
			}
		}
	}
	walk(f.Layers)
	return n, nil
}

// bf16Of returns w's packed operand when layer GEMMs run in bf16.
func (m *MLP[T]) bf16Of(w *MLPWork[T]) *mlpBF16 {
	if !m.BF16 || !tensor.Is32[T]() {
		return nil
	}
	if w.bf == nil {
		w.bf = new(mlpBF16)
	}
	return w.bf
}

func f32s[T Float](v []T) []float32 {
	s, _ := tensor.As32(v)
	return s
}

// forwardBF16 sets dst = in·W[l] in bf16 (the bias is added after, as on
// the float32 path) and reports whether it did (false: the float32 path
// must run).
func (m *MLP[T]) forwardBF16(w *MLPWork[T], l int, in, dst *Mat[T]) bool {
	bf := m.bf16Of(w)
	if bf == nil || in.Rows == 0 {
		return false
	}
	nIn, nOut := m.Sizes[l], m.Sizes[l+1]
	bf.a.Pack(false, in.Rows, nIn, f32s(in.Data), nIn)
	wv, d := f32s(m.W[l].Value), f32s(dst.Data)
	if bs := m.blocks[l]; bs != nil {
		for _, b := range bs {
			if b.k > 0 {
				tensor.GemmBF16Packed(in.Rows, b.n1-b.n0, 0, b.k, 1, &bf.a, false, wv[b.n0:], nOut, 0, d[b.n0:], nOut)
				continue
			}
			clearCols(d, in.Rows, nOut, b.n0, b.n1)
		}
		return true
	}
	tensor.GemmBF16Packed(in.Rows, nOut, 0, nIn, 1, &bf.a, false, wv, nOut, 0, d, nOut)
	return true
}

// weightGradBF16 adds inᵀ·g into dw in bf16 and reports whether it did.
func (m *MLP[T]) weightGradBF16(w *MLPWork[T], l int, in, g *Mat[T], dw []T) bool {
	bf := m.bf16Of(w)
	rows := g.Rows
	if bf == nil || rows == 0 {
		return false
	}
	nIn, nOut := m.Sizes[l], m.Sizes[l+1]
	bf.a.Pack(true, nIn, rows, f32s(in.Data), nIn)
	gd, dw32 := f32s(g.Data), f32s(dw)
	if bs := m.blocks[l]; bs != nil {
		for _, b := range bs {
			if b.k > 0 {
				tensor.GemmBF16Packed(b.k, b.n1-b.n0, 0, rows, 1, &bf.a, false, gd[b.n0:], nOut, 1, dw32[b.n0:], nOut)
			}
		}
		return true
	}
	tensor.GemmBF16Packed(nIn, nOut, 0, rows, 1, &bf.a, false, gd, nOut, 1, dw32, nOut)
	return true
}

// inputGradBF16 sets dst = g·W[l]ᵀ in bf16 and reports whether it did.
// With MADE blocks it runs one product per 32 columns of dst instead of one
// per block of g: dst[:, i0:i1] needs only the columns of g whose blocks
// read inputs ≥ i0, a contiguous range when the blocks' input prefixes are
// monotone (sorted degrees); masked weights in the range are zero, so any
// range that covers those blocks is exact. This keeps K long (the
// micro-kernel's C traffic amortised) where per-block products have K = 32.
func (m *MLP[T]) inputGradBF16(w *MLPWork[T], l int, g, dst *Mat[T]) bool {
	bf := m.bf16Of(w)
	rows := g.Rows
	if bf == nil || rows == 0 {
		return false
	}
	nIn, nOut := m.Sizes[l], m.Sizes[l+1]
	bf.a.Pack(false, rows, nOut, f32s(g.Data), nOut)
	wv, d := f32s(m.W[l].Value), f32s(dst.Data)
	bs := m.blocks[l]
	if bs == nil {
		tensor.GemmBF16Packed(rows, nIn, 0, nOut, 1, &bf.a, true, wv, nOut, 0, d, nIn)
		return true
	}
	for i0 := 0; i0 < nIn; i0 += blockWidth {
		i1 := min(i0+blockWidth, nIn)
		lo, hi := nOut, 0
		for _, b := range bs {
			if b.k > i0 {
				lo, hi = min(lo, b.n0), max(hi, b.n1)
			}
		}
		if lo >= hi {
			clearCols(d, rows, nIn, i0, i1)
			continue
		}
		tensor.GemmBF16Packed(rows, i1-i0, lo, hi-lo, 1, &bf.a, true, wv[i0*nOut+lo:], nOut, 0, d[i0:], nIn)
	}
	return true
}
