package flow

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/autonf/autonf/tensor"
)

// Activation names a hidden-layer nonlinearity. Each one's derivative is a
// function of its output, so activations are applied in place.
type Activation string

// Supported activations.
const (
	ReLU Activation = "relu"
	Tanh Activation = "tanh"
	ELU  Activation = "elu"
)

// ParseActivation validates a name; "" means ReLU.
func ParseActivation(s string) (Activation, error) {
	switch Activation(s) {
	case "", ReLU:
		return ReLU, nil
	case Tanh, ELU:
		return Activation(s), nil
	}
	return "", fmt.Errorf("activation %q is unknown (want relu, tanh or elu)", s)
}

// MLP is a fully connected network sizes[0] → … → sizes[L] with an
// activation after every layer but the last. Weights are stored in×out so
// the forward pass is X·W (GEMM NN), the input gradient dY·Wᵀ (NT) and the
// weight gradient Xᵀ·dY (TN). Optional 0/1 masks (MADE) zero connections:
// masked weights stay zero because their gradients are masked too.
type MLP[T Float] struct {
	Sizes []int
	Act   Activation
	W, B  []*Param[T]
	Masks [][]T // nil, or one in×out mask per layer
	BF16  bool  // GEMMs in bf16 with float32 accumulation (float32 only; see SetBF16)

	// blocks[l], when set, splits layer l's output columns into blocks
	// whose allowed inputs lie within a prefix of the input units (MADE
	// masks with sorted degrees): each block multiplies only that prefix,
	// skipping weights that the mask keeps at zero.
	blocks [][]colBlock
	// maskedRuns[l] lists the masked weights inside layer l's blocks (the
	// weight-gradient GEMMs write them; the rest stay zero) as runs of the
	// flat in×out index, which Backward clears instead of multiplying the
	// whole gradient by the mask.
	maskedRuns [][]span
}

// span is elements [off, off+n) of a flat buffer.
type span struct{ off, n int }

// maskedRuns lists the runs of zeros of mask inside the blocks' rows
// [0, k) and columns [n0, n1).
func maskedRuns[T Float](mask []T, out int, bs []colBlock) []span {
	var runs []span
	for _, b := range bs {
		for i := 0; i < b.k; i++ {
			row := mask[i*out : (i+1)*out]
			for j := b.n0; j < b.n1; {
				if row[j] != 0 {
					j++
					continue
				}
				j0 := j
				for j < b.n1 && row[j] == 0 {
					j++
				}
				runs = append(runs, span{i*out + j0, j - j0})
			}
		}
	}
	return runs
}

// colBlock is columns [n0, n1) of a layer, whose non-zero weights all lie
// in input rows [0, k).
type colBlock struct{ n0, n1, k int }

// blockWidth is the column width of a block: the GEMM kernels' tile width.
const blockWidth = 32

// maskBlocks finds, for an in×out mask, column blocks with input prefixes;
// it returns nil when they would save less than a fifth of the work.
func maskBlocks[T Float](mask []T, in, out int) []colBlock {
	kEnd := make([]int, out)
	for i := 0; i < in; i++ {
		for j := 0; j < out; j++ {
			if mask[i*out+j] != 0 {
				kEnd[j] = i + 1
			}
		}
	}
	var bs []colBlock
	work := 0
	for n0 := 0; n0 < out; n0 += blockWidth {
		n1 := min(n0+blockWidth, out)
		k := 0
		for j := n0; j < n1; j++ {
			k = max(k, kEnd[j])
		}
		bs = append(bs, colBlock{n0, n1, k})
		work += k * (n1 - n0)
	}
	if 5*work > 4*in*out {
		return nil
	}
	return bs
}

// NewMLP builds an MLP with PyTorch's default initialisation
// (U(±1/√fan_in) for weights and biases); prefix names its parameters.
// rng may be nil (weights are then left at zero, to be loaded).
func NewMLP[T Float](prefix string, sizes []int, act Activation, masks [][]T, rng *rand.Rand) *MLP[T] {
	m := &MLP[T]{Sizes: sizes, Act: act, Masks: masks}
	for l := 0; l+1 < len(sizes); l++ {
		in, out := sizes[l], sizes[l+1]
		w := NewParam[T](fmt.Sprintf("%sw%d", prefix, l), in, out)
		b := NewParam[T](fmt.Sprintf("%sb%d", prefix, l), out)
		if rng != nil {
			bound := 1 / math.Sqrt(float64(in))
			for i := range w.Value {
				w.Value[i] = T((2*rng.Float64() - 1) * bound)
			}
			for i := range b.Value {
				b.Value[i] = T((2*rng.Float64() - 1) * bound)
			}
		}
		var bs []colBlock
		var runs []span
		if masks != nil {
			for i, mk := range masks[l] {
				w.Value[i] *= mk
			}
			w.Mask = masks[l]
			bs = maskBlocks(masks[l], in, out)
			runs = maskedRuns(masks[l], out, bs)
		}
		m.blocks = append(m.blocks, bs)
		m.maskedRuns = append(m.maskedRuns, runs)
		m.W = append(m.W, w)
		m.B = append(m.B, b)
	}
	return m
}

// Params returns weights and biases, layer by layer.
func (m *MLP[T]) Params() []*Param[T] {
	ps := make([]*Param[T], 0, 2*len(m.W))
	for l := range m.W {
		ps = append(ps, m.W[l], m.B[l])
	}
	return ps
}

// FLOPs is the forward multiply-add count per row, times two.
func (m *MLP[T]) FLOPs() float64 {
	f := 0.0
	for l := 0; l+1 < len(m.Sizes); l++ {
		f += 2 * float64(m.Sizes[l]*m.Sizes[l+1])
	}
	return f
}

// TrainFLOPs is the floating-point work of one forward and backward pass
// over rows rows, without the gradient with respect to the input (as a
// flow's first layer runs it): executed counts the products the MLP
// computes (masked column blocks skipped), dense the same products of full
// weight matrices. Elementwise work is not counted.
func (m *MLP[T]) TrainFLOPs(rows int) (executed, dense float64) {
	for l := 0; l+1 < len(m.Sizes); l++ {
		in, out := m.Sizes[l], m.Sizes[l+1]
		d := 2 * float64(rows) * float64(in*out)
		e := d
		if bs := m.blocks[l]; bs != nil {
			e = 0
			for _, b := range bs {
				e += 2 * float64(rows) * float64(b.k*(b.n1-b.n0))
			}
		}
		passes := 2.0 // forward and weight gradient
		if l > 0 {
			passes = 3 // and the gradient of the layer's input
		}
		executed += passes * e
		dense += passes * d
	}
	return executed, dense
}

// NumParams counts weights and biases (masked weights excluded).
func (m *MLP[T]) NumParams() int {
	n := 0
	for l, w := range m.W {
		if m.Masks != nil {
			for _, v := range m.Masks[l] {
				if v != 0 {
					n++
				}
			}
		} else {
			n += len(w.Value)
		}
		n += len(m.B[l].Value)
	}
	return n
}

// MLPWork holds one application's activations.
type MLPWork[T Float] struct {
	x      *Mat[T]
	hidden []*Mat[T] // post-activation outputs of the hidden layers
	out    *Mat[T]
	g1, g2 *Mat[T] // backward ping-pong buffers
	grads  gradSet[T]
	bf     *mlpBF16 // bf16 operand (mlp_bf16.go)
}

// NewWork allocates an empty workspace.
func (m *MLP[T]) NewWork() *MLPWork[T] { return m.NewWorkGrads(nil) }

// NewWorkGrads allocates a workspace whose Backward adds the gradients
// into grads (parallel to Params) instead of the Params' Grad (nil: those).
func (m *MLP[T]) NewWorkGrads(grads [][]T) *MLPWork[T] {
	w := &MLPWork[T]{out: &Mat[T]{}, g1: &Mat[T]{}, g2: &Mat[T]{}, grads: bindGrads(m.Params(), grads)}
	for l := 0; l+2 < len(m.Sizes); l++ {
		w.hidden = append(w.hidden, &Mat[T]{})
	}
	return w
}

// Forward computes the network on x (B×Sizes[0]); the result (B×Sizes[L])
// is owned by w and valid until the next Forward on w. x is kept for
// Backward and must not change before it.
func (m *MLP[T]) Forward(w *MLPWork[T], x *Mat[T]) *Mat[T] {
	w.x = x
	in := x
	L := len(m.W)
	for l := 0; l < L; l++ {
		dst := w.out
		if l < L-1 {
			dst = w.hidden[l]
		}
		nIn, nOut := m.Sizes[l], m.Sizes[l+1]
		dst.Resize(in.Rows, nOut)
		if m.forwardBF16(w, l, in, dst) { // done in bf16
		} else if bs := m.blocks[l]; bs != nil {
			for _, b := range bs {
				if b.k > 0 {
					tensor.Gemm(false, false, in.Rows, b.n1-b.n0, b.k, 1, in.Data, nIn, m.W[l].Value[b.n0:], nOut, 0, dst.Data[b.n0:], nOut)
					continue
				}
				clearCols(dst.Data, in.Rows, nOut, b.n0, b.n1)
			}
		} else {
			tensor.Gemm(false, false, in.Rows, nOut, nIn, 1, in.Data, nIn, m.W[l].Value, nOut, 0, dst.Data, nOut)
		}
		// The bias (and a ReLU) in one pass over the product: the same sums
		// as a GEMM accumulating onto the bias, for K up to one K block.
		relu := l < L-1 && m.Act != Tanh && m.Act != ELU
		b := m.B[l].Value
		for r := 0; r < in.Rows; r++ {
			addBias(dst.Data[r*nOut:(r+1)*nOut], b, relu)
		}
		if l < L-1 && !relu {
			activate(m.Act, dst.Data[:dst.Rows*nOut])
		}
		in = dst
	}
	return w.out
}

// Backward takes dL/d(output) and adds the parameter gradients; it writes
// dL/dx into dx unless dx is nil. dout is not modified.
func (m *MLP[T]) Backward(w *MLPWork[T], dout *Mat[T], dx *Mat[T]) {
	g := dout
	rows := dout.Rows
	for l := len(m.W) - 1; l >= 0; l-- {
		nIn, nOut := m.Sizes[l], m.Sizes[l+1]
		in := w.x
		if l > 0 {
			in = w.hidden[l-1]
		}
		dw := w.grads.of(m.W[l])
		bs := m.blocks[l]
		if m.weightGradBF16(w, l, in, g, dw) { // done in bf16
		} else if bs != nil {
			for _, b := range bs {
				if b.k > 0 {
					tensor.Gemm(true, false, b.k, b.n1-b.n0, rows, 1, in.Data, nIn, g.Data[b.n0:], nOut, 1, dw[b.n0:], nOut)
				}
			}
		} else {
			tensor.Gemm(true, false, nIn, nOut, rows, 1, in.Data, nIn, g.Data, nOut, 1, dw, nOut)
		}
		switch {
		case bs != nil:
			for _, r := range m.maskedRuns[l] {
				clear(dw[r.off : r.off+r.n])
			}
		case m.Masks != nil:
			mulInto(dw, m.Masks[l])
		}
		db := w.grads.of(m.B[l])
		for r := 0; r < rows; r++ {
			addInto(db, g.Data[r*nOut:(r+1)*nOut])
		}
		if l == 0 && dx == nil {
			break
		}
		var dst *Mat[T]
		switch {
		case l == 0:
			dst = dx
		case g == w.g1:
			dst = w.g2
		default:
			dst = w.g1
		}
		dst.Resize(rows, nIn)
		if m.inputGradBF16(w, l, g, dst) { // done in bf16
		} else if bs != nil {
			// The block with the longest input prefix first, overwriting
			// (beta 0), so that only the columns beyond it need clearing.
			top := 0
			for i, b := range bs {
				if b.k > bs[top].k {
					top = i
				}
			}
			clearCols(dst.Data, rows, nIn, bs[top].k, nIn)
			for i := range bs {
				b := bs[(top+i)%len(bs)]
				if b.k > 0 {
					beta := T(1)
					if i == 0 {
						beta = 0
					}
					tensor.Gemm(false, true, rows, b.k, b.n1-b.n0, 1, g.Data[b.n0:], nOut, m.W[l].Value[b.n0:], nOut, beta, dst.Data, nIn)
				}
			}
		} else {
			tensor.Gemm(false, true, rows, nIn, nOut, 1, g.Data, nOut, m.W[l].Value, nOut, 0, dst.Data, nIn)
		}
		if l > 0 {
			activateGrad(m.Act, w.hidden[l-1].Data[:rows*nIn], dst.Data[:rows*nIn])
		}
		g = dst
	}
}

func activate[T Float](a Activation, v []T) {
	switch a {
	case Tanh:
		for i, x := range v {
			v[i] = T(math.Tanh(float64(x)))
		}
	case ELU:
		for i, x := range v {
			if x < 0 {
				v[i] = T(math.Expm1(float64(x)))
			}
		}
	default:
		if v32, ok := tensor.As32(v); ok {
			tensor.ReLU32(v32)
			return
		}
		for i, x := range v {
			v[i] = max(x, 0) // branchless: random signs defeat the branch predictor
		}
	}
}

// activateGrad multiplies g by the activation's derivative, given the
// activation's output y.
func activateGrad[T Float](a Activation, y, g []T) {
	switch a {
	case Tanh:
		for i, v := range y {
			g[i] *= 1 - v*v
		}
	case ELU:
		for i, v := range y {
			if v < 0 {
				g[i] *= v + 1
			}
		}
	default:
		if y32, ok := tensor.As32(y); ok {
			g32, _ := tensor.As32(g)
			tensor.ReLUGrad32(y32, g32)
			return
		}
		for i, v := range y {
			if v <= 0 {
				g[i] = 0
			}
		}
	}
}

// clearCols zeroes columns [c0, c1) of the first rows rows of a row-major
// matrix with leading dimension ld.
func clearCols[T Float](d []T, rows, ld, c0, c1 int) {
	if c0 >= c1 {
		return
	}
	for r := 0; r < rows; r++ {
		clear(d[r*ld+c0 : r*ld+c1])
	}
}

// addBias sets v += bias and then, when relu, v = max(v, 0) (SIMD for
// float32).
func addBias[T Float](v, bias []T, relu bool) {
	if v32, ok := tensor.As32(v); ok {
		b32, _ := tensor.As32(bias)
		tensor.BiasAdd32(v32, b32, relu)
		return
	}
	for i, b := range bias[:len(v)] {
		x := v[i] + b
		if relu {
			x = max(x, 0)
		}
		v[i] = x
	}
}

// addInto sets dst += src (SIMD for float32).
func addInto[T Float](dst, src []T) {
	if d32, ok := tensor.As32(dst); ok {
		s32, _ := tensor.As32(src)
		tensor.Add32(d32, s32)
		return
	}
	for j, v := range src[:len(dst)] {
		dst[j] += v
	}
}

// mulInto sets dst *= src element-wise (SIMD for float32).
func mulInto[T Float](dst, src []T) {
	if d32, ok := tensor.As32(dst); ok {
		s32, _ := tensor.As32(src)
		tensor.Mul32(d32, s32)
		return
	}
	for j, v := range src[:len(dst)] {
		dst[j] *= v
	}
}
