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

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/artifacts"
	"github.com/sluice-dev/sluice/internal/bolt"
	"github.com/sluice-dev/sluice/internal/service"
	"github.com/sluice-dev/sluice/internal/sigv4"
)

// nopInvoker refuses to run anything: the fuzz targets stop at validation.
type nopInvoker struct{}

func (nopInvoker) Invoke(context.Context, sluice.InvokeRequest) (sluice.Output, error) {
	return nil, sluice.Errorf(sluice.EServiceUnavailable, "not in this test")
}
func (nopInvoker) InvokeAsync(sluice.InvokeRequest) error      { return nil }
func (nopInvoker) Retire(sluice.Scope, string, string, string) {}

func fuzzServer(f *testing.F) *Server {
	dir := f.TempDir()
	scope := sluice.Scope{Region: "us-east-1", Account: "000000000000"}
	store, err := bolt.Open(filepath.Join(dir, "db"), scope)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	code, err := artifacts.Open(filepath.Join(dir, "code"))
	if err != nil {
		f.Fatal(err)
	}
	reg := service.NewRegistry(service.RegistryConfig{
		Default: scope, Stores: store,
		Service: service.Config{Code: code, Invoker: nopInvoker{}},
	})
	f.Cleanup(reg.Close)
	return New(Config{
		Services: reg,
		Verifier: &sigv4.Verifier{Secret: sigv4.StaticCredentials("test", "test")},
		Logger:   slog.New(slog.DiscardHandler),
	})
}

// FuzzRequestJSON feeds arbitrary JSON bodies to the control-plane
// operations and the invoke payload check (SigV4 aside): every answer must
// be a success or a rendered Lambda error, never a panic or a 500.
func FuzzRequestJSON(f *testing.F) {
	s := fuzzServer(f)
	f.Add(0, "f", []byte(`{"FunctionName":"f","Runtime":"provided.al2023","Handler":"h","Role":"arn:aws:iam::000000000000:role/x","Code":{"ZipFile":"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}}`))
	f.Add(0, "f", []byte(`{"FunctionName":"f","Timeout":-1,"MemorySize":1e99,"Environment":{"Variables":{"AWS_REGION":"x"}},"Architectures":["a","b"]}`))
	f.Add(1, "f", []byte(`{"Timeout":900,"Environment":{"Variables":{}},"EphemeralStorage":{"Size":512},"RevisionId":"x"}`))
	f.Add(2, "f", []byte(`{"ZipFile":null,"Publish":true,"DryRun":true}`))
	f.Add(3, "arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af", []byte(`{"a":[1,2,{"b":"\u0000"}]}`))
	f.Add(3, "f", []byte("\xff\xfe"))
	f.Add(4, "f", []byte(`{"CodeSha256":"x","Description":"d","RevisionId":"r"}`))
	f.Add(5, "f", []byte(`{"Name":"live","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":0.5,"$LATEST":-1}}}`))
	f.Add(6, "f", []byte(`{"FunctionVersion":"$LATEST","RoutingConfig":{"AdditionalVersionWeights":{}},"RevisionId":"r"}`))
	f.Add(7, "f", []byte(`{"ReservedConcurrentExecutions":1e30}`))
	f.Fuzz(func(t *testing.T, op int, name string, body []byte) {
		if strings.ContainsAny(name, "/?# \r\n\t") || name == "" {
			return
		}
		var method, path string
		var h handlerFunc
		switch op & 7 {
		case 0:
			method, path, h = "POST", "/2015-03-31/functions", s.createFunction
		case 1:
			method, path, h = "PUT", "/2015-03-31/functions/"+name+"/configuration", s.updateFunctionConfiguration
		case 2:
			method, path, h = "PUT", "/2015-03-31/functions/"+name+"/code", s.updateFunctionCode
		case 3:
			method, path, h = "POST", "/2015-03-31/functions/"+name+"/invocations", s.invoke
		case 4:
			method, path, h = "POST", "/2015-03-31/functions/"+name+"/versions", s.publishVersion
		case 5:
			method, path, h = "POST", "/2015-03-31/functions/"+name+"/aliases", s.createAlias
		case 6:
			method, path, h = "PUT", "/2015-03-31/functions/"+name+"/aliases/live", s.updateAlias
		case 7:
			method, path, h = "PUT", "/2017-10-31/functions/"+name+"/concurrency", s.putFunctionConcurrency
		}
		r, err := http.NewRequest(method, "http://sluice"+path, bytes.NewReader(body))
		if err != nil {
			return
		}
		mux := http.NewServeMux()
		mux.Handle("POST /2015-03-31/functions", s.wrapUnsigned(h))
		mux.Handle("PUT /2015-03-31/functions/{name}/configuration", s.wrapUnsigned(h))
		mux.Handle("PUT /2015-03-31/functions/{name}/code", s.wrapUnsigned(h))
		mux.Handle("POST /2015-03-31/functions/{name}/invocations", s.wrapUnsigned(h))
		mux.Handle("POST /2015-03-31/functions/{name}/versions", s.wrapUnsigned(h))
		mux.Handle("POST /2015-03-31/functions/{name}/aliases", s.wrapUnsigned(h))
		mux.Handle("PUT /2015-03-31/functions/{name}/aliases/{alias}", s.wrapUnsigned(h))
		mux.Handle("PUT /2017-10-31/functions/{name}/concurrency", s.wrapUnsigned(h))
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code >= 500 && w.Code != http.StatusBadGateway && w.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s %q: status %d body %s", method, path, body, w.Code, w.Body)
		}
		if w.Code >= 400 && w.Header().Get(headerErrorType) == "" {
			t.Fatalf("error without X-Amzn-ErrorType: %d %s", w.Code, w.Body)
		}
	})
}

// wrapUnsigned is wrap without SigV4, for fuzzing the layers behind it.
func (s *Server) wrapUnsigned(h handlerFunc) http.Handler {
	return s.wrap(operation{name: "Fuzz", maxBody: maxControlBody, tooLarge: sluice.EEntityTooLarge, public: true}, h)
}
