package parity

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// TestSnapNoRequest: a call the SDK refuses before sending it is not
// given the response of the call before it.
func TestSnapNoRequest(t *testing.T) {
	rec := &Recorder{}
	rec.last = Exchange{Status: 204, Header: http.Header{}}
	r := NewRun(t, context.Background(), nil, rec)
	r.Snap("refused", func() error { return errors.New("missing required field, UntagResourceInput.TagKeys") })
	m, _ := r.Got["refused"].(map[string]any)
	if m["<no request sent>"] != "missing required field, UntagResourceInput.TagKeys" || len(m) != 1 {
		t.Errorf("Got[refused] = %v", r.Got["refused"])
	}
}

// TestUnreferenced: a value a transformer put in place of the recorded
// one without a reference matches any non-empty value; other literals
// still compare as they are.
func TestUnreferenced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.excerpt.json")
	doc := `{"unreferenced": ["code-sha256"], "cases": {"c": {"recorded": {"k": {"CodeSha256": "code-sha256", "Runtime": "python3.12"}}}}}`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	ex, err := LoadExcerpt(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sha, runtime string
		diffs        int
	}{
		{"80bG/ten7Ll6F0DOjeEOJeW8Ev/CfH+2B5i6XAOy5FY=", "python3.12", 0},
		{"", "python3.12", 1},
		{"abc", "python3.11", 1},
	} {
		r := NewRun(t, context.Background(), nil, &Recorder{})
		r.Got["k"] = map[string]any{"CodeSha256": tc.sha, "Runtime": tc.runtime}
		r.Order = []string{"k"}
		diffs, _, _ := Diff(ex.Cases["c"], r)
		if len(diffs) != tc.diffs {
			t.Errorf("%q %q: diffs %q, want %d", tc.sha, tc.runtime, diffs, tc.diffs)
		}
	}
}
