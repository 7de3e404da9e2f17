package tensor

import "fmt"

// Float is the element type of every matrix: float32 to train, float64 to
// check gradients by finite differences.
type Float interface{ ~float32 | ~float64 }

// Mat is a dense row-major matrix whose rows are contiguous (stride = Cols).
// Data may be longer than Rows*Cols: Resize reuses the spare capacity so that
// buffers survive changes of batch size without allocating.
type Mat[T Float] struct {
	Rows, Cols int
	Data       []T
}

// New returns a zeroed rows×cols matrix.
func New[T Float](rows, cols int) *Mat[T] {
	return &Mat[T]{Rows: rows, Cols: cols, Data: make([]T, rows*cols)}
}

// FromSlice wraps data (len rows*cols) as a matrix without copying.
func FromSlice[T Float](rows, cols int, data []T) *Mat[T] {
	if len(data) < rows*cols {
		panic(fmt.Sprintf("tensor.FromSlice: %d values for %dx%d", len(data), rows, cols))
	}
	return &Mat[T]{Rows: rows, Cols: cols, Data: data[:rows*cols]}
}

// Resize sets the shape to rows×cols, reusing the backing array when it is
// large enough and allocating (zeroed) otherwise. Contents are unspecified.
func (m *Mat[T]) Resize(rows, cols int) {
	n := rows * cols
	if cap(m.Data) < n {
		m.Data = make([]T, n)
	}
	m.Data = m.Data[:n]
	m.Rows, m.Cols = rows, cols
}

// Row returns row i as a slice aliasing the matrix.
func (m *Mat[T]) Row(i int) []T { return m.Data[i*m.Cols : (i+1)*m.Cols] }

// At returns element (i, j).
func (m *Mat[T]) At(i, j int) T { return m.Data[i*m.Cols+j] }

// Set sets element (i, j).
func (m *Mat[T]) Set(i, j int, v T) { m.Data[i*m.Cols+j] = v }

// Len is Rows*Cols.
func (m *Mat[T]) Len() int { return m.Rows * m.Cols }

// Vals returns the first Rows*Cols values.
func (m *Mat[T]) Vals() []T { return m.Data[:m.Rows*m.Cols] }

// Zero sets every element to 0.
func (m *Mat[T]) Zero() { clear(m.Data[:m.Rows*m.Cols]) }

// CopyFrom resizes m to src's shape and copies src's values.
func (m *Mat[T]) CopyFrom(src *Mat[T]) {
	m.Resize(src.Rows, src.Cols)
	copy(m.Data, src.Data[:src.Rows*src.Cols])
}

// SliceRows returns a view of rows [lo, hi) sharing the backing array.
func (m *Mat[T]) SliceRows(lo, hi int) *Mat[T] {
	return &Mat[T]{Rows: hi - lo, Cols: m.Cols, Data: m.Data[lo*m.Cols : hi*m.Cols]}
}

// Clone returns a deep copy.
func (m *Mat[T]) Clone() *Mat[T] {
	c := New[T](m.Rows, m.Cols)
	copy(c.Data, m.Data[:m.Rows*m.Cols])
	return c
}

// Convert copies a matrix into another element type.
func Convert[D, S Float](src *Mat[S]) *Mat[D] {
	d := New[D](src.Rows, src.Cols)
	for i, v := range src.Data[:src.Rows*src.Cols] {
		d.Data[i] = D(v)
	}
	return d
}
