package flow

import "fmt"

// The parts both coupling layers (affine-coupling, nsf-coupling) and both
// autoregressive layers (maf, nsf-ar) share: the mask and order parsing and
// the column gather/scatter around the conditioner network.

// couplingSplit parses a coupling mask ("" or "even": transform the
// even-index columns, conditioned on the odd ones; "odd": the reverse)
// and returns the canonical mask name with the transformed and the
// conditioning (identity) columns.
func couplingSplit(typ, mask string, dim int) (name string, tr, id []int, err error) {
	parity := 0 // parity of the transformed columns
	switch mask {
	case "", "even":
		name = "even"
	case "odd":
		name, parity = "odd", 1
	default:
		return "", nil, nil, fmt.Errorf("%s: mask %q is unknown (want even or odd)", typ, mask)
	}
	for c := 0; c < dim; c++ {
		if c%2 == parity {
			tr = append(tr, c)
		} else {
			id = append(id, c)
		}
	}
	return name, tr, id, nil
}

// arOrder parses an autoregressive order ("" or "natural": x_i depends on
// x_<i; "reversed") and returns the canonical name with the permutation
// perm[k] = the k-th variable of the order.
func arOrder(typ, order string, dim int) (name string, perm []int, err error) {
	perm = make([]int, dim)
	switch order {
	case "", "natural":
		for k := range perm {
			perm[k] = k
		}
		return "natural", perm, nil
	case "reversed":
		for k := range perm {
			perm[k] = dim - 1 - k
		}
		return "reversed", perm, nil
	}
	return "", nil, fmt.Errorf("%s: order %q is unknown (want natural or reversed)", typ, order)
}

// gatherCols copies columns cols of src (rows×D) into dst, resized to
// rows×len(cols): the conditioner's input.
func gatherCols[T Float](dst, src *Mat[T], cols []int) {
	d, n := src.Cols, len(cols)
	dst.Resize(src.Rows, n)
	for r := 0; r < src.Rows; r++ {
		sr := src.Data[r*d : (r+1)*d]
		dr := dst.Data[r*n : (r+1)*n]
		for j, c := range cols {
			dr[j] = sr[c]
		}
	}
}

// copyCols copies columns cols of src into dst (both rows×D): the identity
// half of a coupling.
func copyCols[T Float](dst, src *Mat[T], cols []int) {
	d := src.Cols
	for r := 0; r < src.Rows; r++ {
		sr := src.Data[r*d : (r+1)*d]
		dr := dst.Data[r*d : (r+1)*d]
		for _, c := range cols {
			dr[c] = sr[c]
		}
	}
}

// scatterAddCols writes dx[:, cols[j]] = dz[:, cols[j]] + g[:, j] (dx and
// dz rows×D, g rows×len(cols)): an identity column's gradient is its
// pass-through plus what the conditioner sends back.
func scatterAddCols[T Float](dx, dz, g *Mat[T], cols []int) {
	d, n := dz.Cols, len(cols)
	for r := 0; r < dz.Rows; r++ {
		dxr := dx.Data[r*d : (r+1)*d]
		dzr := dz.Data[r*d : (r+1)*d]
		gr := g.Data[r*n : (r+1)*n]
		for j, c := range cols {
			dxr[c] = dzr[c] + gr[j]
		}
	}
}
