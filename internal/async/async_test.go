package async

import (
	"encoding/json"
	"testing"
	"time"
)

func TestAsJSON(t *testing.T) {
	for in, want := range map[string]string{
		``:              `null`,
		`  `:            `null`,
		`{"a":1}`:       `{"a":1}`,
		` [1,2] `:       `[1,2]`,
		`not json`:      `"not json"`,
		"{\"a\":\x99}":  `"{\"a\":\ufffd}"`,
		`"a string"`:    `"a string"`,
		`{"unclosed":1`: `"{\"unclosed\":1"`,
	} {
		got := asJSON([]byte(in))
		if string(got) != want {
			t.Errorf("asJSON(%q) = %s, want %s", in, got, want)
		}
		if !json.Valid(got) {
			t.Errorf("asJSON(%q) = %s: not JSON", in, got)
		}
	}
}

// The record has AWS's members (LocalStack's recordings of
// test_lambda_destinations): responseContext and responsePayload only
// when the function ran, functionError only when it failed.
func TestInvocationRecord(t *testing.T) {
	now := time.Date(2026, 12, 3, 15, 4, 5, 678e6, time.UTC)
	d := New(Config{Now: func() time.Time { return now }})
	rec := &record{Region: "us-east-1", Account: "111111111111", Function: "f", RequestID: "r1", Payload: []byte(`{"k":"v"}`)}

	var never map[string]json.RawMessage
	if err := json.Unmarshal(d.invocationRecord(rec, condEventAgeExceeded), &never); err != nil {
		t.Fatal(err)
	}
	if _, ok := never["responseContext"]; ok {
		t.Errorf("an event that never ran has a responseContext: %s", never["responseContext"])
	}
	if string(never["requestPayload"]) != `{"k":"v"}` || string(never["timestamp"]) != `"2026-12-03T15:04:05.678Z"` || string(never["version"]) != `"1.0"` {
		t.Errorf("record %v", never)
	}
	var rc struct {
		RequestID, FunctionArn, Condition string
		ApproximateInvokeCount            int
	}
	_ = json.Unmarshal(never["requestContext"], &rc)
	if rc.RequestID != "r1" || rc.FunctionArn != "arn:aws:lambda:us-east-1:111111111111:function:f:$LATEST" || rc.Condition != "EventAgeExceeded" || rc.ApproximateInvokeCount != 0 {
		t.Errorf("requestContext %+v", rc)
	}

	rec.Qualifier, rec.Invokes = "live", 3
	rec.Last = &response{ExecutedVersion: "2", FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"x"}`)}
	var failed struct {
		RequestContext struct {
			FunctionArn            string
			ApproximateInvokeCount int
		}
		ResponseContext struct {
			StatusCode      int
			ExecutedVersion string
			FunctionError   string
		}
		ResponsePayload json.RawMessage
	}
	if err := json.Unmarshal(d.invocationRecord(rec, condRetriesExhausted), &failed); err != nil {
		t.Fatal(err)
	}
	if failed.RequestContext.FunctionArn != "arn:aws:lambda:us-east-1:111111111111:function:f:live" || failed.RequestContext.ApproximateInvokeCount != 3 ||
		failed.ResponseContext.StatusCode != 200 || failed.ResponseContext.ExecutedVersion != "2" || failed.ResponseContext.FunctionError != "Unhandled" ||
		string(failed.ResponsePayload) != `{"errorMessage":"x"}` {
		t.Errorf("record %+v", failed)
	}

	rec.Last = &response{ExecutedVersion: "2", Payload: []byte(`ok`)}
	var ok map[string]json.RawMessage
	_ = json.Unmarshal(d.invocationRecord(rec, condSuccess), &ok)
	if string(ok["responseContext"]) != `{"statusCode":200,"executedVersion":"2"}` || string(ok["responsePayload"]) != `"ok"` {
		t.Errorf("success record %v", ok)
	}
}

func TestKey(t *testing.T) {
	scope, name, ok := splitKey("eu-west-1/222222222222/fn-a")
	if !ok || scope.Region != "eu-west-1" || scope.Account != "222222222222" || name != "fn-a" {
		t.Errorf("splitKey = %v %q %v", scope, name, ok)
	}
	if _, _, ok := splitKey("nope"); ok {
		t.Error("a key without scope split")
	}
}
