package flowtest

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
)

// M is the float64 matrix type the checks use.
type M = tensor.Mat[float64]

// RandMat returns a rows×cols matrix of N(0, scale²) values.
func RandMat(rng *rand.Rand, rows, cols int, scale float64) *M {
	m := tensor.New[float64](rows, cols)
	for i := range m.Data {
		m.Data[i] = scale * rng.NormFloat64()
	}
	return m
}

// Forward runs a fresh forward pass and returns copies of z and ld.
func Forward(l flow.Layer[float64], x *M) (*M, []float64) {
	z := tensor.New[float64](x.Rows, x.Cols)
	ld := make([]float64, x.Rows)
	l.Forward(l.NewWork(), x.Clone(), z, ld)
	return z, ld
}

// Inverse runs a fresh inverse pass and returns x and its log-det.
func Inverse(l flow.Layer[float64], z *M) (*M, []float64) {
	x := tensor.New[float64](z.Rows, z.Cols)
	ld := make([]float64, z.Rows)
	l.Inverse(l.NewWork(), z.Clone(), x, ld)
	return x, ld
}

// near reports |a−b| ≤ tol·(1+|b|) (mixed absolute/relative tolerance).
func near(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*(1+math.Abs(b))
}

// Loss is the scalar whose gradient the checks compare:
// L = Σ dz⊙z + Σ dld⊙ld with fixed random weights dz, dld.
func loss(l flow.Layer[float64], x, dz *M, dld []float64) float64 {
	z, ld := Forward(l, x)
	s := 0.0
	for i, v := range z.Data {
		s += dz.Data[i] * v
	}
	for i, v := range ld {
		s += dld[i] * v
	}
	return s
}

// cotangents draws the fixed random weights dz (rows×cols) and dld (rows)
// of the scalar loss L = Σ dz⊙z + Σ dld⊙ld the checks differentiate.
func cotangents(rng *rand.Rand, rows, cols int) (*M, []float64) {
	dz := RandMat(rng, rows, cols, 1)
	dld := make([]float64, rows)
	for i := range dld {
		dld[i] = rng.NormFloat64()
	}
	return dz, dld
}

// runBackward clears the Params' Grad, runs Forward on a copy of x and
// Backward with the cotangents dz, dld on a fresh workspace (with an
// optional call in between) and returns dL/dx.
func runBackward(l flow.Layer[float64], x, dz *M, dld []float64, between func(w flow.Work)) *M {
	for _, p := range l.Params() {
		clear(p.Grad)
	}
	w := l.NewWork()
	z := tensor.New[float64](x.Rows, x.Cols)
	l.Forward(w, x.Clone(), z, make([]float64, x.Rows))
	if between != nil {
		between(w)
	}
	dx := tensor.New[float64](x.Rows, x.Cols)
	l.Backward(w, dz, dld, dx)
	return dx
}

// CheckGradients compares Backward's dL/dx and dL/dθ with central finite
// differences (step 1e-6) for L = Σ dz⊙z + Σ dld⊙ld, with random dz, dld.
// Large parameters are spot-checked on up to 64 random entries each.
func CheckGradients(t testing.TB, l flow.Layer[float64], x *M, tol float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	dz, dld := cotangents(rng, x.Rows, x.Cols)
	dx := runBackward(l, x, dz, dld, nil)

	const eps = 1e-6
	fd := func(v *float64) float64 {
		old := *v
		*v = old + eps
		lp := loss(l, x, dz, dld)
		*v = old - eps
		lm := loss(l, x, dz, dld)
		*v = old
		return (lp - lm) / (2 * eps)
	}
	xs := x // perturb x in place; loss clones it
	for i := range xs.Data {
		num := fd(&xs.Data[i])
		if !near(dx.Data[i], num, tol) {
			t.Errorf("dL/dx[%d,%d]: backward %.10g, finite difference %.10g", i/x.Cols, i%x.Cols, dx.Data[i], num)
		}
	}
	for _, p := range l.Params() {
		idx := make([]int, 0, len(p.Value))
		for i := range p.Value {
			if p.Mask == nil || p.Mask[i] != 0 { // structural zeros are not parameters
				idx = append(idx, i)
			}
		}
		if len(idx) > 64 {
			rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
			idx = idx[:64]
		}
		for _, i := range idx {
			num := fd(&p.Value[i])
			if !near(p.Grad[i], num, tol) {
				t.Errorf("dL/d%s[%d]: backward %.10g, finite difference %.10g", p.Name, i, p.Grad[i], num)
			}
		}
	}
}

// Jacobian returns the D×D Jacobian ∂z/∂x of row r of x (the other rows
// held fixed) by central differences.
func Jacobian(l flow.Layer[float64], x *M, r int) *mat.Dense {
	d := x.Cols
	J := mat.NewDense(d, d, nil)
	const eps = 1e-6
	xp := x.Clone()
	for j := 0; j < d; j++ {
		old := xp.At(r, j)
		xp.Set(r, j, old+eps)
		zp, _ := Forward(l, xp)
		xp.Set(r, j, old-eps)
		zm, _ := Forward(l, xp)
		xp.Set(r, j, old)
		for i := 0; i < d; i++ {
			J.Set(i, j, (zp.At(r, i)-zm.At(r, i))/(2*eps))
		}
	}
	return J
}

// CheckLogDet compares Forward's log|det| of each row with the log|det| of
// the finite-difference Jacobian (LU decomposition, gonum).
func CheckLogDet(t testing.TB, l flow.Layer[float64], x *M, tol float64) {
	t.Helper()
	_, ld := Forward(l, x)
	for r := 0; r < x.Rows; r++ {
		J := Jacobian(l, x, r)
		var lu mat.LU
		lu.Factorize(J)
		ref, _ := lu.LogDet()
		if !near(ld[r], ref, tol) {
			t.Errorf("row %d: log|det J| from Forward %.10g, from finite-difference Jacobian %.10g", r, ld[r], ref)
		}
	}
}

// CheckInverse checks Inverse(Forward(x)) = x and that Inverse reports the
// same log-det as Forward, within tol.
func CheckInverse(t testing.TB, l flow.Layer[float64], x *M, tol float64) {
	t.Helper()
	z, ld := Forward(l, x)
	xr, ldi := Inverse(l, z)
	for i, v := range xr.Data {
		if !near(v, x.Data[i], tol) {
			t.Errorf("inverse(forward(x))[%d,%d] = %.12g, want %.12g", i/x.Cols, i%x.Cols, v, x.Data[i])
		}
	}
	for r := range ld {
		if !near(ldi[r], ld[r], tol) {
			t.Errorf("row %d: inverse log-det %.12g, forward %.12g", r, ldi[r], ld[r])
		}
	}
}

// CheckInverse32 runs the same round trip in float32 with a looser
// tolerance, for the training precision.
func CheckInverse32(t testing.TB, l flow.Layer[float32], x *M, tol float64) {
	t.Helper()
	x32 := tensor.Convert[float32](x)
	z := tensor.New[float32](x.Rows, x.Cols)
	ld := make([]float32, x.Rows)
	l.Forward(l.NewWork(), x32, z, ld)
	xr := tensor.New[float32](x.Rows, x.Cols)
	l.Inverse(l.NewWork(), z, xr, nil)
	for i, v := range xr.Data {
		if !near(float64(v), x.Data[i], tol) || math.IsNaN(float64(v)) {
			t.Errorf("float32 inverse(forward(x))[%d,%d] = %.7g, want %.7g", i/x.Cols, i%x.Cols, v, x.Data[i])
		}
	}
}

// CheckTriangular checks that ∂z_i/∂x_j = 0 (|·| ≤ tol) whenever x_j comes
// after x_i in the given autoregressive order (order[k] = the k-th variable).
func CheckTriangular(t testing.TB, l flow.Layer[float64], x *M, order []int, tol float64) {
	t.Helper()
	pos := make([]int, len(order))
	for k, v := range order {
		pos[v] = k
	}
	for r := 0; r < x.Rows; r++ {
		J := Jacobian(l, x, r)
		for i := range order {
			for j := range order {
				if pos[j] > pos[i] && math.Abs(J.At(i, j)) > tol {
					t.Errorf("row %d: ∂z_%d/∂x_%d = %.3g, but x_%d comes after x_%d in the order", r, i, j, J.At(i, j), j, i)
				}
			}
		}
	}
}

// FiniteAll reports whether every value is finite.
func FiniteAll(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
