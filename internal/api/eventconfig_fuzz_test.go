package api

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/artifacts"
	"github.com/sluice-dev/sluice/internal/bolt"
	"github.com/sluice-dev/sluice/internal/service"
	"github.com/sluice-dev/sluice/internal/sigv4"
)

// FuzzEventInvokeConfigJSON feeds arbitrary bodies, names and qualifiers
// to PutFunctionEventInvokeConfig and UpdateFunctionEventInvokeConfig of a
// store that has functions f (with a configuration) and g: every answer
// must be a success or a rendered Lambda error, never a panic or a 500.
func FuzzEventInvokeConfigJSON(f *testing.F) {
	dir := f.TempDir()
	scope := sluice.Scope{Region: "us-east-1", Account: "000000000000"}
	store, err := bolt.Open(filepath.Join(dir, "db"), scope)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	for _, name := range []string{"f", "g"} {
		fn := &sluice.Function{Name: name, Version: sluice.LatestVersion, Runtime: "provided.al2023", Handler: "h", State: sluice.StateActive,
			LastUpdateStatus: sluice.UpdateSuccessful, RevisionID: "r-" + name, LastModified: time.Now()}
		if err := store.CreateFunction(context.Background(), fn); err != nil {
			f.Fatal(err)
		}
	}
	code, err := artifacts.Open(filepath.Join(dir, "code"))
	if err != nil {
		f.Fatal(err)
	}
	reg := service.NewRegistry(service.RegistryConfig{Default: scope, Stores: store, Service: service.Config{Code: code, Invoker: nopInvoker{}}})
	f.Cleanup(reg.Close)
	s := New(Config{Services: reg, Verifier: &sigv4.Verifier{Secret: sigv4.StaticCredentials("test", "test")}, Logger: slog.New(slog.DiscardHandler)})
	mux := http.NewServeMux()
	mux.Handle("PUT /2019-09-25/functions/{name}/event-invoke-config", s.wrapUnsigned(s.putFunctionEventInvokeConfig))
	mux.Handle("POST /2019-09-25/functions/{name}/event-invoke-config", s.wrapUnsigned(s.updateFunctionEventInvokeConfig))
	put := func(name string, body string) {
		r := httptest.NewRequest("PUT", "http://sluice/2019-09-25/functions/"+name+"/event-invoke-config", strings.NewReader(body))
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			f.Fatalf("seed configuration: %d %s", w.Code, w.Body)
		}
	}
	put("f", `{"MaximumRetryAttempts":1}`)

	const g = "arn:aws:lambda:us-east-1:000000000000:function:g"
	f.Add(false, "f", "", []byte(`{"MaximumRetryAttempts":0,"MaximumEventAgeInSeconds":60}`))
	f.Add(true, "f", "$LATEST", []byte(`{"DestinationConfig":{"OnSuccess":{"Destination":"`+g+`"},"OnFailure":{"Destination":"`+g+`:1"}}}`))
	f.Add(false, "g", "", []byte(`{"DestinationConfig":{"OnSuccess":{"Destination":"arn:aws:sqs:us-east-1:000000000000:q"},"OnFailure":null}}`))
	f.Add(false, "f", "live", []byte(`{"DestinationConfig":{"OnFailure":{"Destination":"arn:aws:lambda:us-east-1:000000000000:function:"}}}`))
	f.Add(true, "f:1", "2", []byte(`{"MaximumRetryAttempts":1e99,"DestinationConfig":{}}`))
	f.Add(false, "g", "$LATEST.PUBLISHED", []byte(`{"DestinationConfig":{"OnSuccess":{"Destination":"kafka://x"}}}`))
	f.Add(true, "f", "", []byte(`{"DestinationConfig":{"OnSuccess":{"Destination":"arn:aws:lambda:::function:g:\u0000"}}}`))
	f.Fuzz(func(t *testing.T, update bool, name, qualifier string, body []byte) {
		if strings.ContainsAny(name, "/?#% \r\n\t") || name == "" {
			return
		}
		method := "PUT"
		if update {
			method = "POST"
		}
		r, err := http.NewRequest(method, "http://sluice/2019-09-25/functions/"+name+"/event-invoke-config", bytes.NewReader(body))
		if err != nil {
			return
		}
		if qualifier != "" {
			q := r.URL.Query()
			q.Set("Qualifier", qualifier)
			r.URL.RawQuery = q.Encode()
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: status %d body %s", method, r.URL, body, w.Code, w.Body)
		}
		if w.Code >= 400 && w.Header().Get(headerErrorType) == "" {
			t.Fatalf("error without X-Amzn-ErrorType: %d %s", w.Code, w.Body)
		}
	})
}
