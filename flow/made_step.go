package flow

import (
	"math"

	"github.com/autonf/autonf/tensor"
)

// madeStepper evaluates a MADE network (an MLP whose masks make output
// group v, columns v·P … v·P+P−1, depend only on the variables before v in
// an order) incrementally, for the D sequential passes of an
// autoregressive inverse. Every hidden unit is computed exactly once, in
// the first pass at which all the inputs it is connected to are known, and
// each pass computes only the P outputs of the variable it solves: one
// whole inverse costs about one masked forward pass instead of D full ones.
//
// It works on copies of the weights in which the hidden units of every
// layer are sorted by their "ready degree" (the pass from which they are
// final) and the output groups by pass, so that the units a pass adds and
// the units it reads are contiguous column ranges; the MLP's parameter
// layout is untouched, and the copies are refreshed by begin (the weights
// may change between inverses).
//
// A pass adds only a few units per layer (H/(D−1) for a standard MADE),
// too narrow a GEMM for the micro-kernels. So the units of several
// consecutive passes form a block, whose pre-activations are started in
// one wide GEMM over the inputs known when the block begins; each pass then
// adds the contribution of the inputs that became known inside the block
// (a small GEMM) and applies the activation.
type madeStepper[T Float] struct {
	m     *MLP[T]
	order []int // order[k] = the variable solved by pass k
	P     int   // outputs per variable
	lay   []madeStepLayer

	w, b [][]T     // per layer: sorted weights (prev×width) and biases
	xs   *Mat[T]   // known inputs, n×D: column k = variable order[k]
	h    []*Mat[T] // per layer: n×width activations (pre-activations for units not yet ready)
}

// madeStepLayer is the static schedule of one layer of a madeStepper (the last
// one is the output layer, whose "units" are the outputs in pass order).
type madeStepLayer struct {
	perm  []int // sorted position → unit (column of the MLP's weights)
	off   []int // pass k computes sorted positions off[k] … off[k+1]−1
	avail []int // pass k may read sorted positions 0 … avail[k]−1 of the layer below
	start []int // first pass of the block that contains pass k
	end   []int // pass after the last of that block
}

// madeStepBlock and madeStepBlockOut are the minimum numbers of hidden
// units and of outputs a block of passes starts at once (see madeStepper):
// wider blocks make the block GEMMs more efficient but leave more work to
// the narrow per-pass GEMMs. 24 was best for hidden 2×256 at D = 43 (about
// 2.2× faster than blocks of one pass); at D = 8 a pass alone is wider.
var madeStepBlock, madeStepBlockOut = 24, 24

// newMADEStepper checks that m's masks are autoregressive for order with P
// outputs per variable and prepares the incremental evaluation; it returns
// nil when they are not (no masks, other shapes), and the caller falls back
// to full passes.
func newMADEStepper[T Float](m *MLP[T], order []int, P int) *madeStepper[T] {
	D := len(order)
	L := len(m.W)
	if m.Masks == nil || len(m.Masks) != L || len(m.Sizes) != L+1 || m.Sizes[0] != D || m.Sizes[L] != D*P {
		return nil
	}
	// Ready degree: input order[k] is known from pass k+1; a unit is ready
	// from the largest ready degree among the units it is connected to.
	prev := make([]int, D)
	seen := make([]bool, D)
	for k, v := range order {
		if v < 0 || v >= D || seen[v] {
			return nil
		}
		seen[v] = true
		prev[v] = k + 1
	}
	prevOff := make([]int, D+1) // inputs of ready degree ≤ k: k
	for k := range prevOff {
		prevOff[k] = k
	}
	s := &madeStepper[T]{m: m, order: order, P: P, xs: &Mat[T]{}}
	for l := 0; l < L-1; l++ {
		nIn, nOut := m.Sizes[l], m.Sizes[l+1]
		mk := m.Masks[l]
		deg := make([]int, nOut)
		for i := 0; i < nIn; i++ {
			for u, v := range mk[i*nOut : (i+1)*nOut] {
				if v != 0 {
					deg[u] = max(deg[u], prev[i])
				}
			}
		}
		perm, off := sortByDegree(deg, D)
		// Pass k reads the units of the layer below of ready degree ≤ k.
		s.lay = append(s.lay, madeStepLayer{perm: perm, off: off, avail: prevOff[:D]})
		prev = deg
		prevOff = off[1:]
	}
	// Output group v (pass k, order[k] = v) must read only units ready by
	// pass k.
	nIn, nOut := m.Sizes[L-1], m.Sizes[L]
	mk := m.Masks[L-1]
	out := madeStepLayer{perm: make([]int, nOut), off: make([]int, D+1), avail: prevOff[:D]}
	for k, v := range order {
		for i := 0; i < nIn; i++ {
			if prev[i] <= k {
				continue
			}
			for _, x := range mk[i*nOut+v*P : i*nOut+(v+1)*P] {
				if x != 0 {
					return nil
				}
			}
		}
		for p := 0; p < P; p++ {
			out.perm[k*P+p] = v*P + p
		}
		out.off[k+1] = (k + 1) * P
	}
	s.lay = append(s.lay, out)
	for l := range s.lay {
		ly := &s.lay[l]
		ly.start, ly.end = make([]int, D), make([]int, D)
		blk := madeStepBlock
		if l == L-1 {
			blk = madeStepBlockOut
		}
		for k0 := 0; k0 < D; {
			k1 := k0 + 1
			for k1 < D && ly.off[k1]-ly.off[k0] < blk {
				k1++
			}
			for k := k0; k < k1; k++ {
				ly.start[k], ly.end[k] = k0, k1
			}
			k0 = k1
		}
		s.h = append(s.h, &Mat[T]{})
	}
	s.w = make([][]T, L)
	s.b = make([][]T, L)
	return s
}

// sortByDegree returns the units sorted by degree (stable) and off[k] = the
// number of units of degree < k, for k = 0…D+1 (degrees above D count as D).
func sortByDegree(deg []int, D int) (perm, off []int) {
	off = make([]int, D+2)
	for _, d := range deg {
		off[min(d, D)+1]++
	}
	for k := 1; k < len(off); k++ {
		off[k] += off[k-1]
	}
	perm = make([]int, len(deg))
	next := append([]int(nil), off...)
	for u, d := range deg {
		d = min(d, D)
		perm[next[d]] = u
		next[d]++
	}
	return perm, off
}

// begin refreshes the sorted weight copies from the MLP and sizes the
// buffers for n rows.
func (s *madeStepper[T]) begin(n int) {
	m := s.m
	rowPerm := s.order
	for l, ly := range s.lay {
		nIn, nOut := m.Sizes[l], m.Sizes[l+1]
		s.w[l] = tensor.Grow(s.w[l], nIn*nOut)
		s.b[l] = tensor.Grow(s.b[l], nOut)
		src, dst := m.W[l].Value, s.w[l]
		for i, r := range rowPerm {
			sr := src[r*nOut : (r+1)*nOut]
			dr := dst[i*nOut : (i+1)*nOut]
			for j, u := range ly.perm {
				dr[j] = sr[u]
			}
		}
		for j, u := range ly.perm {
			s.b[l][j] = m.B[l].Value[u]
		}
		s.h[l].Resize(n, nOut)
		rowPerm = ly.perm
	}
	s.xs.Resize(n, len(s.order))
}

// pass runs pass k and returns the P outputs of variable order[k] for every
// row: row r's at out[r·ld : r·ld+P]. x must hold the variables
// order[0…k−1] solved so far (the pass records order[k−1], solved by the
// previous one); out stays valid until the next begin.
func (s *madeStepper[T]) pass(k int, x *Mat[T]) (out []T, ld int) {
	m := s.m
	D := len(s.order)
	n := x.Rows
	if k > 0 {
		v := s.order[k-1]
		xs := s.xs.Data
		for r := 0; r < n; r++ {
			xs[r*D+k-1] = x.Data[r*D+v]
		}
	}
	in, ldi := s.xs.Data, D
	last := len(s.lay) - 1
	for l, ly := range s.lay {
		nOut := m.Sizes[l+1]
		h, w := s.h[l].Data, s.w[l]
		k0 := ly.start[k]
		kb := ly.avail[k0] // inputs known when the block started
		if k == k0 {
			// Start the block: bias plus everything already known.
			a, b := ly.off[k0], ly.off[ly.end[k]]
			if b > a {
				bias := s.b[l][a:b]
				for r := 0; r < n; r++ {
					copy(h[r*nOut+a:r*nOut+b], bias)
				}
				if kb > 0 {
					tensor.Gemm(false, false, n, b-a, kb, 1, in, ldi, w[a:], nOut, 1, h[a:], nOut)
				}
			}
		}
		a, b := ly.off[k], ly.off[k+1]
		if kk := ly.avail[k]; b > a && kk > kb {
			// Inputs that became known inside the block.
			tensor.Gemm(false, false, n, b-a, kk-kb, 1, in[kb:], ldi, w[kb*nOut+a:], nOut, 1, h[a:], nOut)
		}
		if l == last {
			return h[a:], nOut
		}
		if b > a {
			activateCols(m.Act, h, n, nOut, a, b)
		}
		in, ldi = h, nOut
	}
	panic("unreachable")
}

// activateCols applies the activation to columns a…b−1 of the n rows of h
// (row stride ld). Short spans of ReLU are done inline rather than by one
// (vectorised) call per row.
func activateCols[T Float](act Activation, h []T, n, ld, a, b int) {
	if act == Tanh || act == ELU || b-a >= 16 {
		for r := 0; r < n; r++ {
			activate(act, h[r*ld+a:r*ld+b])
		}
		return
	}
	if h32, ok := tensor.As32(h); ok {
		for r := 0; r < n; r++ {
			row := h32[r*ld+a : r*ld+b]
			for j, x := range row {
				u := math.Float32bits(x)
				row[j] = math.Float32frombits(u &^ uint32(int32(u)>>31))
			}
		}
		return
	}
	for r := 0; r < n; r++ {
		row := h[r*ld+a : r*ld+b]
		for j, x := range row {
			row[j] = max(x, 0)
		}
	}
}
