package tensor

import (
	"math"
	"unsafe"
)

// The one home of the float32/float64 dispatch and of the small numeric
// helpers every package uses: the float32 fast paths (SIMD kernels,
// autonf's float32 exp/log) are chosen here and nowhere else.

// Is32 reports whether T is float32, the training precision (resolved at
// compile time for each instantiation).
func Is32[T Float]() bool {
	var z T
	return unsafe.Sizeof(z) == 4
}

// As32 reinterprets s as []float32 without copying when T is float32 and s
// is not empty; otherwise it returns nil, false.
func As32[T Float](s []T) ([]float32, bool) {
	if !Is32[T]() || len(s) == 0 {
		return nil, false
	}
	return f32(s), true
}

// Grow returns s with length n, reusing its storage when it is large
// enough (the contents are then unspecified) and allocating otherwise.
func Grow[E any](s []E, n int) []E {
	if cap(s) < n {
		return make([]E, n)
	}
	return s[:n]
}

// AllFinite reports whether no value of v is NaN or ±Inf.
func AllFinite[T Float](v []T) bool {
	for _, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}

// Exp is e^x: Exp32 for float32, math.Exp for float64.
func Exp[T Float](x T) T {
	if Is32[T]() {
		return T(Exp32(float32(x)))
	}
	return T(math.Exp(float64(x)))
}

// Log is the natural logarithm: Log32 for float32, math.Log for float64.
func Log[T Float](x T) T {
	if Is32[T]() {
		return T(Log32(float32(x)))
	}
	return T(math.Log(float64(x)))
}

// Log1p is log(1 + x): Log1p32 for float32, math.Log1p for float64.
func Log1p[T Float](x T) T {
	if Is32[T]() {
		return T(Log1p32(float32(x)))
	}
	return T(math.Log1p(float64(x)))
}

// Softmax writes softmax(u) into p (len(p) ≥ len(u)): max-subtracted,
// exponentials in T (see Exp), the normaliser summed in float64.
func Softmax[T Float](u, p []T) {
	p = p[:len(u)]
	m := u[0]
	for _, v := range u[1:] {
		m = max(m, v)
	}
	var sum float64
	for i, v := range u {
		e := Exp(v - m)
		sum += float64(e)
		p[i] = e
	}
	inv := T(1 / sum)
	for i := range p {
		p[i] *= inv
	}
}

// LogSumExp returns log Σ e^{u_i}, max-subtracted, in float64; −Inf for an
// empty u or when every u_i is −Inf.
func LogSumExp[T Float](u []T) float64 {
	m := math.Inf(-1)
	for _, v := range u {
		m = max(m, float64(v))
	}
	if math.IsInf(m, -1) {
		return m
	}
	var s float64
	for _, v := range u {
		s += math.Exp(float64(v) - m)
	}
	return m + math.Log(s)
}

// Softplus is log(1 + e^x) without overflow: x + log1p(e^−x) for x > 0,
// log1p(e^x) otherwise, with Exp and Log1p of T.
func Softplus[T Float](x T) T {
	if x > 0 {
		return x + Log1p(Exp(-x))
	}
	return Log1p(Exp(x))
}
