// Package api serves the Lambda REST API (version 2015-03-31, plus the
// 2021-11-15 response-streaming invoke) over HTTP, so that the AWS SDKs and
// CLIs can talk to sluice unchanged.
//
// The package owns the routes (server.go), the JSON wire types (wire.go),
// the one table that turns a sluice.Error into a Lambda error response
// (errors.go), and the control plane operations (functions.go, list.go,
// validate.go, and code.go for deployment packages). Every route goes
// through one wrapper (server.go, transport.go) that
// assigns the request id, reads the body under a per-operation size limit,
// verifies the SigV4 signature and renders the error a handler returns.
//
// It may import sluice, internal/artifacts, internal/sigv4,
// internal/concurrency and internal/eventstream; it never sees the process pool or the sandboxes,
// which it reaches only through sluice.Invoker.
package api

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/artifacts"
	"github.com/sluice-dev/sluice/internal/concurrency"
	"github.com/sluice-dev/sluice/internal/sigv4"
)

// Config wires a Server. Store, Code, Invoker and Verifier are required.
type Config struct {
	// Scope is the region and account of every ARN the server hands out
	// and accepts.
	Scope sluice.Scope
	// Store keeps the function configurations.
	Store sluice.FunctionStore
	// Code keeps the deployment packages, content-addressed.
	Code CodeStore
	// Invoker runs functions; the control plane calls its Retire method
	// after every change to a function.
	Invoker sluice.Invoker
	// Verifier authenticates every API request (not the code downloads).
	Verifier *sigv4.Verifier
	// Logger receives the request log; nil discards it.
	Logger *slog.Logger
	// Now is the clock of LastModified; nil means time.Now.
	Now func() time.Time
	// Limits is the concurrency accounting the concurrency operations
	// configure; nil means an account limit of
	// concurrency.DefaultAccountLimit.
	Limits *concurrency.Limiter
	// Rand draws the number in [0, 1) that picks the version of an
	// invocation through a weighted alias; nil means math/rand/v2.
	Rand func() float64
	// Runtimes says which runtimes a function may have; nil means the
	// provided.* runtimes only.
	Runtimes Runtimes
}

// CodeStore is what the API needs of the deployment package store
// (*artifacts.Store).
type CodeStore interface {
	// Put checks a package's structure and stores it; see artifacts.
	Put(zip []byte) (sha string, size int64, err error)
	// Dir unpacks a stored package (the slow part) and returns its tree.
	Dir(sha string) (string, error)
	Open(sha string) (*os.File, error)
	Remove(sha string) error
}

var _ CodeStore = (*artifacts.Store)(nil)

// Server is the Lambda API HTTP handler. It is safe for concurrent use.
type Server struct {
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	rand func() float64
	mux  *http.ServeMux

	// bg is the context of background deployments; Close cancels it and
	// waits for deploys.
	bg      context.Context
	stopBG  context.CancelFunc
	deploys sync.WaitGroup

	// reserveMu serialises PutFunctionConcurrency with DeleteFunction, so
	// that a reservation is never recorded for a function being deleted.
	reserveMu sync.Mutex

	// codeMu serialises every decision to store or remove a deployment
	// package together with the store write that references or releases
	// it, so that a concurrent create that uploads the same package cannot
	// lose it to the garbage collection of another request.
	codeMu sync.Mutex
}

// New returns a Server for cfg. It panics when a required field is missing,
// which is a wiring mistake.
func New(cfg Config) *Server {
	if cfg.Store == nil || cfg.Code == nil || cfg.Invoker == nil || cfg.Verifier == nil {
		panic("api: Config.Store, Config.Code, Config.Invoker and Config.Verifier are required")
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now, rand: cfg.Rand, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Float64
	}
	if s.cfg.Limits == nil {
		s.cfg.Limits = concurrency.New(0)
	}
	s.bg, s.stopBG = context.WithCancel(context.Background())
	s.routes()
	return s
}

// Close stops the background work of the server (the deployments of
// packages, see deploy.go) and waits for it. A deployment it interrupts is
// resumed by Resume at the next start.
func (s *Server) Close() {
	s.stopBG()
	s.deploys.Wait()
}

// ServeHTTP dispatches r to its operation.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Request body limits. The control plane's is Lambda's CreateFunction
// limit, which leaves room for a base64-encoded 50 MB package.
const (
	maxControlBody = 70167211
	maxInvokeBody  = sluice.MaxSyncPayload
)

// operation describes how the wrapper treats one route.
type operation struct {
	// name is the Lambda operation name, used in logs and in the
	// too-large message.
	name string
	// maxBody is the largest accepted request body; 0 means the body is
	// not read at all.
	maxBody int64
	// tooLarge is the error code of a body over maxBody.
	tooLarge sluice.ErrorCode
	// public routes skip SigV4 verification.
	public bool
}

func control(name string) operation {
	return operation{name: name, maxBody: maxControlBody, tooLarge: sluice.EEntityTooLarge}
}

func invocation(name string) operation {
	return operation{name: name, maxBody: maxInvokeBody, tooLarge: sluice.ERequestTooLarge}
}

func (s *Server) routes() {
	const fns = "/2015-03-31/functions"
	s.handle("POST "+fns, control("CreateFunction"), s.createFunction)
	s.handle("GET "+fns, control("ListFunctions"), s.listFunctions)
	// The Go SDK sends no trailing slash; botocore and the JS SDK do.
	s.handle("GET "+fns+"/{$}", control("ListFunctions"), s.listFunctions)
	s.handle("GET "+fns+"/{name}", control("GetFunction"), s.getFunction)
	s.handle("GET "+fns+"/{name}/configuration", control("GetFunctionConfiguration"), s.getFunctionConfiguration)
	s.handle("PUT "+fns+"/{name}/code", control("UpdateFunctionCode"), s.updateFunctionCode)
	s.handle("PUT "+fns+"/{name}/configuration", control("UpdateFunctionConfiguration"), s.updateFunctionConfiguration)
	s.handle("DELETE "+fns+"/{name}", control("DeleteFunction"), s.deleteFunction)

	s.handle("POST "+fns+"/{name}/versions", control("PublishVersion"), s.publishVersion)
	s.handle("GET "+fns+"/{name}/versions", control("ListVersionsByFunction"), s.listVersions)
	s.handle("POST "+fns+"/{name}/aliases", control("CreateAlias"), s.createAlias)
	s.handle("GET "+fns+"/{name}/aliases", control("ListAliases"), s.listAliases)
	s.handle("GET "+fns+"/{name}/aliases/{alias}", control("GetAlias"), s.getAlias)
	s.handle("PUT "+fns+"/{name}/aliases/{alias}", control("UpdateAlias"), s.updateAlias)
	s.handle("DELETE "+fns+"/{name}/aliases/{alias}", control("DeleteAlias"), s.deleteAlias)

	s.handle("PUT /2017-10-31/functions/{name}/concurrency", control("PutFunctionConcurrency"), s.putFunctionConcurrency)
	s.handle("DELETE /2017-10-31/functions/{name}/concurrency", control("DeleteFunctionConcurrency"), s.deleteFunctionConcurrency)
	s.handle("GET /2019-09-30/functions/{name}/concurrency", control("GetFunctionConcurrency"), s.getFunctionConcurrency)
	s.handle("GET /2016-08-19/account-settings", control("GetAccountSettings"), s.getAccountSettings)
	s.handle("GET /2016-08-19/account-settings/{$}", control("GetAccountSettings"), s.getAccountSettings)

	// Invoke and InvokeWithResponseStream share the InvokeFunction limit
	// and its message.
	s.handle("POST "+fns+"/{name}/invocations", invocation("InvokeFunction"), s.invoke)
	s.handle("POST /2021-11-15/functions/{name}/response-streaming-invocations", invocation("InvokeFunction"), s.invokeStream)

	s.handle("GET "+codePath+"{sha}", operation{name: "GetCode", public: true}, s.getCode)
	s.handle("/", operation{name: "Unknown", public: true}, s.unknownOperation)
}

// handlerFunc is the shape of every operation: it reads the request, whose
// body has been read into body and authenticated, and returns an error
// instead of writing one.
type handlerFunc func(w http.ResponseWriter, r *http.Request, body []byte) error

func (s *Server) handle(pattern string, op operation, h handlerFunc) {
	s.mux.Handle(pattern, s.wrap(op, h))
}

// wrap returns the HTTP handler of one route: it assigns the request id,
// reads and authenticates the request, calls h and renders h's error when
// no response has been started yet. Once the status is out (streaming), a
// late error can only be logged; the handler reports it in-band.
func (s *Server) wrap(op operation, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := sluice.NewRequestID()
		w.Header().Set(headerRequestID, id)
		log := s.log.With(sluice.LogKeyRequestID, id, "operation", op.name)
		r = r.WithContext(context.WithValue(r.Context(), requestKey{}, requestInfo{id: id, log: log}))
		rw := &responseWriter{ResponseWriter: w}

		err := s.serve(rw, r, op, h)
		switch {
		case err == nil:
			log.Debug("request", "method", r.Method, "path", r.URL.Path)
		case rw.wrote:
			log.Warn("request failed after the response started", "method", r.Method, "path", r.URL.Path, "err", err)
		default:
			writeError(rw, id, err, log)
		}
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, op operation, h handlerFunc) error {
	var body []byte
	if op.maxBody > 0 {
		var err error
		if body, err = readBody(r, op); err != nil {
			return err
		}
	}
	if !op.public {
		if err := s.cfg.Verifier.Verify(r, body); err != nil {
			return err
		}
	}
	return h(w, r, body)
}

// requestKey is the context key of the requestInfo of an API request.
type requestKey struct{}

type requestInfo struct {
	id  string
	log *slog.Logger
}

// requestID returns the id of the API request whose context is ctx (also
// sent as X-Amzn-RequestId), or "" outside a request.
func requestID(ctx context.Context) string {
	info, _ := ctx.Value(requestKey{}).(requestInfo)
	return info.id
}

// logger returns the request-scoped logger of ctx (with the request id and
// operation attached), or the server's logger outside a request.
func (s *Server) logger(ctx context.Context) *slog.Logger {
	if info, ok := ctx.Value(requestKey{}).(requestInfo); ok {
		return info.log
	}
	return s.log
}

func (s *Server) unknownOperation(w http.ResponseWriter, r *http.Request, _ []byte) error {
	return sluice.Errorf(sluice.EUnknownOperation, "sluice does not implement %s %s", r.Method, r.URL.Path)
}
