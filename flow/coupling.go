package flow

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

func init() {
	RegisterType(LayerType{Name: "affine-coupling", Fields: []string{"hidden", "activation", "mask", "min_scale", "tails", "tail_bound"}, MinDim: 2,
		Example: LayerSpec{Type: "affine-coupling", Hidden: []int{7}, Activation: "elu", Mask: "odd", MinScale: 0.01}},
		newAffineCouplingFromSpec[float32], newAffineCouplingFromSpec[float64])
	RegisterType(LayerType{Name: "nsf-coupling", Fields: []string{"hidden", "activation", "mask", "bins", "tail_bound"}, MinDim: 2,
		Example: LayerSpec{Type: "nsf-coupling", Hidden: []int{7}, Activation: "tanh", Mask: "odd", Bins: 4, TailBound: 2.5}},
		newNSFCoupling[float32], newNSFCoupling[float64])
}

// Coupling is the coupling conditioner (Dinh et al. 2017) over an
// elementwise transformer Tr: the columns are split by index parity into a
// transformed half A and an identity half B, and an MLP maps x_B to the
// transformer's parameters for every column of A:
//
//	z_A = f(x_A; θ(x_B)),  z_B = x_B,  log|det ∂z/∂x| = Σ_{j∈A} log|f'_j|.
//
// Both directions are one conditioner pass. Needs D ≥ 2. The MLP's output
// column j·P+p is parameter p of the j-th transformed column.
type Coupling[T Float, Tr transformer[T]] struct {
	dim    int
	spec   LayerSpec
	tr, id []int // transformed and identity (conditioning) columns
	mlp    *MLP[T]
	t      Tr
	bound  T // > 0: the conditioner sees x_B clamped to [−bound, bound] (affine "tails": "linear")
}

// AffineCoupling is a RealNVP affine coupling layer (Dinh et al. 2017),
// spec type "affine-coupling": a Coupling whose transformer is the affine
// map z_j = x_j·e_j + μ_j with e = softplus(raw) + m (see DefaultMinScale;
// MLP output columns 2j and 2j+1 are μ_j and raw_j), so
//
//	z_A = x_A·e(x_B) + μ(x_B),  z_B = x_B,  log|det ∂z/∂x| = Σ_j log e_j.
//
// Spec fields: Mask ("even", the default: transform the even-index columns
// conditioned on the odd-index ones; or "odd": the reverse), Hidden
// (default [256, 256]), Activation (default relu), MinScale (default
// DefaultMinScale), Tails and TailBound. Parameters: "mlp.w0", "mlp.b0", …
//
// Tails "linear" (opt-in; off by default) makes the layer tail-safe, as
// for MAF: the conditioner sees x_B clamped to [−B, B] (B = TailBound,
// default DefaultAffineTailBound), z_A = x_A·e(c(x_B)) + μ(c(x_B)). Since
// x_B = z_B, the inverse clamps z_B the same way; the log-det is still
// Σ_j log e_j. A row outside the box gets the shift and scale of its
// projection onto it (bounded), not the network's extrapolation.
type AffineCoupling[T Float] = Coupling[T, affineTr[T]]

// NSFCoupling is a rational-quadratic spline coupling layer (Durkan et al.
// 2019), spec type "nsf-coupling": a Coupling whose transformer is the
// monotone Spline, with P = 3K−1 parameters per transformed column.
//
// Spec fields: Mask "even" (default: transform the even-index columns,
// condition on the odd ones) or "odd"; Hidden (default [256, 256]);
// Activation (default relu); Bins K (default 8); TailBound B (default 3).
// Parameters: "mlp.w0", "mlp.b0", … (PyTorch default initialisation).
type NSFCoupling[T Float] = Coupling[T, splineTr[T]]

// newCoupling builds the conditioner for transformer t with P outputs per
// transformed column; spec is already complete.
func newCoupling[T Float, Tr transformer[T]](dim int, spec LayerSpec, hidden []int, act Activation, t Tr, rng *rand.Rand) (*Coupling[T, Tr], error) {
	mask, tr, id, err := couplingSplit(spec.Type, spec.Mask, dim)
	if err != nil {
		return nil, err
	}
	spec.Mask = mask
	spec.Hidden = slices.Clone(hidden)
	spec.Activation = string(act)
	sizes := append(append([]int{len(id)}, hidden...), len(tr)*t.numParams())
	return &Coupling[T, Tr]{dim: dim, spec: spec, tr: tr, id: id, mlp: NewMLP[T]("mlp.", sizes, act, nil, rng), t: t}, nil
}

// NewAffineCoupling builds an affine coupling layer of dimension dim from
// its spec; rng initialises the conditioner (nil leaves it at zero, to be
// loaded).
func NewAffineCoupling[T Float](dim int, spec LayerSpec, rng *rand.Rand) (*AffineCoupling[T], error) {
	if dim < 2 {
		return nil, fmt.Errorf("affine-coupling: needs dim ≥ 2 (one half conditions the other), got %d", dim)
	}
	hidden, act, err := affineConditioner("affine-coupling", spec)
	if err != nil {
		return nil, err
	}
	minScale, err := checkMinScale("affine-coupling", spec.MinScale)
	if err != nil {
		return nil, err
	}
	bound, err := checkAffineTails("affine-coupling", spec.Tails, spec.TailBound)
	if err != nil {
		return nil, err
	}
	s := LayerSpec{Type: "affine-coupling", Mask: spec.Mask, MinScale: minScale, Tails: spec.Tails, TailBound: bound}
	l, err := newCoupling[T](dim, s, hidden, act, affineTr[T]{minScale: T(minScale)}, rng)
	if err != nil {
		return nil, err
	}
	l.bound = T(bound)
	return l, nil
}

func newAffineCouplingFromSpec[T Float](dim int, spec LayerSpec, rng *rand.Rand) (Layer[T], error) {
	l, err := NewAffineCoupling[T](dim, spec, rng)
	if err != nil {
		return nil, err
	}
	return l, nil
}

func newNSFCoupling[T Float](dim int, spec LayerSpec, rng *rand.Rand) (Layer[T], error) {
	if dim < 2 {
		return nil, fmt.Errorf("nsf-coupling needs at least 2 dimensions, got %d", dim)
	}
	act, spl, err := nsfCommon[T](&spec)
	if err != nil {
		return nil, fmt.Errorf("nsf-coupling: %w", err)
	}
	l, err := newCoupling[T](dim, spec, spec.Hidden, act, splineTr[T]{spl}, rng)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// Dim returns D.
func (l *Coupling[T, Tr]) Dim() int { return l.dim }

// Spec returns the complete spec (every default filled in).
func (l *Coupling[T, Tr]) Spec() LayerSpec { return l.spec.Clone() }

// Params returns the conditioner's weights and biases ("mlp.w0", "mlp.b0", …).
func (l *Coupling[T, Tr]) Params() []*Param[T] { return l.mlp.Params() }

// Conditioner returns the MLP (its output column j·P+p is parameter p of
// the j-th transformed column).
func (l *Coupling[T, Tr]) Conditioner() *MLP[T] { return l.mlp }

// Cost: one conditioner pass and one transformer per transformed column,
// in each direction.
func (l *Coupling[T, Tr]) Cost() Cost {
	f := l.mlp.FLOPs() + l.t.flops()*float64(len(l.tr))
	return Cost{Params: l.mlp.NumParams(), ForwardFLOPs: f, InverseFLOPs: f, InversePasses: 1}
}

// couplingWork is one application's state.
type couplingWork[T Float, Tr transformer[T]] struct {
	l        *Coupling[T, Tr]
	mlp      *MLPWork[T]
	xb       *Mat[T] // gathered identity half: the conditioner's input
	tw       trWork[T]
	dpar, dx *Mat[T]

	// Inverse's own buffers (set up by the first Inverse), so a pending
	// Backward stays valid.
	imlp      *MLPWork[T]
	ixb, ilde *Mat[T]
}

// NewOp implements Layer: the op is the layer's workspace.
func (l *Coupling[T, Tr]) NewOp(grads [][]T) Op[T] { return l.work(grads) }

func (l *Coupling[T, Tr]) work(grads [][]T) *couplingWork[T, Tr] {
	return &couplingWork[T, Tr]{l: l, mlp: l.mlp.NewWorkGrads(grads), xb: &Mat[T]{}, dpar: &Mat[T]{}, dx: &Mat[T]{}}
}

// Forward transforms the A half given the B half, copies B through and
// writes ld = Σ log|f'|.
func (wk *couplingWork[T, Tr]) Forward(x, z *Mat[T], ld []T) {
	l := wk.l
	gatherCols(wk.xb, x, l.id)
	if l.bound > 0 {
		clampTo(wk.xb.Data, wk.xb.Data, l.bound)
	}
	par := l.mlp.Forward(wk.mlp, wk.xb)
	l.t.forward(&wk.tw, x, par, z, l.tr, ld[:x.Rows])
	copyCols(z, x, l.id)
}

// Backward writes dL/dx: the transformer's direct term on the A half, dz
// plus the conditioner's input gradient on the B half; it adds the
// conditioner's parameter gradients.
func (wk *couplingWork[T, Tr]) Backward(dz *Mat[T], dld []T, dx *Mat[T]) {
	l := wk.l
	wk.dpar.Resize(dz.Rows, len(l.tr)*l.t.numParams())
	l.t.backward(&wk.tw, dz, dld, wk.dpar, dx, l.tr)
	if dx == nil {
		l.mlp.Backward(wk.mlp, wk.dpar, nil)
		return
	}
	l.mlp.Backward(wk.mlp, wk.dpar, wk.dx)
	if l.bound > 0 {
		// The clamp passes the conditioner's input gradient only inside the box.
		x, nb := wk.tw.x, len(l.id)
		for r := 0; r < dz.Rows; r++ {
			for j, c := range l.id {
				if v := x.Data[r*x.Cols+c]; v > l.bound || v < -l.bound {
					wk.dx.Data[r*nb+j] = 0
				}
			}
		}
	}
	scatterAddCols(dx, dz, wk.dx, l.id)
}

// Inverse recovers x_A = f⁻¹(z_A; θ(z_B)), x_B = z_B (affine: x_A =
// (z_A − μ(z_B)) / e(z_B)), and writes the forward log-det to ld when it
// is not nil. It has its own buffers in the op, so a pending Backward
// stays valid.
func (wk *couplingWork[T, Tr]) Inverse(z, x *Mat[T], ld []T) {
	l := wk.l
	if wk.imlp == nil {
		wk.imlp, wk.ixb, wk.ilde = l.mlp.NewWork(), &Mat[T]{}, &Mat[T]{}
	}
	gatherCols(wk.ixb, z, l.id)
	if l.bound > 0 {
		clampTo(wk.ixb.Data, wk.ixb.Data, l.bound)
	}
	par := l.mlp.Forward(wk.imlp, wk.ixb)
	var lde *Mat[T]
	if ld != nil {
		lde = wk.ilde
		lde.Resize(z.Rows, len(l.tr))
	}
	l.t.inverse(&wk.tw, z, par.Data, par.Cols, x, l.tr, 0, len(l.tr), lde)
	if ld != nil {
		sumRows(lde, ld[:z.Rows])
	}
	copyCols(x, z, l.id)
}
