package parity

import (
	"net/http"
	"testing"
)

// BotoShape keeps the body members of the model's errors, as botocore
// parses them, and none of an error outside the model.
func TestBotoShapeErrorMembers(t *testing.T) {
	body := []byte(`{"Type":"User","message":"m"}`)
	modeled := BotoShape(Exchange{Status: 400, Header: http.Header{"X-Amzn-Errortype": {"InvalidParameterValueException"}}, Body: body})
	if modeled["Type"] != "User" || modeled["message"] != "m" {
		t.Errorf("modeled error: body members lost: %v", modeled)
	}
	other := BotoShape(Exchange{Status: 400, Header: http.Header{"X-Amzn-Errortype": {"ValidationException"}}, Body: body})
	if len(other) != 2 || other["Type"] != nil || other["message"] != nil {
		t.Errorf("ValidationException: want Error and ResponseMetadata only, have %v", other)
	}
	if e, _ := other["Error"].(map[string]any); e["Code"] != "ValidationException" || e["Message"] != "m" {
		t.Errorf("ValidationException: Error = %v", other["Error"])
	}
}
