package search

import (
	"fmt"
	"math"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
)

// node is one partial path (j_1, …, j_i) of the exact tree: candidate j_i of
// slot i applied to its parent's output, with its own op.
type node[T flow.Float] struct {
	layer  flow.Layer[T]
	parent int // index in the previous level (the prefix output for level 0)
	op     flow.Op[T]
	z      *tensor.Mat[T] // output
	ld     []T            // log-det of this node's layer
	cum    []float64      // Σ log-dets from the input through this node
	gz     *tensor.Mat[T] // dL/dz (accumulated from the children)
	acc    []float64      // dL/dld: Σ over the leaves below
	dld    []T            // acc in T
	skip   bool           // the last backward skipped it (all incoming gradients 0)
}

// tree is the exact estimator's state; all buffers are reused across calls.
type tree[T flow.Float] struct {
	levels [][]node[T]
	paths  [][]int // paths[k]: the candidate per slot of leaf k

	preOp  flow.Op[T]
	preZ   *tensor.Mat[T]
	preLd  []T
	preGz  *tensor.Mat[T]
	preDld []T

	sufOp []flow.Op[T] // per leaf, adding into the gradients of its chunk
	sufZ  []*tensor.Mat[T]
	sufLd [][]T
	sufG  []*tensor.Mat[T]
	// The suffix's parameters are shared by every leaf: the leaves are cut
	// into a fixed number of chunks (whatever the worker count), each
	// adding its suffix gradients into a buffer of its own, and the
	// buffers are added into the parameters in chunk order.
	sufParams []*flow.Param[T]
	sufGrads  [][][]T // [chunk][param]
	chunks    int

	// units[i] lists the nodes of level i whose backward passes run one
	// after another (the nodes of the candidates that share parameters,
	// in node order); different units run at once.
	units [][][]int
	dxs   []*tensor.Mat[T] // dx of each node of the level being differentiated
	bad   []bool           // per leaf: a non-finite log-density
	job   treeJob[T]

	lp   []float64 // K×B: log p_k(x_r)
	coef []float64 // K×B: dL/d log p_k(x_r)
	logW []float64 // K
	G    []float64 // K: dL/d log W_k
	lse  []float64 // B
}

// The phases of the tree that run on the workers.
const (
	phaseForward  = iota // item: a node of the level
	phaseLeaves          // item: a leaf (suffix, base log-density)
	phaseLeafBack        // item: a chunk of leaves (base and suffix gradient)
	phaseNodeBack        // item: a unit of the level
	phaseReduce          // item: a node of the level above (its children's dx and acc)
)

// treeJob is the tree's task: one phase over one level.
type treeJob[T flow.Float] struct {
	s     *Supernet[T]
	x     *tensor.Mat[T]
	phase int
	level int
}

func (j *treeJob[T]) do(i int) {
	s := j.s
	switch j.phase {
	case phaseForward:
		s.forwardNode(j.x, j.level, i)
	case phaseLeaves:
		s.forwardLeaf(j.x.Rows, i)
	case phaseLeafBack:
		t := s.tr
		K := len(t.paths)
		for k := i * K / t.chunks; k < (i+1)*K/t.chunks; k++ {
			s.backwardLeaf(j.x.Rows, k)
		}
	case phaseNodeBack:
		for _, n := range s.tr.units[j.level][i] {
			s.backwardNode(j.x.Rows, j.level, n)
		}
	case phaseReduce:
		s.reduceChildren(j.x.Rows, j.level, i)
	}
}

// runTree runs one phase of the tree over n items on the workers.
func (s *Supernet[T]) runTree(x *tensor.Mat[T], phase, level, n int) {
	t := s.tr
	t.job = treeJob[T]{s: s, x: x, phase: phase, level: level}
	s.pool().run(s.workers(), n, &t.job)
	t.job = treeJob[T]{}
}

// maxSuffixChunks is the number of leaf chunks with a suffix (each holds a
// copy of the suffix's gradients).
const maxSuffixChunks = 8

func newMat[T flow.Float]() *tensor.Mat[T] { return &tensor.Mat[T]{} }

// buildTree allocates the exact estimator's nodes (once).
func (s *Supernet[T]) buildTree() error {
	if s.tr != nil {
		return nil
	}
	if k := s.NumPaths(); k > MaxPaths {
		return fmt.Errorf("search: %d paths exceed the exact estimator's limit %d; use the sample estimator or block-wise search", k, MaxPaths)
	}
	t := &tree[T]{}
	count := 1
	for _, c := range s.Slots {
		m := len(c)
		lv := make([]node[T], count*m)
		for p := 0; p < count; p++ {
			for j, l := range c {
				lv[p*m+j] = node[T]{layer: l, parent: p, op: flow.NewOp(l), z: newMat[T](), gz: newMat[T]()}
			}
		}
		var units [][]int
		for _, u := range paramUnits(c) {
			var nodes []int
			for p := 0; p < count; p++ {
				for _, j := range u {
					nodes = append(nodes, p*m+j)
				}
			}
			units = append(units, nodes)
		}
		t.levels = append(t.levels, lv)
		t.units = append(t.units, units)
		count *= m
	}
	K := count
	for k := 0; k < K; k++ {
		t.paths = append(t.paths, s.PathArch(k))
		t.dxs = append(t.dxs, newMat[T]())
	}
	t.bad = make([]bool, K)
	t.chunks = K
	if s.pre != nil {
		t.preOp = flow.NewOp(s.pre)
		t.preZ, t.preGz = newMat[T](), newMat[T]()
	}
	if s.suf != nil {
		t.chunks = min(K, maxSuffixChunks)
		t.sufParams = s.suf.Params()
		for c := 0; c < t.chunks; c++ {
			gs := make([][]T, len(t.sufParams))
			for q, p := range t.sufParams {
				gs[q] = make([]T, len(p.Value))
			}
			t.sufGrads = append(t.sufGrads, gs)
		}
		for c := 0; c < t.chunks; c++ {
			for k := c * K / t.chunks; k < (c+1)*K/t.chunks; k++ {
				t.sufOp = append(t.sufOp, s.suf.NewOp(t.sufGrads[c]))
				t.sufZ = append(t.sufZ, newMat[T]())
				t.sufG = append(t.sufG, newMat[T]())
				t.sufLd = append(t.sufLd, nil)
			}
		}
	}
	t.logW = make([]float64, K)
	t.G = make([]float64, K)
	s.tr = t
	return nil
}

// forwardTree runs x through the tree and fills t.lp (K×B).
func (s *Supernet[T]) forwardTree(x *tensor.Mat[T]) error {
	if err := s.checkInput(x); err != nil {
		return err
	}
	if err := s.buildTree(); err != nil {
		return err
	}
	t := s.tr
	B, D := x.Rows, s.Dim
	if s.pre != nil {
		t.preZ.Resize(B, D)
		t.preLd = grow(t.preLd, B)
		t.preOp.Forward(x, t.preZ, t.preLd)
	}
	for i, lv := range t.levels {
		s.runTree(x, phaseForward, i, len(lv))
	}
	K := len(t.paths)
	t.lp = grow(t.lp, K*B)
	s.runTree(x, phaseLeaves, 0, K)
	bad := false
	for _, b := range t.bad {
		bad = bad || b
	}
	if bad {
		return s.locateNonFinite(x)
	}
	return nil
}

// forwardNode runs node n of level i on its parent's output.
func (s *Supernet[T]) forwardNode(x *tensor.Mat[T], i, n int) {
	t := s.tr
	B, D := x.Rows, s.Dim
	nd := &t.levels[i][n]
	src, pcum := x, []float64(nil)
	if s.pre != nil {
		src = t.preZ
	}
	if i > 0 {
		p := &t.levels[i-1][nd.parent]
		src, pcum = p.z, p.cum
	}
	nd.z.Resize(B, D)
	nd.ld = grow(nd.ld, B)
	nd.cum = grow(nd.cum, B)
	nd.op.Forward(src, nd.z, nd.ld)
	for r, v := range nd.ld {
		switch {
		case pcum != nil:
			nd.cum[r] = pcum[r] + float64(v)
		case s.pre != nil:
			nd.cum[r] = float64(t.preLd[r]) + float64(v)
		default:
			nd.cum[r] = float64(v)
		}
	}
}

// forwardLeaf runs leaf k through the suffix and the base density into
// t.lp, noting a non-finite value in t.bad[k].
func (s *Supernet[T]) forwardLeaf(B, k int) {
	t := s.tr
	D := s.Dim
	lf := &t.levels[len(t.levels)-1][k]
	zf := lf.z
	var sld []T
	if s.suf != nil {
		t.sufZ[k].Resize(B, D)
		t.sufLd[k] = grow(t.sufLd[k], B)
		t.sufOp[k].Forward(lf.z, t.sufZ[k], t.sufLd[k])
		zf, sld = t.sufZ[k], t.sufLd[k]
	}
	lp := t.lp[k*B : (k+1)*B]
	bad := false
	for r := range lp {
		v := logNormal(zf.Data[r*D:(r+1)*D]) + lf.cum[r]
		if sld != nil {
			v += float64(sld[r])
		}
		lp[r] = v
		if !finite(v) {
			bad = true
		}
	}
	t.bad[k] = bad
}

// locateNonFinite finds the first stage of the last tree forward with a
// non-finite output or log-det.
func (s *Supernet[T]) locateNonFinite(x *tensor.Mat[T]) error {
	t := s.tr
	B := x.Rows
	if !allFinite(x.Vals()) {
		return &NonFiniteError{Stage: "input", Slot: -1, Candidate: -1}
	}
	if s.pre != nil && (!allFinite(t.preZ.Vals()) || !allFinite(t.preLd[:B])) {
		return &NonFiniteError{Stage: "prefix", Slot: -1, Candidate: -1}
	}
	width := 1
	for i, lv := range t.levels {
		width *= len(s.Slots[i])
		stride := len(t.levels[len(t.levels)-1]) / width
		for n := range lv {
			nd := &lv[n]
			if !allFinite(nd.z.Vals()) || !allFinite(nd.ld[:B]) {
				path := s.PathArch(n * stride)[:i+1]
				return &NonFiniteError{Stage: "slot", Slot: i, Candidate: path[i], Path: path, Type: nd.layer.Spec().Type}
			}
		}
	}
	for k := range t.paths {
		if s.suf != nil && (!allFinite(t.sufZ[k].Vals()) || !allFinite(t.sufLd[k][:B])) {
			return &NonFiniteError{Stage: "suffix", Slot: -1, Candidate: -1, Path: t.paths[k]}
		}
	}
	for k := range t.paths {
		if !allFinite(t.lp[k*B : (k+1)*B]) {
			return &NonFiniteError{Stage: "base", Slot: -1, Candidate: -1, Path: t.paths[k]}
		}
	}
	return &NonFiniteError{Stage: "base", Slot: -1, Candidate: -1}
}

// PathLogProbs returns log p_k(x_r) for every path k (numbered as in
// PathArch) and row r, computed by the exact tree.
func (s *Supernet[T]) PathLogProbs(x *tensor.Mat[T]) ([][]T, error) {
	if err := s.forwardTree(x); err != nil {
		return nil, err
	}
	B := x.Rows
	out := make([][]T, len(s.tr.paths))
	for k := range out {
		out[k] = make([]T, B)
		for r := range out[k] {
			out[k][r] = T(s.tr.lp[k*B+r])
		}
	}
	return out, nil
}

// Evaluate computes both losses L^U and L^O on the batch x with the exact
// tree. With thetaGrad it adds the gradient of the kind loss with respect to
// every layer parameter into its Grad (one Backward per tree node, bottom-up:
// a node's per-row dL/dld is the sum over the leaves below it, its dL/dz the
// sum of its children's dL/dx). With alphaGrad it adds the gradient of the
// kind loss with respect to α into AlphaGrad. Neither gradient is cleared
// first. x must not change during the call.
//
// Gradients: with ℓ_k(x) = log p_k(x) and N rows,
//
//	L^U: dL/dℓ_k(x) = −W_k/N,     dL/dlog W_k = W_k·(−mean_x ℓ_k(x))
//	L^O: dL/dℓ_k(x) = −r_k(x)/N,  dL/dlog W_k = −mean_x r_k(x),
//	     r_k(x) = W_k p_k(x) / Σ_l W_l p_l(x)  (computed in log space)
//
// and dL/dα_i^j = Σ_k dL/dlog W_k · ([k_i = j] − w_i^j)/τ (τ: Temperature).
//
// On a non-finite log-density it returns a *NonFiniteError naming the
// slot and candidate and adds no gradient.
func (s *Supernet[T]) Evaluate(x *tensor.Mat[T], kind LossKind, thetaGrad, alphaGrad bool) (Losses, error) {
	nan := Losses{math.NaN(), math.NaN()}
	if kind != Upper && kind != Original {
		return nan, fmt.Errorf("search: unknown loss kind %v", kind)
	}
	if err := s.forwardTree(x); err != nil {
		return nan, err
	}
	s.refreshWeights()
	t := s.tr
	B := x.Rows
	K := len(t.paths)
	invN := 1 / float64(B)
	for k, p := range t.paths {
		lw := 0.0
		for i, j := range p {
			lw += s.logw[i][j]
		}
		t.logW[k] = lw
	}
	// L^U and its per-path mean NLL u_k.
	var lu float64
	for k := 0; k < K; k++ {
		u := 0.0
		for _, v := range t.lp[k*B : (k+1)*B] {
			u -= v
		}
		u *= invN
		W := math.Exp(t.logW[k])
		lu += W * u
		if kind == Upper {
			t.G[k] = W * u
		}
	}
	// L^O by a per-row log-sum-exp over paths.
	t.lse = grow(t.lse, B)
	var lo float64
	for r := 0; r < B; r++ {
		mx := math.Inf(-1)
		for k := 0; k < K; k++ {
			mx = math.Max(mx, t.logW[k]+t.lp[k*B+r])
		}
		sum := 0.0
		for k := 0; k < K; k++ {
			sum += math.Exp(t.logW[k] + t.lp[k*B+r] - mx)
		}
		t.lse[r] = mx + math.Log(sum)
		lo -= t.lse[r]
	}
	lo *= invN
	res := Losses{Upper: lu, Original: lo}
	if !thetaGrad && !alphaGrad {
		return res, nil
	}
	// Per-row coefficients dL/dℓ_k(x) and dL/dlog W_k.
	t.coef = grow(t.coef, K*B)
	for k := 0; k < K; k++ {
		c := t.coef[k*B : (k+1)*B]
		if kind == Upper {
			v := -math.Exp(t.logW[k]) * invN
			for r := range c {
				c[r] = v
			}
			continue
		}
		g := 0.0
		for r := range c {
			resp := math.Exp(t.logW[k] + t.lp[k*B+r] - t.lse[r])
			c[r] = -resp * invN
			g += c[r]
		}
		t.G[k] = g
	}
	if alphaGrad {
		s.addAlphaGrad(t.paths, t.G)
	}
	if thetaGrad {
		s.backwardTree(x)
	}
	return res, nil
}

// Loss is Evaluate returning the loss of the given kind only.
func (s *Supernet[T]) Loss(x *tensor.Mat[T], kind LossKind, thetaGrad, alphaGrad bool) (float64, error) {
	l, err := s.Evaluate(x, kind, thetaGrad, alphaGrad)
	return l.Of(kind), err
}

// addAlphaGrad adds Σ_k G_k ∇α log W_k into AlphaGrad, where
// ∂log W_k/∂α_i^j = ([k_i = j] − w_i^j)/τ.
func (s *Supernet[T]) addAlphaGrad(paths [][]int, G []float64) {
	it := s.invTemp()
	tot := 0.0
	for _, g := range G {
		tot += g
	}
	for k, p := range paths {
		for i, j := range p {
			s.AlphaGrad[i][j] += G[k] * it
		}
	}
	for i, w := range s.w {
		for j, v := range w {
			s.AlphaGrad[i][j] -= v * tot * it
		}
	}
}

// backwardTree propagates t.coef through the tree into the θ gradients.
// Each phase runs on the workers; what they share is reduced in node
// order, the order of a serial sweep, so the result does not depend on
// the worker count.
func (s *Supernet[T]) backwardTree(x *tensor.Mat[T]) {
	t := s.tr
	B, D := x.Rows, s.Dim
	n := len(t.levels)
	// Reset the accumulators of internal nodes and the prefix.
	for i := 0; i < n-1; i++ {
		for m := range t.levels[i] {
			nd := &t.levels[i][m]
			nd.gz.Resize(B, D)
			nd.acc = grow(nd.acc, B)
		}
	}
	if s.pre != nil {
		t.preGz.Resize(B, D)
		t.preGz.Zero()
		t.preDld = grow(t.preDld, B)
	}
	// Leaves: the base term (and the suffix) give dL/dz of the leaf output.
	for _, gs := range t.sufGrads {
		for _, g := range gs {
			clear(g)
		}
	}
	s.runTree(x, phaseLeafBack, 0, t.chunks)
	for c := range t.sufGrads {
		for q, p := range t.sufParams {
			addInto(p.Grad, t.sufGrads[c][q])
		}
	}
	// Bottom-up through the levels: the units of a level, then each node
	// of the level above gathers its children's dL/dx and dL/dld.
	for i := n - 1; i >= 0; i-- {
		s.runTree(x, phaseNodeBack, i, len(t.units[i]))
		if i > 0 {
			s.runTree(x, phaseReduce, i-1, len(t.levels[i-1]))
		} else if s.pre != nil {
			for m := range t.levels[0] {
				addInto(t.preGz.Data[:B*D], t.dxs[m].Data[:B*D])
			}
		}
	}
	if s.pre != nil {
		// The prefix's dL/dld is the sum over every leaf.
		for r := range t.preDld {
			v := 0.0
			for m := range t.levels[0] {
				v += t.levels[0][m].acc[r]
			}
			t.preDld[r] = T(v)
		}
		t.preOp.Backward(t.preGz, t.preDld, nil)
	}
}

// backwardLeaf sets leaf k's dL/dld and dL/dz from the base term (through
// the suffix, whose gradients go to the leaf's chunk).
func (s *Supernet[T]) backwardLeaf(B, k int) {
	t := s.tr
	D := s.Dim
	lf := &t.levels[len(t.levels)-1][k]
	c := t.coef[k*B : (k+1)*B]
	lf.acc = grow(lf.acc, B)
	copy(lf.acc, c)
	lf.gz.Resize(B, D)
	zf, g := lf.z, lf.gz
	if s.suf != nil {
		zf, g = t.sufZ[k], t.sufG[k]
		g.Resize(B, D)
	}
	// d(c·log N(z))/dz = −c·z.
	for r := 0; r < B; r++ {
		cr := T(-c[r])
		zr, gr := zf.Data[r*D:(r+1)*D], g.Data[r*D:(r+1)*D]
		for d := range gr {
			gr[d] = cr * zr[d]
		}
	}
	if s.suf != nil {
		lf.dld = grow(lf.dld, B)
		for r, v := range c {
			lf.dld[r] = T(v)
		}
		t.sufOp[k].Backward(g, lf.dld, lf.gz)
	}
}

// backwardNode differentiates node m of level i, writing its dL/dx into
// t.dxs[m] (unless it has no input gradient to give: level 0 without a
// prefix, or a node skipped because everything below it has weight 0).
func (s *Supernet[T]) backwardNode(B, i, m int) {
	t := s.tr
	D := s.Dim
	nd := &t.levels[i][m]
	nd.skip = i > 0 && zeroNode(nd, B*D)
	if nd.skip {
		return // weight 0 below this node (one-hot α): nothing to propagate
	}
	nd.dld = grow(nd.dld, B)
	for r, v := range nd.acc {
		nd.dld[r] = T(v)
	}
	var dx *tensor.Mat[T]
	if i > 0 || s.pre != nil {
		dx = t.dxs[m]
		dx.Resize(B, D)
	}
	nd.op.Backward(nd.gz, nd.dld, dx)
}

// reduceChildren sets node p of level i's dL/dz and dL/dld to the sums
// over its children (in candidate order) of their dL/dx and dL/dld.
func (s *Supernet[T]) reduceChildren(B, i, p int) {
	t := s.tr
	D := s.Dim
	nd := &t.levels[i][p]
	nd.gz.Zero()
	clear(nd.acc)
	m := len(s.Slots[i+1])
	for j := 0; j < m; j++ {
		c := &t.levels[i+1][p*m+j]
		if c.skip {
			continue
		}
		for r, v := range c.acc {
			nd.acc[r] += v
		}
		addInto(nd.gz.Data[:B*D], t.dxs[p*m+j].Data[:B*D])
	}
}

// addInto adds src into dst element by element.
func addInto[T flow.Float](dst, src []T) {
	for e, v := range src {
		dst[e] += v
	}
}

// zeroNode reports whether a node's incoming gradients are all zero.
func zeroNode[T flow.Float](nd *node[T], n int) bool {
	for _, v := range nd.acc {
		if v != 0 {
			return false
		}
	}
	for _, v := range nd.gz.Data[:n] {
		if v != 0 {
			return false
		}
	}
	return true
}
