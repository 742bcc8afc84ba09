package parity

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The harness itself: a comparison that cannot see a difference would make
// every case pass.
func TestDiffSeesDifferences(t *testing.T) {
	rc := RecordedCase{Recorded: map[string]any{
		"a": map[string]any{"FunctionName": "<function-name:1>", "Arn": "arn:aws:lambda:<region>:1:function:<function-name:1>", "Env": map[string]any{"Variables": map[string]any{}}},
		"b": map[string]any{"RevisionId": "<uuid:1>"},
		"c": map[string]any{"RevisionId": "<uuid:2>"},
	}}
	run := func(got map[string]any) []string {
		r := &Run{Got: got, Order: []string{"a", "b", "c"}}
		d, _, _ := Diff(rc, r)
		return d
	}
	same := map[string]any{
		"a": map[string]any{"FunctionName": "f", "Arn": "arn:aws:lambda:us-east-1:1:function:f", "Env": map[string]any{"Variables": map[string]any{}}},
		"b": map[string]any{"RevisionId": "r1"},
		"c": map[string]any{"RevisionId": "r2"},
	}
	if d := run(same); len(d) != 0 {
		t.Fatalf("equal responses differ: %v", d)
	}
	tests := map[string]func(m map[string]any){
		"missing field":         func(m map[string]any) { delete(m["a"].(map[string]any), "Env") },
		"extra field":           func(m map[string]any) { m["b"].(map[string]any)["X"] = "y" },
		"placeholder rebound":   func(m map[string]any) { m["a"].(map[string]any)["Arn"] = "arn:aws:lambda:us-east-1:1:function:g" },
		"two numbers one value": func(m map[string]any) { m["c"].(map[string]any)["RevisionId"] = "r1" },
		"not replayed":          func(m map[string]any) { delete(m, "c") },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			got := map[string]any{}
			for k, v := range same {
				c := map[string]any{}
				for k2, v2 := range v.(map[string]any) {
					c[k2] = v2
				}
				got[k] = c
			}
			mutate(got)
			if d := run(got); len(d) == 0 {
				t.Error("no difference reported")
			}
		})
	}
}

func TestDeviations(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := LoadDeviations(write("bad.tsv", "only\ttwo\n")); err == nil {
		t.Error("a line of two fields loaded")
	}
	if _, err := LoadDeviations(write("re.tsv", "(\tx\tY\n")); err == nil {
		t.Error("a bad regexp loaded")
	}
	ds, err := LoadDeviations(write("ok.tsv", "# comment\n\nfoo::bar\\[\t\\.Message: AWS\tWhy we differ\n"))
	if err != nil {
		t.Fatal(err)
	}
	if ds.Explain("x.json::foo::bar[1]", "k.Message: AWS \"a\", sluice \"b\"") == nil {
		t.Error("a matching difference is not explained")
	}
	if ds.Explain("x.json::foo::baz", "k.Message: AWS \"a\", sluice \"b\"") != nil {
		t.Error("another case's difference is explained")
	}
	if err := ds.CheckDecisions(write("d.md", "# Title\n\n## Why we differ\n")); err != nil {
		t.Error(err)
	}
	if err := ds.CheckDecisions(write("e.md", "# Title\n\n## Something else\n")); err == nil || !strings.Contains(err.Error(), "Why we differ") {
		t.Errorf("a missing section: %v", err)
	}
}
