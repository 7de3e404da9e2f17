package data

// asciiSpace marks the bytes strings.TrimSpace removes below 0x80.
var asciiSpace = [256]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// pow10 holds the powers of ten that are exact in float64.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseFast parses the common decimal forms of a number at the start of b
// — optional ASCII white space (other than comma), an optional sign, digits
// with an optional decimal point, an optional exponent, optional white
// space — up to comma or the end of b. It returns the value, the number of
// bytes consumed (b[n] is comma when n < len(b)) and ok. ok is true only
// when the value is exactly strconv.ParseFloat(field, 64) and finite: at
// most 19 digits whose integer fits in 53 bits and a decimal exponent in
// [-22, 22], so that one IEEE multiplication or division by an exact power
// of ten rounds correctly (Clinger's fast path, as strconv's own). Anything
// else (more digits, large exponents, hex, inf, nan, underscores, other
// bytes) gives ok false, and the caller falls back to strconv.ParseFloat.
func parseFast(b []byte, comma byte) (v float64, n int, ok bool) {
	i := 0
	for i < len(b) && asciiSpace[b[i]] && b[i] != comma {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	var mant uint64
	nd, dp := 0, 0
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			break
		}
		if nd == 19 {
			return 0, 0, false
		}
		mant = mant*10 + uint64(c)
		nd++
	}
	if i < len(b) && b[i] == '.' {
		for i++; i < len(b); i++ {
			c := b[i] - '0'
			if c > 9 {
				break
			}
			if nd == 19 {
				return 0, 0, false
			}
			mant = mant*10 + uint64(c)
			nd++
			dp++
		}
	}
	if nd == 0 {
		return 0, 0, false
	}
	exp := 0
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			eneg = b[i] == '-'
			i++
		}
		ed := 0
		for ; i < len(b); i++ {
			c := b[i] - '0'
			if c > 9 {
				break
			}
			if exp > 1000 {
				return 0, 0, false
			}
			exp = exp*10 + int(c)
			ed++
		}
		if ed == 0 {
			return 0, 0, false
		}
		if eneg {
			exp = -exp
		}
	}
	for i < len(b) && asciiSpace[b[i]] && b[i] != comma {
		i++
	}
	if i < len(b) && b[i] != comma {
		return 0, 0, false
	}
	exp -= dp
	switch {
	case mant == 0:
		v = 0
	case mant > 1<<53:
		return 0, 0, false
	case exp == 0:
		v = float64(mant)
	case exp > 0 && exp <= 22:
		v = float64(mant) * pow10[exp]
	case exp < 0 && exp >= -22:
		v = float64(mant) / pow10[-exp]
	default:
		return 0, 0, false
	}
	if neg {
		v = -v
	}
	return v, i, true
}

// parseField is parseFast on a whole trimmed field.
func parseField(f []byte) (float64, bool) {
	v, n, ok := parseFast(f, 0)
	return v, ok && n == len(f)
}
