package flow

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/autonf/autonf/tensor"
)

func init() {
	RegisterType(LayerType{Name: "reverse", Fields: []string{}}, newReverseFromSpec[float32], newReverseFromSpec[float64])
	RegisterType(LayerType{Name: "permutation", Fields: []string{"perm", "seed"}, Example: LayerSpec{Type: "permutation", Seed: 3}},
		newPermutationFromSpec[float32], newPermutationFromSpec[float64])
	RegisterType(LayerType{Name: "lu-linear", Fields: []string{"eps"}, Example: LayerSpec{Type: "lu-linear", Eps: 1e-4}},
		newLULinearFromSpec[float32], newLULinearFromSpec[float64])
}

// permStream is the PCG stream with which a permutation is drawn from its
// seed: rand.New(rand.NewPCG(seed, permStream)).Perm(D).
const permStream = 0x7065726d75746521

// Permutation reorders the columns: z[:, j] = x[:, Perm[j]]. Its log-det is
// zero and it has no parameters.
//
// Two layer types build it. "reverse" uses Perm[j] = D−1−j and has no
// fields. "permutation" uses LayerSpec.Perm when it is given (it must be a
// permutation of 0..D−1) and otherwise draws one with
// rand.New(rand.NewPCG(Seed, permStream)).Perm(D). When neither Perm nor
// Seed is given and the build has an rng, the seed is drawn from that rng
// (so several permutation layers of one flow differ, reproducibly for a
// seeded build); Spec writes back both the seed and the permutation, so a
// saved spec rebuilds the identical layer.
type Permutation[T Float] struct {
	dim  int
	typ  string
	perm []int // z[:, j] = x[:, perm[j]]
	seed uint64
}

func newReverseFromSpec[T Float](dim int, spec LayerSpec, rng *rand.Rand) (Layer[T], error) {
	if dim < 1 {
		return nil, fmt.Errorf("reverse: dim must be positive, got %d", dim)
	}
	p := make([]int, dim)
	for j := range p {
		p[j] = dim - 1 - j
	}
	return &Permutation[T]{dim: dim, typ: "reverse", perm: p}, nil
}

func newPermutationFromSpec[T Float](dim int, spec LayerSpec, rng *rand.Rand) (Layer[T], error) {
	if dim < 1 {
		return nil, fmt.Errorf("permutation: dim must be positive, got %d", dim)
	}
	l := &Permutation[T]{dim: dim, typ: "permutation", seed: spec.Seed}
	if spec.Perm != nil {
		if err := validatePerm(spec.Perm, dim); err != nil {
			return nil, fmt.Errorf("permutation: %w", err)
		}
		l.perm = append([]int(nil), spec.Perm...)
		return l, nil
	}
	if l.seed == 0 && rng != nil {
		for l.seed == 0 {
			l.seed = rng.Uint64()
		}
	}
	l.perm = rand.New(rand.NewPCG(l.seed, permStream)).Perm(dim)
	return l, nil
}

// validatePerm checks that p is a permutation of 0..dim−1.
func validatePerm(p []int, dim int) error {
	if len(p) != dim {
		return fmt.Errorf("perm has %d entries, want %d (a permutation of 0..%d)", len(p), dim, dim-1)
	}
	seen := make([]bool, dim)
	for i, v := range p {
		if v < 0 || v >= dim {
			return fmt.Errorf("perm[%d] = %d is outside 0..%d", i, v, dim-1)
		}
		if seen[v] {
			return fmt.Errorf("perm[%d] = %d repeats an earlier entry; perm must be a permutation of 0..%d", i, v, dim-1)
		}
		seen[v] = true
	}
	return nil
}

// Dim is the number of columns D.
func (l *Permutation[T]) Dim() int { return l.dim }

// Perm returns a copy of the permutation (z[:, j] = x[:, Perm()[j]]).
func (l *Permutation[T]) Perm() []int { return append([]int(nil), l.perm...) }

// Spec returns {Type: "reverse"}, or {Type: "permutation", Perm, Seed} with
// the permutation in use.
func (l *Permutation[T]) Spec() LayerSpec {
	if l.typ == "reverse" {
		return LayerSpec{Type: "reverse"}
	}
	return LayerSpec{Type: "permutation", Perm: l.Perm(), Seed: l.seed}
}

// Params returns nil: a permutation has no parameters.
func (l *Permutation[T]) Params() []*Param[T] { return nil }

// NewWork returns nil: a permutation keeps no activations.
func (l *Permutation[T]) NewWork() Work { return nil }

// NewOp implements ShardedLayer (no parameters, no state).
func (l *Permutation[T]) NewOp([][]T) Op[T] { return bindOp[T](l, &struct{}{}) }

// Cost is zero FLOPs (a permutation only moves memory).
func (l *Permutation[T]) Cost() Cost { return Cost{InversePasses: 1} }

// Forward writes z[:, j] = x[:, perm[j]] and a zero log-det.
func (l *Permutation[T]) Forward(_ Work, x, z *Mat[T], ld []T) { l.forward(nil, x, z, ld) }

func (l *Permutation[T]) forward(_ *struct{}, x, z *Mat[T], ld []T) {
	d, p := l.dim, l.perm
	for r := 0; r < x.Rows; r++ {
		xr, zr := x.Data[r*d:(r+1)*d], z.Data[r*d:(r+1)*d]
		for j, k := range p {
			zr[j] = xr[k]
		}
	}
	clear(ld[:x.Rows])
}

// Backward scatters dL/dz back: dx[:, perm[j]] = dz[:, j].
func (l *Permutation[T]) Backward(_ Work, dz *Mat[T], dld []T, dx *Mat[T]) {
	l.backward(nil, dz, dld, dx)
}

func (l *Permutation[T]) backward(_ *struct{}, dz *Mat[T], _ []T, dx *Mat[T]) {
	if dx == nil {
		return
	}
	d, p := l.dim, l.perm
	for r := 0; r < dz.Rows; r++ {
		gr, dr := dz.Data[r*d:(r+1)*d], dx.Data[r*d:(r+1)*d]
		for j, k := range p {
			dr[k] = gr[j]
		}
	}
}

// Inverse writes x[:, perm[j]] = z[:, j] (and a zero log-det).
func (l *Permutation[T]) Inverse(_ Work, z, x *Mat[T], ld []T) { l.inverse(nil, z, x, ld) }

func (l *Permutation[T]) inverse(_ *struct{}, z, x *Mat[T], ld []T) {
	d, p := l.dim, l.perm
	for r := 0; r < z.Rows; r++ {
		zr, xr := z.Data[r*d:(r+1)*d], x.Data[r*d:(r+1)*d]
		for j, k := range p {
			xr[k] = zr[j]
		}
	}
	if ld != nil {
		clear(ld[:z.Rows])
	}
}

// LULinear is the LU-decomposed invertible linear layer of Neural Spline
// Flows (Durkan et al. 2019): z = W·x + b with
//
//	W = L·(U + diag(s)),  s = softplus(ŝ) + eps,
//
// L unit lower triangular, U strictly upper triangular and the permutation
// of the PLU decomposition fixed to the identity (a preceding permutation
// layer already mixes the columns). The diagonal is kept positive by the
// softplus as in NSF (eps, LayerSpec.Eps, default 1e-3, bounds it away from
// zero), so log|det W| = Σ log s_i, the same for every row.
//
// Parameters: "lower" (the D(D−1)/2 entries of L below the diagonal, row by
// row: L[i][j], j < i, at i(i−1)/2 + j), "upper" (the D(D−1)/2 entries of U
// above the diagonal, column by column: U[i][j], i < j, at j(j−1)/2 + i),
// "diag" (ŝ, D) and "bias" (b, D); "lower" and "upper" are omitted when
// D = 1. Only the triangular parts are parameters, so gradients exist for
// them only.
//
// Initialisation: W = I (ŝ = softplus⁻¹(1 − eps), L = U = 0, b = 0) plus,
// when built with an rng, U(±0.01) noise on the entries of L, U and ŝ.
// Inverse: x = (U + diag s)⁻¹·L⁻¹·(z − b) by forward then back substitution.
type LULinear[T Float] struct {
	dim                      int
	eps                      float64
	Lower, Upper, Diag, Bias *Param[T]
}

// luWork holds one application's activations and the assembled matrices.
type luWork[T Float] struct {
	x       *Mat[T]
	lm, mm  []T // L (unit lower) and M = U + diag(s), dense D×D
	w       []T // W = L·M
	dw, tmp []T // backward scratch, D×D
	s       []T // s_i
	ldv     T   // Σ log s_i

	// Inverse's own buffers (L⁻¹, M⁻¹, W⁻¹, −W⁻¹b), so a pending Backward
	// stays valid.
	ili, imi, iw, ib []T

	grads gradSet[T]
}

func newLULinearFromSpec[T Float](dim int, spec LayerSpec, rng *rand.Rand) (Layer[T], error) {
	if dim < 1 {
		return nil, fmt.Errorf("lu-linear: dim must be positive, got %d", dim)
	}
	eps := spec.Eps
	if eps == 0 {
		eps = 1e-3
	}
	if !(eps > 0 && eps < 1) {
		return nil, fmt.Errorf("lu-linear: eps must be in (0, 1), got %g", spec.Eps)
	}
	nt := dim * (dim - 1) / 2
	l := &LULinear[T]{
		dim:   dim,
		eps:   eps,
		Lower: NewParam[T]("lower", nt),
		Upper: NewParam[T]("upper", nt),
		Diag:  NewParam[T]("diag", dim),
		Bias:  NewParam[T]("bias", dim),
	}
	d0 := slSoftplusInv(1 - eps)
	for i := range l.Diag.Value {
		l.Diag.Value[i] = T(d0)
	}
	if rng != nil {
		for _, p := range []*Param[T]{l.Lower, l.Upper, l.Diag} {
			for i := range p.Value {
				p.Value[i] += T(0.01 * (2*rng.Float64() - 1))
			}
		}
	}
	return l, nil
}

// Dim is the number of columns D.
func (l *LULinear[T]) Dim() int { return l.dim }

// Spec returns {Type: "lu-linear", Eps}.
func (l *LULinear[T]) Spec() LayerSpec { return LayerSpec{Type: "lu-linear", Eps: l.eps} }

// Params returns lower, upper (when D > 1), diag and bias.
func (l *LULinear[T]) Params() []*Param[T] {
	if l.dim == 1 {
		return []*Param[T]{l.Diag, l.Bias}
	}
	return []*Param[T]{l.Lower, l.Upper, l.Diag, l.Bias}
}

// NewWork allocates an empty workspace.
func (l *LULinear[T]) NewWork() Work { return l.work(nil) }

// NewOp implements ShardedLayer.
func (l *LULinear[T]) NewOp(grads [][]T) Op[T] { return bindOp[T](l, l.work(grads)) }

func (l *LULinear[T]) work(grads [][]T) *luWork[T] {
	return &luWork[T]{grads: bindGrads(l.Params(), grads)}
}

// Cost reports a dense D×D product per row in each direction (2 FLOPs per
// multiply-add, the MLP convention).
func (l *LULinear[T]) Cost() Cost {
	d := float64(l.dim)
	return Cost{
		Params:        l.dim*l.dim + l.dim,
		ForwardFLOPs:  2*d*d + d,
		InverseFLOPs:  2*d*d + d,
		InversePasses: 1,
	}
}

// assemble fills the dense L, M = U + diag(s), s and the log-det in wk.
func (l *LULinear[T]) assemble(wk *luWork[T]) {
	d := l.dim
	wk.lm, wk.mm = tensor.Grow(wk.lm, d*d), tensor.Grow(wk.mm, d*d)
	wk.s = tensor.Grow(wk.s, d)
	clear(wk.lm)
	clear(wk.mm)
	lo, up := l.Lower.Value, l.Upper.Value
	var ld float64
	for i := 0; i < d; i++ {
		wk.lm[i*d+i] = 1
		for j := 0; j < i; j++ {
			wk.lm[i*d+j] = lo[i*(i-1)/2+j]
			wk.mm[j*d+i] = up[i*(i-1)/2+j]
		}
		s := tensor.Softplus(float64(l.Diag.Value[i])) + l.eps
		wk.s[i] = T(s)
		wk.mm[i*d+i] = T(s)
		ld += math.Log(s)
	}
	wk.ldv = T(ld)
}

// Forward computes z = x·Wᵀ + b row-wise and the constant log-det.
func (l *LULinear[T]) Forward(work Work, x, z *Mat[T], ld []T) {
	l.forward(work.(*luWork[T]), x, z, ld)
}

func (l *LULinear[T]) forward(wk *luWork[T], x, z *Mat[T], ld []T) {
	d, n := l.dim, x.Rows
	wk.x = x
	l.assemble(wk)
	wk.w = tensor.Grow(wk.w, d*d)
	tensor.Gemm(false, false, d, d, d, 1, wk.lm, d, wk.mm, d, 0, wk.w, d)
	b := l.Bias.Value
	for r := 0; r < n; r++ {
		copy(z.Data[r*d:(r+1)*d], b)
	}
	tensor.Gemm(false, true, n, d, d, 1, x.Data, d, wk.w, d, 1, z.Data, d)
	for r := range ld[:n] {
		ld[r] = wk.ldv
	}
}

// Backward: dx = dz·W, dW = dzᵀ·x, then dL = dW·Mᵀ (strictly lower part)
// and dM = Lᵀ·dW (upper part and diagonal, chained through the softplus).
func (l *LULinear[T]) Backward(work Work, dz *Mat[T], dld []T, dx *Mat[T]) {
	l.backward(work.(*luWork[T]), dz, dld, dx)
}

func (l *LULinear[T]) backward(wk *luWork[T], dz *Mat[T], dld []T, dx *Mat[T]) {
	d, n := l.dim, dz.Rows
	if dx != nil {
		tensor.Gemm(false, false, n, d, d, 1, dz.Data, d, wk.w, d, 0, dx.Data, d)
	}
	gb := wk.grads.of(l.Bias)
	for r := 0; r < n; r++ {
		for j, v := range dz.Data[r*d : (r+1)*d] {
			gb[j] += v
		}
	}
	var lam T // Σ_r dL/dld_r
	if dld != nil {
		for _, v := range dld[:n] {
			lam += v
		}
	}
	wk.dw, wk.tmp = tensor.Grow(wk.dw, d*d), tensor.Grow(wk.tmp, d*d)
	tensor.Gemm(true, false, d, d, n, 1, dz.Data, d, wk.x.Data, d, 0, wk.dw, d)
	// dL/dL = dW·Mᵀ.
	if d > 1 {
		tensor.Gemm(false, true, d, d, d, 1, wk.dw, d, wk.mm, d, 0, wk.tmp, d)
		gl := wk.grads.of(l.Lower)
		for i := 1; i < d; i++ {
			for j := 0; j < i; j++ {
				gl[i*(i-1)/2+j] += wk.tmp[i*d+j]
			}
		}
	}
	// dL/dM = Lᵀ·dW.
	tensor.Gemm(true, false, d, d, d, 1, wk.lm, d, wk.dw, d, 0, wk.tmp, d)
	gu := wk.grads.of(l.Upper)
	for j := 1; j < d; j++ {
		for i := 0; i < j; i++ {
			gu[j*(j-1)/2+i] += wk.tmp[i*d+j]
		}
	}
	gd := wk.grads.of(l.Diag)
	for i := 0; i < d; i++ {
		sig := T(slSigmoid(float64(l.Diag.Value[i])))
		gd[i] += (wk.tmp[i*d+i] + lam/wk.s[i]) * sig
	}
}

// Inverse computes x = W⁻¹·(z − b) for the whole batch: the triangular
// factors are inverted explicitly (substitution on the identity, D³/3
// multiply-adds each), W⁻¹ = M⁻¹·L⁻¹, and the rows are mapped by one GEMM.
func (l *LULinear[T]) Inverse(work Work, z, x *Mat[T], ld []T) {
	l.inverse(work.(*luWork[T]), z, x, ld)
}

func (l *LULinear[T]) inverse(wk *luWork[T], z, x *Mat[T], ld []T) {
	d, n := l.dim, z.Rows
	l.assemble(wk)
	wk.ili, wk.imi, wk.iw = tensor.Grow(wk.ili, d*d), tensor.Grow(wk.imi, d*d), tensor.Grow(wk.iw, d*d)
	li, mi, wi := wk.ili, wk.imi, wk.iw // L⁻¹, M⁻¹, W⁻¹
	lm, mm := wk.lm, wk.mm
	clear(li)
	clear(mi)
	// L⁻¹ (unit lower): row i = e_i − Σ_{j<i} L[i][j]·row j of L⁻¹.
	for i := 0; i < d; i++ {
		ri := li[i*d : (i+1)*d]
		ri[i] = 1
		for j := 0; j < i; j++ {
			c := lm[i*d+j]
			for k, v := range li[j*d : j*d+j+1] {
				ri[k] -= c * v
			}
		}
	}
	// M⁻¹ (upper): row i = (e_i − Σ_{j>i} M[i][j]·row j of M⁻¹)/M[i][i].
	for i := d - 1; i >= 0; i-- {
		ri := mi[i*d : (i+1)*d]
		ri[i] = 1
		for j := i + 1; j < d; j++ {
			c := mm[i*d+j]
			for k := j; k < d; k++ {
				ri[k] -= c * mi[j*d+k]
			}
		}
		inv := 1 / mm[i*d+i]
		for k := i; k < d; k++ {
			ri[k] *= inv
		}
	}
	tensor.Gemm(false, false, d, d, d, 1, mi, d, li, d, 0, wi, d)
	// x = z·W⁻ᵀ − W⁻¹b.
	wk.ib = tensor.Grow(wk.ib, d)
	b := l.Bias.Value
	for i := 0; i < d; i++ {
		var c T
		for j, v := range wi[i*d : (i+1)*d] {
			c += v * b[j]
		}
		wk.ib[i] = -c
	}
	for r := 0; r < n; r++ {
		copy(x.Data[r*d:(r+1)*d], wk.ib)
	}
	tensor.Gemm(false, true, n, d, d, 1, z.Data, d, wi, d, 1, x.Data, d)
	if ld != nil {
		for r := range ld[:n] {
			ld[r] = wk.ldv
		}
	}
}
