package api

import (
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice"
)

// declaredErrorCodes returns the values of the constants of type
// (sluice.)ErrorCode declared in the non-test Go files of dir.
func declaredErrorCodes(t *testing.T, dir string) map[string]sluice.ErrorCode {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]sluice.ErrorCode{}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if !isErrorCodeType(vs.Type) {
					continue
				}
				for i, name := range vs.Names {
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("%s: %s is not a string literal", path, name.Name)
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					codes[name.Name] = sluice.ErrorCode(v)
				}
			}
		}
	}
	return codes
}

func isErrorCodeType(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == "ErrorCode"
	case *ast.SelectorExpr:
		return e.Sel.Name == "ErrorCode"
	}
	return false
}

// Every error code the root package declares has a wire form.
func TestErrorTableIsComplete(t *testing.T) {
	codes := declaredErrorCodes(t, filepath.Join("..", ".."))
	if len(codes) < 15 {
		t.Fatalf("found only %d error codes in the root package: %v", len(codes), codes)
	}
	// Codes declared next to their only producer count too.
	if _, err := os.Stat(filepath.Join("..", "sigv4")); err == nil {
		for k, v := range declaredErrorCodes(t, filepath.Join("..", "sigv4")) {
			codes["sigv4."+k] = v
		}
	}
	exceptions := map[string]bool{}
	for name, code := range codes {
		spec, ok := specOf(code)
		if !ok {
			t.Errorf("%s (%q) has no entry in the error table", name, code)
			continue
		}
		if spec.status < 400 || spec.exception == "" || (spec.fault != "User" && spec.fault != "Service") ||
			(spec.messageKey != "message" && spec.messageKey != "Message") {
			t.Errorf("%s: malformed entry %+v", name, spec)
		}
		if (spec.status >= 500) != (spec.fault == "Service") && code != sluice.EInvalidZip {
			t.Errorf("%s: status %d with fault %s", name, spec.status, spec.fault)
		}
		exceptions[spec.exception] = true
	}
	for _, want := range []string{"MissingAuthenticationTokenException", "UnrecognizedClientException", "InvalidSignatureException"} {
		if !exceptions[want] {
			t.Errorf("no code renders %s", want)
		}
	}
}

func render(t *testing.T, err error) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	writeError(rec, "req-1", err, slog.New(slog.DiscardHandler))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	return rec, body
}

func TestWriteError(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		status    int
		exception string
		body      map[string]any
	}{
		{"throttled", &sluice.Error{Code: sluice.EThrottled, Message: "Rate Exceeded.", Reason: "ConcurrentInvocationLimitExceeded"},
			429, "TooManyRequestsException", map[string]any{"Reason": "ConcurrentInvocationLimitExceeded", "Type": "User", "message": "Rate Exceeded."}},
		{"throttled without reason", sluice.Errorf(sluice.EThrottled, "Rate Exceeded."),
			429, "TooManyRequestsException", map[string]any{"Type": "User", "message": "Rate Exceeded."}},
		{"internal hides its message", &sluice.Error{Code: sluice.EInternal, Message: "bolt: page 7 corrupt", Err: errors.New("x")},
			500, "ServiceException", map[string]any{"Type": "Service", "Message": "An internal error occurred."}},
		{"plain error", errors.New("open /var/secret: permission denied"),
			500, "ServiceException", map[string]any{"Type": "Service", "Message": "An internal error occurred."}},
		{"unavailable keeps its message", sluice.Errorf(sluice.EServiceUnavailable, "sluice is shutting down"),
			503, "ServiceException", map[string]any{"Type": "Service", "Message": "sluice is shutting down"}},
		{"unknown code", sluice.Errorf("no_such_code", "what"),
			500, "ServiceException", map[string]any{"Type": "Service", "Message": "An internal error occurred."}},
		{"empty message", sluice.Errorf(sluice.EUnknownOperation, ""),
			404, "UnknownOperationException", map[string]any{"Type": "User", "Message": nil}},
		{"wrapped", errorsJoin(sluice.Errorf(sluice.EPrecondition, "stale")),
			412, "PreconditionFailedException", map[string]any{"Type": "User", "message": "stale"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, body := render(t, tt.err)
			if rec.Code != tt.status || rec.Header().Get(headerErrorType) != tt.exception {
				t.Errorf("%d %s, want %d %s", rec.Code, rec.Header().Get(headerErrorType), tt.status, tt.exception)
			}
			if rec.Header().Get(headerRequestID) != "req-1" || rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("headers %v", rec.Header())
			}
			if len(body) != len(tt.body) {
				t.Errorf("body %v, want %v", body, tt.body)
			}
			for k, v := range tt.body {
				if body[k] != v {
					t.Errorf("body[%s] = %v, want %v", k, body[k], v)
				}
			}
		})
	}
}

func errorsJoin(err error) error { return errors.Join(errors.New("context"), err) }

// Headers a handler set before failing do not leak into the error.
func TestWriteErrorDropsHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	rec.Header().Set("X-Amz-Executed-Version", "$LATEST")
	rec.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	writeError(rec, "req-2", sluice.Errorf(sluice.ENotFound, "gone"), slog.New(slog.DiscardHandler))
	if rec.Header().Get("X-Amz-Executed-Version") != "" || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", rec.Header())
	}
}

// After the response started, the wrapper only logs a handler's error; and
// ResponseController.Flush reaches the connection through the wrapper.
func TestWrapAfterWrite(t *testing.T) {
	var logs strings.Builder
	s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil))}
	h := s.wrap(operation{name: "Test", public: true}, func(w http.ResponseWriter, r *http.Request, _ []byte) error {
		if requestID(r.Context()) == "" {
			t.Error("no request id in the context")
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("partial"))
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		return sluice.Errorf(sluice.EInternal, "broke mid-stream")
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "partial" || !rec.Flushed {
		t.Errorf("got %d %q flushed=%v", rec.Code, rec.Body.String(), rec.Flushed)
	}
	if !strings.Contains(logs.String(), "broke mid-stream") {
		t.Errorf("error not logged: %s", logs.String())
	}
	if rec.Header().Get(headerRequestID) == "" {
		t.Error("no X-Amzn-RequestId")
	}
}

// TestJSONTypeErrorsNameRequestMembers: members of embedded structs are
// reported as members of the request, never with a Go struct name.
func TestJSONTypeErrorsNameRequestMembers(t *testing.T) {
	for _, tc := range []struct {
		body   string
		target any
		member string
	}{
		{`{"ZipFile":1}`, &updateFunctionCodeRequest{}, "member ZipFile"},
		{`{"Timeout":"x"}`, &updateFunctionConfigurationRequest{}, "member Timeout"},
		{`{"Code":{"ZipFile":1}}`, &createFunctionRequest{}, "member Code.ZipFile"},
	} {
		var e *sluice.Error
		err := decodeJSON([]byte(tc.body), tc.target)
		if !errors.As(err, &e) || !strings.HasSuffix(e.Message, tc.member) || strings.Contains(e.Message, "function") {
			t.Errorf("%s: %v", tc.body, err) // Message is what clients see; the cause is for logs
		}
	}
}
