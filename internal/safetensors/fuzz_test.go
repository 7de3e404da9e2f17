package safetensors

import (
	"bytes"
	"testing"
)

// FuzzRead: any bytes parse or fail cleanly; what parses writes back and
// reads back to the same tensors.
func FuzzRead(f *testing.F) {
	var b bytes.Buffer
	Write(&b, []Tensor{{Name: "a", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}}, {Name: "b", Shape: []int{1}, Data: []float32{-7}}}, map[string]string{"k": "v"})
	f.Add(b.Bytes())
	f.Add([]byte("\x10\x00\x00\x00\x00\x00\x00\x00{}              "))
	f.Add([]byte("\x58\x00\x00\x00\x00\x00\x00\x00" + `{"x":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}      `))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, meta, err := Read(b)
		if err != nil {
			return
		}
		var list []Tensor
		for _, v := range ts {
			n := 1
			for _, s := range v.Shape {
				n *= s
			}
			if n != len(v.Data) {
				t.Fatalf("tensor %q: shape %v but %d values", v.Name, v.Shape, len(v.Data))
			}
			list = append(list, v)
		}
		var w bytes.Buffer
		if err := Write(&w, list, meta); err != nil {
			t.Fatal(err)
		}
		back, _, err := Read(w.Bytes())
		if err != nil || len(back) != len(ts) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
