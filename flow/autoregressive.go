package flow

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/autonf/autonf/tensor"
)

func init() {
	RegisterType(LayerType{Name: "maf", Fields: []string{"hidden", "activation", "order", "min_scale", "tails", "tail_bound"},
		Example: LayerSpec{Type: "maf", Hidden: []int{6, 5}, Activation: "tanh", Order: "reversed", MinScale: 0.01}},
		newMAFFromSpec[float32], newMAFFromSpec[float64])
	RegisterType(LayerType{Name: "nsf-ar", Fields: []string{"hidden", "activation", "order", "bins", "tail_bound"},
		Example: LayerSpec{Type: "nsf-ar", Hidden: []int{6, 5}, Activation: "elu", Order: "reversed", Bins: 5, TailBound: 2.5}},
		newNSFAR[float32], newNSFAR[float64])
}

// Autoregressive is the autoregressive conditioner over an elementwise
// transformer Tr: a MADE network (an MLP with MADEMasks, P outputs per
// variable, column i·P+p for parameter p of variable i) computes variable
// i's transformer parameters from the variables before i in the order, so
// the Jacobian is triangular:
//
//	z_i = f(x_i; θ_i(x_<i)),   log|det ∂z/∂x| = Σ_i log|f'_i|.
//
// Forward (density) is one network pass; Inverse (sampling) needs D
// sequential passes, one per variable in the order, evaluated
// incrementally (see madeStepper) so the whole inverse costs about one
// MADE pass.
type Autoregressive[T Float, Tr transformer[T]] struct {
	dim   int
	spec  LayerSpec
	order []int // order[k] = the k-th variable
	cols  []int // 0, 1, …, D−1: every variable is transformed
	made  *MLP[T]
	t     Tr
	cost  func() Cost
	bound T // > 0: the MADE sees its input clamped to [−bound, bound] (affine "tails": "linear")
}

// MAF is a masked affine autoregressive layer (Papamakarios et al. 2017),
// spec type "maf": an Autoregressive whose transformer is the affine map
// z_i = x_i·e_i + μ_i with e_i = softplus(raw_i) + m (see DefaultMinScale
// for why; MADE output columns 2i and 2i+1 are μ_i and raw_i), so
//
//	z_i = x_i·e_i(x_<i) + μ_i(x_<i),   log|det ∂z/∂x| = Σ_i log e_i.
//
// The shift is applied after the scaling, in z's units, as in nflows and
// zuko, rather than before it as in the paper's u_i = (x_i − μ_i)·e^−α_i:
// the same maps, but markedly easier to train (see affineTr).
//
// Spec fields: Hidden (default [256, 256]; widths below D−1 leave some
// dependencies unused), Activation (default relu), Order ("natural",
// the default: x_i depends on x_0…x_{i−1}; or "reversed": on x_{i+1}…x_{D−1}),
// MinScale (default DefaultMinScale), Tails and TailBound (below).
// Parameters: "made.w0", "made.b0", …
//
// Tails "linear" (opt-in; off by default) makes the layer tail-safe: the
// MADE sees its input clamped to [−B, B] (B = TailBound, default
// DefaultAffineTailBound), so
//
//	z_i = x_i·e_i(c(x)_<i) + μ_i(c(x)_<i),   c(x) = clamp(x, −B, B).
//
// The Jacobian stays triangular with diagonal e_i, so the log-det is still
// Σ_i log e_i, and the inverse still solves x_i from the already solved
// x_<i (clamped before they enter the MADE): a bijection with an exact
// log-det and inverse. For a row outside the box, μ and e are those of its
// projection onto the box, bounded by what the MADE does on the box, so
// the layer is affine there (linear tails) instead of extrapolating the
// network: without the clamp, a ReLU MADE's scale grows linearly with x,
// z grows like x², and stacked layers compound that into log-densities of
// −10²⁰ for a row 40 s.d. out; with it a far row's |z| grows only
// linearly, by at most the product of the layers' largest scales. The
// price: the conditioner is constant in a coordinate beyond ±B (its
// gradient there is 0), which costs clean-data likelihood only for rows
// that reach beyond B (see BENCHMARKS.md, "Tail-safe affine layers").
type MAF[T Float] = Autoregressive[T, affineTr[T]]

// NSFAR is a rational-quadratic spline autoregressive layer (Durkan et al.
// 2019), spec type "nsf-ar": an Autoregressive whose transformer is the
// monotone Spline, P = 3K−1 MADE outputs per variable.
//
// Spec fields: Order "natural" (default: x_i depends on x_<i) or
// "reversed"; Hidden (default [256, 256]); Activation (default relu); Bins
// K (default 8); TailBound B (default 3). Any D ≥ 1 (with D = 1 the spline
// parameters are learned constants). Parameters: "made.w0", "made.b0", …
type NSFAR[T Float] = Autoregressive[T, splineTr[T]]

// newAutoregressive builds the MADE conditioner for transformer t; spec is
// complete but for the order.
func newAutoregressive[T Float, Tr transformer[T]](dim int, spec LayerSpec, hidden []int, act Activation, t Tr, rng *rand.Rand) (*Autoregressive[T, Tr], error) {
	name, order, err := arOrder(spec.Type, spec.Order, dim)
	if err != nil {
		return nil, err
	}
	spec.Order = name
	spec.Hidden = slices.Clone(hidden)
	spec.Activation = string(act)
	P := t.numParams()
	sizes := append(append([]int{dim}, hidden...), dim*P)
	masks := MADEMasks[T](dim, hidden, P, order)
	cols := make([]int, dim)
	for i := range cols {
		cols[i] = i
	}
	return &Autoregressive[T, Tr]{dim: dim, spec: spec, order: order, cols: cols,
		made: NewMLP[T]("made.", sizes, act, masks, rng), t: t}, nil
}

// NewMAF builds a MAF layer of dimension dim from its spec; rng initialises
// the MADE's weights (nil leaves them at zero, to be loaded).
func NewMAF[T Float](dim int, spec LayerSpec, rng *rand.Rand) (*MAF[T], error) {
	if dim < 1 {
		return nil, fmt.Errorf("maf: dim must be positive, got %d", dim)
	}
	hidden, act, err := affineConditioner("maf", spec)
	if err != nil {
		return nil, err
	}
	minScale, err := checkMinScale("maf", spec.MinScale)
	if err != nil {
		return nil, err
	}
	bound, err := checkAffineTails("maf", spec.Tails, spec.TailBound)
	if err != nil {
		return nil, err
	}
	s := LayerSpec{Type: "maf", Order: spec.Order, MinScale: minScale, Tails: spec.Tails, TailBound: bound}
	l, err := newAutoregressive[T](dim, s, hidden, act, affineTr[T]{minScale: T(minScale)}, rng)
	if err != nil {
		return nil, err
	}
	l.bound = T(bound)
	// The forward is one MADE pass, the inverse D of them.
	l.cost = func() Cost {
		f := l.made.FLOPs() + affineFLOPs*float64(l.dim)
		return Cost{Params: l.made.NumParams(), ForwardFLOPs: f, InverseFLOPs: float64(l.dim) * f, InversePasses: l.dim}
	}
	return l, nil
}

func newMAFFromSpec[T Float](dim int, spec LayerSpec, rng *rand.Rand) (Layer[T], error) {
	l, err := NewMAF[T](dim, spec, rng)
	if err != nil {
		return nil, err
	}
	return l, nil
}

func newNSFAR[T Float](dim int, spec LayerSpec, rng *rand.Rand) (Layer[T], error) {
	if dim < 1 {
		return nil, fmt.Errorf("nsf-ar needs at least 1 dimension, got %d", dim)
	}
	act, spl, err := nsfCommon[T](&spec)
	if err != nil {
		return nil, fmt.Errorf("nsf-ar: %w", err)
	}
	l, err := newAutoregressive[T](dim, spec, spec.Hidden, act, splineTr[T]{spl}, rng)
	if err != nil {
		return nil, err
	}
	// The inverse runs the MADE's hidden layers D times, and each time only
	// one variable's P columns of the output layer.
	l.cost = func() Cost {
		sz := l.made.Sizes
		L := len(sz) - 1
		pass := 2 * float64(sz[L-1]*spl.NumParams())
		for k := 0; k < L-1; k++ {
			pass += 2 * float64(sz[k]*sz[k+1])
		}
		sp := float64(l.dim) * spl.FLOPs()
		return Cost{Params: l.made.NumParams(), ForwardFLOPs: l.made.FLOPs() + sp, InverseFLOPs: float64(l.dim)*pass + sp, InversePasses: l.dim}
	}
	return l, nil
}

// Dim returns D.
func (l *Autoregressive[T, Tr]) Dim() int { return l.dim }

// Spec returns the complete spec (every default filled in).
func (l *Autoregressive[T, Tr]) Spec() LayerSpec { return l.spec.Clone() }

// Params returns the MADE's weights and biases ("made.w0", "made.b0", …).
func (l *Autoregressive[T, Tr]) Params() []*Param[T] { return l.made.Params() }

// MADE returns the conditioner network (its output column i·P+p is
// parameter p of variable i).
func (l *Autoregressive[T, Tr]) MADE() *MLP[T] { return l.made }

// Cost counts the MADE's unmasked parameters and the FLOPs of each
// direction (the inverse needs D passes).
func (l *Autoregressive[T, Tr]) Cost() Cost { return l.cost() }

// arWork is one application's state.
type arWork[T Float, Tr transformer[T]] struct {
	l        *Autoregressive[T, Tr]
	mlp      *MLPWork[T]
	tw       trWork[T]
	dpar, gx *Mat[T]
	xc       *Mat[T] // the clamped input the MADE saw (tails only)

	// Inverse's own state (set up by the first Inverse), so a pending
	// Backward stays valid: the incremental MADE (nil when the masks do not
	// allow it; then full passes through ih and icol) and the per-variable
	// log-dets.
	stepInit bool
	step     *madeStepper[T]
	ih       []*Mat[T]
	icol     *Mat[T]
	ilde     *Mat[T]
	ixc      *Mat[T] // the clamped solved variables (tails only)
}

// NewOp implements Layer: the op is the layer's workspace.
func (l *Autoregressive[T, Tr]) NewOp(grads [][]T) Op[T] { return l.work(grads) }

func (l *Autoregressive[T, Tr]) work(grads [][]T) *arWork[T, Tr] {
	return &arWork[T, Tr]{l: l, mlp: l.made.NewWorkGrads(grads), dpar: &Mat[T]{}, gx: &Mat[T]{}, xc: &Mat[T]{}, ixc: &Mat[T]{}}
}

// Forward computes z = f(x; θ(x)) and ld = Σ log|f'| per row.
func (wk *arWork[T, Tr]) Forward(x, z *Mat[T], ld []T) {
	l := wk.l
	in := x
	if l.bound > 0 {
		wk.xc.Resize(x.Rows, x.Cols)
		clampTo(wk.xc.Data, x.Data[:x.Rows*x.Cols], l.bound)
		in = wk.xc
	}
	par := l.made.Forward(wk.mlp, in)
	l.t.forward(&wk.tw, x, par, z, l.cols, ld[:x.Rows])
}

// Backward writes dL/dx (the MADE's input gradient plus the transformer's
// direct term) and adds the MADE's parameter gradients.
func (wk *arWork[T, Tr]) Backward(dz *Mat[T], dld []T, dx *Mat[T]) {
	l := wk.l
	rows := dz.Rows
	wk.dpar.Resize(rows, l.dim*l.t.numParams())
	var gx *Mat[T]
	if dx != nil {
		gx = wk.gx
		gx.Resize(rows, l.dim)
	}
	l.t.backward(&wk.tw, dz, dld, wk.dpar, gx, l.cols)
	// MLP.Backward overwrites dx, so the direct term goes in afterwards.
	l.made.Backward(wk.mlp, wk.dpar, dx)
	if dx != nil {
		n := rows * l.dim
		if l.bound > 0 {
			// The clamp passes the MADE's input gradient only inside the box.
			for i, v := range wk.tw.x.Data[:n] {
				if v > l.bound || v < -l.bound {
					dx.Data[i] = 0
				}
			}
		}
		addInto(dx.Data[:n], gx.Data[:n])
	}
}

// Inverse computes x from z in D passes: pass k solves the k-th variable of
// the order from the MADE's output for it, the MADE evaluated
// incrementally (see madeStepper): each hidden unit once, when the inputs
// it sees are known, and only the P output columns of the variable being
// solved. ld (when not nil) gets the forward log-det at the returned x. It
// uses its own buffers of the op, so a pending Backward stays valid.
func (wk *arWork[T, Tr]) Inverse(z, x *Mat[T], ld []T) {
	l := wk.l
	P := l.t.numParams()
	if !wk.stepInit {
		wk.stepInit = true
		wk.step = newMADEStepper(l.made, l.order, P)
	}
	if wk.ilde == nil {
		wk.ilde = &Mat[T]{}
	}
	if wk.step == nil && wk.icol == nil {
		wk.icol = &Mat[T]{}
		for range len(l.made.W) - 1 {
			wk.ih = append(wk.ih, &Mat[T]{})
		}
	}
	n, D := z.Rows, l.dim
	if wk.step == nil {
		x.Zero() // unsolved variables must be finite (masked weights are 0, and 0·NaN = NaN)
	} else {
		wk.step.begin(n)
	}
	in := x // what the MADE sees: x, or its solved variables clamped
	if l.bound > 0 {
		wk.ixc.Resize(n, D)
		wk.ixc.Zero()
		in = wk.ixc
	}
	var lde *Mat[T]
	if ld != nil {
		lde = wk.ilde
		lde.Resize(n, D)
	}
	for k, v := range l.order {
		var out []T
		ldo := P
		if wk.step != nil {
			out, ldo = wk.step.pass(k, in)
		} else {
			out = l.madeColumns(wk, in, v*P, P).Data
		}
		l.t.inverse(&wk.tw, z, out, ldo, x, l.cols, v, v+1, lde)
		if l.bound > 0 {
			for r := 0; r < n; r++ {
				in.Data[r*D+v] = clampOne(x.Data[r*D+v], l.bound)
			}
		}
	}
	if ld != nil {
		sumRows(lde, ld[:n])
	}
}

// madeColumns runs the MADE on x but computes only the output columns
// [c0, c0+nc) of its last layer (one variable's parameters): the fallback
// of Inverse when the masks are not a MADE's, and the reference the
// incremental evaluation is tested against.
func (l *Autoregressive[T, Tr]) madeColumns(w *arWork[T, Tr], x *Mat[T], c0, nc int) *Mat[T] {
	m := l.made
	n, L := x.Rows, len(m.W)
	in := x
	for k := 0; k < L-1; k++ {
		nIn, nOut := m.Sizes[k], m.Sizes[k+1]
		dst := w.ih[k]
		dst.Resize(n, nOut)
		for r := 0; r < n; r++ {
			copy(dst.Data[r*nOut:(r+1)*nOut], m.B[k].Value)
		}
		tensor.Gemm(false, false, n, nOut, nIn, 1, in.Data, nIn, m.W[k].Value, nOut, 1, dst.Data, nOut)
		activate(m.Act, dst.Data[:n*nOut])
		in = dst
	}
	nIn, nOut := m.Sizes[L-1], m.Sizes[L]
	out := w.icol
	out.Resize(n, nc)
	for r := 0; r < n; r++ {
		copy(out.Data[r*nc:(r+1)*nc], m.B[L-1].Value[c0:c0+nc])
	}
	tensor.Gemm(false, false, n, nc, nIn, 1, in.Data, nIn, m.W[L-1].Value[c0:], nOut, 1, out.Data, nc)
	return out
}
