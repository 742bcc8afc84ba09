// Package lineage reads and extends the X-Ray trace header
// (X-Amzn-Trace-Id, _X_AMZN_TRACE_ID, Lambda-Runtime-Trace-Id) and the
// Lineage field in it, with which Lambda detects recursive loops: every
// invocation of a function counts once more in the lineage of the request
// chain that caused it, and an invocation that would make a function run
// more than MaxInvocations times in one chain is stopped (unless the
// function's recursion setting is Allow).
//
// The header is "Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=<0|1>"
// plus the Lineage, in one of two forms (docs/decisions.md, "Recursive
// loops: the Lineage field"):
//
//   - the one Lambda writes today, "<count>:<hash>:<n>", e.g. "1:13e15196:0"
//     (one function's hash, 8 hex digits);
//   - the one the X-Ray documentation shows, a list of up to 16
//     "<hash>:<count>" entries separated by "|", e.g.
//     "a87bd80c:1|68fd508a:5|c512fbe3:2".
//
// Both are read. sluice writes the first while the chain has run one
// function (the common loop: a function that invokes itself) and the list
// once it has run several, so that a loop through two functions is
// counted too.
//
// Parse never fails: a malformed header or field is dropped, as the
// X-Ray SDKs drop it, and what is written back is rebuilt from the
// validated parts only (no byte of the client's header passes unchecked
// to a runtime).
package lineage

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
)

// MaxInvocations is how many times one function runs in one chain of
// requests before Lambda stops the next invocation ("drops requests after
// exceeding 16 invocations").
const MaxInvocations = 16

const (
	// maxEntries is how many functions the list form tracks (the X-Ray
	// V1 lineage tracked up to 16 resources); past it the oldest entry
	// is dropped.
	maxEntries = 16
	// maxCount caps a count (the V2 form's first counter is at most
	// 32767 in the OpenTelemetry propagators); counts only matter up to
	// MaxInvocations+1, and the cap keeps an Allow loop from growing the
	// header.
	maxCount = 32767
	// maxHeader is the longest header read; a longer one is ignored.
	maxHeader = 4096
	hashLen   = 8
)

// Entry is one function's count in a chain.
type Entry struct {
	// Hash names the function: Hash of its unqualified ARN.
	Hash string
	// Count is how many times it ran in the chain.
	Count int
}

// Header is a parsed trace header: its validated fields, each "" when
// absent or malformed.
type Header struct {
	Root    string // "1-<8 hex>-<24 hex>"
	Parent  string // 16 hex
	Sampled string // "0", "1" or "?"
	Lineage []Entry
}

// Hash is the 8-hex-digit lineage hash of a function: the first four
// bytes of the SHA-256 of its unqualified ARN. (What Lambda hashes is not
// public; sluice counts every version and alias of one function
// together, as its recursion setting is the function's.)
func Hash(functionARN string) string {
	sum := sha256.Sum256([]byte(functionARN))
	return hex.EncodeToString(sum[:hashLen/2])
}

// Parse reads a trace header. The AWS SDKs percent-encode some bytes of
// it (the Go SDK v2 encodes "|" as %7C); Parse decodes them.
func Parse(s string) Header {
	var h Header
	if len(s) > maxHeader {
		return h
	}
	if strings.Contains(s, "%") {
		dec, err := url.PathUnescape(s)
		if err != nil {
			return h
		}
		s = dec
	}
	for part := range strings.SplitSeq(s, ";") {
		key, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch {
		case strings.EqualFold(key, "Root"):
			if validRoot(value) {
				h.Root = strings.ToLower(value)
			}
		case strings.EqualFold(key, "Parent"):
			if len(value) == 16 && isHex(value) {
				h.Parent = strings.ToLower(value)
			}
		case strings.EqualFold(key, "Sampled"):
			if value == "0" || value == "1" || value == "?" {
				h.Sampled = value
			}
		case strings.EqualFold(key, "Lineage"):
			h.Lineage = parseLineage(value)
		}
	}
	return h
}

// validRoot: "1-" epoch (1 to 8 hex digits) "-" 24 hex digits.
func validRoot(v string) bool {
	rest, ok := strings.CutPrefix(v, "1-")
	if !ok {
		return false
	}
	epoch, unique, ok := strings.Cut(rest, "-")
	return ok && len(epoch) >= 1 && len(epoch) <= 8 && isHex(epoch) && len(unique) == 24 && isHex(unique)
}

// parseLineage reads either form; malformed entries are dropped, and a
// hash seen twice keeps its highest count.
func parseLineage(v string) []Entry {
	// Today's form: exactly "<count>:<hash>:<n>".
	if !strings.Contains(v, "|") && strings.Count(v, ":") == 2 {
		f := strings.Split(v, ":")
		count, ok1 := counter(f[0])
		_, ok2 := counter(f[2])
		if ok1 && ok2 && validHash(f[1]) {
			return []Entry{{Hash: strings.ToLower(f[1]), Count: count}}
		}
		return nil
	}
	var out []Entry
	for item := range strings.SplitSeq(v, "|") {
		hash, c, ok := strings.Cut(strings.TrimSpace(item), ":")
		count, okc := counter(c)
		if !ok || !okc || !validHash(hash) {
			continue
		}
		out = add(out, Entry{Hash: strings.ToLower(hash), Count: count})
	}
	return out
}

// add puts e into entries (the highest count wins for a hash already
// there), keeping at most maxEntries: the oldest go first.
func add(entries []Entry, e Entry) []Entry {
	for i := range entries {
		if entries[i].Hash == e.Hash {
			entries[i].Count = max(entries[i].Count, e.Count)
			return entries
		}
	}
	entries = append(entries, e)
	if len(entries) > maxEntries {
		entries = entries[len(entries)-maxEntries:]
	}
	return entries
}

// counter reads a decimal count of 1 to 5 digits, capped at maxCount.
func counter(s string) (int, bool) {
	if len(s) == 0 || len(s) > 5 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, false
	}
	return min(n, maxCount), true
}

func validHash(s string) bool { return len(s) == hashLen && isHex(s) }

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// Count is how many times the function of hash ran in h's chain.
func (h Header) Count(hash string) int {
	for _, e := range h.Lineage {
		if e.Hash == hash {
			return e.Count
		}
	}
	return 0
}

// Extend returns h with one more invocation of the function of hash in
// its lineage (h itself is not changed), and that function's count in
// the chain, this invocation included.
func (h Header) Extend(hash string) (Header, int) {
	next := h
	next.Lineage = make([]Entry, 0, len(h.Lineage)+1)
	var count int
	for _, e := range h.Lineage {
		if e.Hash == hash {
			count = e.Count
			continue
		}
		next.Lineage = append(next.Lineage, e)
	}
	count = min(count+1, maxCount)
	// The function invoked last goes last: the oldest entries are the
	// ones dropped when the list is full.
	next.Lineage = add(next.Lineage, Entry{Hash: hash, Count: count})
	return next, count
}

// LineageString is the value of the Lineage field, "" when there is none.
func (h Header) LineageString() string {
	switch len(h.Lineage) {
	case 0:
		return ""
	case 1:
		e := h.Lineage[0]
		return strconv.Itoa(e.Count) + ":" + e.Hash + ":0"
	}
	var b strings.Builder
	for i, e := range h.Lineage {
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString(e.Hash)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Count))
	}
	return b.String()
}

// String is the header: its fields in the order Lambda writes them,
// absent ones left out.
func (h Header) String() string {
	var parts []string
	if h.Root != "" {
		parts = append(parts, "Root="+h.Root)
	}
	if h.Parent != "" {
		parts = append(parts, "Parent="+h.Parent)
	}
	if h.Sampled != "" {
		parts = append(parts, "Sampled="+h.Sampled)
	}
	if l := h.LineageString(); l != "" {
		parts = append(parts, "Lineage="+l)
	}
	return strings.Join(parts, ";")
}

// Stopped reports whether an invocation that would be the count-th of its
// function in its chain is stopped, under the function's recursion
// setting ("Allow", or "Terminate"; "" reads as "Terminate").
func Stopped(count int, recursiveLoop string) bool {
	return count > MaxInvocations && recursiveLoop != "Allow"
}
