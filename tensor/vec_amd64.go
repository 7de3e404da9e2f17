//go:build amd64 && !noasm

package tensor

import "golang.org/x/sys/cpu"

var hasVecAsm = cpu.X86.HasAVX2

//go:noescape
func reluAVX2(v *float32, n int)

//go:noescape
func reluGradAVX2(yp, gp *float32, n int)

var hasFMAAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func adamAVX2(pp, gp, mp, vp *float32, n int, b1, c1, b2, c2, step, eps float32)

//go:noescape
func addAVX2(dst, src *float32, n int)

//go:noescape
func mulAVX2(dst, src *float32, n int)

//go:noescape
func biasAddAVX2(v, bias *float32, n int, relu bool)

//go:noescape
func transpose8AVX2(dst *float32, ldd int, src *float32, lds int, n int)
