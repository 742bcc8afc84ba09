package logsapi

import (
	"regexp"
	"strconv"
	"strings"
)

// pattern is a FilterLogEvents filterPattern for unstructured events:
// terms that must all appear (a "quoted phrase" is one term), ?terms of
// which one must appear, -terms that must not, or a %regular expression%.
// Matching is case-sensitive, as CloudWatch's. JSON ({...}) and
// space-delimited ([...]) patterns are refused.
type pattern struct {
	all, any, none []string
	re             *regexp.Regexp
}

func parsePattern(s string) (*pattern, error) {
	p := &pattern{}
	s = strings.TrimSpace(s)
	if s == "" {
		return p, nil
	}
	if strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") {
		return nil, invalidParam("Invalid filter pattern: sluice supports text filter patterns (terms, \"phrases\", ?terms, -terms, %regex%), not JSON or space-delimited ones")
	}
	if len(s) >= 2 && strings.HasPrefix(s, "%") && strings.HasSuffix(s, "%") {
		re, err := regexp.Compile(s[1 : len(s)-1])
		if err != nil {
			return nil, invalidParam("Invalid filter pattern: " + err.Error())
		}
		p.re = re
		return p, nil
	}
	for s != "" {
		var kind byte
		if s[0] == '?' || s[0] == '-' {
			kind, s = s[0], s[1:]
		}
		var term string
		if strings.HasPrefix(s, `"`) {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return nil, invalidParam("Invalid filter pattern: unterminated quoted phrase")
			}
			term, s = s[1:end+1], s[end+2:]
		} else {
			i := strings.IndexAny(s, " \t")
			if i < 0 {
				i = len(s)
			}
			term, s = s[:i], s[i:]
		}
		s = strings.TrimLeft(s, " \t")
		if term == "" {
			continue
		}
		switch kind {
		case '?':
			p.any = append(p.any, term)
		case '-':
			p.none = append(p.none, term)
		default:
			p.all = append(p.all, term)
		}
	}
	return p, nil
}

func (p *pattern) match(m string) bool {
	if p.re != nil {
		return p.re.MatchString(strings.TrimSuffix(m, "\n"))
	}
	for _, t := range p.all {
		if !strings.Contains(m, t) {
			return false
		}
	}
	for _, t := range p.none {
		if strings.Contains(m, t) {
			return false
		}
	}
	if len(p.any) == 0 {
		return true
	}
	for _, t := range p.any {
		if strings.Contains(m, t) {
			return true
		}
	}
	return false
}

func itoa(n int) string { return strconv.Itoa(n) }

func atoi(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}
