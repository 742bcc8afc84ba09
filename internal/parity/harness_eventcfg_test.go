package parity

import (
	"net/http"
	"testing"
)

// A "datetime" of a recording (a timestamp member, which the Lambda
// protocol sends as epoch seconds) matches a positive number only.
func TestDatetimeMatchesEpochSeconds(t *testing.T) {
	rc := RecordedCase{Recorded: map[string]any{"k": map[string]any{"LastModified": "datetime"}}}
	for _, c := range []struct {
		got   any
		diffs int
	}{{1764028800.123, 0}, {"2025-11-25T02:40:00Z", 1}, {0.0, 1}, {nil, 1}} {
		r := &Run{Got: map[string]any{"k": map[string]any{"LastModified": c.got}}, Order: []string{"k"}}
		if d, _, _ := Diff(rc, r); len(d) != c.diffs {
			t.Errorf("LastModified %#v: differences %q, want %d", c.got, d, c.diffs)
		}
	}
}

// botocore keeps only Error for an error the model does not name.
func TestBotoShapeOfUnmodeledError(t *testing.T) {
	h := http.Header{}
	h.Set("X-Amzn-Errortype", "ValidationException")
	m := BotoShape(Exchange{Status: 400, Header: h, Body: []byte(`{"Type":"User","message":"1 validation error detected"}`)})
	if len(m) != 2 || m["Error"].(map[string]any)["Message"] != "1 validation error detected" {
		t.Errorf("BotoShape = %v, want Error and ResponseMetadata only", m)
	}
	h.Set("X-Amzn-Errortype", "InvalidParameterValueException")
	m = BotoShape(Exchange{Status: 400, Header: h, Body: []byte(`{"Type":"User","message":"bad"}`)})
	if m["Type"] != "User" || m["message"] != "bad" {
		t.Errorf("BotoShape of a modeled error = %v, want its members kept", m)
	}
}
