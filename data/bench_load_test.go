package data

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkLoadCSV: 100 000 rows × 8 columns of 7-significant-digit
// numbers, from memory; reports rows/s.
func BenchmarkLoadCSV(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	var buf bytes.Buffer
	buf.WriteString("a,b,c,d,e,f,g,h\n")
	const rows = 100000
	for i := 0; i < rows; i++ {
		for j := 0; j < 8; j++ {
			if j > 0 {
				buf.WriteByte(',')
			}
			fmt.Fprintf(&buf, "%.7g", rng.NormFloat64())
		}
		buf.WriteByte('\n')
	}
	in := buf.Bytes()
	for _, impl := range []struct {
		name string
		load func(*bytes.Reader) (*Table, error)
	}{
		{"stream", func(r *bytes.Reader) (*Table, error) { return LoadCSV(r, "b.csv", LoadOptions{}) }},
		{"encoding-csv", func(r *bytes.Reader) (*Table, error) { return refLoadCSV(r, "b.csv", LoadOptions{}) }},
	} {
		b.Run(impl.name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				t, err := impl.load(bytes.NewReader(in))
				if err != nil || t.Rows != rows {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
