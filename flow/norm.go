package flow

import (
	"fmt"
	"github.com/autonf/autonf/tensor"
	"math"
	"math/rand/v2"
)

func init() {
	RegisterType(LayerType{Name: "actnorm", Fields: []string{}}, newActNormFromSpec[float32], newActNormFromSpec[float64])
	RegisterType(LayerType{Name: "batchnorm", Fields: []string{"momentum", "eps"}, Example: LayerSpec{Type: "batchnorm", Momentum: 0.2, Eps: 1e-4}},
		newBatchNormFromSpec[float32], newBatchNormFromSpec[float64])
}

// ActNorm is Glow's activation normalisation (Kingma & Dhariwal 2018), a
// per-column affine map in the data→noise direction:
//
//	z_j = (x_j − loc_j)·exp(−log_scale_j),  log|det| = −Σ_j log_scale_j.
//
// so loc and exp(log_scale) are the mean and standard deviation the layer
// removes. Parameters: "loc" (D) and "log_scale" (D). A freshly built layer
// is the identity (both zero). InitFromData (called by Flow.InitFromData)
// sets loc to the column means of the batch and log_scale to the log of
// the column standard deviations (population variance, divisor N), so that
// the batch leaves the layer with zero mean and unit variance per column;
// a column whose variance is ≤ 1e-12 (constant, or a single row) keeps
// log_scale = 0.
type ActNorm[T Float] struct {
	dim           int
	Loc, LogScale *Param[T]
}

// actNormWork holds one application's input and the inverse scales.
type actNormWork[T Float] struct {
	x      *Mat[T]
	inv    []T // exp(−log_scale)
	iscale []T // Inverse's exp(log_scale), apart so a pending Backward stays valid
	grads  gradSet[T]
}

func newActNormFromSpec[T Float](dim int, spec LayerSpec, rng *rand.Rand) (Layer[T], error) {
	if dim < 1 {
		return nil, fmt.Errorf("actnorm: dim must be positive, got %d", dim)
	}
	return &ActNorm[T]{dim: dim, Loc: NewParam[T]("loc", dim), LogScale: NewParam[T]("log_scale", dim)}, nil
}

// Dim is the number of columns D.
func (l *ActNorm[T]) Dim() int { return l.dim }

// Spec returns {Type: "actnorm"}; the layer has no hyperparameters.
func (l *ActNorm[T]) Spec() LayerSpec { return LayerSpec{Type: "actnorm"} }

// Params returns loc and log_scale.
func (l *ActNorm[T]) Params() []*Param[T] { return []*Param[T]{l.Loc, l.LogScale} }

// NewWork allocates an empty workspace.
func (l *ActNorm[T]) NewWork() Work { return l.work(nil) }

// NewOp implements ShardedLayer.
func (l *ActNorm[T]) NewOp(grads [][]T) Op[T] { return bindOp[T](l, l.work(grads)) }

func (l *ActNorm[T]) work(grads [][]T) *actNormWork[T] {
	return &actNormWork[T]{grads: bindGrads(l.Params(), grads)}
}

// Cost reports one subtract and one multiply per entry.
func (l *ActNorm[T]) Cost() Cost {
	d := float64(l.dim)
	return Cost{Params: 2 * l.dim, ForwardFLOPs: 2 * d, InverseFLOPs: 2 * d, InversePasses: 1}
}

// InitFromData sets loc and log_scale from the column statistics of x so
// that x maps to zero mean and unit variance per column.
func (l *ActNorm[T]) InitFromData(x *Mat[T]) {
	if x.Rows == 0 {
		return
	}
	mean, vr := slColumnMoments(x, nil, nil)
	for j := 0; j < l.dim; j++ {
		l.Loc.Value[j] = T(mean[j])
		l.LogScale.Value[j] = 0
		if vr[j] > 1e-12 {
			l.LogScale.Value[j] = T(0.5 * math.Log(vr[j]))
		}
	}
}

// inverseScales fills wk.inv with exp(−log_scale) and returns the log-det.
func (l *ActNorm[T]) inverseScales(wk *actNormWork[T]) T {
	wk.inv = tensor.Grow(wk.inv, l.dim)
	var ld float64
	for j, v := range l.LogScale.Value {
		wk.inv[j] = T(math.Exp(-float64(v)))
		ld -= float64(v)
	}
	return T(ld)
}

// Forward computes z = (x − loc)·exp(−log_scale) and the constant log-det.
func (l *ActNorm[T]) Forward(work Work, x, z *Mat[T], ld []T) {
	l.forward(work.(*actNormWork[T]), x, z, ld)
}

func (l *ActNorm[T]) forward(wk *actNormWork[T], x, z *Mat[T], ld []T) {
	d := l.dim
	wk.x = x
	ldv := l.inverseScales(wk)
	loc, inv := l.Loc.Value, wk.inv
	for r := 0; r < x.Rows; r++ {
		xr, zr := x.Data[r*d:(r+1)*d], z.Data[r*d:(r+1)*d]
		for j, v := range xr {
			zr[j] = (v - loc[j]) * inv[j]
		}
		ld[r] = ldv
	}
}

// Backward: dx = dz·exp(−log_scale); dloc = −Σ dx; dlog_scale = −Σ dz⊙z − Σ dld.
func (l *ActNorm[T]) Backward(work Work, dz *Mat[T], dld []T, dx *Mat[T]) {
	l.backward(work.(*actNormWork[T]), dz, dld, dx)
}

func (l *ActNorm[T]) backward(wk *actNormWork[T], dz *Mat[T], dld []T, dx *Mat[T]) {
	d := l.dim
	loc, inv := l.Loc.Value, wk.inv
	gl, gs := wk.grads.of(l.Loc), wk.grads.of(l.LogScale)
	var lam T
	for r := 0; r < dz.Rows; r++ {
		gr, xr := dz.Data[r*d:(r+1)*d], wk.x.Data[r*d:(r+1)*d]
		for j, g := range gr {
			gi := g * inv[j]
			gl[j] -= gi
			gs[j] -= gi * (xr[j] - loc[j])
		}
		if dx != nil {
			dr := dx.Data[r*d : (r+1)*d]
			for j, g := range gr {
				dr[j] = g * inv[j]
			}
		}
		if dld != nil {
			lam += dld[r]
		}
	}
	for j := range gs {
		gs[j] -= lam
	}
}

// Inverse computes x = z·exp(log_scale) + loc.
func (l *ActNorm[T]) Inverse(work Work, z, x *Mat[T], ld []T) {
	l.inverse(work.(*actNormWork[T]), z, x, ld)
}

func (l *ActNorm[T]) inverse(wk *actNormWork[T], z, x *Mat[T], ld []T) {
	d := l.dim
	loc := l.Loc.Value
	wk.iscale = tensor.Grow(wk.iscale, d)
	var ldv float64
	for j, v := range l.LogScale.Value {
		wk.iscale[j] = T(math.Exp(float64(v)))
		ldv -= float64(v)
	}
	sc := wk.iscale
	for r := 0; r < z.Rows; r++ {
		zr, xr := z.Data[r*d:(r+1)*d], x.Data[r*d:(r+1)*d]
		for j, v := range zr {
			xr[j] = v*sc[j] + loc[j]
		}
		if ld != nil {
			ld[r] = T(ldv)
		}
	}
}

// BatchNorm is the batch-normalisation flow layer of Dinh et al. (2017)
// and Papamakarios et al. (2017, MAF), in the data→noise direction:
//
//	z_j = (x_j − μ_j)/√(v_j + eps)·exp(γ_j) + β_j,
//	log|det| = Σ_j (γ_j − ½·log(v_j + eps))   (the same for every row).
//
// Parameters: "log_gamma" (γ, D, zero at build) and "beta" (β, D, zero).
// Hyperparameters: LayerSpec.Momentum (default 0.1) and LayerSpec.Eps
// (default 1e-5).
//
// Modes. A freshly built layer is in evaluation mode, the safe mode for
// density evaluation and sampling: μ, v are the running averages (initially
// 0 and 1) and rows are independent. Flow.SetTraining(true) switches to
// training mode: μ, v are the mean and the population variance (divisor N)
// of the batch, Backward differentiates through them (including the
// log-det's dependence on v), and every training-mode Forward updates the
// running averages, running = (1 − momentum)·running + momentum·batch, with
// the unbiased batch variance (divisor N − 1, as PyTorch); batches of one
// row do not update them. The training-mode output does not depend on the
// running averages, so repeated forwards are deterministic.
//
// InitFromData (called by Flow.InitFromData) sets the running averages to
// the statistics of the batch, so evaluation right after initialisation
// normalises the data. Inverse always uses the running averages (the batch
// statistics of the unknown x are not available), so it inverts the
// evaluation-mode Forward.
//
// The running averages are state, not parameters: they are exported as
// RunningMean and RunningVar, and Buffers returns them for checkpoints.
type BatchNorm[T Float] struct {
	dim                     int
	momentum, eps           float64
	LogGamma, Beta          *Param[T]
	RunningMean, RunningVar []T
	training                bool
}

// batchNormWork holds one application's normalised input.
type batchNormWork[T Float] struct {
	xhat     Mat[T]
	mu       []T // mean used by the last Forward
	invStd   []T // 1/√(v + eps) per column
	scale    []T // exp(γ)
	iscale   []T // Inverse's exp(−γ)·√(v + eps), apart so a pending Backward stays valid
	sg, sgx  []T // backward scratch: Σ_r dz, Σ_r dz⊙x̂ per column
	mean, vr []float64
	training bool // mode of the last Forward
	grads    gradSet[T]
}

func newBatchNormFromSpec[T Float](dim int, spec LayerSpec, rng *rand.Rand) (Layer[T], error) {
	if dim < 1 {
		return nil, fmt.Errorf("batchnorm: dim must be positive, got %d", dim)
	}
	mom, eps := spec.Momentum, spec.Eps
	if mom == 0 {
		mom = 0.1
	}
	if eps == 0 {
		eps = 1e-5
	}
	if !(mom > 0 && mom <= 1) {
		return nil, fmt.Errorf("batchnorm: momentum must be in (0, 1], got %g", spec.Momentum)
	}
	if !(eps > 0) || math.IsInf(eps, 1) {
		return nil, fmt.Errorf("batchnorm: eps must be positive, got %g", spec.Eps)
	}
	l := &BatchNorm[T]{
		dim: dim, momentum: mom, eps: eps,
		LogGamma:    NewParam[T]("log_gamma", dim),
		Beta:        NewParam[T]("beta", dim),
		RunningMean: make([]T, dim),
		RunningVar:  make([]T, dim),
	}
	for j := range l.RunningVar {
		l.RunningVar[j] = 1
	}
	return l, nil
}

// Dim is the number of columns D.
func (l *BatchNorm[T]) Dim() int { return l.dim }

// Spec returns {Type: "batchnorm", Momentum, Eps} with defaults filled in.
func (l *BatchNorm[T]) Spec() LayerSpec {
	return LayerSpec{Type: "batchnorm", Momentum: l.momentum, Eps: l.eps}
}

// Params returns log_gamma and beta.
func (l *BatchNorm[T]) Params() []*Param[T] { return []*Param[T]{l.LogGamma, l.Beta} }

// Buffers returns the running mean and variance as named tensors
// ("running_mean", "running_var", Grad nil) sharing the layer's storage, so
// that checkpoints can save and restore them. They are not learnable.
func (l *BatchNorm[T]) Buffers() []*Param[T] {
	return []*Param[T]{
		{Name: "running_mean", Shape: []int{l.dim}, Value: l.RunningMean},
		{Name: "running_var", Shape: []int{l.dim}, Value: l.RunningVar},
	}
}

// SetTraining selects batch statistics (true) or running averages (false).
func (l *BatchNorm[T]) SetTraining(training bool) { l.training = training }

// Training reports whether the layer is in training mode.
func (l *BatchNorm[T]) Training() bool { return l.training }

// NewWork allocates an empty workspace.
func (l *BatchNorm[T]) NewWork() Work { return &batchNormWork[T]{} }

// NewOp implements ShardedLayer (a flow with BatchNorm still runs
// unsharded: the batch statistics must see the whole batch).
func (l *BatchNorm[T]) NewOp(grads [][]T) Op[T] {
	return bindOp[T](l, &batchNormWork[T]{grads: bindGrads(l.Params(), grads)})
}

// Cost reports normalising and scaling each entry (plus the batch
// statistics in training).
func (l *BatchNorm[T]) Cost() Cost {
	d := float64(l.dim)
	return Cost{Params: 2 * l.dim, ForwardFLOPs: 4 * d, InverseFLOPs: 4 * d, InversePasses: 1}
}

// InitFromData sets the running averages to the batch's column means and
// population variances.
func (l *BatchNorm[T]) InitFromData(x *Mat[T]) {
	if x.Rows == 0 {
		return
	}
	mean, vr := slColumnMoments(x, nil, nil)
	for j := 0; j < l.dim; j++ {
		l.RunningMean[j], l.RunningVar[j] = T(mean[j]), T(vr[j])
	}
}

// Forward normalises x with the batch statistics (training) or the running
// averages (evaluation).
func (l *BatchNorm[T]) Forward(work Work, x, z *Mat[T], ld []T) {
	l.forward(work.(*batchNormWork[T]), x, z, ld)
}

func (l *BatchNorm[T]) forward(wk *batchNormWork[T], x, z *Mat[T], ld []T) {
	d, n := l.dim, x.Rows
	wk.training = l.training
	wk.invStd, wk.scale = tensor.Grow(wk.invStd, d), tensor.Grow(wk.scale, d)
	wk.mu = tensor.Grow(wk.mu, d)
	mu := wk.mu
	ldv := 0.0
	if l.training && n > 0 {
		wk.mean, wk.vr = slColumnMoments(x, wk.mean, wk.vr)
		if n > 1 {
			m, c := T(l.momentum), T(float64(n)/float64(n-1))
			for j := 0; j < d; j++ {
				l.RunningMean[j] = (1-m)*l.RunningMean[j] + m*T(wk.mean[j])
				l.RunningVar[j] = (1-m)*l.RunningVar[j] + m*c*T(wk.vr[j])
			}
		}
		for j := 0; j < d; j++ {
			mu[j] = T(wk.mean[j])
			v := wk.vr[j] + l.eps
			wk.invStd[j] = T(1 / math.Sqrt(v))
			ldv -= 0.5 * math.Log(v)
		}
	} else {
		copy(mu, l.RunningMean)
		for j := 0; j < d; j++ {
			v := float64(l.RunningVar[j]) + l.eps
			wk.invStd[j] = T(1 / math.Sqrt(v))
			ldv -= 0.5 * math.Log(v)
		}
	}
	for j, g := range l.LogGamma.Value {
		wk.scale[j] = T(math.Exp(float64(g)))
		ldv += float64(g)
	}
	wk.xhat.Resize(n, d)
	beta, inv, sc := l.Beta.Value, wk.invStd, wk.scale
	for r := 0; r < n; r++ {
		xr, hr, zr := x.Data[r*d:(r+1)*d], wk.xhat.Data[r*d:(r+1)*d], z.Data[r*d:(r+1)*d]
		for j, v := range xr {
			h := (v - mu[j]) * inv[j]
			hr[j] = h
			zr[j] = h*sc[j] + beta[j]
		}
		ld[r] = T(ldv)
	}
}

// Backward propagates through the affine map and, in training mode,
// through the batch mean and variance (and the log-det's dependence on the
// variance).
func (l *BatchNorm[T]) Backward(work Work, dz *Mat[T], dld []T, dx *Mat[T]) {
	l.backward(work.(*batchNormWork[T]), dz, dld, dx)
}

func (l *BatchNorm[T]) backward(wk *batchNormWork[T], dz *Mat[T], dld []T, dx *Mat[T]) {
	d, n := l.dim, dz.Rows
	wk.sg, wk.sgx = tensor.Grow(wk.sg, d), tensor.Grow(wk.sgx, d)
	sg, sgx := wk.sg, wk.sgx
	clear(sg)
	clear(sgx)
	var lam T
	for r := 0; r < n; r++ {
		gr, hr := dz.Data[r*d:(r+1)*d], wk.xhat.Data[r*d:(r+1)*d]
		for j, g := range gr {
			sg[j] += g
			sgx[j] += g * hr[j]
		}
		if dld != nil {
			lam += dld[r]
		}
	}
	sc, inv := wk.scale, wk.invStd
	gg, gb := wk.grads.of(l.LogGamma), wk.grads.of(l.Beta)
	for j := 0; j < d; j++ {
		gb[j] += sg[j]
		gg[j] += sc[j]*sgx[j] + lam
	}
	if dx == nil {
		return
	}
	if !wk.training {
		for r := 0; r < n; r++ {
			gr, dr := dz.Data[r*d:(r+1)*d], dx.Data[r*d:(r+1)*d]
			for j, g := range gr {
				dr[j] = g * sc[j] * inv[j]
			}
		}
		return
	}
	// dx = (1/σ)·[e^γ(g − mean g − x̂·mean(g x̂)) − x̂·Σdld/N].
	invN := 1 / T(n)
	for j := 0; j < d; j++ {
		sg[j] *= invN
		sgx[j] = sgx[j]*invN + lam*invN/sc[j]
	}
	for r := 0; r < n; r++ {
		gr, hr, dr := dz.Data[r*d:(r+1)*d], wk.xhat.Data[r*d:(r+1)*d], dx.Data[r*d:(r+1)*d]
		for j, g := range gr {
			dr[j] = sc[j] * inv[j] * (g - sg[j] - hr[j]*sgx[j])
		}
	}
}

// Inverse computes x = (z − β)·exp(−γ)·√(v + eps) + μ with the running
// averages, whatever the mode.
func (l *BatchNorm[T]) Inverse(work Work, z, x *Mat[T], ld []T) {
	l.inverse(work.(*batchNormWork[T]), z, x, ld)
}

func (l *BatchNorm[T]) inverse(wk *batchNormWork[T], z, x *Mat[T], ld []T) {
	d := l.dim
	wk.iscale = tensor.Grow(wk.iscale, d)
	ldv := 0.0
	for j := 0; j < d; j++ {
		v := float64(l.RunningVar[j]) + l.eps
		g := float64(l.LogGamma.Value[j])
		wk.iscale[j] = T(math.Exp(-g) * math.Sqrt(v))
		ldv += g - 0.5*math.Log(v)
	}
	beta, mu, sc := l.Beta.Value, l.RunningMean, wk.iscale
	for r := 0; r < z.Rows; r++ {
		zr, xr := z.Data[r*d:(r+1)*d], x.Data[r*d:(r+1)*d]
		for j, v := range zr {
			xr[j] = (v-beta[j])*sc[j] + mu[j]
		}
		if ld != nil {
			ld[r] = T(ldv)
		}
	}
}

// slColumnMoments returns the column means and population variances of x
// (two passes, float64 accumulation), reusing mean and vr when large enough.
func slColumnMoments[T Float](x *Mat[T], mean, vr []float64) ([]float64, []float64) {
	d, n := x.Cols, x.Rows
	mean, vr = tensor.Grow(mean, d), tensor.Grow(vr, d)
	clear(mean)
	clear(vr)
	for r := 0; r < n; r++ {
		for j, v := range x.Data[r*d : (r+1)*d] {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	for r := 0; r < n; r++ {
		for j, v := range x.Data[r*d : (r+1)*d] {
			e := float64(v) - mean[j]
			vr[j] += e * e
		}
	}
	for j := range vr {
		vr[j] /= float64(n)
	}
	return mean, vr
}
