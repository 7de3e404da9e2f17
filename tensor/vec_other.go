//go:build !amd64 || noasm

package tensor

const hasVecAsm = false

func reluAVX2(v *float32, n int)        { panic("unreachable") }
func reluGradAVX2(y, g *float32, n int) { panic("unreachable") }
