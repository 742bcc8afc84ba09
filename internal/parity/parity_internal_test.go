package parity

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// TestBotoShapeErrors: botocore keeps the body's members of a modeled
// exception beside Error, and only Error and ResponseMetadata of another.
func TestBotoShapeErrors(t *testing.T) {
	for _, tc := range []struct {
		code    string
		members int // besides Error and ResponseMetadata
	}{
		{"InvalidParameterValueException", 2},
		{"ResourceNotFoundException", 2},
		{"ValidationException", 0},
		{"UnrecognizedClientException", 0},
	} {
		h := http.Header{}
		h.Set("X-Amzn-Errortype", tc.code+":http://internal.amazon.com/coral/com.amazon.coral.validate/")
		m := BotoShape(Exchange{Status: 400, Header: h, Body: []byte(`{"Type":"User","message":"bad"}`)})
		e, _ := m["Error"].(map[string]any)
		if e["Code"] != tc.code || e["Message"] != "bad" {
			t.Errorf("%s: Error = %v", tc.code, e)
		}
		if got := len(m) - 2; got != tc.members {
			t.Errorf("%s: %d members besides Error and ResponseMetadata, want %d: %v", tc.code, got, tc.members, m)
		}
	}
}

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
