package data

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
)

var npyMagic = []byte("\x93NUMPY")

var (
	npyDescrRE   = regexp.MustCompile(`['"]descr['"]\s*:\s*['"]([^'"]*)['"]`)
	npyFortranRE = regexp.MustCompile(`['"]fortran_order['"]\s*:\s*(True|False)`)
	npyShapeRE   = regexp.MustCompile(`['"]shape['"]\s*:\s*\(([^)]*)\)`)
)

// LoadNPY reads a NumPy .npy array from r; name is used in error messages.
// Supported: format versions 1-3; dtypes float32/float64 and signed or
// unsigned 8-64 bit integers, either byte order ('<f8', '>f4', '<i8', ...);
// 1-D arrays of shape (N,), read as N×1, and 2-D arrays (N, D), in C or
// Fortran order. Columns are named c0, c1, ...; opt.Header is ignored. NaN
// and infinite values are an *Error naming the row (0-based) and column.
func LoadNPY(r io.Reader, name string, opt LoadOptions) (*Table, error) {
	fail := func(kind error, format string, args ...any) error {
		return &Error{Kind: kind, Source: name, Row: -1, Index: -1, Detail: fmt.Sprintf(format, args...)}
	}
	br := bufio.NewReader(r)
	pre := make([]byte, 8)
	if n, err := io.ReadFull(br, pre); err != nil {
		if n == 0 {
			return nil, fail(ErrNoData, "empty file (not a .npy array)")
		}
		return nil, fail(ErrFormat, "not a .npy file: too short (%d bytes)", n)
	}
	if !bytes.Equal(pre[:6], npyMagic) {
		return nil, fail(ErrFormat, "not a .npy file: bad magic %q (want \"\\x93NUMPY\")", pre[:6])
	}
	major := pre[6]
	var hlen int
	switch major {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, fail(ErrFormat, "truncated .npy header")
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, fail(ErrFormat, "truncated .npy header")
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
		if hlen > 1<<24 {
			return nil, fail(ErrFormat, "implausible .npy header length %d", hlen)
		}
	default:
		return nil, fail(ErrFormat, "unsupported .npy format version %d.%d (want 1.x, 2.x or 3.x)", pre[6], pre[7])
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return nil, fail(ErrFormat, "truncated .npy header (want %d bytes)", hlen)
	}
	h := string(hdr)

	m := npyDescrRE.FindStringSubmatch(h)
	if m == nil {
		return nil, fail(ErrFormat, "unsupported dtype in .npy header %q: only plain float and integer arrays are supported (no structured arrays)", strings.TrimSpace(h))
	}
	descr := m[1]
	if len(descr) < 3 {
		return nil, fail(ErrFormat, "unsupported dtype %q", descr)
	}
	var order binary.ByteOrder
	switch descr[0] {
	case '<', '|', '=':
		order = binary.LittleEndian
	case '>':
		order = binary.BigEndian
	default:
		return nil, fail(ErrFormat, "unsupported dtype %q (want e.g. '<f8' or '<f4')", descr)
	}
	kind := descr[1]
	size, err := strconv.Atoi(descr[2:])
	okType := err == nil && ((kind == 'f' && (size == 4 || size == 8)) ||
		((kind == 'i' || kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)))
	if !okType {
		return nil, fail(ErrFormat, "unsupported dtype %q: want float32/float64 ('<f4', '<f8') or an integer type", descr)
	}

	fortran := false
	if fm := npyFortranRE.FindStringSubmatch(h); fm != nil {
		fortran = fm[1] == "True"
	} else {
		return nil, fail(ErrFormat, "no 'fortran_order' in .npy header %q", strings.TrimSpace(h))
	}

	sm := npyShapeRE.FindStringSubmatch(h)
	if sm == nil {
		return nil, fail(ErrFormat, "no 'shape' in .npy header %q", strings.TrimSpace(h))
	}
	var shape []int
	for _, p := range strings.Split(sm[1], ",") {
		p = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(p), "L"))
		if p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, fail(ErrFormat, "bad shape (%s) in .npy header", sm[1])
		}
		shape = append(shape, n)
	}
	var rows, cols int
	switch len(shape) {
	case 1:
		rows, cols = shape[0], 1
	case 2:
		rows, cols = shape[0], shape[1]
	default:
		return nil, fail(ErrFormat, "array has shape (%s): want 1-D (N,) or 2-D (N, D)", sm[1])
	}
	if rows == 0 || cols == 0 {
		return nil, fail(ErrNoData, "no data: array shape is (%s)", sm[1])
	}
	if rows > math.MaxInt/cols/size {
		return nil, fail(ErrFormat, "array shape (%s) too large", sm[1])
	}
	if rows > opt.maxValues()/cols {
		return nil, fail(ErrShape, "array shape (%s) has more than %d values: too large to load", sm[1], opt.maxValues())
	}
	// Columns are resolved first but an unknown one is reported after the
	// checks of the data, as when the whole table was read before selecting.
	keep, colErr := []int(nil), error(nil)
	if len(opt.Columns) > 0 {
		keep, colErr = resolveColumns(name, DefaultColumnNames(cols), opt.Columns)
	} else {
		keep = make([]int, cols)
		for j := range keep {
			keep[j] = j
		}
	}
	K := len(keep)
	// out[j] is column j's position among the kept columns, or -1.
	out := make([]int, cols)
	for j := range out {
		out[j] = -1
	}
	for k, j := range keep {
		out[j] = k
	}
	all := K == cols
	for k, j := range keep {
		all = all && k == j
	}

	// Stream the data in chunks, decoding each element straight into its
	// place in the (selected, row-major) table: no copy of the file's bytes
	// and no second matrix for Fortran order or a column selection.
	need := int64(rows) * int64(cols) * int64(size)
	n := rows * cols
	var vals []float64
	if colErr == nil {
		vals = make([]float64, rows*K)
	}
	const chunk = 1 << 16 // elements per read
	raw := make([]byte, chunk*size)
	dec := make([]float64, chunk)
	badAt, badVal := -1, 0.0 // first non-finite value in row-major order
	i, j := 0, 0             // (row, column) of element e
	got := int64(0)
	for e := 0; e < n; {
		m := min(chunk, n-e)
		nr, err := io.ReadFull(br, raw[:m*size])
		got += int64(nr)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, fail(ErrFormat, "truncated .npy data: shape (%s) of %s needs %d bytes, file has %d", sm[1], descr, need, got)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		d := dec[:m]
		npyDecode(d, raw[:m*size], kind, size, order)
		if kind == 'f' {
			for t, v := range d {
				if v-v != 0 { // NaN or ±Inf
					ee := e + t
					rm := ee // row-major index
					if fortran {
						rm = (ee%rows)*cols + ee/rows
					}
					if badAt < 0 || rm < badAt {
						badAt, badVal = rm, v
					}
				}
			}
		}
		switch {
		case vals == nil:
		case all && (!fortran || cols == 1):
			copy(vals[e:], d)
		case !fortran:
			for _, v := range d {
				if k := out[j]; k >= 0 {
					vals[i*K+k] = v
				}
				if j++; j == cols {
					i, j = i+1, 0
				}
			}
		default: // column-major: element e is (e % rows, e / rows)
			for _, v := range d {
				if k := out[j]; k >= 0 {
					vals[i*K+k] = v
				}
				if i++; i == rows {
					i, j = 0, j+1
				}
			}
		}
		e += m
	}
	if badAt >= 0 {
		r, c := badAt/cols, badAt%cols
		return nil, &Error{Kind: ErrNotFinite, Source: name, Row: r, Column: "c" + strconv.Itoa(c), Index: c,
			Detail: fmt.Sprintf("value %v is not finite (NaN and ±Inf are not allowed)", badVal)}
	}
	if colErr != nil {
		return nil, colErr
	}
	names := DefaultColumnNames(cols)
	cn := make([]string, K)
	for k, j := range keep {
		cn[k] = names[j]
	}
	return &Table{Columns: cn, Rows: rows, Cols: K, Data: vals, Source: name}, nil
}

// npyDecode converts the elements in raw (dtype kind and size, byte order
// order) to float64 into dst.
func npyDecode(dst []float64, raw []byte, kind byte, size int, order binary.ByteOrder) {
	switch {
	case kind == 'f' && size == 8:
		for k := range dst {
			dst[k] = math.Float64frombits(order.Uint64(raw[8*k:]))
		}
	case kind == 'f' && size == 4:
		for k := range dst {
			dst[k] = float64(math.Float32frombits(order.Uint32(raw[4*k:])))
		}
	case kind == 'i' && size == 1:
		for k := range dst {
			dst[k] = float64(int8(raw[k]))
		}
	case kind == 'i' && size == 2:
		for k := range dst {
			dst[k] = float64(int16(order.Uint16(raw[2*k:])))
		}
	case kind == 'i' && size == 4:
		for k := range dst {
			dst[k] = float64(int32(order.Uint32(raw[4*k:])))
		}
	case kind == 'i' && size == 8:
		for k := range dst {
			dst[k] = float64(int64(order.Uint64(raw[8*k:])))
		}
	case kind == 'u' && size == 1:
		for k := range dst {
			dst[k] = float64(raw[k])
		}
	case kind == 'u' && size == 2:
		for k := range dst {
			dst[k] = float64(order.Uint16(raw[2*k:]))
		}
	case kind == 'u' && size == 4:
		for k := range dst {
			dst[k] = float64(order.Uint32(raw[4*k:]))
		}
	case kind == 'u' && size == 8:
		for k := range dst {
			dst[k] = float64(order.Uint64(raw[8*k:]))
		}
	}
}

// SaveNPY writes rows×cols float64 values as a .npy file (format 1.0,
// dtype '<f8', C order, shape (rows, cols)) through a temporary file and a
// rename (see Writer).
func SaveNPY(path string, rows, cols int, data []float64) error {
	return save(path, nil, rows, cols, data, ".npy")
}

// writeNPYHeader writes the magic, version 1.0, and the header dict padded
// with spaces so that the data starts at a multiple of 64 bytes.
func writeNPYHeader(w io.Writer, descr string, fortran bool, shape []int) error {
	var sh string
	switch len(shape) {
	case 1:
		sh = fmt.Sprintf("(%d,)", shape[0])
	default:
		parts := make([]string, len(shape))
		for i, s := range shape {
			parts[i] = strconv.Itoa(s)
		}
		sh = "(" + strings.Join(parts, ", ") + ")"
	}
	fo := "False"
	if fortran {
		fo = "True"
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr, fo, sh)
	total := len(npyMagic) + 2 + 2 + len(dict) + 1
	pad := (64 - total%64) % 64
	dict += strings.Repeat(" ", pad) + "\n"
	if len(dict) > math.MaxUint16 {
		return fmt.Errorf("data: npy header too long")
	}
	var b bytes.Buffer
	b.Write(npyMagic)
	b.Write([]byte{1, 0})
	binary.Write(&b, binary.LittleEndian, uint16(len(dict)))
	b.WriteString(dict)
	_, err := w.Write(b.Bytes())
	return err
}
