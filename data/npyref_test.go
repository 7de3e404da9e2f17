package data

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// refLoadNPY is LoadNPY as it was before streaming (io.ReadAll of the data,
// a second matrix for Fortran order, Select for columns): the reference.
func refLoadNPY(r io.Reader, name string, opt LoadOptions) (*Table, error) {
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
	need := int64(rows) * int64(cols) * int64(size)
	raw, err := io.ReadAll(io.LimitReader(br, need))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(raw)) != need {
		return nil, fail(ErrFormat, "truncated .npy data: shape (%s) of %s needs %d bytes, file has %d", sm[1], descr, need, len(raw))
	}

	n := rows * cols
	vals := make([]float64, n)
	for k := range vals {
		b := raw[k*size : (k+1)*size]
		var v float64
		switch kind {
		case 'f':
			if size == 4 {
				v = float64(math.Float32frombits(order.Uint32(b)))
			} else {
				v = math.Float64frombits(order.Uint64(b))
			}
		case 'i':
			switch size {
			case 1:
				v = float64(int8(b[0]))
			case 2:
				v = float64(int16(order.Uint16(b)))
			case 4:
				v = float64(int32(order.Uint32(b)))
			case 8:
				v = float64(int64(order.Uint64(b)))
			}
		case 'u':
			switch size {
			case 1:
				v = float64(b[0])
			case 2:
				v = float64(order.Uint16(b))
			case 4:
				v = float64(order.Uint32(b))
			case 8:
				v = float64(order.Uint64(b))
			}
		}
		vals[k] = v
	}
	if fortran && cols > 1 {
		// Column-major: element (i, j) is at j*rows + i.
		t := make([]float64, n)
		for j := 0; j < cols; j++ {
			for i := 0; i < rows; i++ {
				t[i*cols+j] = vals[j*rows+i]
			}
		}
		vals = t
	}
	tab := &Table{Columns: DefaultColumnNames(cols), Rows: rows, Cols: cols, Data: vals, Source: name}
	if err := tab.CheckFinite(); err != nil {
		return nil, err
	}
	if len(opt.Columns) > 0 {
		keep, err := resolveColumns(name, tab.Columns, opt.Columns)
		if err != nil {
			return nil, err
		}
		tab = tab.Select(keep)
	}
	return tab, nil
}

func TestLoadNPYMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	type dt struct {
		descr string
		order binary.ByteOrder
	}
	dtypes := []dt{{"<f8", binary.LittleEndian}, {">f8", binary.BigEndian}, {"<f4", binary.LittleEndian}, {">f4", binary.BigEndian},
		{"|i1", binary.LittleEndian}, {"<i2", binary.LittleEndian}, {">i4", binary.BigEndian}, {"<i8", binary.LittleEndian},
		{"|u1", binary.LittleEndian}, {">u2", binary.BigEndian}, {"<u4", binary.LittleEndian}, {"<u8", binary.LittleEndian}}
	for it := 0; it < 300; it++ {
		d := dtypes[rng.IntN(len(dtypes))]
		size, _ := strconv.Atoi(d.descr[2:])
		rows, cols := 1+rng.IntN(40), 1+rng.IntN(6)
		if it%50 == 0 {
			rows = 70000 + rng.IntN(1000) // more than one read chunk
		}
		shape := []int{rows, cols}
		if cols == 1 && rng.IntN(2) == 0 {
			shape = []int{rows}
		}
		fortran := rng.IntN(2) == 0
		raw := make([]byte, rows*cols*size)
		for k := range raw {
			raw[k] = byte(rng.Uint32())
		}
		if d.descr[1] == 'f' && rng.IntN(2) == 0 { // plant non-finite values
			for p := 0; p < 1+rng.IntN(3); p++ {
				k := rng.IntN(rows * cols)
				switch size {
				case 8:
					d.order.PutUint64(raw[8*k:], math.Float64bits([]float64{math.NaN(), math.Inf(1), math.Inf(-1)}[rng.IntN(3)]))
				case 4:
					d.order.PutUint32(raw[4*k:], math.Float32bits(float32(math.Inf(-1+2*rng.IntN(2)))))
				}
			}
		}
		if rng.IntN(8) == 0 {
			raw = raw[:rng.IntN(len(raw))] // truncated
		}
		var opt LoadOptions
		switch rng.IntN(4) {
		case 0:
			opt.Columns = []string{strconv.Itoa(rng.IntN(cols))}
		case 1:
			opt.Columns = []string{strconv.Itoa(cols - 1), "c0"}
		case 2:
			opt.Columns = []string{"nope"}
		}
		file := npyBytes(t, d.descr, fortran, shape, raw)
		for _, r := range []func() io.Reader{
			func() io.Reader { return bytes.NewReader(file) },
			func() io.Reader {
				return io.MultiReader(bytes.NewReader(file[:len(file)*2/3]), errReader{io.ErrClosedPipe})
			},
		} {
			got, gerr := LoadNPY(r(), "x.npy", opt)
			want, werr := refLoadNPY(r(), "x.npy", opt)
			if fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Fatalf("%s %v fortran=%v opt %+v: error %v, want %v", d.descr, shape, fortran, opt, gerr, werr)
			}
			if werr != nil {
				continue
			}
			if got.Rows != want.Rows || got.Cols != want.Cols || strings.Join(got.Columns, ",") != strings.Join(want.Columns, ",") || len(got.Data) != len(want.Data) {
				t.Fatalf("%s %v: got %d×%d %q, want %d×%d %q", d.descr, shape, got.Rows, got.Cols, got.Columns, want.Rows, want.Cols, want.Columns)
			}
			for k := range got.Data {
				if math.Float64bits(got.Data[k]) != math.Float64bits(want.Data[k]) {
					t.Fatalf("%s %v fortran=%v: value %d is %v, want %v", d.descr, shape, fortran, k, got.Data[k], want.Data[k])
				}
			}
		}
	}
}
