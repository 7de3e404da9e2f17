//go:build amd64 && !noasm

package tensor

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// kernAVX512 is the 12×32 AVX-512 micro-kernel (sgemm_amd64.s) with B
// rows at stride rsB: 32 for a packed panel (sgemmKernel's contract), a
// row-major operand's row stride to read it in place.
//
//go:noescape
func kernAVX512(kc int, a *float32, rsA, csA int, b *float32, rsB int, c *float32, ldc int, alpha, beta float32)

// kernAVX2 is the 6×16 AVX2+FMA micro-kernel (sgemm_amd64.s).
//
//go:noescape
func kernAVX2(kc int, a *float32, rsA, csA int, b *float32, c *float32, ldc int, alpha, beta float32)

func archKernels() []*sgemmKernel {
	var ks []*sgemmKernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, &sgemmKernel{name: "avx512", mr: 12, nr: 32,
			fn: func(kc int, a []float32, rsA, csA int, b []float32, c []float32, ldc int, alpha, beta float32) {
				kernAVX512(kc, unsafe.SliceData(a), rsA, csA, unsafe.SliceData(b), 32, unsafe.SliceData(c), ldc, alpha, beta)
			},
			fnS: func(kc int, a []float32, rsA, csA int, b []float32, rsB int, c []float32, ldc int, alpha, beta float32) {
				kernAVX512(kc, unsafe.SliceData(a), rsA, csA, unsafe.SliceData(b), rsB, unsafe.SliceData(c), ldc, alpha, beta)
			}})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, &sgemmKernel{name: "avx2", mr: 6, nr: 16,
			fn: func(kc int, a []float32, rsA, csA int, b []float32, c []float32, ldc int, alpha, beta float32) {
				kernAVX2(kc, unsafe.SliceData(a), rsA, csA, unsafe.SliceData(b), unsafe.SliceData(c), ldc, alpha, beta)
			}})
	}
	return ks
}
