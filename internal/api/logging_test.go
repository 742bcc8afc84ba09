package api

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice"
)

func str(s string) *string { return &s }

// TestLoggingConfigApply: the rules AWS's recordings show (LocalStack's
// TestLoggingConfig) for a LoggingConfig given to CreateFunction (from
// zero) or UpdateFunctionConfiguration (from the stored one).
func TestLoggingConfigApply(t *testing.T) {
	json := sluice.LoggingConfig{LogFormat: "JSON", ApplicationLogLevel: "INFO", SystemLogLevel: "INFO"}
	for _, tc := range []struct {
		name string
		cur  sluice.LoggingConfig
		spec loggingConfigSpec
		want sluice.LoggingConfig
	}{
		{"JSON gets both levels", sluice.LoggingConfig{}, loggingConfigSpec{LogFormat: str("JSON")}, json},
		{"one level given", sluice.LoggingConfig{}, loggingConfigSpec{LogFormat: str("JSON"), ApplicationLogLevel: str("DEBUG")},
			sluice.LoggingConfig{LogFormat: "JSON", ApplicationLogLevel: "DEBUG", SystemLogLevel: "INFO"}},
		{"log group alone keeps Text", sluice.LoggingConfig{}, loggingConfigSpec{LogGroup: str("cool_lambda")},
			sluice.LoggingConfig{LogGroup: "cool_lambda"}},
		{"back to Text drops the levels", json, loggingConfigSpec{LogFormat: str("Text")}, sluice.LoggingConfig{LogFormat: "Text"}},
		{"an update keeps what it leaves out", sluice.LoggingConfig{LogFormat: "JSON", ApplicationLogLevel: "DEBUG", SystemLogLevel: "WARN", LogGroup: "g"},
			loggingConfigSpec{SystemLogLevel: str("INFO")},
			sluice.LoggingConfig{LogFormat: "JSON", ApplicationLogLevel: "DEBUG", SystemLogLevel: "INFO", LogGroup: "g"}},
	} {
		if got := tc.spec.apply(tc.cur); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	out := loggingConfigOf(&sluice.Function{Name: "fn"})
	if out != (loggingConfig{LogFormat: "Text", LogGroup: "/aws/lambda/fn"}) {
		t.Errorf("the default LoggingConfig is %+v", out)
	}
}

func TestLoggingConfigValidation(t *testing.T) {
	var v sluice.Violations
	(&loggingConfigSpec{LogFormat: str("XML"), ApplicationLogLevel: str("LOUD"), SystemLogLevel: str("TRACE"), LogGroup: str("a b")}).validate(&v)
	want := []string{
		"Value 'XML' at 'loggingConfig.logFormat' failed to satisfy constraint: Member must satisfy enum value set: [JSON, Text]",
		"Value 'LOUD' at 'loggingConfig.applicationLogLevel' failed to satisfy constraint: Member must satisfy enum value set: [TRACE, DEBUG, INFO, WARN, ERROR, FATAL]",
		"Value 'TRACE' at 'loggingConfig.systemLogLevel' failed to satisfy constraint: Member must satisfy enum value set: [DEBUG, INFO, WARN]",
		"Value 'a b' at 'loggingConfig.logGroup' failed to satisfy constraint: Member must satisfy regular expression pattern: " + logGroupPattern,
	}
	if strings.Join(v, "\n") != strings.Join(want, "\n") {
		t.Errorf("violations:\n%s\nwant\n%s", strings.Join(v, "\n"), strings.Join(want, "\n"))
	}
	v = nil
	(&loggingConfigSpec{LogFormat: str("JSON"), ApplicationLogLevel: str("TRACE"), SystemLogLevel: str("WARN"), LogGroup: str("/aws/lambda/x#1")}).validate(&v)
	if len(v) != 0 {
		t.Errorf("a valid LoggingConfig: %q", v)
	}
	if err := (&loggingConfigSpec{LogFormat: str("Text"), SystemLogLevel: str("INFO")}).check(); sluice.ErrorCodeOf(err) != sluice.EInvalidParameter {
		t.Errorf("Text with a level: %v", err)
	}
	if err := (&loggingConfigSpec{LogFormat: str("Text"), LogGroup: str("g")}).check(); err != nil {
		t.Errorf("Text with a log group: %v", err)
	}
}

// TestWriteErrorUntyped: an Untyped error's body has no Type member.
func TestWriteErrorUntyped(t *testing.T) {
	for _, untyped := range []bool{false, true} {
		w := httptest.NewRecorder()
		writeError(w, "", &sluice.Error{Code: sluice.EInvalidParameter, Message: "m", Untyped: untyped}, slog.New(slog.DiscardHandler))
		var body map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if _, typed := body["Type"]; typed == untyped || body["message"] != "m" {
			t.Errorf("Untyped %v: body %s", untyped, w.Body)
		}
	}
}
