package flow

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/autonf/autonf/tensor"
)

// Neural spline flows (Durkan et al. 2019): rational-quadratic spline
// layers whose per-element spline parameters come from a conditioner
// network, in a coupling ("nsf-coupling") and an autoregressive ("nsf-ar")
// variant.

func init() {
	RegisterType(LayerType{Name: "nsf-coupling", Fields: []string{"hidden", "activation", "mask", "bins", "tail_bound"}, MinDim: 2,
		Example: LayerSpec{Type: "nsf-coupling", Hidden: []int{7}, Activation: "tanh", Mask: "odd", Bins: 4, TailBound: 2.5}},
		newNSFCoupling[float32], newNSFCoupling[float64])
	RegisterType(LayerType{Name: "nsf-ar", Fields: []string{"hidden", "activation", "order", "bins", "tail_bound"},
		Example: LayerSpec{Type: "nsf-ar", Hidden: []int{6, 5}, Activation: "elu", Order: "reversed", Bins: 5, TailBound: 2.5}},
		newNSFAR[float32], newNSFAR[float64])
}

// defaultNSFHidden is the conditioners' default hidden widths.
var defaultNSFHidden = []int{256, 256}

// nsfCommon validates and fills the hyperparameters both NSF layers share:
// hidden widths, activation, bins and tail bound.
func nsfCommon[T Float](spec *LayerSpec) (Activation, *Spline[T], error) {
	if len(spec.Hidden) == 0 {
		spec.Hidden = slices.Clone(defaultNSFHidden)
	} else {
		spec.Hidden = slices.Clone(spec.Hidden)
	}
	for _, h := range spec.Hidden {
		if h <= 0 {
			return "", nil, fmt.Errorf("hidden widths must be positive, got %v", spec.Hidden)
		}
	}
	act, err := ParseActivation(spec.Activation)
	if err != nil {
		return "", nil, err
	}
	spec.Activation = string(act)
	if spec.Bins == 0 {
		spec.Bins = DefaultSplineBins
	}
	if spec.TailBound == 0 {
		spec.TailBound = DefaultSplineBound
	}
	spl, err := NewSpline[T](spec.Bins, spec.TailBound)
	if err != nil {
		return "", nil, err
	}
	return act, spl, nil
}

// ---------------------------------------------------------------------------
// Coupling.

// NSFCoupling is a rational-quadratic spline coupling layer: one half of the
// columns passes through unchanged and conditions, through an MLP, the
// monotone spline (see Spline) applied elementwise to the other half.
//
// Spec fields: Mask "even" (default: transform the even-index columns,
// condition on the odd ones) or "odd"; Hidden (default [256, 256]);
// Activation (default relu); Bins K (default 8); TailBound B (default 3).
// Needs D ≥ 2. The MLP maps the D_c conditioning columns to D_t·(3K−1)
// spline parameters, column j·(3K−1)+p for the j-th transformed column.
// Parameters: "mlp.w0", "mlp.b0", … (PyTorch default initialisation).
type NSFCoupling[T Float] struct {
	dim    int
	spec   LayerSpec
	tIdx   []int // transformed columns
	cIdx   []int // conditioning (identity) columns
	net    *MLP[T]
	spline *Spline[T]
}

type nsfCouplingWork[T Float] struct {
	xc, dxc *Mat[T] // gathered conditioning columns and their gradient
	mw, imw *MLPWork[T]
	dtheta  *Mat[T]
	scr     []T // per transformed element: the spline's scratch
	rows    int

	izc  *Mat[T] // Inverse's own buffers, so a pending Backward stays valid
	iscr []T
}

func newNSFCoupling[T Float](dim int, spec LayerSpec, rng *rand.Rand) (Layer[T], error) {
	if dim < 2 {
		return nil, fmt.Errorf("nsf-coupling needs at least 2 dimensions, got %d", dim)
	}
	act, spl, err := nsfCommon[T](&spec)
	if err != nil {
		return nil, fmt.Errorf("nsf-coupling: %w", err)
	}
	mask, tr, id, err := couplingSplit("nsf-coupling", spec.Mask, dim)
	if err != nil {
		return nil, err
	}
	spec.Mask = mask
	l := &NSFCoupling[T]{dim: dim, spline: spl, tIdx: tr, cIdx: id}
	sizes := append(append([]int{len(l.cIdx)}, spec.Hidden...), len(l.tIdx)*spl.NumParams())
	l.net = NewMLP[T]("mlp.", sizes, act, nil, rng)
	l.spec = spec
	return l, nil
}

// Dim is the number of columns.
func (l *NSFCoupling[T]) Dim() int { return l.dim }

// Spec returns the layer's spec with every default filled in.
func (l *NSFCoupling[T]) Spec() LayerSpec {
	s := l.spec
	s.Hidden = slices.Clone(s.Hidden)
	return s
}

// Params returns the conditioner's weights and biases.
func (l *NSFCoupling[T]) Params() []*Param[T] { return l.net.Params() }

// NewWork allocates an empty workspace.
func (l *NSFCoupling[T]) NewWork() Work {
	return &nsfCouplingWork[T]{xc: &Mat[T]{}, dxc: &Mat[T]{}, mw: l.net.NewWork(), dtheta: &Mat[T]{}}
}

// Cost reports parameters and per-row FLOPs (one conditioner pass plus one
// spline per transformed column, either direction).
func (l *NSFCoupling[T]) Cost() Cost {
	f := l.net.FLOPs() + float64(len(l.tIdx))*l.spline.FLOPs()
	return Cost{Params: l.net.NumParams(), ForwardFLOPs: f, InverseFLOPs: f, InversePasses: 1}
}

// Forward transforms the masked half through the conditioned spline.
func (l *NSFCoupling[T]) Forward(wk Work, x, z *Mat[T], ld []T) {
	w := wk.(*nsfCouplingWork[T])
	d, P, R := l.dim, l.spline.NumParams(), l.spline.ScratchLen()
	n, dt := x.Rows, len(l.tIdx)
	w.rows = n
	gatherCols(w.xc, x, l.cIdx)
	theta := l.net.Forward(w.mw, w.xc)
	w.scr = tensor.Grow(w.scr, n*dt*R)
	for r := 0; r < n; r++ {
		xr := x.Data[r*d : (r+1)*d]
		zr := z.Data[r*d : (r+1)*d]
		th := theta.Data[r*dt*P : (r+1)*dt*P]
		scr := w.scr[r*dt*R : (r+1)*dt*R]
		for _, c := range l.cIdx {
			zr[c] = xr[c]
		}
		var s T
		for j, c := range l.tIdx {
			y, e := l.spline.Forward(xr[c], th[j*P:(j+1)*P], scr[j*R:(j+1)*R])
			zr[c] = y
			s += e
		}
		ld[r] = s
	}
}

// Backward propagates through the splines and the conditioner.
func (l *NSFCoupling[T]) Backward(wk Work, dz *Mat[T], dld []T, dx *Mat[T]) {
	w := wk.(*nsfCouplingWork[T])
	d, P, R := l.dim, l.spline.NumParams(), l.spline.ScratchLen()
	n, dt, dc := w.rows, len(l.tIdx), len(l.cIdx)
	w.dtheta.Resize(n, dt*P)
	for r := 0; r < n; r++ {
		dzr := dz.Data[r*d : (r+1)*d]
		dth := w.dtheta.Data[r*dt*P : (r+1)*dt*P]
		scr := w.scr[r*dt*R : (r+1)*dt*R]
		g := dld[r]
		for j, c := range l.tIdx {
			gx := l.spline.Backward(scr[j*R:(j+1)*R], dzr[c], g, dth[j*P:(j+1)*P])
			if dx != nil {
				dx.Data[r*d+c] = gx
			}
		}
	}
	if dx == nil {
		l.net.Backward(w.mw, w.dtheta, nil)
		return
	}
	w.dxc.Resize(n, dc)
	l.net.Backward(w.mw, w.dtheta, w.dxc)
	scatterAddCols(dx, dz, w.dxc, l.cIdx)
}

// Inverse inverts the splines given the unchanged half.
func (l *NSFCoupling[T]) Inverse(wk Work, z, x *Mat[T], ld []T) {
	w := wk.(*nsfCouplingWork[T])
	d, P, R := l.dim, l.spline.NumParams(), l.spline.ScratchLen()
	n, dt := z.Rows, len(l.tIdx)
	if w.imw == nil {
		w.imw, w.izc = l.net.NewWork(), &Mat[T]{}
	}
	gatherCols(w.izc, z, l.cIdx)
	theta := l.net.Forward(w.imw, w.izc)
	w.iscr = tensor.Grow(w.iscr, R)
	scr := w.iscr
	for r := 0; r < n; r++ {
		zr := z.Data[r*d : (r+1)*d]
		xr := x.Data[r*d : (r+1)*d]
		th := theta.Data[r*dt*P : (r+1)*dt*P]
		for _, c := range l.cIdx {
			xr[c] = zr[c]
		}
		var s T
		for j, c := range l.tIdx {
			v, e := l.spline.Inverse(zr[c], th[j*P:(j+1)*P], scr)
			xr[c] = v
			s += e
		}
		if ld != nil {
			ld[r] = s
		}
	}
}

// ---------------------------------------------------------------------------
// Autoregressive.

// NSFAR is a rational-quadratic spline autoregressive layer: a MADE
// conditioner (MADEMasks with P = 3K−1 outputs per variable, column i·P+p)
// gives variable i's spline parameters from the variables before it in the
// order, so the Jacobian is triangular. The density direction is one pass;
// the inverse needs D sequential passes.
//
// Spec fields: Order "natural" (default: x_i depends on x_<i) or
// "reversed"; Hidden (default [256, 256]); Activation (default relu); Bins
// K (default 8); TailBound B (default 3). Any D ≥ 1 (with D = 1 the spline
// parameters are learned constants). Parameters: "made.w0", "made.b0", …
type NSFAR[T Float] struct {
	dim    int
	spec   LayerSpec
	order  []int // order[k] = the k-th variable
	net    *MLP[T]
	spline *Spline[T]
}

type nsfARWork[T Float] struct {
	mw     *MLPWork[T]
	dtheta *Mat[T]
	gx     *Mat[T]         // spline part of dL/dx
	scr    []T             // per element: the spline's scratch
	iscr   []T             // Inverse's own scratch
	ih     []*Mat[T]       // Inverse's hidden activations
	itheta *Mat[T]         // Inverse's spline parameters (full passes); set up by the first Inverse
	istep  *madeStepper[T] // Inverse's incremental MADE (nil: full passes)
	rows   int
}

func newNSFAR[T Float](dim int, spec LayerSpec, rng *rand.Rand) (Layer[T], error) {
	if dim < 1 {
		return nil, fmt.Errorf("nsf-ar needs at least 1 dimension, got %d", dim)
	}
	act, spl, err := nsfCommon[T](&spec)
	if err != nil {
		return nil, fmt.Errorf("nsf-ar: %w", err)
	}
	name, order, err := arOrder("nsf-ar", spec.Order, dim)
	if err != nil {
		return nil, err
	}
	spec.Order = name
	P := spl.NumParams()
	sizes := append(append([]int{dim}, spec.Hidden...), dim*P)
	masks := MADEMasks[T](dim, spec.Hidden, P, order)
	return &NSFAR[T]{
		dim: dim, spec: spec, order: order, spline: spl,
		net: NewMLP[T]("made.", sizes, act, masks, rng),
	}, nil
}

// Dim is the number of columns.
func (l *NSFAR[T]) Dim() int { return l.dim }

// Spec returns the layer's spec with every default filled in.
func (l *NSFAR[T]) Spec() LayerSpec {
	s := l.spec
	s.Hidden = slices.Clone(s.Hidden)
	return s
}

// Params returns the MADE's weights and biases.
func (l *NSFAR[T]) Params() []*Param[T] { return l.net.Params() }

// NewWork allocates an empty workspace.
func (l *NSFAR[T]) NewWork() Work {
	return &nsfARWork[T]{mw: l.net.NewWork(), dtheta: &Mat[T]{}, gx: &Mat[T]{}}
}

// Cost reports parameters and per-row FLOPs; the inverse runs the MADE's
// hidden layers D times, and each time only one variable's P columns of
// the output layer.
func (l *NSFAR[T]) Cost() Cost {
	sz := l.net.Sizes
	L := len(sz) - 1
	pass := 2 * float64(sz[L-1]*l.spline.NumParams())
	for k := 0; k < L-1; k++ {
		pass += 2 * float64(sz[k]*sz[k+1])
	}
	sp := float64(l.dim) * l.spline.FLOPs()
	return Cost{
		Params:        l.net.NumParams(),
		ForwardFLOPs:  l.net.FLOPs() + sp,
		InverseFLOPs:  float64(l.dim)*pass + sp,
		InversePasses: l.dim,
	}
}

// Forward applies every variable's spline, conditioned on the MADE.
func (l *NSFAR[T]) Forward(wk Work, x, z *Mat[T], ld []T) {
	w := wk.(*nsfARWork[T])
	d, P, R := l.dim, l.spline.NumParams(), l.spline.ScratchLen()
	n := x.Rows
	w.rows = n
	theta := l.net.Forward(w.mw, x)
	w.scr = tensor.Grow(w.scr, n*d*R)
	for r := 0; r < n; r++ {
		xr := x.Data[r*d : (r+1)*d]
		zr := z.Data[r*d : (r+1)*d]
		th := theta.Data[r*d*P : (r+1)*d*P]
		scr := w.scr[r*d*R : (r+1)*d*R]
		var s T
		for i, v := range xr {
			y, e := l.spline.Forward(v, th[i*P:(i+1)*P], scr[i*R:(i+1)*R])
			zr[i] = y
			s += e
		}
		ld[r] = s
	}
}

// Backward propagates through the splines and the MADE.
func (l *NSFAR[T]) Backward(wk Work, dz *Mat[T], dld []T, dx *Mat[T]) {
	w := wk.(*nsfARWork[T])
	d, P, R := l.dim, l.spline.NumParams(), l.spline.ScratchLen()
	n := w.rows
	w.dtheta.Resize(n, d*P)
	w.gx.Resize(n, d)
	for r := 0; r < n; r++ {
		dzr := dz.Data[r*d : (r+1)*d]
		gxr := w.gx.Data[r*d : (r+1)*d]
		dth := w.dtheta.Data[r*d*P : (r+1)*d*P]
		scr := w.scr[r*d*R : (r+1)*d*R]
		g := dld[r]
		for i, v := range dzr {
			gxr[i] = l.spline.Backward(scr[i*R:(i+1)*R], v, g, dth[i*P:(i+1)*P])
		}
	}
	l.net.Backward(w.mw, w.dtheta, dx)
	if dx != nil {
		for i, v := range w.gx.Data[:n*d] {
			dx.Data[i] += v
		}
	}
}

// Inverse runs D passes: pass k inverts variable order[k] from its spline
// parameters. The MADE is evaluated incrementally (see madeStepper): each
// hidden unit once, when the inputs it sees are known, and only the P
// output columns of the variable being solved.
func (l *NSFAR[T]) Inverse(wk Work, z, x *Mat[T], ld []T) {
	w := wk.(*nsfARWork[T])
	d, P, R := l.dim, l.spline.NumParams(), l.spline.ScratchLen()
	n := z.Rows
	if w.itheta == nil {
		w.itheta = &Mat[T]{}
		w.istep = newMADEStepper(l.net, l.order, P)
		if w.istep == nil {
			for range len(l.net.W) - 1 {
				w.ih = append(w.ih, &Mat[T]{})
			}
		}
	}
	w.iscr = tensor.Grow(w.iscr, R)
	if w.istep == nil {
		x.Zero() // unsolved variables must be finite (0·NaN)
	} else {
		w.istep.begin(n)
	}
	if ld != nil {
		clear(ld[:n])
	}
	for k, v := range l.order {
		var theta []T
		ldt := P
		if w.istep != nil {
			theta, ldt = w.istep.pass(k, x)
		} else {
			theta = l.madeColumns(w, x, v*P, P).Data
		}
		for r := 0; r < n; r++ {
			xv, e := l.spline.Inverse(z.Data[r*d+v], theta[r*ldt:r*ldt+P], w.iscr)
			x.Data[r*d+v] = xv
			if ld != nil {
				ld[r] += e
			}
		}
	}
}

// madeColumns runs the MADE on x but computes only the output columns
// [c0, c0+nc) of its last layer (one variable's spline parameters): the
// fallback of Inverse when the masks are not a MADE's, and the reference
// the incremental evaluation is tested against.
func (l *NSFAR[T]) madeColumns(w *nsfARWork[T], x *Mat[T], c0, nc int) *Mat[T] {
	m := l.net
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
	out := w.itheta
	out.Resize(n, nc)
	for r := 0; r < n; r++ {
		copy(out.Data[r*nc:(r+1)*nc], m.B[L-1].Value[c0:c0+nc])
	}
	tensor.Gemm(false, false, n, nc, nIn, 1, in.Data, nIn, m.W[L-1].Value[c0:], nOut, 1, out.Data, nc)
	return out
}
