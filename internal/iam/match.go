package iam

import (
	"strings"
	"unicode/utf8"
)

// wildMatch reports whether s matches pattern, where "*" matches any run
// of characters (none included) and "?" exactly one; everything else
// matches itself, byte for byte. It runs in O(len(pattern)·len(s)) at
// worst, without recursion.
func wildMatch(pattern, s string) bool {
	px, sx := 0, 0
	nextPx, nextSx := 0, -1 // where to resume after the last "*"
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				// Match nothing first; on a mismatch, let the star take one
				// more character and retry from there.
				nextPx = px
				nextSx = sx + runeLen(s, sx)
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx += runeLen(s, sx)
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px++
					sx++
					continue
				}
			}
		}
		if nextSx > 0 && nextSx <= len(s) {
			px = nextPx
			sx = nextSx
			continue
		}
		return false
	}
	return true
}

// runeLen is the length of the UTF-8 sequence at s[i], 1 past the end.
func runeLen(s string, i int) int {
	if i >= len(s) {
		return 1
	}
	if s[i] < utf8.RuneSelf {
		return 1
	}
	_, n := utf8.DecodeRuneInString(s[i:])
	return n
}

// arnMatch matches an ARN against an ARN pattern as AWS does for the
// Resource element and the Arn condition operators: "*" matches anything;
// otherwise both are split into their six colon-separated parts (arn,
// partition, service, region, account, resource; the resource part keeps
// any further colons, as in a qualified function ARN) and each part is
// matched on its own, case-sensitively, so a wildcard never spans a part
// boundary except inside the resource part.
func arnMatch(pattern, arn string) bool {
	if pattern == "*" {
		return true
	}
	for i := 0; i < 5; i++ {
		p, prest, ok1 := strings.Cut(pattern, ":")
		a, arest, ok2 := strings.Cut(arn, ":")
		if !ok1 || !ok2 || !wildMatch(p, a) {
			return false
		}
		pattern, arn = prest, arest
	}
	return wildMatch(pattern, arn)
}

// isARN reports whether s has the form of an ARN: "arn:" and at least six
// colon-separated parts.
func isARN(s string) bool {
	return strings.HasPrefix(s, "arn:") && strings.Count(s, ":") >= 5
}

// actionMatch matches an action against a lower-cased action pattern,
// case-insensitively (IAM action names are not case-sensitive).
func actionMatch(lowerPattern, lowerAction string) bool {
	if lowerPattern == "*" {
		return true
	}
	return wildMatch(lowerPattern, lowerAction)
}
