// Package api serves the Lambda REST API (version 2015-03-31, plus the
// 2021-11-15 response-streaming invoke) over HTTP, so that the AWS SDKs and
// CLIs can talk to sluice unchanged.
//
// The package is the REST adapter of the application (internal/service):
// it owns the routes (server.go), the JSON wire types (wire.go), the
// validation of wire fields (validate.go), the one table that turns a
// sluice.Error into a Lambda error response (errors.go), and the handlers
// that turn a request into service calls and their results into responses
// (functions.go, list.go, versions.go, aliases.go, concurrency.go,
// policy.go, eventconfig.go, invoke.go, code.go). Every route goes through one wrapper (server.go,
// transport.go) that assigns the request id, reads the body under a
// per-operation size limit, verifies the SigV4 signature and renders the
// error a handler returns.
//
// It may import sluice, internal/service, internal/sigv4 and
// internal/eventstream; the rules of the platform, the deployments and the
// invocations are the service's.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/iam"
	"github.com/sluice-dev/sluice/internal/service"
	"github.com/sluice-dev/sluice/internal/sigv4"
)

// Config wires a Server. Services and Verifier are required.
type Config struct {
	// Services hands out the application the API serves, one Service per
	// scope (scope.go); its owner (cmd) starts and closes it.
	Services *service.Registry
	// DefaultScope is the scope of a request that names none (a public
	// one), and its Account the caller's when CallerAccount is nil; zero
	// means Services.Default().
	DefaultScope sluice.Scope
	// CallerAccount returns the account of the caller who signed a
	// request with sig; nil means DefaultScope's account for everyone.
	// Principal, when set, decides instead.
	CallerAccount func(sig *sigv4.Signature) string
	// Principal returns who signed a verified request (authz.go); nil
	// means no authorization: every caller acts in its own account (its
	// CallerAccount) with every permission there, and another account's
	// functions are refused.
	Principal func(sig *sigv4.Signature) (*iam.Principal, error)
	// Verifier authenticates every API request (the code downloads carry
	// a signature of the server's own, see code.go).
	Verifier *sigv4.Verifier
	// Logger receives the request log; nil discards it.
	Logger *slog.Logger
	// Runtimes says which runtimes a function may have; nil means the
	// provided.* runtimes only.
	Runtimes Runtimes
	// Bodies bounds the reading of request bodies; zero fields mean
	// DefaultBodyLimits.
	Bodies BodyLimits
	// Now is the clock of the signed code download URLs
	// (Code.Location); nil means time.Now.
	Now func() time.Time
}

// Server is the Lambda API HTTP handler. It is safe for concurrent use.
type Server struct {
	cfg    Config
	bodies *bodyBudget
	code   *codeSigner
	log    *slog.Logger
	mux    *http.ServeMux
	// operations are the operation names of the routes, in the order
	// routes registers them (docs/operations.md is checked against them).
	operations []string
}

// New returns a Server for cfg. It panics when a required field is missing,
// which is a wiring mistake.
func New(cfg Config) *Server {
	if cfg.Services == nil || cfg.Verifier == nil {
		panic("api: Config.Services and Config.Verifier are required")
	}
	cfg.Bodies = cfg.Bodies.withDefaults()
	s := &Server{cfg: cfg, bodies: &bodyBudget{limit: cfg.Bodies.InFlight}, code: newCodeSigner(cfg.Now), log: cfg.Logger, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.routes()
	return s
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
	s.handle("POST "+fns+"/{name}/policy", control("AddPermission"), s.addPermission)
	s.handle("GET "+fns+"/{name}/policy", control("GetPolicy"), s.getPolicy)
	s.handle("DELETE "+fns+"/{name}/policy/{sid}", control("RemovePermission"), s.removePermission)

	s.handle("PUT /2017-10-31/functions/{name}/concurrency", control("PutFunctionConcurrency"), s.putFunctionConcurrency)
	s.handle("DELETE /2017-10-31/functions/{name}/concurrency", control("DeleteFunctionConcurrency"), s.deleteFunctionConcurrency)
	s.handle("GET /2019-09-30/functions/{name}/concurrency", control("GetFunctionConcurrency"), s.getFunctionConcurrency)
	s.handle("GET /2016-08-19/account-settings", control("GetAccountSettings"), s.getAccountSettings)
	s.handle("GET /2016-08-19/account-settings/{$}", control("GetAccountSettings"), s.getAccountSettings)

	s.handle("POST /2017-03-31/tags/{arn}", control("TagResource"), s.tagResourceOp)
	s.handle("DELETE /2017-03-31/tags/{arn}", control("UntagResource"), s.untagResourceOp)
	s.handle("GET /2017-03-31/tags/{arn}", control("ListTags"), s.listTagsOp)
	s.handle("GET /2020-06-30/functions/{name}/code-signing-config", control("GetFunctionCodeSigningConfig"), s.getFunctionCodeSigningConfig)
	s.handle("GET /2021-07-20/functions/{name}/runtime-management-config", control("GetRuntimeManagementConfig"), s.getRuntimeManagementConfig)
	s.handle("PUT /2021-07-20/functions/{name}/runtime-management-config", control("PutRuntimeManagementConfig"), s.putRuntimeManagementConfig)
	s.handle("GET /2024-08-31/functions/{name}/recursion-config", control("GetFunctionRecursionConfig"), s.getFunctionRecursionConfig)
	s.handle("PUT /2024-08-31/functions/{name}/recursion-config", control("PutFunctionRecursionConfig"), s.putFunctionRecursionConfig)

	const eic = "/2019-09-25/functions/{name}/event-invoke-config"
	s.handle("PUT "+eic, control("PutFunctionEventInvokeConfig"), s.putFunctionEventInvokeConfig)
	s.handle("POST "+eic, control("UpdateFunctionEventInvokeConfig"), s.updateFunctionEventInvokeConfig)
	s.handle("GET "+eic, control("GetFunctionEventInvokeConfig"), s.getFunctionEventInvokeConfig)
	s.handle("DELETE "+eic, control("DeleteFunctionEventInvokeConfig"), s.deleteFunctionEventInvokeConfig)
	s.handle("GET "+eic+"/list", control("ListFunctionEventInvokeConfigs"), s.listFunctionEventInvokeConfigs)

	const urls = "/2021-10-31/functions/{name}"
	s.handle("POST "+urls+"/url", control("CreateFunctionUrlConfig"), s.createFunctionURLConfig)
	s.handle("GET "+urls+"/url", control("GetFunctionUrlConfig"), s.getFunctionURLConfig)
	s.handle("PUT "+urls+"/url", control("UpdateFunctionUrlConfig"), s.updateFunctionURLConfig)
	s.handle("DELETE "+urls+"/url", control("DeleteFunctionUrlConfig"), s.deleteFunctionURLConfig)
	s.handle("GET "+urls+"/urls", control("ListFunctionUrlConfigs"), s.listFunctionURLConfigs)

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
	s.operations = append(s.operations, op.name)
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
		fillRecord(r, op.name, id)
		log := s.log.With(sluice.LogKeyRequestID, id, "operation", op.name)
		ctx := context.WithValue(r.Context(), requestKey{}, requestInfo{id: id, log: log})
		r = r.WithContext(service.WithLogger(ctx, log))
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
	// A declared size over the limit is refused first, as it costs
	// nothing; then everything of the signature that needs no body is
	// checked before the body is read: a client without a known key, or
	// with a stale or malformed signature, never makes the server hold its
	// body.
	if op.maxBody > 0 && r.ContentLength > op.maxBody {
		return tooLarge(op)
	}
	var signed *sigv4.Header
	if !op.public {
		var err error
		if signed, err = s.cfg.Verifier.CheckHeader(r); err != nil {
			return err
		}
	}
	var body []byte
	if op.maxBody > 0 {
		var release func()
		var err error
		body, release, err = s.readBody(w, r, op)
		defer release()
		if err != nil {
			return err
		}
	}
	if !op.public {
		sig, err := signed.Verify(r, body)
		if err != nil {
			return err
		}
		if err := checkRegion(sig); err != nil {
			return err
		}
		ctx := context.WithValue(r.Context(), signatureKey{}, sig)
		if s.cfg.Principal != nil {
			p, err := s.cfg.Principal(sig)
			if err != nil {
				return err
			}
			ctx = context.WithValue(ctx, principalKey{}, p)
		}
		r = r.WithContext(context.WithValue(ctx, operationKey{}, op.name))
	}
	return h(w, r, body)
}

// signatureKey is the context key of the verified *sigv4.Signature of an
// API request.
type signatureKey struct{}

// signatureOf returns what the request whose context is ctx was signed
// with, nil for public operations.
func signatureOf(ctx context.Context) *sigv4.Signature {
	sig, _ := ctx.Value(signatureKey{}).(*sigv4.Signature)
	return sig
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

func (s *Server) unknownOperation(w http.ResponseWriter, r *http.Request, _ []byte) error {
	return sluice.Errorf(sluice.EUnknownOperation, "sluice does not implement %s %s", r.Method, r.URL.Path)
}
