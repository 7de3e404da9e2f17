//go:build !amd64 || noasm

package tensor

func fmaPeak(n int) bool { return false }
