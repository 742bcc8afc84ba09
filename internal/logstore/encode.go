package logstore

import (
	"strconv"
	"unicode/utf8"
)

// appendRecord appends rec's line ({"t":…,"s":…,"m":…} and a newline) to
// b: what json.Marshal makes of it, without reflection (every function log
// line goes through here).
func appendRecord(b []byte, rec record) []byte {
	b = append(b, `{"t":`...)
	b = strconv.AppendInt(b, rec.T, 10)
	b = append(b, `,"s":`...)
	b = appendJSONString(b, rec.S)
	b = append(b, `,"m":`...)
	b = appendJSONString(b, rec.M)
	return append(b, '}', '\n')
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it: quotes, backslashes, control characters (\n, \r, \t, \b, \f,
// else \u00XX); <, > and & as
// \u003c, \u003e and \u0026; U+2028 and U+2029; invalid UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
