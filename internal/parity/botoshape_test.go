package parity_test

import (
	"net/http"
	"testing"

	"github.com/sluice-dev/sluice/internal/parity"
)

// A body that is JSON null (an Invoke of a function that returns None)
// is shaped as an empty one, not a panic.
func TestBotoShapeNullBody(t *testing.T) {
	for _, body := range []string{"null", "", "  "} {
		m := parity.BotoShape(parity.Exchange{Status: 200, Header: http.Header{}, Body: []byte(body)})
		md, _ := m["ResponseMetadata"].(map[string]any)
		if len(m) != 1 || md["HTTPStatusCode"] != float64(200) {
			t.Errorf("body %q: %v", body, m)
		}
	}
}
