package flow

// MADEMasks returns the connectivity masks of a MADE network (Germain et
// al. 2015) with D inputs, the given hidden widths and P outputs per input
// variable, for the autoregressive order given by order (order[k] is the
// k-th variable; nil = natural order 0..D−1).
//
// Degrees: input variable order[k] has degree k+1; the units of every
// hidden layer get the degrees 1..D−1 in equal shares, in ascending order
// (unit u has degree 1 + ⌊u·(D−1)/H⌋: the same multiset as the usual
// 1 + (u mod (D−1)) of nflows and zuko, sorted). Sorting makes each
// column's allowed inputs a prefix, which MLP exploits to skip the masked
// half of the multiply-adds. Output (i, p), stored at column i·P+p, has the
// degree of variable i. A hidden unit sees inputs of degree ≤ its
// own; an output sees hidden units of strictly smaller degree, so output i
// depends only on the variables before i in the order.
//
// Mask l has shape sizes[l]×sizes[l+1], matching MLP's in×out weights.
func MADEMasks[T Float](D int, hidden []int, P int, order []int) [][]T {
	degIn := make([]int, D)
	for k := 0; k < D; k++ {
		v := k
		if order != nil {
			v = order[k]
		}
		degIn[v] = k + 1
	}
	prev := degIn
	var masks [][]T
	for _, h := range hidden {
		deg := make([]int, h)
		for u := range deg {
			deg[u] = 1 + u*max(1, D-1)/h
		}
		m := make([]T, len(prev)*h)
		for i, di := range prev {
			for u, du := range deg {
				if du >= di {
					m[i*h+u] = 1
				}
			}
		}
		masks = append(masks, m)
		prev = deg
	}
	out := D * P
	m := make([]T, len(prev)*out)
	for i, di := range prev {
		for v := 0; v < D; v++ {
			if degIn[v] > di {
				for p := 0; p < P; p++ {
					m[i*out+v*P+p] = 1
				}
			}
		}
	}
	return append(masks, m)
}
