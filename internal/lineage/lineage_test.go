package lineage

import (
	"reflect"
	"strings"
	"testing"
)

const (
	root   = "1-5759e988-bd862e3fe1be46a994272793"
	parent = "53995c3f42cd8ad8"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Header
	}{
		{"empty", "", Header{}},
		{"no lineage", "Root=" + root + ";Parent=" + parent + ";Sampled=1",
			Header{Root: root, Parent: parent, Sampled: "1"}},
		// As Lambda writes it today (a function's _X_AMZN_TRACE_ID).
		{"today's form", "Root=" + root + ";Parent=" + parent + ";Sampled=0;Lineage=1:13e15196:0",
			Header{Root: root, Parent: parent, Sampled: "0", Lineage: []Entry{{"13e15196", 1}}}},
		// The X-Ray documentation's example.
		{"list form", "Root=" + root + ";Sampled=1;Lineage=a87bd80c:1|68fd508a:5|c512fbe3:2",
			Header{Root: root, Sampled: "1", Lineage: []Entry{{"a87bd80c", 1}, {"68fd508a", 5}, {"c512fbe3", 2}}}},
		// The Go SDK v2 percent-encodes "|" when it copies _X_AMZN_TRACE_ID.
		{"percent-encoded", "Root=" + root + ";Lineage=a87bd80c:1%7C68fd508a:5",
			Header{Root: root, Lineage: []Entry{{"a87bd80c", 1}, {"68fd508a", 5}}}},
		{"fields in any order, spaces, case", " lineage=2:ABCDEF01:0 ; Sampled=? ;Root=" + strings.ToUpper(root),
			Header{Root: root, Sampled: "?", Lineage: []Entry{{"abcdef01", 2}}}},
		{"root without its leading zeros", "Root=1-759e988-bd862e3fe1be46a994272793",
			Header{Root: "1-759e988-bd862e3fe1be46a994272793"}},
		{"malformed fields dropped", "Root=2-5759e988-bd862e3fe1be46a994272793;Parent=xyz;Sampled=yes;Lineage=zz:1;Self=1-67891234-12456789abcdef012345678",
			Header{}},
		{"malformed entries dropped", "Lineage=a87bd80c:1|nothex00:2|68fd508a:x|68fd508a:123456|c512fbe3:2",
			Header{Lineage: []Entry{{"a87bd80c", 1}, {"c512fbe3", 2}}}},
		{"malformed today's form", "Lineage=1:13e1519:0", Header{}},
		{"duplicate hash keeps the highest count", "Lineage=a87bd80c:1|a87bd80c:7|a87bd80c:3",
			Header{Lineage: []Entry{{"a87bd80c", 7}}}},
		{"counts are capped", "Lineage=99999:13e15196:0", Header{Lineage: []Entry{{"13e15196", maxCount}}}},
		{"bad percent-encoding", "Root=" + root + ";Lineage=%zz", Header{}},
		{"too long", "Root=" + root + ";" + strings.Repeat("x", maxHeader), Header{}},
		{"no equals", "Root", Header{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Parse(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestListKeepsTheNewest(t *testing.T) {
	var items []string
	for i := range maxEntries + 4 {
		items = append(items, strings.Repeat("0", 6)+string("0123456789abcdef"[i%16])+string("0123456789abcdef"[i/16])+":1")
	}
	h := Parse("Lineage=" + strings.Join(items, "|"))
	if len(h.Lineage) != maxEntries {
		t.Fatalf("%d entries, want %d", len(h.Lineage), maxEntries)
	}
	if h.Lineage[0].Hash != "00000040" || h.Lineage[maxEntries-1].Hash != "00000031" {
		t.Errorf("kept %v, want the last %d", h.Lineage, maxEntries)
	}
}

func TestHash(t *testing.T) {
	a := Hash("arn:aws:lambda:us-east-1:000000000000:function:a")
	if len(a) != 8 || !isHex(a) || strings.ToLower(a) != a {
		t.Fatalf("Hash = %q, want 8 lowercase hex digits", a)
	}
	if a != Hash("arn:aws:lambda:us-east-1:000000000000:function:a") {
		t.Error("Hash is not deterministic")
	}
	if a == Hash("arn:aws:lambda:us-east-1:000000000000:function:b") {
		t.Error("two functions hash alike")
	}
}

// TestChain: a function that invokes itself runs MaxInvocations times;
// the next invocation is stopped unless the function allows recursion.
func TestChain(t *testing.T) {
	fn := Hash("arn:aws:lambda:us-east-1:000000000000:function:self")
	header := "Root=" + root + ";Parent=" + parent + ";Sampled=0" // the client's
	ran := 0
	for {
		h, count := Parse(header).Extend(fn)
		if Stopped(count, "Terminate") {
			if count != MaxInvocations+1 {
				t.Fatalf("stopped at count %d", count)
			}
			if Stopped(count, "Allow") {
				t.Error("Allow stops too")
			}
			if Stopped(count, "") != true {
				t.Error(`"" does not read as Terminate`)
			}
			break
		}
		ran++
		header = h.String()
		// Today's form while only one function ran.
		if want := ";Lineage=" + itoa(count) + ":" + fn + ":0"; !strings.HasSuffix(header, want) || !strings.HasPrefix(header, "Root="+root+";Parent="+parent+";Sampled=0;") {
			t.Fatalf("header %q, want the client's trace and %q", header, want)
		}
		if ran > 100 {
			t.Fatal("the chain never stops")
		}
	}
	if ran != MaxInvocations {
		t.Errorf("ran %d times, want %d", ran, MaxInvocations)
	}
}

// TestTwoFunctionLoop: a → b → a → b ... counts each function; a, which
// started, is stopped first, at its 17th invocation.
func TestTwoFunctionLoop(t *testing.T) {
	a, b := Hash("arn:a"), Hash("arn:b")
	h := Header{Root: root}
	for i := 0; ; i++ {
		fn := a
		if i%2 == 1 {
			fn = b
		}
		next, count := h.Extend(fn)
		if Stopped(count, "") {
			if fn != a || i != 2*MaxInvocations {
				t.Fatalf("stopped %s at hop %d", fn, i)
			}
			return
		}
		s := next.String()
		if i >= 1 && !strings.Contains(s, "|") {
			t.Fatalf("hop %d: %q, want the list form for two functions", i, s)
		}
		h = Parse(s)
		if !reflect.DeepEqual(h, next) {
			t.Fatalf("hop %d: %q reads back as %+v, want %+v", i, s, h, next)
		}
	}
}

func TestExtendDoesNotChangeItsReceiver(t *testing.T) {
	h := Parse("Lineage=a87bd80c:1|68fd508a:5")
	before := h.String()
	next, count := h.Extend("a87bd80c")
	if h.String() != before {
		t.Errorf("receiver changed to %q", h.String())
	}
	if count != 2 || next.LineageString() != "68fd508a:5|a87bd80c:2" {
		t.Errorf("Extend = %q, %d", next.LineageString(), count)
	}
	if next, count := (Header{}).Extend("a87bd80c"); count != 1 || next.String() != "Lineage=1:a87bd80c:0" {
		t.Errorf("Extend of nothing = %q, %d", next.String(), count)
	}
}

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}

// FuzzParse: any input parses without panicking, and what is written
// back is made of the header's safe alphabet and reads back the same.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"Root=" + root + ";Parent=" + parent + ";Sampled=1;Lineage=1:13e15196:0",
		"Root=" + root + ";Sampled=1;Lineage=a87bd80c:1|68fd508a:5|c512fbe3:2",
		"Lineage=a87bd80c:1%7C68fd508a:5",
		"Root=;Parent=;Sampled=1;;;=;Lineage=::",
		"lineage=99999:ffffffff:99999\r\nX: y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h := Parse(s)
		out := h.String()
		for i := 0; i < len(out); i++ {
			c := out[i]
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || strings.IndexByte("-=;:|?", c) >= 0) {
				t.Fatalf("Parse(%q).String() = %q has byte %q", s, out, c)
			}
		}
		if again := Parse(out); !reflect.DeepEqual(again, h) {
			t.Fatalf("Parse(%q) = %+v; its String %q reads back as %+v", s, h, out, again)
		}
		next, count := h.Extend(Hash(s))
		if count < 1 || count > maxCount || len(next.Lineage) > maxEntries || next.Count(Hash(s)) != count {
			t.Fatalf("Extend of %+v: count %d, %d entries", h, count, len(next.Lineage))
		}
	})
}
