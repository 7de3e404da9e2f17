package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
)

// Tensor is one named float32 array for the safetensors file.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

type stEntry struct {
	DType       string `json:"dtype"`
	Shape       []int  `json:"shape"`
	DataOffsets [2]int `json:"data_offsets"`
}

// MaxHeader bounds the JSON header so a corrupt length cannot allocate
// gigabytes.
const MaxHeader = 100 << 20

// Write writes tensors in the safetensors format
// (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length, a JSON header mapping each name to dtype, shape and byte
// offsets, then the raw little-endian data. The format holds only numbers:
// loading it cannot execute anything.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	off := 0
	for _, t := range tensors {
		n := 4 * len(t.Data)
		header[t.Name] = stEntry{DType: "F32", Shape: t.Shape, DataOffsets: [2]int{off, off + n}}
		off += n
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return err
	}
	// Pad the header with spaces to an 8-byte boundary, as the reference
	// implementation does.
	for len(hb)%8 != 0 {
		hb = append(hb, ' ')
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hb)))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return err
	}
	if _, err := w.Write(hb); err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<16)
	for _, t := range tensors {
		for _, v := range t.Data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) >= 1<<16 {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	_, err = w.Write(buf)
	return err
}

// Read parses a safetensors file holding F32 tensors. It checks
// the header, dtypes, shapes against offsets, and that the offsets tile the
// data exactly.
func Read(b []byte) (map[string]Tensor, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("safetensors: file too short (%d bytes)", len(b))
	}
	hl := binary.LittleEndian.Uint64(b[:8])
	if hl > MaxHeader || hl > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("safetensors: header length %d is invalid for a %d-byte file", hl, len(b))
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b[8 : 8+hl]))
	if err := dec.Decode(&raw); err != nil {
		return nil, nil, fmt.Errorf("safetensors: bad header: %w", err)
	}
	data := b[8+hl:]
	var meta map[string]string
	out := map[string]Tensor{}
	type span struct{ lo, hi int }
	var spans []span
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &meta); err != nil {
				return nil, nil, fmt.Errorf("safetensors: bad __metadata__: %w", err)
			}
			continue
		}
		var e stEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		if e.DType != "F32" {
			return nil, nil, fmt.Errorf("safetensors: tensor %q has dtype %s; autonf stores F32", name, e.DType)
		}
		n := 1
		for _, s := range e.Shape {
			if s < 0 {
				return nil, nil, fmt.Errorf("safetensors: tensor %q has a negative dimension", name)
			}
			if s > 0 && n > len(data)/4/s {
				return nil, nil, fmt.Errorf("safetensors: tensor %q: shape %v needs more than the %d data bytes of the file", name, e.Shape, len(data))
			}
			n *= s
		}
		lo, hi := e.DataOffsets[0], e.DataOffsets[1]
		if lo < 0 || hi < lo || hi > len(data) || hi-lo != 4*n {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: offsets [%d,%d) do not match shape %v in %d data bytes", name, lo, hi, e.Shape, len(data))
		}
		vals := make([]float32, n)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[lo+4*i:]))
		}
		out[name] = Tensor{Name: name, Shape: e.Shape, Data: vals}
		spans = append(spans, span{lo, hi})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].lo < spans[j].lo })
	pos := 0
	for _, s := range spans {
		if s.lo != pos {
			return nil, nil, fmt.Errorf("safetensors: tensor data overlaps or leaves a gap at byte %d", pos)
		}
		pos = s.hi
	}
	if pos != len(data) {
		return nil, nil, fmt.Errorf("safetensors: %d trailing bytes after the tensors", len(data)-pos)
	}
	return out, meta, nil
}
