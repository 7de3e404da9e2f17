//go:build !amd64 || noasm

package tensor

const hasVecAsm = false

func reluAVX2(v *float32, n int)        { panic("unreachable") }
func reluGradAVX2(y, g *float32, n int) { panic("unreachable") }

const hasFMAAsm = false

func adamAVX2(p, g, m, v *float32, n int, b1, c1, b2, c2, step, eps float32) { panic("unreachable") }
func addAVX2(dst, src *float32, n int)                                       { panic("unreachable") }
func mulAVX2(dst, src *float32, n int)                                       { panic("unreachable") }
func biasAddAVX2(v, bias *float32, n int, relu bool)                         { panic("unreachable") }
func transpose8AVX2(dst *float32, ldd int, src *float32, lds int, n int)     { panic("unreachable") }
