package search

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
)

// group is one candidate's share of a batch in the sample estimator: the
// rows that chose it, gathered into contiguous matrices.
type group[T flow.Float] struct {
	rows   []int
	op     flow.Op[T]
	x, z   *tensor.Mat[T] // gathered input and output
	ld     []T
	dz, dx *tensor.Mat[T]
	dld    []T
	invOp  flow.Op[T] // for Sample (kept apart from the training op)
}

// sampler is the sample estimator's state; all buffers are reused.
type sampler[T flow.Float] struct {
	groups [][]group[T] // [slot][candidate]
	choice []int        // B×n: candidate of row r at slot i
	outs   []*tensor.Mat[T]
	grads  []*tensor.Mat[T] // grads[i] = dL/d outs[i]
	gradIn *tensor.Mat[T]   // dL/d (input of slot 0), with a prefix
	cum    []float64
	preOp  flow.Op[T]
	preZ   *tensor.Mat[T]
	preLd  []T
	sufOp  flow.Op[T]
	sufZ   *tensor.Mat[T]
	sufLd  []T
	gF     *tensor.Mat[T]
	dldC   []T // the constant −1/N
	lp     []float64
	coef   []float64 // per row (ℓ − b)/N of the score-function estimator
	q      []float64 // one slot's proposal (ThetaUniform)
	units  [][][]int // units[i]: slot i's candidates grouped by shared parameters (see paramUnits)
	order  [][]int   // order[i]: slot i's candidates, the costliest first (the units flattened)
	job    sampleJob[T]
}

// sampleJob is the sample estimator's task: the candidates of one slot,
// forward (item: a candidate; each writes only the rows that chose it)
// or backward (item: a unit of candidates with disjoint gradients).
type sampleJob[T flow.Float] struct {
	s        *Supernet[T]
	backward bool
	slot     int
	in, cur  *tensor.Mat[T] // forward: the slot's input; backward: dL/d its output
	out      *tensor.Mat[T] // forward: the slot's output; backward: dL/d its input (nil for none)
	inv      T              // backward: 1/N
}

func (j *sampleJob[T]) do(i int) {
	s := j.s
	sm := s.sm
	D := s.Dim
	if !j.backward {
		g := &sm.groups[j.slot][sm.order[j.slot][i]]
		if len(g.rows) == 0 {
			return
		}
		gatherRows(g.x, j.in, g.rows)
		g.z.Resize(len(g.rows), D)
		g.ld = grow(g.ld, len(g.rows))
		g.op.Forward(g.x, g.z, g.ld)
		scatterRows(j.out, g.z, g.rows)
		for a, r := range g.rows {
			sm.cum[r] += float64(g.ld[a])
		}
		return
	}
	for _, c := range sm.units[j.slot][i] {
		g := &sm.groups[j.slot][c]
		nr := len(g.rows)
		if nr == 0 {
			continue
		}
		gatherRows(g.dz, j.cur, g.rows)
		g.dld = grow(g.dld, nr)
		for a := range g.dld {
			g.dld[a] = -j.inv
		}
		var dx *tensor.Mat[T]
		if j.out != nil {
			dx = g.dx
			dx.Resize(nr, D)
		}
		g.op.Backward(g.dz, g.dld, dx)
		if dx != nil {
			scatterRows(j.out, dx, g.rows)
		}
	}
}

// runSlot runs one slot's candidates on the workers.
func (s *Supernet[T]) runSlot(j sampleJob[T], n int) {
	sm := s.sm
	j.s = s
	sm.job = j
	s.pool().run(s.workers(), n, &sm.job)
	sm.job = sampleJob[T]{}
}

func (s *Supernet[T]) buildSampler() {
	if s.sm != nil {
		return
	}
	sm := &sampler[T]{gradIn: newMat[T](), preZ: newMat[T](), sufZ: newMat[T](), gF: newMat[T]()}
	for _, c := range s.Slots {
		gs := make([]group[T], len(c))
		for j, l := range c {
			gs[j] = group[T]{op: flow.NewOp(l), x: newMat[T](), z: newMat[T](), dz: newMat[T](), dx: newMat[T]()}
		}
		sm.groups = append(sm.groups, gs)
		us := paramUnits(c)
		sm.units = append(sm.units, us)
		sm.order = append(sm.order, slices.Concat(us...))
		sm.outs = append(sm.outs, newMat[T]())
		sm.grads = append(sm.grads, newMat[T]())
	}
	if s.pre != nil {
		sm.preOp = flow.NewOp(s.pre)
	}
	if s.suf != nil {
		sm.sufOp = flow.NewOp(s.suf)
	}
	s.sm = sm
}

// drawChoices draws every row's path slot by slot from w_i (s.w must be
// fresh), or from (1 − mix)·w_i + mix/m_i, and fills the groups' row lists.
func (s *Supernet[T]) drawChoices(B int, rng *rand.Rand, mix float64) {
	sm := s.sm
	n := len(s.Slots)
	sm.choice = grow(sm.choice, B*n)
	for i, gs := range sm.groups {
		for j := range gs {
			gs[j].rows = gs[j].rows[:0]
		}
		w := s.w[i]
		if mix > 0 {
			sm.q = grow(sm.q, len(w))
			for j, v := range w {
				sm.q[j] = (1-mix)*v + mix/float64(len(w))
			}
			w = sm.q
		}
		for r := 0; r < B; r++ {
			u := rng.Float64()
			j, c := len(w)-1, 0.0
			for q, v := range w {
				c += v
				if u < c {
					j = q
					break
				}
			}
			for w[j] == 0 && j > 0 { // rounding at the top end
				j--
			}
			sm.choice[r*n+i] = j
			gs[j].rows = append(gs[j].rows, r)
		}
	}
}

func gatherRows[T flow.Float](dst, src *tensor.Mat[T], rows []int) {
	D := src.Cols
	dst.Resize(len(rows), D)
	for a, r := range rows {
		copy(dst.Data[a*D:(a+1)*D], src.Data[r*D:(r+1)*D])
	}
}

func scatterRows[T flow.Float](dst, src *tensor.Mat[T], rows []int) {
	D := src.Cols
	for a, r := range rows {
		copy(dst.Data[r*D:(r+1)*D], src.Data[a*D:(a+1)*D])
	}
}

// SampleLoss is the sample estimator of L^U on the batch x (Sampled): each
// row x draws its own path k(x) slot by slot from w_i, using the supernet's
// generator (see Seed). At each slot every candidate runs once, on the rows
// that chose it (gathered into a contiguous batch and scattered back), so a
// batch costs one pass through Σ_i m_i candidates on B rows in total — linear
// in n·m instead of m^n. It returns L̂ = mean_x ℓ(x), ℓ(x) = −log p_{k(x)}(x),
// an unbiased estimate of L^U.
//
// With thetaGrad it adds ∇θ L̂ into the parameters' Grad (backprop of the
// per-row NLL through the chosen candidates: E_k ∇θ L̂ = ∇θ L^U, since every
// row's path is drawn from W independently of θ).
//
// With alphaGrad it adds the score-function (REINFORCE) estimate
//
//	ĝ = (1/N) Σ_x (ℓ(x) − b₋ₓ) ∇α log W_{k(x)},
//	∂log W_k/∂α_i^j = ([k_i = j] − w_i^j)/τ   (τ: Temperature),
//
// into AlphaGrad. The baseline b₋ₓ = mean of ℓ over the other rows of the
// batch depends only on the other rows' (independent) paths, so
// E[b₋ₓ ∇α log W_{k(x)}] = E[b₋ₓ]·E[∇α log W_k] = 0 and ĝ stays unbiased for
// ∇α L^U, while subtracting it removes the common level of the NLL (which
// is typically much larger than its spread across paths) from the variance
// (leave-one-out baseline). Single-row batches use no baseline.
//
// When PairedBaseline is set and x holds every row twice (rows r and
// r + B/2 equal, as the Searcher arranges for its α steps), each row's
// baseline is instead the loss of its twin, whose path was drawn
// independently: still unbiased, and it also removes the spread of the NLL
// across rows, which dominates on heavy-tailed data.
//
// With ThetaUniform = ε > 0, a call with thetaGrad but not alphaGrad (a θ
// step) draws the paths from (1 − ε)·w_i + ε/m_i instead of w_i, without
// importance weights: it then returns the mean NLL of those paths and
// their θ gradient (see ThetaUniform).
//
// A non-finite log-density gives a *NonFiniteError and no gradient.
func (s *Supernet[T]) SampleLoss(x *tensor.Mat[T], thetaGrad, alphaGrad bool) (float64, error) {
	if err := s.checkInput(x); err != nil {
		return math.NaN(), err
	}
	s.buildSampler()
	s.refreshWeights()
	sm := s.sm
	B, D, n := x.Rows, s.Dim, len(s.Slots)
	mix := 0.0
	if thetaGrad && !alphaGrad {
		mix = s.ThetaUniform
	}
	s.drawChoices(B, s.rng, mix)
	sm.cum = grow(sm.cum, B)
	clear(sm.cum)
	in := x
	if s.pre != nil {
		sm.preZ.Resize(B, D)
		sm.preLd = grow(sm.preLd, B)
		sm.preOp.Forward(x, sm.preZ, sm.preLd)
		for r, v := range sm.preLd {
			sm.cum[r] += float64(v)
		}
		in = sm.preZ
	}
	for i, gs := range sm.groups {
		out := sm.outs[i]
		out.Resize(B, D)
		s.runSlot(sampleJob[T]{slot: i, in: in, out: out}, len(gs))
		in = out
	}
	zf := in
	if s.suf != nil {
		sm.sufZ.Resize(B, D)
		sm.sufLd = grow(sm.sufLd, B)
		sm.sufOp.Forward(in, sm.sufZ, sm.sufLd)
		for r, v := range sm.sufLd {
			sm.cum[r] += float64(v)
		}
		zf = sm.sufZ
	}
	sm.lp = grow(sm.lp, B)
	sum := 0.0
	for r := 0; r < B; r++ {
		sm.lp[r] = logNormal(zf.Data[r*D:(r+1)*D]) + sm.cum[r]
		sum += sm.lp[r]
	}
	if !finite(sum) {
		return math.NaN(), s.locateSampleNonFinite(x)
	}
	loss := -sum / float64(B)
	if alphaGrad {
		// ℓ_r − b₋ᵣ with b₋ᵣ = (Σℓ − ℓ_r)/(B−1).
		tot := -sum
		sm.coef = grow(sm.coef, B)
		paired := s.PairedBaseline && B >= 2 && B%2 == 0
		for r := 0; r < B; r++ {
			l := -sm.lp[r]
			b := 0.0
			switch {
			case paired:
				b = -sm.lp[(r+B/2)%B]
			case B > 1:
				b = (tot - l) / float64(B-1)
			}
			sm.coef[r] = (l - b) / float64(B)
		}
		it := s.invTemp()
		for i := range s.Slots {
			ctot := 0.0
			for r := 0; r < B; r++ {
				c := sm.coef[r] * it
				s.AlphaGrad[i][sm.choice[r*n+i]] += c
				ctot += c
			}
			for j, w := range s.w[i] {
				s.AlphaGrad[i][j] -= w * ctot
			}
		}
	}
	if thetaGrad {
		s.sampleBackward(zf, B)
	}
	return loss, nil
}

// sampleBackward backpropagates L̂ = −mean log p_{k(x)}(x) through the
// chosen candidates.
func (s *Supernet[T]) sampleBackward(zf *tensor.Mat[T], B int) {
	sm := s.sm
	D, n := s.Dim, len(s.Slots)
	inv := T(1 / float64(B))
	sm.dldC = grow(sm.dldC, B)
	for r := range sm.dldC {
		sm.dldC[r] = -inv
	}
	sm.gF.Resize(B, D)
	for e, v := range zf.Data[:B*D] {
		sm.gF.Data[e] = v * inv
	}
	cur := sm.gF
	if s.suf != nil {
		g := sm.grads[n-1]
		g.Resize(B, D)
		sm.sufOp.Backward(sm.gF, sm.dldC, g)
		cur = g
	}
	for i := n - 1; i >= 0; i-- {
		var target *tensor.Mat[T]
		switch {
		case i > 0:
			target = sm.grads[i-1]
		case s.pre != nil:
			target = sm.gradIn
		}
		if target != nil {
			target.Resize(B, D)
		}
		s.runSlot(sampleJob[T]{backward: true, slot: i, cur: cur, out: target, inv: inv}, len(sm.units[i]))
		cur = target
	}
	if s.pre != nil {
		sm.preOp.Backward(sm.gradIn, sm.dldC, nil)
	}
}

// locateSampleNonFinite finds the first stage of the last sampled forward
// with a non-finite value.
func (s *Supernet[T]) locateSampleNonFinite(x *tensor.Mat[T]) error {
	sm := s.sm
	B, n := x.Rows, len(s.Slots)
	if !allFinite(x.Vals()) {
		return &NonFiniteError{Stage: "input", Slot: -1, Candidate: -1}
	}
	if s.pre != nil && (!allFinite(sm.preZ.Vals()) || !allFinite(sm.preLd[:B])) {
		return &NonFiniteError{Stage: "prefix", Slot: -1, Candidate: -1}
	}
	for i, gs := range sm.groups {
		for j := range gs {
			g := &gs[j]
			if len(g.rows) == 0 {
				continue
			}
			for a, r := range g.rows {
				bad := !finite(float64(g.ld[a]))
				for _, v := range g.z.Row(a) {
					bad = bad || !finite(float64(v))
				}
				if bad {
					path := make([]int, i+1)
					for q := range path {
						path[q] = sm.choice[r*n+q]
					}
					return &NonFiniteError{Stage: "slot", Slot: i, Candidate: j, Path: path, Type: s.Slots[i][j].Spec().Type}
				}
			}
		}
	}
	path := func(r int) []int { return append([]int(nil), sm.choice[r*n:(r+1)*n]...) }
	for r := 0; r < B; r++ {
		if s.suf != nil && !finite(float64(sm.sufLd[r])) {
			return &NonFiniteError{Stage: "suffix", Slot: -1, Candidate: -1, Path: path(r)}
		}
		if !finite(sm.lp[r]) {
			return &NonFiniteError{Stage: "base", Slot: -1, Candidate: -1, Path: path(r)}
		}
	}
	return &NonFiniteError{Stage: "base", Slot: -1, Candidate: -1}
}

// Sample draws n rows from the mixture p_mix = Σ_k W_k p_k by ancestral
// sampling: z ~ N(0, I) first (n×D normals from rng), then each row's path
// slot by slot from w_i, then the inverse of the suffix, of each slot's
// chosen candidates (rows gathered per candidate) and of the prefix. It
// returns the samples and the path of each row (paths[r][i] = candidate of
// row r at slot i).
func (s *Supernet[T]) Sample(n int, rng *rand.Rand) (*tensor.Mat[T], [][]int, error) {
	if n < 1 {
		return nil, nil, fmt.Errorf("search: Sample needs n >= 1, got %d", n)
	}
	s.buildSampler()
	s.refreshWeights()
	D, ns := s.Dim, len(s.Slots)
	cur := tensor.New[T](n, D)
	for e := range cur.Data {
		cur.Data[e] = T(rng.NormFloat64())
	}
	s.drawChoices(n, rng, 0)
	sm := s.sm
	paths := make([][]int, n)
	for r := range paths {
		paths[r] = append([]int(nil), sm.choice[r*ns:(r+1)*ns]...)
	}
	if s.suf != nil {
		out := tensor.New[T](n, D)
		flow.NewOp(s.suf).Inverse(cur, out, nil)
		cur = out
	}
	for i := ns - 1; i >= 0; i-- {
		out := tensor.New[T](n, D)
		for j := range sm.groups[i] {
			g := &sm.groups[i][j]
			if len(g.rows) == 0 {
				continue
			}
			if g.invOp == nil {
				g.invOp = flow.NewOp(s.Slots[i][j])
			}
			zg := tensor.New[T](len(g.rows), D)
			gatherRows(zg, cur, g.rows)
			xg := tensor.New[T](len(g.rows), D)
			g.invOp.Inverse(zg, xg, nil)
			scatterRows(out, xg, g.rows)
		}
		cur = out
	}
	if s.pre != nil {
		out := tensor.New[T](n, D)
		flow.NewOp(s.pre).Inverse(cur, out, nil)
		cur = out
	}
	return cur, paths, nil
}
