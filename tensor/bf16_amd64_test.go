//go:build amd64 && !noasm

package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestRoundBF16Hardware compares RoundBF16 with VCVTNE2PS2BF16 on random
// bit patterns (all classes: normals, denormals, NaNs, infinities) and on
// the rounding boundaries.
func TestRoundBF16Hardware(t *testing.T) {
	if !hasBF16Asm {
		t.Skip("CPU lacks AVX512-BF16")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var src [32]float32
	var dst [16]uint32
	for it := 0; it < 20000; it++ {
		for i := range src {
			u := rng.Uint32()
			switch i % 4 {
			case 1:
				u = u&^0xffff | 0x8000 // ties
			case 2:
				u &= 0x807fffff // denormals and zeros
			case 3:
				u |= 0x7f800000 // infinities and NaNs
			}
			src[i] = math.Float32frombits(u)
		}
		cvtRowBF16(&dst[0], &src[0], 32)
		for i, x := range src {
			hw := uint16(dst[i/2] >> (16 * (i % 2)))
			if got := RoundBF16(x); got != hw {
				t.Fatalf("RoundBF16(%#08x) = %#04x, VCVTNE2PS2BF16 gives %#04x", math.Float32bits(x), got, hw)
			}
		}
		var pw [16]uint32
		cvtPairBF16(&pw[0], &src[0], &src[16], 16)
		for j := range pw {
			if want := pairWord(src[j], src[16+j]); pw[j] != want {
				t.Fatalf("VCVTNEPS2BF16 pair %#08x, RoundBF16 gives %#08x", pw[j], want)
			}
		}
	}
}

// BenchmarkPeakBF16 measures the instruction ceilings on one core: 24
// independent VDPBF16PS (64 flops each on ZMM) against 24 independent
// VFMADD231PS (32 flops each).
func BenchmarkPeakBF16(b *testing.B) {
	if !hasBF16Asm {
		b.Skip("CPU lacks AVX512-BF16")
	}
	const iters = 1 << 16
	for _, c := range []struct {
		name  string
		fn    func(int)
		flops float64
	}{{"vdpbf16ps", peakBF16, 64}, {"vfmadd231ps", peakFMA, 32}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.fn(iters)
			}
			b.ReportMetric(24*c.flops*iters*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
