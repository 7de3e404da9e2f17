package search

import (
	"cmp"
	"runtime"
	"slices"
	"sync/atomic"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
)

// task is one parallel loop of the estimators: do(i) handles item i. The
// items of one loop must touch disjoint memory (or only read shared
// memory); whatever they add into shared buffers is reduced by the caller
// afterwards in a fixed order, so results do not depend on which worker
// ran which item.
type task interface{ do(i int) }

// pool runs the items of a task on a fixed set of worker goroutines (the
// caller is worker 0), handing out items in index order through an atomic
// counter. The helpers live as long as the supernet (a cleanup closes
// their channels); a run allocates nothing.
type pool struct {
	jobs []chan struct{} // one per helper
	done chan struct{}
	t    task
	n, w int
	next atomic.Int64
	// static deals item i to worker i mod w instead of handing items out
	// on demand (for the tests: every worker then surely runs items,
	// and the race detector sees two workers' items as concurrent).
	static bool
}

// work runs items until none are left; h is the worker.
func (p *pool) work(h int) {
	if p.static {
		for i := h; i < p.n; i += p.w {
			p.t.do(i)
		}
		return
	}
	for {
		i := int(p.next.Add(1)) - 1
		if i >= p.n {
			return
		}
		p.t.do(i)
	}
}

// run calls t.do(i) for i in [0, n) on up to w workers and returns when
// all are done. With more than one worker, GEMMs stay on their calling
// goroutine meanwhile (one level of parallelism: the items, not the
// matrix products inside them).
func (p *pool) run(w, n int, t task) {
	w = min(w, n)
	if w <= 1 {
		for i := 0; i < n; i++ {
			t.do(i)
		}
		return
	}
	for len(p.jobs) < w-1 {
		c := make(chan struct{}, 1)
		p.jobs = append(p.jobs, c)
		h := len(p.jobs) // the caller is worker 0
		go func() {
			for range c {
				p.work(h)
				p.done <- struct{}{}
			}
		}()
	}
	p.t, p.n, p.w = t, n, w
	p.next.Store(0)
	tensor.BeginSerial()
	for h := 0; h < w-1; h++ {
		p.jobs[h] <- struct{}{}
	}
	p.work(0)
	for h := 0; h < w-1; h++ {
		<-p.done
	}
	tensor.EndSerial()
	p.t = nil
}

// close ends the helpers.
func (p *pool) close() {
	for _, c := range p.jobs {
		close(c)
	}
}

// pool returns the supernet's worker pool, made on first use.
func (s *Supernet[T]) pool() *pool {
	if s.pl == nil {
		s.pl = &pool{done: make(chan struct{}, 64)}
		// The helpers hold only the pool; when the supernet is collected,
		// closing their channels ends them.
		runtime.AddCleanup(s, func(p *pool) { p.close() }, s.pl)
	}
	return s.pl
}

// workers is the number of workers a step uses: Workers, else GOMAXPROCS;
// 1 when a layer has BatchNorm (its training-mode Forward updates the
// layer's running averages, so two ops of it must not run at once).
func (s *Supernet[T]) workers() int {
	if s.batchNorm == 0 {
		s.batchNorm = -1
		for _, l := range s.allLayers() {
			if hasBatchNorm([]flow.LayerSpec{l.Spec()}) {
				s.batchNorm = 1
				break
			}
		}
	}
	if s.batchNorm > 0 {
		return 1
	}
	if s.Workers > 0 {
		return s.Workers
	}
	return runtime.GOMAXPROCS(0)
}

func hasBatchNorm(ls []flow.LayerSpec) bool {
	for _, l := range ls {
		if l.Type == "batchnorm" || hasBatchNorm(l.Layers) {
			return true
		}
	}
	return false
}

// allLayers lists the prefix, every candidate and the suffix.
func (s *Supernet[T]) allLayers() []flow.Layer[T] {
	ls := append([]flow.Layer[T](nil), s.Prefix...)
	for _, c := range s.Slots {
		ls = append(ls, c...)
	}
	return append(ls, s.Suffix...)
}

// paramUnits groups the candidates of one slot that share a parameter
// (transitively), each group in ascending order, the groups by decreasing
// cost (the candidates' Cost().ForwardFLOPs; ties by first candidate), so
// that the workers, taking items in list order, start on the longest.
// Candidates of different groups have disjoint gradients, so their
// backward passes may run at once; those of one group run one after
// another, in order. The order of the groups changes no result.
func paramUnits[T flow.Float](cands []flow.Layer[T]) [][]int {
	root := make([]int, len(cands))
	for j := range root {
		root[j] = j
	}
	find := func(j int) int {
		for root[j] != j {
			j = root[j]
		}
		return j
	}
	owner := map[*T]int{}
	for j, l := range cands {
		for _, p := range l.Params() {
			if len(p.Value) == 0 {
				continue
			}
			k := &p.Value[0]
			if o, ok := owner[k]; ok {
				a, b := find(o), find(j)
				root[max(a, b)] = min(a, b)
				continue
			}
			owner[k] = j
		}
	}
	var units [][]int
	idx := map[int]int{}
	for j := range cands {
		r := find(j)
		u, ok := idx[r]
		if !ok {
			u = len(units)
			idx[r] = u
			units = append(units, nil)
		}
		units[u] = append(units[u], j)
	}
	cost := func(u []int) float64 {
		c := 0.0
		for _, j := range u {
			c += cands[j].Cost().ForwardFLOPs
		}
		return c
	}
	slices.SortStableFunc(units, func(a, b []int) int { return cmp.Compare(cost(b), cost(a)) })
	return units
}
