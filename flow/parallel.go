package flow

import (
	"runtime"

	"github.com/autonf/autonf/tensor"
)

// minShardRows is the fewest rows worth a shard of their own: below it the
// hand-off costs more than the second core gains.
const minShardRows = 64

// parallel holds the shards of a flow for data parallelism: shard r runs
// the master's own layers (the same parameters) with its own ops, bound to
// its own flat gradient buffer grads[r] (laid out as the master's
// GradData), and the reduce is one vector add per shard. Any layer shards
// this way, a user's own included: nothing is rebuilt from a spec.
type parallel[T Float] struct {
	shards []*Flow[T] // the shards other than the master
	grads  [][]T      // each shard's gradient buffer
	jobs   []chan parJob[T]
	done   chan parResult
	view0  Mat[T] // the master's shard view, reused

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
		f.par = &parallel[T]{done: make(chan parResult, 16)}
	}
	p := f.par
	for len(p.shards) < w-1 {
		g := make([]T, f.NumParams())
		r := f.newShard(g)
		p.grads = append(p.grads, g)
		jobs := make(chan parJob[T], 1)
		p.shards = append(p.shards, r)
		p.jobs = append(p.jobs, jobs)
		go shardLoop(r, jobs, p.done)
		// The worker goroutine holds only the shard and the channels;
		// when the master flow is collected, closing the job channel ends it.
		runtime.AddCleanup(f, func(c chan parJob[T]) { close(c) }, jobs)
	}
	return p
}

func shardLoop[T Float](r *Flow[T], jobs <-chan parJob[T], done chan<- parResult) {
	x := new(Mat[T]) // the shard view, reused: layers may keep a pointer to it
	for j := range jobs {
		*x = j.x
		var res parResult
		switch j.kind {
		case jobNLLGrad:
			res.sum, res.err = r.nllGrad(x, j.total)
		case jobLogProb:
			res.err = r.logProb(x, j.out)
		case jobInverse:
			x, lp := r.inverse(x, j.logProb)
			copy(j.dst.Data[:x.Rows*x.Cols], x.Data[:x.Rows*x.Cols])
			if j.logProb {
				copy(j.out, lp)
			}
		}
		done <- res
	}
}

// bounds returns the row range of shard s of w over n rows.
func bounds(n, w, s int) (int, int) { return s * n / w, (s + 1) * n / w }

// collect waits for the other w−1 shards' results, adding their sums to sum;
// the first error wins. It ends the serial-GEMM section begun by the
// caller before dispatching.
func (p *parallel[T]) collect(w int, sum float64, err error) (float64, error) {
	for s := 1; s < w; s++ {
		r := <-p.done
		sum += r.sum
		if err == nil {
			err = r.err
		}
	}
	tensor.EndSerial()
	return sum, err
}

func (f *Flow[T]) parallelNLLGrad(x *Mat[T], w int) (float64, error) {
	p := f.shardsFor(w)
	for r := 0; r < w-1; r++ {
		clear(p.grads[r])
	}
	n := x.Rows
	tensor.BeginSerial()
	for s := 1; s < w; s++ {
		lo, hi := bounds(n, w, s)
		p.jobs[s-1] <- parJob[T]{kind: jobNLLGrad, x: rows(x, lo, hi), total: n}
	}
	lo0, hi0 := bounds(n, w, 0)
	p.view0 = rows(x, lo0, hi0)
	sum, err := f.nllGrad(&p.view0, n)
	sum, err = p.collect(w, sum, err)
	// Reduce the shards' gradients into the master's: vector adds over the
	// flat gradient buffers, split across cores when large.
	master := f.paramList()
	flat := f.flat()
	if flat {
		if p.reduce == nil {
			p.reduce = p.reducePart
		}
		p.reduceDst, p.reduceN = f.grad, w-1
		tensor.ParallelFor(len(f.grad), reduceGrain, p.reduce)
		p.reduceDst = nil
		return sum / float64(n), err
	}
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
		tensor.BeginSerial()
		for s := 1; s < w; s++ {
			a, b := bounds(n, w, s)
			p.jobs[s-1] <- parJob[T]{kind: jobLogProb, x: rows(xc, a, b), out: oc[a:b]}
		}
		lo0, hi0 := bounds(n, w, 0)
		p.view0 = rows(xc, lo0, hi0)
		err := f.logProb(&p.view0, oc[lo0:hi0])
		if _, err = p.collect(w, 0, err); err != nil {
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
		tensor.BeginSerial()
		for s := 1; s < w; s++ {
			a, b := bounds(m, w, s)
			j := parJob[T]{kind: jobInverse, x: rows(zc, a, b), dst: rows(xc, a, b), logProb: logProb}
			if logProb {
				j.out = lc[a:b]
			}
			p.jobs[s-1] <- j
		}
		a0, b0 := bounds(m, w, 0)
		xs, ls := f.inverse(zc.SliceRows(a0, b0), logProb)
		copy(xc.Data[a0*d:b0*d], xs.Data[:(b0-a0)*d])
		if logProb {
			copy(lc[a0:b0], ls)
		}
		p.collect(w, 0, nil)
	}
	return x, lp
}
