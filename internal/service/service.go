// Package service is the application of sluice: what a function platform
// does, whatever the protocol that asks. The Lambda REST API
// (internal/api), function URLs, and later a CLI, a console and a cluster
// node all call it.
//
// It owns qualifier resolution and weighted alias routing (resolve.go), the
// check that a function can take invocations and the invocation itself
// (invoke.go), the control plane's rules (functions.go, versions.go,
// aliases.go, concurrency.go): revision compare-and-swap, "an update is in
// progress", alias and version rules, reserved-concurrency rules; the
// resource-based policies (policy.go); the background deployments and
// function states (deploy.go) and the garbage collection of deployment
// packages (code.go).
//
// Methods take a context and plain Go values or root types
// (sluice.Function, sluice.Alias, sluice.FunctionRef ...) and return root
// types and *sluice.Error values with Lambda's messages; the adapter maps
// the codes to its wire. Validating the shape of wire fields is the
// adapter's job; the rules that need the stored state are this package's.
//
// It may import sluice, internal/artifacts and internal/concurrency; it
// never imports net/http, and it reaches the execution environments only
// through sluice.Invoker.
package service

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/artifacts"
	"github.com/sluice-dev/sluice/internal/concurrency"
	"github.com/sluice-dev/sluice/internal/hotreload"
)

// Config wires a Service. Store, Code and Invoker are required.
type Config struct {
	// Scope is the region and account of every ARN the service hands out
	// and accepts: the namespace whose functions it serves.
	Scope sluice.Scope
	// Store keeps the function configurations of Scope.
	Store sluice.FunctionStore
	// URLs keeps the function URL configurations; nil means the store
	// has none (the URL operations then answer that nothing exists).
	// It must be the same store as Store (see sluice.FunctionURLStore).
	URLs sluice.FunctionURLStore
	// NewURLID makes the id of a new function URL; nil means an error
	// for every CreateFunctionURL (a wiring mistake).
	NewURLID func() string
	// Code keeps the deployment packages, content-addressed.
	Code CodeStore
	// HotReload is where hot-reloaded functions' directories must lie
	// (sluice.HotReloadBucket); nil refuses hot reload.
	HotReload *hotreload.Root
	// Invoker runs functions; the service calls its Retire method after
	// every change to a function.
	Invoker sluice.Invoker
	// Events, when not nil, keeps accepted Event invocations durably
	// (internal/async); nil runs them with Invoker.InvokeAsync.
	Events sluice.EventQueue
	// Runtimes prepares what a function's runtime needs before the
	// function settles Active; nil means there is nothing to prepare.
	Runtimes Runtimes
	// Logger receives the service's log; nil discards it. Work done for a
	// request logs to the logger of its context (WithLogger) instead.
	Logger *slog.Logger
	// Now is the clock of LastModified; nil means time.Now.
	Now func() time.Time
	// Limits is the concurrency accounting of Scope, which the
	// concurrency operations configure; nil means an account limit of
	// concurrency.DefaultAccountLimit.
	Limits *concurrency.Limiter
	// CodeStorageLimit is the most storage the packages of one account
	// may take in one region (Scope), in bytes (storage.go); 0 means
	// DefaultCodeStorageLimit.
	CodeStorageLimit int64
	// Rand draws the number in [0, 1) that picks the version of an
	// invocation through a weighted alias; nil means math/rand/v2.
	Rand func() float64
	// AssumeRole says whether Lambda may assume roleARN, the execution
	// role a CreateFunction or UpdateFunctionConfiguration gives a
	// function of scope (its syntax is the adapter's to check). Its error
	// is the operation's as is; AWS's, when the role cannot be assumed,
	// is CannotAssumeRole(). nil accepts every role.
	AssumeRole func(scope sluice.Scope, roleARN string) error
}

// CodeStore is what the service needs of the deployment package store
// (*artifacts.Store).
type CodeStore interface {
	// PutAdmitted checks a package's structure, asks admit, and stores
	// it; see artifacts.
	PutAdmitted(zip []byte, admit func(artifacts.Package) error) (artifacts.Package, error)
	// Stat describes a stored package from its central directory.
	Stat(sha string) (artifacts.Package, error)
	// Dir unpacks a stored package (the slow part) and returns its tree.
	Dir(sha string) (string, error)
	Open(sha string) (*os.File, error)
	Remove(sha string) error
}

var _ CodeStore = (*artifacts.Store)(nil)

// Runtimes prepares runtimes (the runtime registry implements it).
type Runtimes interface {
	// Prepare makes the named runtime (a function's Runtime, e.g.
	// "nodejs22.x") ready to run, provisioning it if needed; it may take
	// long and should return when ctx ends. The deployment of a function
	// calls it after unpacking the package and before the function
	// settles Active. An error fails the deployment (State Failed with
	// StateReasonCode InvalidRuntime on create, LastUpdateStatus Failed
	// on update) and its message becomes the StateReason, so it should
	// say what to install.
	Prepare(ctx context.Context, runtime string) error
	// Ready reports whether runtime needs no preparing: a configuration
	// change to a runtime that is not ready is deployed (LastUpdateStatus
	// InProgress until Prepare ends), as a code change is.
	Ready(runtime string) bool
}

// Service is the application. It is safe for concurrent use.
type Service struct {
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	rand func() float64

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
	// lose it to the garbage collection of another request. Packages are
	// stored once for every scope, so the Services of a Registry share it.
	codeMu *sync.Mutex
	// usage is what each scope's packages take (storage.go); codeMu
	// guards it.
	usage *codeUsage
	// stores returns the stores of every scope, whose functions keep a
	// package from the garbage collection (code.go).
	stores func(context.Context) ([]sluice.FunctionStore, error)
}

// New returns a Service for cfg, the only scope of its packages. It
// panics when a required field is missing, which is a wiring mistake. A
// Registry makes the Services of many scopes, which share the packages.
func New(cfg Config) *Service {
	return newService(cfg, &sync.Mutex{}, &codeUsage{}, nil)
}

// newService returns a Service for cfg that shares codeMu and usage with
// the Services of the other scopes, whose stores (with cfg.Store) stores
// returns; nil stores means cfg.Store is the only one.
func newService(cfg Config, codeMu *sync.Mutex, usage *codeUsage, stores func(context.Context) ([]sluice.FunctionStore, error)) *Service {
	if cfg.Store == nil || cfg.Code == nil || cfg.Invoker == nil {
		panic("service: Config.Store, Config.Code and Config.Invoker are required")
	}
	s := &Service{cfg: cfg, log: cfg.Logger, now: cfg.Now, rand: cfg.Rand, codeMu: codeMu, usage: usage, stores: stores}
	if s.stores == nil {
		s.stores = func(context.Context) ([]sluice.FunctionStore, error) { return []sluice.FunctionStore{s.cfg.Store}, nil }
	}
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
	return s
}

// Close stops the background work of the service (the deployments of
// packages, see deploy.go) and waits for it. A deployment it interrupts is
// resumed by Resume at the next start.
func (s *Service) Close() {
	s.stopBG()
	s.deploys.Wait()
}

// Scope is the region and account the service serves.
func (s *Service) Scope() sluice.Scope { return s.cfg.Scope }

// loggerKey is the context key of the logger of WithLogger.
type loggerKey struct{}

// WithLogger returns ctx carrying log, which the service then uses for the
// work it does for ctx (an API request's logger, with its request id).
func WithLogger(ctx context.Context, log *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, log)
}

// logger returns the logger ctx carries (WithLogger), or the service's.
func (s *Service) logger(ctx context.Context) *slog.Logger {
	if log, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && log != nil {
		return log
	}
	return s.log
}

// notFound is Lambda's ResourceNotFoundException for a function, qualified
// when the request was.
func (s *Service) notFound(name, qualifier string) error {
	arn := s.cfg.Scope.FunctionARN(name)
	if qualifier != "" {
		arn += ":" + qualifier
	}
	return sluice.Errorf(sluice.ENotFound, "Function not found: %s", arn)
}

// errUpdateInProgress is the conflict of a change while the function is
// being created or updated.
func (s *Service) errUpdateInProgress(name string, cause error) error {
	return &sluice.Error{
		Code:    sluice.EConflict,
		Message: "The operation cannot be performed at this time. An update is in progress for resource: " + s.cfg.Scope.FunctionARN(name),
		Err:     cause,
	}
}

func errRevisionMismatch(cause error) error {
	return &sluice.Error{
		Code:    sluice.EPrecondition,
		Message: "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
		Err:     cause,
	}
}

// errState is the conflict of an operation on a function in a state that
// does not allow it (Pending, Failed).
func errState(state string) error {
	return sluice.Errorf(sluice.EConflict, "The operation cannot be performed at this time. The function is currently in the following state: %s", state)
}

// revisionMismatch reports whether the caller named a RevisionId (want !=
// nil) that differs from have.
func revisionMismatch(want *string, have string) bool {
	return want != nil && *want != have
}

// lastModified is the LastModified of a write at now: Lambda's format keeps
// milliseconds, so the stored time does too.
func lastModified(now time.Time) time.Time {
	return now.UTC().Truncate(time.Millisecond)
}
