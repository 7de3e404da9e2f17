package tensor

import (
	"os"
	"runtime"
	"sync/atomic"
)

// Blocking of the float32 GEMM (see /work/shared/notes/gemm.md): B is packed
// one kcBlock×ncBlock block at a time into nr-column panels (256 KB, stays
// in L2); A is read in place, one mr×kcBlock row panel at a time (stays in
// L1), except a partial last row panel, which is copied and zero-padded.
const (
	kcBlock = 256
	ncBlock = 256 // a multiple of every kernel's nr
	maxMR   = 12
	maxNR   = 32
)

// parallelMinFlops is the size (2·m·n·k) from which a float32 GEMM is split
// across GOMAXPROCS threads. Below it the single-thread path is faster than
// waking the workers (measured on the 2-vCPU Zen 4 machine, see
// BENCHMARKS-gemm.md).
const parallelMinFlops = 1 << 20

// parallelThreshold is parallelMinFlops; tests lower it to force the
// threaded path on small problems.
var parallelThreshold = parallelMinFlops

// sgemmKernel is one register-tile micro-kernel:
//
//	C[0:mr, 0:nr] = alpha·A·B + beta·C
//
// with A(i, p) = a[i*rsA + p*csA] for i < mr, p < kc (kc ≥ 1), B a packed
// kc×nr panel (row p at b[p*nr:]) and C row i at c[i*ldc:]. beta == 0 must
// not read C.
type sgemmKernel struct {
	name   string
	mr, nr int
	fn     func(kc int, a []float32, rsA, csA int, b []float32, c []float32, ldc int, alpha, beta float32)
	// fnS, when set, is fn with B read in place (row p at b[p*rsB:]), so
	// that a row-major B needs no packing on the single-thread path.
	fnS func(kc int, a []float32, rsA, csA int, b []float32, rsB int, c []float32, ldc int, alpha, beta float32)
}

var genericKernel = &sgemmKernel{name: "generic", mr: 4, nr: 4, fn: kernGeneric}

// kernels lists the kernels this CPU can run, fastest first: those of
// archKernels (sgemm_amd64.go, sgemm_noasm.go), then the generic one.
var kernels []*sgemmKernel

var activeKernel atomic.Pointer[sgemmKernel]

func init() {
	kernels = append(archKernels(), genericKernel)
	activeKernel.Store(kernels[0])
	if want := os.Getenv("AUTONF_GEMM"); want != "" {
		setKernel(want)
	}
}

// setKernel selects the named kernel ("avx512", "avx2" or "generic") and
// reports whether this CPU supports it; otherwise the choice is unchanged.
func setKernel(name string) bool {
	for _, k := range kernels {
		if k.name == name {
			activeKernel.Store(k)
			return true
		}
	}
	return false
}

// KernelName reports which float32 GEMM path is in use: "avx512", "avx2" or
// "generic". The fastest the CPU supports is chosen at start-up; the
// environment variable AUTONF_GEMM=avx512|avx2|generic forces one (ignored
// when the CPU lacks it).
func KernelName() string { return activeKernel.Load().name }

// packBuf holds one thread's packing buffers.
type packBuf struct {
	b    []float32 // kcBlock×ncBlock, nr-column panels
	a    []float32 // maxMR×kcBlock, partial row panel of A
	tile []float32 // maxMR×maxNR, edge tiles
}

func newPackBuf() *packBuf {
	return &packBuf{
		b:    make([]float32, kcBlock*ncBlock),
		a:    make([]float32, maxMR*kcBlock),
		tile: make([]float32, maxMR*maxNR),
	}
}

// freeBufs recycles the buffers of single-thread calls. Unlike a sync.Pool
// it is not emptied by the garbage collector, so steady state never
// allocates.
var freeBufs = make(chan *packBuf, 16)

func getBuf() *packBuf {
	select {
	case b := <-freeBufs:
		return b
	default:
		return newPackBuf()
	}
}

func putBuf(b *packBuf) {
	select {
	case freeBufs <- b:
	default:
	}
}

// serialDepth counts callers that run their own work in parallel (data
// parallelism): while it is positive, every GEMM stays on its calling
// goroutine instead of using the worker pool.
var serialDepth atomic.Int32

// BeginSerial makes GEMMs single-threaded until the matching EndSerial: a
// caller that already spreads independent GEMMs over the cores (one shard
// of a batch per core) must not also split each GEMM. Calls nest.
func BeginSerial() { serialDepth.Add(1) }

// EndSerial undoes one BeginSerial.
func EndSerial() { serialDepth.Add(-1) }

// sgemm is Gemm for float32 (arguments already validated, m, n > 0).
func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	kn := activeKernel.Load()
	t := gemmTask{kn: kn, transA: transA, transB: transB, m1: m, n1: n, k: k,
		alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc}
	if 2*m*n*k >= parallelThreshold && (m > kn.mr || n > kn.nr) && runtime.GOMAXPROCS(0) > 1 && serialDepth.Load() == 0 {
		if pool.mu.TryLock() {
			ok := pool.run(&t)
			pool.mu.Unlock()
			if ok {
				return
			}
		}
	}
	buf := getBuf()
	t.exec(buf)
	putBuf(buf)
}

// scaleC sets C = beta·C (C = 0 when beta is 0).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(ci)
		} else if beta != 1 {
			for j := range ci {
				ci[j] *= beta
			}
		}
	}
}

// gemmTask is the block C[m0:m1, n0:n1] of one float32 GEMM.
type gemmTask struct {
	kn             *sgemmKernel
	transA, transB bool
	m0, m1, n0, n1 int
	k              int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
}

// exec computes the task's block of C on one thread. A row-major B is
// read in place where the kernel can (only a partial last panel is
// packed); otherwise B is packed per K block.
func (t *gemmTask) exec(buf *packBuf) {
	nr := t.kn.nr
	inPlace := !t.transB && t.kn.fnS != nil && !noInPlaceB
	for jc := t.n0; jc < t.n1; jc += ncBlock {
		nc := min(ncBlock, t.n1-jc)
		for pc := 0; pc < t.k; pc += kcBlock {
			kc := min(kcBlock, t.k-pc)
			if !inPlace {
				packB(buf.b, t.transB, t.b, t.ldb, pc, kc, jc, 0, nc, nr)
				t.compute(buf, buf.b, jc, pc, kc, t.m0, t.m1, 0, nc)
				continue
			}
			full := nc / nr * nr
			if full > 0 {
				t.computeInPlace(buf, jc, pc, kc, full)
			}
			if full < nc {
				packB(buf.b, false, t.b, t.ldb, pc, kc, jc, full, nc, nr)
				t.compute(buf, buf.b, jc, pc, kc, t.m0, t.m1, full, nc)
			}
		}
	}
}

// readsPastA reports whether a partial row panel at ic (fewer than mr rows
// left) can still be read in place: with a transposed A, row i of op(A) is
// column i of the stored matrix, so the kernel's extra rows are further
// columns of the same stored rows when they exist. Those rows of the tile
// are computed and dropped (their values never reach C).
func (t *gemmTask) readsPastA(ic, pc, kc, mr int) bool {
	return t.transA && ic+mr <= t.lda && (pc+kc-1)*t.lda+ic+mr <= len(t.a)
}

// noInPlaceB turns off reading B in place (for A/B measurements).
var noInPlaceB = os.Getenv("AUTONF_GEMM_PACKB") == "1"

// computeInPlace is compute for the full panels [0, cols) of a row-major
// B, read in place by the kernel's fnS (cols a multiple of nr).
func (t *gemmTask) computeInPlace(buf *packBuf, jc, pc, kc, cols int) {
	kn := t.kn
	mr, nr := kn.mr, kn.nr
	rsA, csA := t.lda, 1
	if t.transA {
		rsA, csA = 1, t.lda
	}
	a, c, ldc := t.a, t.c, t.ldc
	beta := t.beta
	if pc > 0 {
		beta = 1
	}
	tile := buf.tile[:mr*nr]
	for ic := t.m0; ic < t.m1; ic += mr {
		rows := min(mr, t.m1-ic)
		ap, ars, acs := a[ic*rsA+pc*csA:], rsA, csA
		if rows < mr && !t.readsPastA(ic, pc, kc, mr) {
			ap, ars, acs = packA(buf.a, t.transA, a, t.lda, ic, rows, mr, pc, kc)
		}
		for jr := 0; jr < cols; jr += nr {
			bp := t.b[pc*t.ldb+jc+jr:]
			co := ic*ldc + jc + jr
			if rows == mr {
				kn.fnS(kc, ap, ars, acs, bp, t.ldb, c[co:], ldc, t.alpha, beta)
				continue
			}
			kn.fnS(kc, ap, ars, acs, bp, t.ldb, tile, nr, t.alpha, 0)
			storeTile(c[co:], ldc, tile, nr, rows, nr, beta)
		}
	}
}

// storeTile writes the rows × cols corner of an edge tile (row i at
// tile[i*nr:]) into C (row i at c[i*ldc:]): C = tile + beta·C.
func storeTile(c []float32, ldc int, tile []float32, nr, rows, cols int, beta float32) {
	for i := 0; i < rows; i++ {
		ci := c[i*ldc : i*ldc+cols]
		ti := tile[i*nr : i*nr+cols]
		if beta == 0 {
			copy(ci, ti)
			continue
		}
		for j, v := range ti {
			ci[j] = beta*ci[j] + v
		}
	}
}

// compute runs the micro-kernel over rows [i0, i1) of C and columns
// [jc+j0, jc+j1) for the K block [pc, pc+kc), whose B is packed in bpack
// (j0 is a multiple of nr). The first K block applies beta, later ones add.
func (t *gemmTask) compute(buf *packBuf, bpack []float32, jc, pc, kc, i0, i1, j0, j1 int) {
	kn := t.kn
	mr, nr := kn.mr, kn.nr
	rsA, csA := t.lda, 1
	if t.transA {
		rsA, csA = 1, t.lda
	}
	a, c, ldc := t.a, t.c, t.ldc
	tile := buf.tile[:mr*nr]
	beta := t.beta
	if pc > 0 {
		beta = 1
	}
	for ic := i0; ic < i1; ic += mr {
		rows := min(mr, i1-ic)
		ap, ars, acs := a[ic*rsA+pc*csA:], rsA, csA
		if rows < mr && !t.readsPastA(ic, pc, kc, mr) {
			ap, ars, acs = packA(buf.a, t.transA, a, t.lda, ic, rows, mr, pc, kc)
		}
		for jr := j0; jr < j1; jr += nr {
			cols := min(nr, j1-jr)
			bp := bpack[jr*kc : (jr+nr)*kc]
			co := ic*ldc + jc + jr
			if rows == mr && cols == nr {
				kn.fn(kc, ap, ars, acs, bp, c[co:], ldc, t.alpha, beta)
				continue
			}
			kn.fn(kc, ap, ars, acs, bp, tile, nr, t.alpha, 0)
			storeTile(c[co:], ldc, tile, nr, rows, cols, beta)
		}
	}
}

// packB copies op(B)[pc:pc+kc, jc+j0:jc+j1] into dst as panels of kc×nr
// values (the panel of column jc+jr at dst[jr*kc:], j0 a multiple of nr),
// zero-padding a partial last panel.
func packB(dst []float32, transB bool, b []float32, ldb, pc, kc, jc, j0, j1, nr int) {
	for jr := j0; jr < j1; jr += nr {
		cols := min(nr, j1-jr)
		d := dst[jr*kc : (jr+nr)*kc]
		if !transB {
			src := b[pc*ldb+jc+jr:]
			for p := 0; p < kc; p++ {
				dp := d[p*nr : p*nr+nr]
				copy(dp, src[p*ldb:p*ldb+cols])
				clear(dp[cols:])
			}
			continue
		}
		// op(B)(p, j) = b[j*ldb + p]: transpose 8×8 blocks with AVX2, then
		// 4 source rows at a time so that each destination row gets 4
		// adjacent writes.
		j := 0
		if k8 := kc &^ 7; hasVecAsm && k8 > 0 {
			for ; j+8 <= cols; j += 8 {
				src := b[(jc+jr+j)*ldb+pc:]
				_ = src[7*ldb+kc-1] // the 8 source rows' kc values
				_ = d[(kc-1)*nr+j+7]
				transpose8AVX2(&d[j], nr, &src[0], ldb, k8/8)
				for p := k8; p < kc; p++ {
					for q := 0; q < 8; q++ {
						d[p*nr+j+q] = src[q*ldb+p]
					}
				}
			}
		}
		for ; j+4 <= cols; j += 4 {
			s0 := b[(jc+jr+j)*ldb+pc:][:kc]
			s1 := b[(jc+jr+j+1)*ldb+pc:][:kc]
			s2 := b[(jc+jr+j+2)*ldb+pc:][:kc]
			s3 := b[(jc+jr+j+3)*ldb+pc:][:kc]
			for p := range s0 {
				dp := d[p*nr+j : p*nr+j+4 : p*nr+j+4]
				dp[0], dp[1], dp[2], dp[3] = s0[p], s1[p], s2[p], s3[p]
			}
		}
		for ; j < cols; j++ {
			s := b[(jc+jr+j)*ldb+pc:][:kc]
			for p, v := range s {
				d[p*nr+j] = v
			}
		}
		if cols < nr {
			for p := 0; p < kc; p++ {
				clear(d[p*nr+cols : p*nr+nr])
			}
		}
	}
}

// packA copies the partial row panel op(A)[ic:ic+rows, pc:pc+kc] (rows < mr)
// into dst, zero-padded to mr rows, and returns it with its strides.
func packA(dst []float32, transA bool, a []float32, lda, ic, rows, mr, pc, kc int) ([]float32, int, int) {
	d := dst[:mr*kc]
	if !transA {
		// row-major: A(i, p) at d[i*kc + p]
		for i := 0; i < rows; i++ {
			copy(d[i*kc:(i+1)*kc], a[(ic+i)*lda+pc:])
		}
		clear(d[rows*kc:])
		return d, kc, 1
	}
	// k-major: A(i, p) at d[p*mr + i]
	for p := 0; p < kc; p++ {
		dp := d[p*mr : (p+1)*mr]
		copy(dp, a[(pc+p)*lda+ic:(pc+p)*lda+ic+rows])
		clear(dp[rows:])
	}
	return d, 1, mr
}

// kernGeneric is the portable 4×4 micro-kernel (same contract as the
// assembly ones).
func kernGeneric(kc int, a []float32, rsA, csA int, b []float32, c []float32, ldc int, alpha, beta float32) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	b = b[:4*kc]
	last := 3*rsA + (kc-1)*csA
	a = a[:last+1]
	for p, o := 0, 0; p < kc; p, o = p+1, o+csA {
		bp := b[4*p : 4*p+4 : 4*p+4]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		x := a[o]
		c00 += x * b0
		c01 += x * b1
		c02 += x * b2
		c03 += x * b3
		x = a[o+rsA]
		c10 += x * b0
		c11 += x * b1
		c12 += x * b2
		c13 += x * b3
		x = a[o+2*rsA]
		c20 += x * b0
		c21 += x * b1
		c22 += x * b2
		c23 += x * b3
		x = a[o+3*rsA]
		c30 += x * b0
		c31 += x * b1
		c32 += x * b2
		c33 += x * b3
	}
	store4(c[0:4:4], alpha, beta, c00, c01, c02, c03)
	store4(c[ldc:ldc+4:ldc+4], alpha, beta, c10, c11, c12, c13)
	store4(c[2*ldc:2*ldc+4:2*ldc+4], alpha, beta, c20, c21, c22, c23)
	store4(c[3*ldc:3*ldc+4:3*ldc+4], alpha, beta, c30, c31, c32, c33)
}

func store4(c []float32, alpha, beta, v0, v1, v2, v3 float32) {
	c = c[:4]
	if beta == 0 {
		c[0], c[1], c[2], c[3] = alpha*v0, alpha*v1, alpha*v2, alpha*v3
		return
	}
	c[0] = beta*c[0] + alpha*v0
	c[1] = beta*c[1] + alpha*v1
	c[2] = beta*c[2] + alpha*v2
	c[3] = beta*c[3] + alpha*v3
}
