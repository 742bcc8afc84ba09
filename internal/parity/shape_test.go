package parity

import (
	"net/http"
	"reflect"
	"testing"
)

// TestBotoShapeErrors: botocore keeps the body's members of an error of
// the Lambda model, and only Error of any other.
func TestBotoShapeErrors(t *testing.T) {
	h := func(code string) http.Header { return http.Header{"X-Amzn-Errortype": {code}} }
	got := BotoShape(Exchange{Status: 400, Header: h("ValidationException"), Body: []byte(`{"Type":"User","message":"1 validation error detected"}`)})
	want := map[string]any{
		"Error":            map[string]any{"Code": "ValidationException", "Message": "1 validation error detected"},
		"ResponseMetadata": map[string]any{"HTTPHeaders": map[string]any{}, "HTTPStatusCode": float64(400)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ValidationException: got %v, want %v", got, want)
	}
	got = BotoShape(Exchange{Status: 404, Header: h("ResourceNotFoundException"), Body: []byte(`{"Type":"User","Message":"Function not found"}`)})
	want = map[string]any{
		"Type": "User", "Message": "Function not found",
		"Error":            map[string]any{"Code": "ResourceNotFoundException", "Message": "Function not found"},
		"ResponseMetadata": map[string]any{"HTTPHeaders": map[string]any{}, "HTTPStatusCode": float64(404)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ResourceNotFoundException: got %v, want %v", got, want)
	}
}
