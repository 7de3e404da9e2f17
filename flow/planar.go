package flow

import (
	"fmt"
	"github.com/autonf/autonf/tensor"
	"math"
	"math/rand/v2"
)

func init() {
	RegisterType(LayerType{Name: "planar", Fields: []string{}}, newPlanarFromSpec[float32], newPlanarFromSpec[float64])
}

// Planar is the planar flow of Rezende & Mohamed (2015) applied in the
// data→noise direction:
//
//	z = x + û·tanh(wᵀx + b),  log|det ∂z/∂x| = log(1 + tanh'(wᵀx+b)·wᵀû).
//
// Invertibility needs wᵀû ≥ −1; it is enforced by the paper's
// reparameterisation of the free vector u,
//
//	û = u + (m(wᵀu) − wᵀu)·w/‖w‖²,  m(a) = −1 + softplus(a),
//
// so that wᵀû = m(wᵀu) > −1 for every (u, w). When w = 0 exactly the
// correction is undefined and û = u is used (the layer is then the shift
// z = x + u·tanh(b), a translation). Note that û grows like 1/‖w‖ as w → 0
// with wᵀu fixed, as in every implementation of this reparameterisation.
//
// Parameters: "u" (D), "w" (D), "b" (1). Built with an rng they are drawn
// from U(±1/√D); without one they are zero (the identity).
//
// Inverse: α = wᵀx solves the scalar equation α + q·tanh(α + b) = wᵀz with
// q = wᵀû > −1, whose left side is strictly increasing in α, and the root
// lies in [wᵀz − |q|, wᵀz + |q|]. It is found in float64 (for both element
// types) by Newton's method safeguarded by bisection on that bracket, until
// the step is below 1e-12·(1 + |α|) (at most 200 iterations); then
// x = z − û·tanh(α + b). The round trip is exact to about 1e-12 relative in
// float64 and to float32 rounding (~1e-6 relative) in float32, times the
// conditioning 1/(1 + q·tanh') of the layer.
type Planar[T Float] struct {
	dim     int
	U, W, B *Param[T]
}

// planarWork holds one application's activations.
type planarWork[T Float] struct {
	x        *Mat[T]
	uhat     []T // û
	gu       []T // Σ_r dz_r·h_r, backward scratch
	h, hp, g []T // per row: tanh(a), 1 − tanh²(a), 1 + q·(1 − tanh²(a))
	co       planarCoef
	grads    gradSet[T]
}

// planarCoef are the scalars of the reparameterisation.
type planarCoef struct {
	q     float64 // wᵀû
	dq    float64 // dq/d(wᵀu)
	c     float64 // û = u + c·w
	s     float64 // ‖w‖²
	zeroW bool    // w = 0: û = u, c ≡ 0
}

func newPlanarFromSpec[T Float](dim int, spec LayerSpec, rng *rand.Rand) (Layer[T], error) {
	if dim < 1 {
		return nil, fmt.Errorf("planar: dim must be positive, got %d", dim)
	}
	l := &Planar[T]{
		dim: dim,
		U:   NewParam[T]("u", dim),
		W:   NewParam[T]("w", dim),
		B:   NewParam[T]("b", 1),
	}
	if rng != nil {
		bound := 1 / math.Sqrt(float64(dim))
		for _, p := range []*Param[T]{l.U, l.W, l.B} {
			for i := range p.Value {
				p.Value[i] = T((2*rng.Float64() - 1) * bound)
			}
		}
	}
	return l, nil
}

// Dim is the number of columns D.
func (l *Planar[T]) Dim() int { return l.dim }

// Spec returns {Type: "planar"}; the layer has no hyperparameters.
func (l *Planar[T]) Spec() LayerSpec { return LayerSpec{Type: "planar"} }

// Params returns u, w and b.
func (l *Planar[T]) Params() []*Param[T] { return []*Param[T]{l.U, l.W, l.B} }

// NewWork allocates an empty workspace.
func (l *Planar[T]) NewWork() Work { return l.work(nil) }

// NewOp implements ShardedLayer.
func (l *Planar[T]) NewOp(grads [][]T) Op[T] { return bindOp[T](l, l.work(grads)) }

func (l *Planar[T]) work(grads [][]T) *planarWork[T] {
	return &planarWork[T]{grads: bindGrads(l.Params(), grads)}
}

// Cost reports the static cost, at 2 FLOPs per multiply-add (the MLP
// convention); the inverse counts about six Newton iterations.
func (l *Planar[T]) Cost() Cost {
	d := float64(l.dim)
	return Cost{
		Params:        2*l.dim + 1,
		ForwardFLOPs:  4*d + 20,
		InverseFLOPs:  4*d + 6*20,
		InversePasses: 1,
	}
}

// coef computes û into uhat and returns the reparameterisation scalars.
func (l *Planar[T]) coef(uhat []T) planarCoef {
	u, w := l.U.Value, l.W.Value
	var s, wu float64
	for j := range w {
		s += float64(w[j]) * float64(w[j])
		wu += float64(w[j]) * float64(u[j])
	}
	var co planarCoef
	co.s = s
	if s == 0 {
		co.zeroW = true
		co.q, co.dq = wu, 1
		copy(uhat, u)
		return co
	}
	m := tensor.Softplus(wu) - 1
	co.q, co.dq = m, slSigmoid(wu)
	co.c = (m - wu) / s
	c := T(co.c)
	for j := range uhat {
		uhat[j] = u[j] + c*w[j]
	}
	return co
}

// Forward computes z = x + û·tanh(wᵀx + b) and its log-det.
func (l *Planar[T]) Forward(work Work, x, z *Mat[T], ld []T) {
	l.forward(work.(*planarWork[T]), x, z, ld)
}

func (l *Planar[T]) forward(wk *planarWork[T], x, z *Mat[T], ld []T) {
	d, n := l.dim, x.Rows
	wk.x = x
	wk.uhat = tensor.Grow(wk.uhat, d)
	wk.h, wk.hp, wk.g = tensor.Grow(wk.h, n), tensor.Grow(wk.hp, n), tensor.Grow(wk.g, n)
	wk.co = l.coef(wk.uhat)
	q := T(wk.co.q)
	w, b, uhat := l.W.Value, l.B.Value[0], wk.uhat
	for r := 0; r < n; r++ {
		xr, zr := x.Data[r*d:(r+1)*d], z.Data[r*d:(r+1)*d]
		a := b
		for j, v := range xr {
			a += w[j] * v
		}
		h := T(math.Tanh(float64(a)))
		hp := 1 - h*h
		g := 1 + q*hp
		wk.h[r], wk.hp[r], wk.g[r] = h, hp, g
		ld[r] = T(math.Log(float64(g)))
		for j, v := range xr {
			zr[j] = v + uhat[j]*h
		}
	}
}

// Backward propagates dL/dz and dL/dld through the planar map and the
// reparameterisation of û.
func (l *Planar[T]) Backward(work Work, dz *Mat[T], dld []T, dx *Mat[T]) {
	l.backward(work.(*planarWork[T]), dz, dld, dx)
}

func (l *Planar[T]) backward(wk *planarWork[T], dz *Mat[T], dld []T, dx *Mat[T]) {
	d, n := l.dim, dz.Rows
	x, uhat := wk.x, wk.uhat
	co := wk.co
	q := T(co.q)
	u, w := l.U.Value, l.W.Value
	gw, gb := wk.grads.of(l.W), wk.grads.of(l.B)
	wk.gu = tensor.Grow(wk.gu, d)
	gu := wk.gu
	clear(gu)
	var dq, db T // dL/dq through the log-det, dL/db
	for r := 0; r < n; r++ {
		gr, xr := dz.Data[r*d:(r+1)*d], x.Data[r*d:(r+1)*d]
		h, hp, g := wk.h[r], wk.hp[r], wk.g[r]
		var e T // dL/dh through z
		for j, v := range gr {
			e += uhat[j] * v
			gu[j] += v * h
		}
		var lam T
		if dld != nil {
			lam = dld[r]
		}
		da := e*hp - 2*lam*q*h*hp/g
		dq += lam * hp / g
		db += da
		for j, v := range xr {
			gw[j] += da * v
		}
		if dx != nil {
			dr := dx.Data[r*d : (r+1)*d]
			for j, v := range gr {
				dr[j] = v + da*w[j]
			}
		}
	}
	gb[0] += db
	gU := wk.grads.of(l.U)
	// û = u + c·w, q = m(wᵀu), c = (m(wᵀu) − wᵀu)/‖w‖².
	sig := T(co.dq)
	if co.zeroW {
		for j := range gU {
			gU[j] += gu[j] + dq*sig*w[j]
			gw[j] += dq * sig * u[j]
		}
		return
	}
	var gamma T // dL/dc
	for j := range gu {
		gamma += gu[j] * w[j]
	}
	c, s := T(co.c), T(co.s)
	dwu := gamma*(sig-1)/s + dq*sig // dL/d(wᵀu)
	for j := range gU {
		gU[j] += gu[j] + dwu*w[j]
		gw[j] += c*gu[j] + dwu*u[j] - 2*gamma*c/s*w[j]
	}
}

// Inverse solves z = x + û·tanh(wᵀx + b) for x row by row (see the type's
// documentation for the method and tolerance).
func (l *Planar[T]) Inverse(work Work, z, x *Mat[T], ld []T) {
	l.inverse(work.(*planarWork[T]), z, x, ld)
}

func (l *Planar[T]) inverse(wk *planarWork[T], z, x *Mat[T], ld []T) {
	d := l.dim
	wk.uhat = tensor.Grow(wk.uhat, d)
	co := l.coef(wk.uhat)
	w, uhat := l.W.Value, wk.uhat
	b := float64(l.B.Value[0])
	for r := 0; r < z.Rows; r++ {
		zr, xr := z.Data[r*d:(r+1)*d], x.Data[r*d:(r+1)*d]
		var t float64
		for j, v := range zr {
			t += float64(w[j]) * float64(v)
		}
		alpha := planarSolve(t, co.q, b)
		hf := math.Tanh(alpha + b)
		h := T(hf)
		for j, v := range zr {
			xr[j] = v - uhat[j]*h
		}
		if ld != nil {
			ld[r] = T(math.Log(1 + co.q*(1-hf*hf)))
		}
	}
}

// planarSolve returns the α with α + q·tanh(α + b) = t (q > −1): Newton's
// method safeguarded by bisection on the bracket [t − |q|, t + |q|], to a
// step of 1e-12·(1 + |α|).
func planarSolve(t, q, b float64) float64 {
	aq := math.Abs(q)
	if aq == 0 {
		return t
	}
	lo, hi := t-aq, t+aq
	a := t - q*math.Tanh(t+b) // one fixed-point step: inside the bracket
	for range 200 {
		th := math.Tanh(a + b)
		f := a + q*th - t
		if f == 0 {
			return a
		}
		if f > 0 {
			hi = a
		} else {
			lo = a
		}
		next := a - f/(1+q*(1-th*th))
		if !(next > lo && next < hi) {
			next = 0.5 * (lo + hi)
		}
		if math.Abs(next-a) <= 1e-12*(1+math.Abs(next)) {
			return next
		}
		a = next
	}
	return a
}

// slSoftplusInv is the inverse of softplus: log(eʸ − 1), y > 0.
func slSoftplusInv(y float64) float64 {
	if y > 30 {
		return y + math.Log(-math.Expm1(-y))
	}
	return math.Log(math.Expm1(y))
}

// slSigmoid is 1/(1 + e⁻ˣ), the derivative of softplus.
func slSigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}
