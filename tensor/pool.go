package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The threaded float32 GEMM.
//
// One GEMM at a time owns the pool (mu); a caller that finds it busy runs
// single-threaded. The product is cut into a flat, ordered list of work
// items: for each (N block, K block) of C, first the items that pack that
// block of B into the pool's shared buffer (groups of panels), then the items
// that multiply (row groups × panel groups of C). The caller and the workers
// take items in order from one atomic counter; an item waits (spinning) until
// every item of the previous phase is done, which one counter of finished
// items tells. Nobody waits for a thread to arrive: a worker that wakes late
// joins wherever the work is, so a slow wake-up (an idle vCPU takes ~100 µs
// to wake in this VM) costs at most the work it would have done, never a
// stall. Waiting for an earlier phase spins briefly, then sleeps (see
// waitPause). Workers spin for workerSpin after their last item before parking,
// so back-to-back GEMMs find them awake.
//
// Steady state does not allocate: tasks live in the pool, workers and their
// buffers are created on first use (and when GOMAXPROCS grows).

// workerSpin is how long an idle worker polls for the next GEMM before it
// parks on its channel.
const workerSpin = 200 * time.Microsecond

// state layout: generation (16 bits) | item count (24) | next item (24).
const (
	stateIdxBits  = 24
	stateIdxMask  = 1<<stateIdxBits - 1
	stateGenShift = 2 * stateIdxBits
	maxItems      = stateIdxMask
)

type gemmPool struct {
	mu sync.Mutex

	// The job, written by the owner of mu before it publishes state.
	t                  gemmTask
	nbK                int // K blocks per N block
	per                int // items per (N block, K block)
	packItems          int // pack items per block
	rowGroups, colGrps int // compute items per block = rowGroups·colGrps
	bshared            []float32

	state atomic.Uint64 // gen | count | next
	done  atomic.Int64  // items finished in the current generation
	gen   uint64

	own     *packBuf // the calling thread's buffers
	workers []*gemmWorker

	// A ParallelFor job instead of a GEMM (fn non-nil): item i runs fn over
	// the i-th of the items' equal parts of [0, fnN).
	fn     func(lo, hi int)
	fnN    int
	fnItem int
}

type gemmWorker struct {
	buf      *packBuf
	sleeping atomic.Bool
	wake     chan struct{}
}

var pool gemmPool

// run computes t with the calling goroutine and the pool's workers. The
// caller holds p.mu. It reports false (and computes nothing) when the
// problem has too many items to describe (absurdly large k·n).
func (p *gemmPool) run(t *gemmTask) bool {
	nw := runtime.GOMAXPROCS(0)
	mr, nr := t.kn.mr, t.kn.nr
	m, n := t.m1-t.m0, t.n1-t.n0
	mt := ceilDiv(m, mr)
	np := ceilDiv(min(ncBlock, n), nr) // panels in a full N block
	nbN, nbK := ceilDiv(n, ncBlock), ceilDiv(t.k, kcBlock)
	p.packItems = min(np, 2*nw)
	p.rowGroups = min(mt, 4*nw)
	p.colGrps = min(np, ceilDiv(4*nw, p.rowGroups))
	p.per = p.packItems + p.rowGroups*p.colGrps
	p.nbK = nbK
	total := nbN * nbK * p.per
	if total > maxItems {
		return false
	}
	p.t = *t
	if p.bshared == nil {
		p.bshared = make([]float32, kcBlock*ncBlock)
	}
	p.start(total)
	p.t = gemmTask{} // drop references to the caller's slices
	return true
}

// start publishes a job of total items, wakes the workers, takes part in
// it and returns when every item is done.
func (p *gemmPool) start(total int) {
	nw := runtime.GOMAXPROCS(0)
	if p.own == nil {
		p.own = newPackBuf()
	}
	for len(p.workers) < nw-1 {
		w := &gemmWorker{buf: newPackBuf(), wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		go w.loop(p)
	}
	p.gen = (p.gen + 1) & 0xffff
	if p.gen == 0 {
		p.gen = 1
	}
	p.done.Store(0)
	p.state.Store(p.gen<<stateGenShift | uint64(total)<<stateIdxBits)
	for _, w := range p.workers[:nw-1] {
		if w.sleeping.CompareAndSwap(true, false) {
			w.wake <- struct{}{}
		}
	}
	p.work(p.gen, p.own)
	for i := 0; p.done.Load() < int64(total); i++ {
		waitPause(i)
	}
}

// ParallelFor calls fn on consecutive parts [lo, hi) that cover [0, n),
// on the calling goroutine and the GEMM pool's worker threads, and returns
// when all are done. Parts are at least grain long. It calls fn(0, n) on
// the caller alone when n < 2·grain, with one core, inside a serial section
// (BeginSerial) or while the pool runs another job. A worker that wakes
// late joins wherever the work is, so a slow wake-up costs at most its
// share, never a stall. fn must be safe to run concurrently on disjoint
// parts; a func value kept by the caller makes the call allocation-free.
func ParallelFor(n, grain int, fn func(lo, hi int)) {
	nw := runtime.GOMAXPROCS(0)
	grain = max(grain, 1)
	if n < 2*grain || nw == 1 || serialDepth.Load() != 0 || !pool.mu.TryLock() {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	items := min(4*nw, n/grain)
	pool.fn, pool.fnN, pool.fnItem = fn, n, items
	pool.start(items)
	pool.fn = nil
	pool.mu.Unlock()
}

// work takes and runs items of generation gen until none is left.
func (p *gemmPool) work(gen uint64, buf *packBuf) {
	for {
		v := p.state.Load()
		if v>>stateGenShift != gen {
			return
		}
		idx, total := v&stateIdxMask, v>>stateIdxBits&stateIdxMask
		if idx >= total {
			return
		}
		if p.state.CompareAndSwap(v, v+1) {
			p.item(int(idx), buf)
			p.done.Add(1)
		}
	}
}

// item runs work item i (see gemmPool).
func (p *gemmPool) item(i int, buf *packBuf) {
	if p.fn != nil {
		p.fn(i*p.fnN/p.fnItem, (i+1)*p.fnN/p.fnItem)
		return
	}
	t := &p.t
	nr, mr := t.kn.nr, t.kn.mr
	blk, r := i/p.per, i%p.per
	jc := t.n0 + blk/p.nbK*ncBlock
	pc := blk % p.nbK * kcBlock
	nc, kc := min(ncBlock, t.n1-jc), min(kcBlock, t.k-pc)
	np := ceilDiv(nc, nr)
	need := int64(blk * p.per) // the previous block's multiply is done
	if r >= p.packItems {
		need += int64(p.packItems) // this block's B is packed
	}
	for s := 0; p.done.Load() < need; s++ {
		waitPause(s)
	}
	if r < p.packItems {
		q0, q1 := r*np/p.packItems, (r+1)*np/p.packItems
		if q0 < q1 {
			packB(p.bshared, t.transB, t.b, t.ldb, pc, kc, jc, q0*nr, min(q1*nr, nc), nr)
		}
		return
	}
	r -= p.packItems
	ri, ci := r/p.colGrps, r%p.colGrps
	mt := ceilDiv(t.m1-t.m0, mr)
	i0 := t.m0 + ri*mt/p.rowGroups*mr
	i1 := min(t.m0+(ri+1)*mt/p.rowGroups*mr, t.m1)
	q0, q1 := ci*np/p.colGrps, (ci+1)*np/p.colGrps
	if i0 < i1 && q0 < q1 {
		t.compute(buf, p.bshared, jc, pc, kc, i0, i1, q0*nr, min(q1*nr, nc))
	}
}

// loop is a worker: it joins every new generation, spins for workerSpin
// when idle, then parks until run wakes it.
func (w *gemmWorker) loop(p *gemmPool) {
	var last uint64
	for {
		if g := p.state.Load() >> stateGenShift; g != last {
			last = g
			p.work(g, w.buf)
			continue
		}
		start := time.Now()
		for i := 0; p.state.Load()>>stateGenShift == last; i++ {
			if i&255 == 255 && time.Since(start) > workerSpin {
				w.park(p, last)
				break
			}
			spinPause(i)
		}
	}
}

// park sleeps until run signals a generation newer than last.
func (w *gemmWorker) park(p *gemmPool, last uint64) {
	w.sleeping.Store(true)
	if p.state.Load()>>stateGenShift != last {
		// A job arrived meanwhile: cancel the sleep, unless run already
		// claimed it, in which case its signal must be consumed.
		if w.sleeping.CompareAndSwap(true, false) {
			return
		}
	}
	<-w.wake
}

// spinPause is one step of an idle worker's spin: busy for a while, then
// yielding to other goroutines.
func spinPause(i int) {
	if i >= 64 {
		runtime.Gosched()
	}
}

// waitPause is one step of waiting for another thread's item: spin, then
// yield, then sleep. Sleeping matters when the machine is oversubscribed:
// the thread we wait for may be descheduled by the OS, and a spinning
// waiter would keep it off the CPU.
func waitPause(i int) {
	switch {
	case i < 64:
	case i < 64+512:
		runtime.Gosched()
	default:
		time.Sleep(20 * time.Microsecond)
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
