package flow

import (
	"runtime"

	"github.com/autonf/autonf/tensor"
)

// minShardRows is the fewest rows worth a shard of their own: below it the
// hand-off costs more than the second core gains.
const minShardRows = 64

// parallel holds the shards of a flow for data parallelism: shard s ≥ 1
// runs the master's own layers (the same parameters) with its own ops,
// bound to its own flat gradient buffer grads[s−1] (laid out as the
// master's GradData); shard 0 is the master itself. A call describes one
// job per shard and runs them on the GEMM pool's threads
// (tensor.ParallelFor: the calling goroutine and the pool's workers, which
// stay awake between back-to-back steps, take shards as they come, so a
// worker that wakes late costs its share, never a stall). Any layer shards
// this way, a user's own included: nothing is rebuilt from a spec.
type parallel[T Float] struct {
	master *Flow[T]
	shards []*Flow[T] // the shards other than the master
	grads  [][]T      // each shard's gradient buffer
	jobs   []parJob[T]
	res    []parResult
	views  []*Mat[T] // each shard's input view, reused: layers may keep a pointer to it
	run    func(lo, hi int)

	// The reduce of the shards' gradients into the master's flat buffer
	// runs in parts across cores (tensor.ParallelFor): reduceDst is that
	// buffer and reduce (a method value made once) adds part [lo, hi).
	reduceDst []T
	reduceN   int // shards that took part in the call
	reduce    func(lo, hi int)
}

// reduceGrain is the smallest part of the gradient reduce given to a core
// of its own.
const reduceGrain = 1 << 15

// reducePart adds every shard's gradients [lo, hi) into reduceDst, shard by
// shard (the same order, so the same sums, as one add per shard).
func (p *parallel[T]) reducePart(lo, hi int) {
	for _, g := range p.grads[:p.reduceN] {
		addInto(p.reduceDst[lo:hi], g[lo:hi])
	}
}

// rows returns a view of rows [lo, hi) of m as a value.
func rows[T Float](m *Mat[T], lo, hi int) Mat[T] {
	return Mat[T]{Rows: hi - lo, Cols: m.Cols, Data: m.Data[lo*m.Cols : hi*m.Cols]}
}

type parKind int

const (
	jobNLLGrad parKind = iota
	jobLogProb
	jobInverse
)

type parJob[T Float] struct {
	kind    parKind
	x       Mat[T] // input shard (a view)
	total   int    // rows of the whole batch (NLLGrad)
	out     []T    // log-densities (LogProb, Inverse)
	dst     Mat[T] // output rows (Inverse; a view)
	logProb bool
}

type parResult struct {
	sum float64
	err error
}

// shards returns how many shards a call over rows rows should use.
func (f *Flow[T]) shards(rows int) int {
	w := f.Workers
	if w == 0 {
		w = runtime.GOMAXPROCS(0)
	}
	w = min(w, rows/minShardRows)
	if w <= 1 || f.hasBatchNorm() {
		return 1
	}
	return w
}

// newShard makes a flow that runs f's layers with its own workspaces and
// activations, its gradients added into g (laid out as f's Params). Only
// the parallel machinery uses it: its Params and ZeroGrad would speak of
// f's storage.
func (f *Flow[T]) newShard(g []T) *Flow[T] {
	s := &Flow[T]{Dim: f.Dim, Base: f.Base, Name: f.Name, Layers: f.Layers, Workers: 1}
	off := 0
	view := func(p *Param[T]) []T {
		k := len(p.Value)
		v := g[off : off+k : off+k]
		off += k
		return v
	}
	s.ops = make([]Op[T], len(f.Layers))
	s.acts = make([]*Mat[T], len(f.Layers))
	s.lds = make([][]T, len(f.Layers))
	for i, l := range f.Layers {
		ps := l.Params()
		gs := make([][]T, len(ps))
		for j, p := range ps {
			gs[j] = view(p)
		}
		s.ops[i] = l.NewOp(gs)
		s.acts[i] = &Mat[T]{}
	}
	if f.BaseMean != nil {
		m, ls := *f.BaseMean, *f.BaseLogStd
		m.Grad, ls.Grad = view(f.BaseMean), view(f.BaseLogStd)
		s.BaseMean, s.BaseLogStd = &m, &ls
	}
	s.gA, s.gB = &Mat[T]{}, &Mat[T]{}
	s.batchNorm = -1
	return s
}

func (f *Flow[T]) hasBatchNorm() bool {
	if f.batchNorm != 0 {
		return f.batchNorm > 0
	}
	var walk func(ls []LayerSpec) bool
	walk = func(ls []LayerSpec) bool {
		for _, l := range ls {
			if l.Type == "batchnorm" || walk(l.Layers) {
				return true
			}
		}
		return false
	}
	f.batchNorm = -1
	if walk(f.Spec().Layers) {
		f.batchNorm = 1
	}
	return f.batchNorm > 0
}

// shardsFor makes sure w−1 shards exist. They compute with the master's
// parameters, so nothing is copied.
func (f *Flow[T]) shardsFor(w int) *parallel[T] {
	if f.par == nil {
		f.par = &parallel[T]{master: f}
		f.par.run = f.par.runShards
		f.par.reduce = f.par.reducePart
	}
	p := f.par
	for len(p.shards) < w-1 {
		g := make([]T, f.NumParams())
		p.grads = append(p.grads, g)
		p.shards = append(p.shards, f.newShard(g))
	}
	for len(p.jobs) < w {
		p.jobs = append(p.jobs, parJob[T]{})
		p.res = append(p.res, parResult{})
		p.views = append(p.views, new(Mat[T]))
	}
	return p
}

// runShards runs the jobs of shards [lo, hi) (shard 0 on the master).
func (p *parallel[T]) runShards(lo, hi int) {
	for s := lo; s < hi; s++ {
		r := p.master
		if s > 0 {
			r = p.shards[s-1]
		}
		j := &p.jobs[s]
		x := p.views[s]
		*x = j.x
		var res parResult
		switch j.kind {
		case jobNLLGrad:
			res.sum, res.err = r.nllGrad(x, j.total)
		case jobLogProb:
			res.err = r.logProb(x, j.out)
		case jobInverse:
			xs, lp := r.inverse(x, j.logProb)
			copy(j.dst.Data[:xs.Rows*xs.Cols], xs.Data[:xs.Rows*xs.Cols])
			if j.logProb {
				copy(j.out, lp)
			}
		}
		p.res[s] = res
		p.jobs[s] = parJob[T]{} // drop references to the caller's data
	}
}

// bounds returns the row range of shard s of w over n rows.
func bounds(n, w, s int) (int, int) { return s * n / w, (s + 1) * n / w }

// exec runs the jobs of shards [0, w) and returns the sum of their sums,
// added in shard order, and the first shard's error.
func (p *parallel[T]) exec(w int) (float64, error) {
	tensor.ParallelFor(w, 1, p.run)
	var sum float64
	var err error
	for s := 0; s < w; s++ {
		sum += p.res[s].sum
		if err == nil {
			err = p.res[s].err
		}
		p.res[s] = parResult{}
	}
	return sum, err
}

func (f *Flow[T]) parallelNLLGrad(x *Mat[T], w int) (float64, error) {
	p := f.shardsFor(w)
	for r := 0; r < w-1; r++ {
		clear(p.grads[r])
	}
	n := x.Rows
	for s := 0; s < w; s++ {
		lo, hi := bounds(n, w, s)
		p.jobs[s] = parJob[T]{kind: jobNLLGrad, x: rows(x, lo, hi), total: n}
	}
	sum, err := p.exec(w)
	// Reduce the shards' gradients into the master's: vector adds over the
	// flat gradient buffers, split across cores when large.
	if f.flat() {
		p.reduceDst, p.reduceN = f.grad, w-1
		tensor.ParallelFor(len(f.grad), reduceGrain, p.reduce)
		p.reduceDst = nil
		return sum / float64(n), err
	}
	master := f.paramList()
	for r := 0; r < w-1; r++ {
		off := 0
		for _, mp := range master {
			k := len(mp.Grad)
			addInto(mp.Grad, p.grads[r][off:off+k])
			off += k
		}
	}
	return sum / float64(n), err
}

func (f *Flow[T]) parallelLogProb(x *Mat[T], out []T) error {
	xv := new(Mat[T])
	for lo := 0; lo < x.Rows; lo += chunkRows {
		hi := min(lo+chunkRows, x.Rows)
		*xv = rows(x, lo, hi)
		xc, oc := xv, out[lo:hi]
		n := hi - lo
		w := f.shards(n)
		if w <= 1 {
			if err := f.logProb(xc, oc); err != nil {
				return err
			}
			continue
		}
		p := f.shardsFor(w)
		for s := 0; s < w; s++ {
			a, b := bounds(n, w, s)
			p.jobs[s] = parJob[T]{kind: jobLogProb, x: rows(xc, a, b), out: oc[a:b]}
		}
		if _, err := p.exec(w); err != nil {
			return err
		}
	}
	return nil
}

func (f *Flow[T]) parallelInverse(z *Mat[T], logProb bool) (*Mat[T], []T) {
	n, d := z.Rows, f.Dim
	x := &Mat[T]{}
	x.Resize(n, d)
	var lp []T
	if logProb {
		lp = make([]T, n)
	}
	for lo := 0; lo < n; lo += chunkRows {
		hi := min(lo+chunkRows, n)
		zc, xc := z.SliceRows(lo, hi), x.SliceRows(lo, hi)
		var lc []T
		if logProb {
			lc = lp[lo:hi]
		}
		m := hi - lo
		w := max(1, f.shards(m))
		p := f.shardsFor(w)
		for s := 0; s < w; s++ {
			a, b := bounds(m, w, s)
			j := parJob[T]{kind: jobInverse, x: rows(zc, a, b), dst: rows(xc, a, b), logProb: logProb}
			if logProb {
				j.out = lc[a:b]
			}
			p.jobs[s] = j
		}
		p.exec(w)
	}
	return x, lp
}
