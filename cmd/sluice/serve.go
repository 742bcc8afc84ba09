package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/api"
	"github.com/sluice-dev/sluice/internal/artifacts"
	"github.com/sluice-dev/sluice/internal/async"
	"github.com/sluice-dev/sluice/internal/asyncq"
	"github.com/sluice-dev/sluice/internal/bolt"
	"github.com/sluice-dev/sluice/internal/concurrency"
	"github.com/sluice-dev/sluice/internal/furl"
	"github.com/sluice-dev/sluice/internal/hotreload"
	"github.com/sluice-dev/sluice/internal/invoke"
	"github.com/sluice-dev/sluice/internal/logsapi"
	"github.com/sluice-dev/sluice/internal/logstore"
	"github.com/sluice-dev/sluice/internal/pool"
	"github.com/sluice-dev/sluice/internal/runtimes"
	"github.com/sluice-dev/sluice/internal/runtimes/nodejs"
	"github.com/sluice-dev/sluice/internal/runtimes/python"
	"github.com/sluice-dev/sluice/internal/sandbox"
	"github.com/sluice-dev/sluice/internal/service"
	"github.com/sluice-dev/sluice/internal/sigv4"
	"github.com/sluice-dev/sluice/internal/urlserver"
)

// Config is everything `sluice serve` can be told.
type Config struct {
	Listen          string
	DataDir         string
	Region          string
	AccountID       string
	MaxEnvironments int
	// AccountConcurrency is the account's concurrent-execution limit
	// (Lambda's ConcurrentExecutions); reserved concurrency is carved out
	// of it.
	AccountConcurrency int
	IdleTimeout        time.Duration
	// MaxStarting is how many execution environments may start at once
	// (0: two per CPU); StartWait how long a start may wait for its turn
	// before the invocation is throttled (429).
	MaxStarting int
	StartWait   time.Duration
	// Sandbox picks how execution environments are isolated: "auto"
	// (bubblewrap with cgroups when this machine allows it, else none,
	// said loudly), "bwrap", or "none" (plain child processes).
	Sandbox string
	// SandboxNetwork is "isolated" (a network namespace of their own with
	// outbound access, as Lambda functions outside a VPC have, and a route
	// to sluice's API only), "none" (a network namespace of their own with
	// only loopback) or "host" (sluice's network, the host's loopback
	// included; said loudly).
	SandboxNetwork string
	// EFSDir is where FileSystemConfigs point: the access point
	// arn:...:access-point/fsap-x is the directory EFSDir/fsap-x.
	EFSDir string
	// HotReloadRoot, when set, turns hot reload on: functions may run
	// straight from directories under it (S3Bucket "hot-reload", the
	// directory as S3Key; internal/hotreload, docs/security.md).
	HotReloadRoot string
	ShutdownGrace time.Duration
	// AsyncRetryBase is how long after a function error an Event
	// invocation is retried (the second retry waits twice as long).
	AsyncRetryBase time.Duration
	// MaxAsyncDeliveries is how many queued Event invocations run at once.
	MaxAsyncDeliveries int
	// MaxQueuedEvents caps the Event invocations waiting (429 past it).
	MaxQueuedEvents int
	// ClientWriteTimeout bounds each write of a response to an API or
	// function URL client: a client that takes nothing for this long loses
	// its response (clientconn.go).
	ClientWriteTimeout time.Duration
	LogLevel           string
	// LogFormat is sluice's own log format: text, json or auto (text on
	// a terminal); Metrics says whether /_sluice/metrics is served: on,
	// off or auto (on a loopback --listen). See serverout.go.
	LogFormat, Metrics string
	// AccessKeyID and SecretAccessKey are the development key pair:
	// administrator of AccountID when there is no AuthFile.
	AccessKeyID, SecretAccessKey string
	// AuthFile holds the accounts, keys, policies and roles (auth.go,
	// internal/iam); re-read on SIGHUP. "" means the development key pair.
	AuthFile string
	// FunctionCredentialsTTL is how long the credentials of an execution
	// environment are valid (credentials.go).
	FunctionCredentialsTTL time.Duration
	// Node and Python are the interpreters of the nodejs* and python*
	// runtimes; "" finds them (internal/runtimes).
	Node, Python string
	// NodeFor names the node binary of particular nodejs* runtimes, over
	// Node (--node-for RUNTIME=PATH, repeatable).
	NodeFor map[string]string
	// RuntimesDir is where runtimes are provisioned; "" means
	// DataDir/runtimes.
	RuntimesDir string
	// CodeStorageLimit is the most storage, in bytes, the deployment
	// packages of an account may take, zips and unpacked trees
	// (Lambda's code storage quota, CodeStorageExceededException).
	CodeStorageLimit int64
	// FunctionLogLimit is how many bytes of a function's output per
	// invocation reach sluice's function log (stderr); 0 means no limit.
	FunctionLogLimit int64
	// CPUProfile, when set, is a file that receives a CPU profile of the
	// server (runtime/pprof) from start to shutdown: `go tool pprof`
	// reads it (docs/performance.md).
	CPUProfile string
	// SandboxMemory (MB) and SandboxPIDs bound all sandboxed environments
	// together (their parent cgroup); 0 derives them from the host
	// (cgroup.HostLimits).
	SandboxMemory, SandboxPIDs int
	// SandboxMemoryOvercommit is how many times SandboxMemory the busy
	// environments' MemorySize may add up to (admission); the parent
	// cgroup's hard limit still bounds what they really use.
	SandboxMemoryOvercommit float64
	// BackupDir, when set, is where the server backs its store up: at
	// start, every BackupInterval and on SIGUSR1, keeping the newest
	// BackupKeep backups.
	BackupDir      string
	BackupInterval time.Duration
	BackupKeep     int
	// TLSCert and TLSKey, both or neither, serve the API listener over
	// HTTPS (tls.go).
	TLSCert, TLSKey string
	// LogRetentionSize and LogRetentionAge bound the function logs kept
	// in DataDir/logs; FunctionLogsStderr also writes them to stderr
	// (funclogs.go).
	LogRetentionSize   int64
	LogRetentionAge    time.Duration
	FunctionLogsStderr bool
}

// DefaultConfig is what `sluice serve` runs with when given no flags.
func DefaultConfig() Config {
	return Config{
		Listen:                  "127.0.0.1:9000",
		DataDir:                 ".sluice",
		Region:                  "us-east-1",
		AccountID:               "000000000000",
		MaxEnvironments:         pool.DefaultMaxEnvironments,
		AccountConcurrency:      concurrency.DefaultAccountLimit,
		Sandbox:                 "auto",
		SandboxNetwork:          sandbox.NetworkIsolated,
		IdleTimeout:             pool.DefaultIdleTimeout,
		StartWait:               sandbox.DefaultStartWait,
		ShutdownGrace:           10 * time.Second,
		AsyncRetryBase:          time.Minute,
		MaxAsyncDeliveries:      64,
		MaxQueuedEvents:         1_000_000,
		ClientWriteTimeout:      DefaultClientWriteTimeout,
		LogLevel:                "info",
		LogFormat:               logFormatAuto,
		Metrics:                 metricsAuto,
		AccessKeyID:             "test",
		SecretAccessKey:         "test",
		FunctionCredentialsTTL:  defaultFunctionCredentialsTTL,
		CodeStorageLimit:        service.DefaultCodeStorageLimit,
		FunctionLogLimit:        sandbox.DefaultFunctionLogLimit,
		SandboxMemoryOvercommit: defaultMemoryOvercommit,
		BackupInterval:          time.Hour,
		BackupKeep:              24,
		LogRetentionSize:        logstore.DefaultMaxBytes,
		LogRetentionAge:         logstore.DefaultMaxAge,
	}
}

func (c *Config) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", c.Listen, "address of the Lambda API")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "where functions and their code are kept")
	fs.StringVar(&c.Region, "region", c.Region, "default region (every region a client signs for is a namespace of its own)")
	fs.StringVar(&c.AuthFile, "auth-file", c.AuthFile, "JSON file of the accounts, access keys, policies and roles the server accepts (re-read on SIGHUP); without it, the development key test/test is administrator of --account-id")
	fs.StringVar(&c.AccountID, "account-id", c.AccountID, "12-digit default account id")
	fs.IntVar(&c.MaxEnvironments, "max-environments", c.MaxEnvironments, "most execution environments alive at once (concurrency limit)")
	fs.IntVar(&c.AccountConcurrency, "account-concurrency", c.AccountConcurrency, "the account's concurrent-execution limit (reserved concurrency is carved out of it)")
	fs.IntVar(&c.MaxStarting, "max-starting", c.MaxStarting, "most execution environments starting at once, the others wait their turn (0: two per CPU)")
	fs.DurationVar(&c.StartWait, "start-wait", c.StartWait, "how long a cold start may wait for its turn before the invocation gets TooManyRequestsException")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout, "how long an idle execution environment is kept warm")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", c.ShutdownGrace, "how long in-flight invocations may run after SIGINT/SIGTERM")
	fs.DurationVar(&c.AsyncRetryBase, "async-retry-base", c.AsyncRetryBase, "how long after a function error an Event invocation is retried (the second retry waits twice as long); Lambda's is about a minute")
	fs.IntVar(&c.MaxAsyncDeliveries, "max-async-deliveries", c.MaxAsyncDeliveries, "how many queued Event invocations run at once, all functions together")
	fs.IntVar(&c.MaxQueuedEvents, "max-queued-events", c.MaxQueuedEvents, "how many Event invocations may wait in the queue, all functions together; past it they get TooManyRequestsException (0: no limit but the disk)")
	fs.DurationVar(&c.ClientWriteTimeout, "client-write-timeout", c.ClientWriteTimeout, "how long a client may take nothing of a response before it loses it (the function goes on, its output discarded)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.StringVar(&c.Sandbox, "sandbox", c.Sandbox, "isolation of execution environments: auto, bwrap or none")
	fs.StringVar(&c.SandboxNetwork, "sandbox-network", c.SandboxNetwork, "network of sandboxed functions: isolated (own namespace, outbound access, sluice's API at AWS_ENDPOINT_URL), none (loopback only, no AWS_ENDPOINT_URL) or host (the host's network, its loopback included: trusted code only)")
	fs.IntVar(&c.SandboxMemory, "sandbox-memory", c.SandboxMemory, "MB of memory all sandboxed environments may have together; a new one that does not fit beside the busy ones gets TooManyRequestsException (default 0: the host's memory less max(1 GiB, 1/8))")
	fs.Float64Var(&c.SandboxMemoryOvercommit, "sandbox-memory-overcommit", c.SandboxMemoryOvercommit, "how many times --sandbox-memory the MemorySize of the busy environments may add up to; 1 reserves each environment's full MemorySize (functions rarely use it all; the parent cgroup's hard limit bounds what they really use)")
	fs.IntVar(&c.SandboxPIDs, "sandbox-pids", c.SandboxPIDs, "processes and threads all sandboxed environments may have together (default 0: half of the host's pid_max or threads-max, whichever is smaller)")
	fs.StringVar(&c.EFSDir, "efs-dir", c.EFSDir, "host directory of FileSystemConfigs access points (access-point/fsap-X is DIR/fsap-X)")
	fs.StringVar(&c.HotReloadRoot, "hot-reload-root", c.HotReloadRoot, "turn hot reload on: CreateFunction/UpdateFunctionCode with S3Bucket \"hot-reload\" and the absolute path of a directory under `DIR` as S3Key run the function straight from it, read-only, an edit taking effect at the next invocation (off without it)")
	fs.StringVar(&c.Node, "node", c.Node, "node binary of the nodejs* runtimes (default: node on PATH)")
	fs.Func("node-for", "RUNTIME=PATH: the node binary of one nodejs* runtime (e.g. nodejs22.x=/opt/node22/bin/node), over --node; repeatable", func(v string) error {
		rt, path, ok := strings.Cut(v, "=")
		if !ok || path == "" || !strings.HasPrefix(rt, "nodejs") {
			return fmt.Errorf("want RUNTIME=PATH with a nodejs* runtime, got %q", v)
		}
		if c.NodeFor == nil {
			c.NodeFor = map[string]string{}
		}
		c.NodeFor[rt] = path
		return nil
	})
	fs.StringVar(&c.RuntimesDir, "runtimes-dir", c.RuntimesDir, "where runtimes are provisioned (default: DATA-DIR/runtimes); several data dirs may share one")
	fs.Var(byteSizeFlag{&c.CodeStorageLimit}, "code-storage-limit", "most storage the deployment packages of an account may take, zipped and unpacked (e.g. 75G, 512M)")
	fs.StringVar(&c.BackupDir, "backup-dir", c.BackupDir, "back the store up into this directory: at start, every --backup-interval and on SIGUSR1 (see \"sluice help store\")")
	fs.DurationVar(&c.BackupInterval, "backup-interval", c.BackupInterval, "how often the store is backed up into --backup-dir")
	fs.IntVar(&c.BackupKeep, "backup-keep", c.BackupKeep, "how many of the newest backups --backup-dir keeps")
	fs.StringVar(&c.Python, "python", c.Python, "python3 of the python* runtimes, under /usr (default: /usr/bin/python3, else python3 on PATH)")
	fs.Int64Var(&c.FunctionLogLimit, "function-log-limit", c.FunctionLogLimit, "bytes of a function's stdout and stderr per invocation written to the function log; the rest is dropped and counted (0: no limit)")
	fs.StringVar(&c.CPUProfile, "cpu-profile", c.CPUProfile, "write a CPU profile of the server, from start to shutdown, to this file (for `go tool pprof`)")
	c.tlsFlags(fs)
	c.outputFlags(fs)
	c.credentialFlags(fs)
	c.functionLogFlags(fs)
}

func (c Config) validate() error {
	for rt := range c.NodeFor {
		if !strings.HasPrefix(rt, "nodejs") || !runtimes.New(runtimes.Config{}).Supported(rt) {
			return fmt.Errorf("--node-for %s: not a nodejs runtime sluice supports", rt)
		}
	}
	if len(c.AccountID) != 12 || strings.Trim(c.AccountID, "0123456789") != "" {
		return fmt.Errorf("--account-id must be 12 digits, got %q", c.AccountID)
	}
	if !sluice.ValidRegion(c.Region) {
		return fmt.Errorf("--region must be a region such as us-east-1 (pattern %s), got %q", sluice.RegionPattern, c.Region)
	}
	if c.DataDir == "" {
		return errors.New("--data-dir must not be empty")
	}
	if c.AsyncRetryBase <= 0 {
		return fmt.Errorf("--async-retry-base must be positive, got %s", c.AsyncRetryBase)
	}
	if c.MaxAsyncDeliveries <= 0 {
		return fmt.Errorf("--max-async-deliveries must be positive, got %d", c.MaxAsyncDeliveries)
	}
	switch c.Sandbox {
	case "auto", "bwrap", "none":
	default:
		return fmt.Errorf("--sandbox must be auto, bwrap or none, got %q", c.Sandbox)
	}
	switch c.SandboxNetwork {
	case sandbox.NetworkIsolated, sandbox.NetworkNone, sandbox.NetworkHost:
	default:
		return fmt.Errorf("--sandbox-network must be isolated, none or host, got %q", c.SandboxNetwork)
	}
	if c.CodeStorageLimit < 1 {
		return fmt.Errorf("--code-storage-limit must be positive, got %d", c.CodeStorageLimit)
	}
	if c.FunctionLogLimit < 0 {
		return fmt.Errorf("--function-log-limit must be 0 (no limit) or more, got %d", c.FunctionLogLimit)
	}
	if c.SandboxMemory < 0 || (c.SandboxMemory > 0 && c.SandboxMemory < sluice.MinMemorySize) {
		return fmt.Errorf("--sandbox-memory must be 0 (derived from the host) or at least %d MB, got %d", sluice.MinMemorySize, c.SandboxMemory)
	}
	if !(c.SandboxMemoryOvercommit >= 1 && c.SandboxMemoryOvercommit <= 1000) {
		return fmt.Errorf("--sandbox-memory-overcommit must be between 1 and 1000, got %v", c.SandboxMemoryOvercommit)
	}
	if c.SandboxPIDs < 0 || (c.SandboxPIDs > 0 && c.SandboxPIDs < minSandboxPIDs) {
		return fmt.Errorf("--sandbox-pids must be 0 (derived from the host) or at least %d, got %d", minSandboxPIDs, c.SandboxPIDs)
	}
	if c.BackupDir != "" && c.BackupInterval <= 0 {
		return fmt.Errorf("--backup-interval must be positive, got %s", c.BackupInterval)
	}
	if c.BackupDir != "" && c.BackupKeep < 1 {
		return fmt.Errorf("--backup-keep must be at least 1, got %d", c.BackupKeep)
	}
	if c.MaxStarting < 0 {
		return fmt.Errorf("--max-starting must not be negative, got %d", c.MaxStarting)
	}
	if c.StartWait <= 0 {
		return fmt.Errorf("--start-wait must be positive, got %v", c.StartWait)
	}
	if c.ClientWriteTimeout <= 0 {
		return fmt.Errorf("--client-write-timeout must be positive, got %v", c.ClientWriteTimeout)
	}
	if c.AccountConcurrency < 1 {
		return fmt.Errorf("--account-concurrency must be at least 1, got %d", c.AccountConcurrency)
	}
	if err := c.validateFunctionLogs(); err != nil {
		return err
	}
	if err := c.validateOutput(); err != nil {
		return err
	}
	return c.validateCredentials()
}

const serveUsage = `Usage:
  sluice serve [flags]

Runs the Lambda API (and function URLs) on --listen, keeping functions and
their code in --data-dir. The AWS SDKs and CLI reach it with
--endpoint-url http://127.0.0.1:9000 (or AWS_ENDPOINT_URL) and the
development key test/test. See README.md.
`

func serveCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := DefaultConfig()
	fs := newFlagSet("serve", stderr)
	cfg.flags(fs)
	if code, ok := parseFlags(fs, args, serveUsage, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sluice serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		fmt.Fprintf(stderr, "sluice: bad --log-level: %v\n", err)
		return 2
	}
	logger, err := newServerLogger(cfg.LogFormat, level, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "sluice: %v\n", err)
		return 2
	}
	if cfg.CPUProfile != "" {
		stop, err := startCPUProfile(cfg.CPUProfile)
		if err != nil {
			fmt.Fprintf(stderr, "sluice: --cpu-profile: %v\n", err)
			return 1
		}
		defer stop()
	}
	var toStderr func(string) io.Writer // function logs on stderr too
	if cfg.FunctionLogsStderr {
		toStderr = newFunctionLogs(stderr)
	}
	srv, err := Open(ctx, cfg, logger, toStderr)
	if err != nil {
		fmt.Fprintf(stderr, "sluice: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "sluice listening on %s (region %s, account %s, data in %s)\n", srv.URL(), cfg.Region, cfg.AccountID, cfg.DataDir)
	if err := srv.Serve(ctx); err != nil {
		fmt.Fprintf(stderr, "sluice: %v\n", err)
		return 1
	}
	return 0
}

// functionLogLimit is the sandbox's FunctionLogLimit for the flag's value
// (whose 0 means no limit).
func functionLogLimit(n int64) int64 {
	if n == 0 {
		return -1
	}
	return n
}

// Server is a running sluice: store, code, pool, invoker, the service and
// the Lambda API in front of it.
type Server struct {
	cfg     Config
	log     *slog.Logger
	store   *bolt.Store
	pool    *pool.Pool[*sandbox.Env]
	invoker *invoke.Invoker
	limits  *concurrency.Limiters
	iso     *sandbox.Isolation // nil when environments are not sandboxed
	starts  *sandbox.StartGate
	svc     *service.Registry
	events  *asyncq.Queue
	async   *async.Dispatcher
	runtime *runtimes.Registry
	driver  sandbox.Driver
	http    *http.Server
	ln      net.Listener
	auth    *authn
	logs    *logstore.Store
	out     *serverOutput
}

// Open opens the data directory and binds the listener; Serve serves.
// Every function's log goes to the log store (DataDir/logs), and to
// functionLogs too when it is not nil.
func Open(ctx context.Context, cfg Config, logger *slog.Logger, functionLogs func(string) io.Writer) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	tlsConf, err := serverTLS(cfg, logger)
	if err != nil {
		return nil, err
	}
	auth, err := newAuthn(cfg, logger)
	if err != nil {
		return nil, err
	}
	if auth.Development() {
		logger.Warn("running with development credentials: access key test, secret test, administrator of account "+cfg.AccountID+"; anyone who reaches this server can do anything (use --auth-file to share it)", "account", cfg.AccountID)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, err
	}
	scope := sluice.Scope{Region: cfg.Region, Account: cfg.AccountID}
	store, err := openStore(cfg.DataDir, scope)
	if err != nil {
		return nil, err
	}
	code, err := artifacts.Open(filepath.Join(cfg.DataDir, "code"))
	if err != nil {
		store.Close()
		return nil, err
	}
	hotRoot, err := hotReloadRoot(cfg, logger)
	if err != nil {
		store.Close()
		return nil, err
	}
	// Accepted Event invocations live in a file of their own, so that
	// the queue's fsyncs never wait for the control plane's or the other
	// way round (docs/decisions.md, "The durable event queue").
	var limit func(key string) int // set once the registry is made; Run starts later
	events, err := asyncq.Open(filepath.Join(cfg.DataDir, "events.db"), asyncq.Options{
		Logger:        logger,
		MaxInFlight:   cfg.MaxAsyncDeliveries,
		ShutdownGrace: cfg.ShutdownGrace,
		Limit: func(key string) int {
			if limit == nil {
				return 0
			}
			return limit(key)
		},
	})
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("the event queue: %w", err)
	}
	logs, err := openLogStore(cfg, logger)
	if err != nil {
		events.Close()
		store.Close()
		return nil, err
	}
	closeStores := func() { logs.Close(); events.Close(); store.Close() }
	tmp := filepath.Join(cfg.DataDir, "tmp")
	_ = os.RemoveAll(tmp) // scratch space of environments of an earlier run
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		closeStores()
		return nil, err
	}
	iso, hostLim, err := isolation(ctx, cfg, logger)
	if err != nil {
		closeStores()
		return nil, fmt.Errorf("--sandbox %s: %w", cfg.Sandbox, err)
	}
	driver := sandboxDriver(iso, tmp)
	registry := runtimes.New(runtimesConfig(cfg, logger))
	// Concurrency is accounted per scope (an account in a region), each
	// with the account limit; a scope's reservations are loaded when its
	// Service is made (service.Registry).
	limits := concurrency.NewLimiters(cfg.AccountConcurrency)
	starts := sandbox.NewStartGate(cfg.MaxStarting, cfg.StartWait)
	// Sandboxed environments are weighed by their memory (MB): together
	// they fit in the parent cgroup's limit.
	p := pool.New[*sandbox.Env](pool.Options{MaxEnvironments: cfg.MaxEnvironments, IdleTimeout: cfg.IdleTimeout, Logger: logger,
		MaxWeight: int64(float64(hostLim.MemoryBytes>>20) * cfg.SandboxMemoryOvercommit), OverWeight: overMemory})
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		closeNet(iso, logger)
		closeStores()
		return nil, err
	}
	warnCredentialsTTL(logger, cfg)
	out := newServerOutput(cfg, logger)
	out.metrics.AsyncQueue(events.Len, events.OldestDue, nil)
	out.checks = readinessChecks(store, events, iso, tmp)
	iv := invoke.New(invoke.Config{
		Code:      hotreload.Code{Store: code, Root: hotRoot},
		HotReload: &hotreload.Watcher{},
		Pool:      p,
		Limits:    limits,
		Sandbox: sandbox.Options{
			Logger:           logger,
			FunctionLog:      functionLog(logs, functionLogs),
			FunctionLogLimit: functionLogLimit(cfg.FunctionLogLimit),
			AccessKeyID:      cfg.AccessKeyID,
			SecretAccessKey:  cfg.SecretAccessKey,
			APIEndpoint:      apiEndpoint("http", ln.Addr()), // AWS_ENDPOINT_URL on the host's network
			Driver:           driver,
			Starts:           starts,
		},
		Bootstrap:   registry.Bootstrap,
		Credentials: auth.Credentials,
		Logger:      logger,
	})
	// Every region and account is a namespace of its own, with a
	// Service of its own; --region and --account-id are the defaults.
	var dispatcher *async.Dispatcher // made once the registry is
	svc := service.NewRegistry(service.RegistryConfig{
		Default: scope,
		Stores:  store,
		Limits:  limits,
		Service: service.Config{
			NewURLID:  furl.NewURLID,
			Code:      code,
			HotReload: hotRoot,
			Invoker:   out.metrics.Invoker(iv),
			Events: eventQueueFunc(func(ctx context.Context, ev sluice.QueuedEvent) error {
				return dispatcher.Enqueue(ctx, ev)
			}),
			Logger:   logger,
			Runtimes: registry,

			CodeStorageLimit: cfg.CodeStorageLimit,
			AssumeRole:       auth.AssumeRole,
		},
	})
	limit = async.Limit(svc)
	dispatcher = async.New(async.Config{Queue: events, Services: svc, RetryBase: cfg.AsyncRetryBase, MaxQueued: cfg.MaxQueuedEvents, Logger: logger})
	warnCodeStorage(logger, cfg.DataDir, cfg.CodeStorageLimit)
	verifier := &sigv4.Verifier{Secret: auth.Secret, Service: "lambda"}
	// One listener: function URL requests (by Host or /lambda-url/ path)
	// go to the URL front end, CloudWatch Logs requests (X-Amz-Target
	// Logs_20140328.*) to the Logs API, sluice's own /_sluice/ paths
	// (health, readiness, metrics) to out.routes, everything else to the
	// Lambda API.
	var handler http.Handler = urlserver.New(urlserver.Config{
		Services:  svc,
		Verifier:  verifier,
		Principal: auth.Principal,
		Next: logsapi.New(logsapi.Config{Store: logs, Verifier: &sigv4.Verifier{Secret: auth.Secret, Service: "logs"},
			Principal: auth.Principal, DefaultScope: scope, Logger: logger,
			Next: out.routes(api.New(api.Config{Services: svc, Verifier: verifier, Principal: auth.Principal, Logger: logger, Runtimes: registry}))}),
		Logger: logger,
	})
	handler = out.requestLog(handler)
	// A client that stops reading loses its response after
	// ClientWriteTimeout; the function's timeout ends its invocation
	// anyway (sandbox), whatever the client does.
	ln = listenTLS(boundWrites(ln, cfg.ClientWriteTimeout), tlsConf)
	httpSrv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 30 * time.Second,
		ConnContext:       connContext,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	if iso != nil {
		// Each isolated environment reaches this same server at
		// 127.0.0.1:<port> inside its own network namespace.
		iso.APIPort = ln.Addr().(*net.TCPAddr).Port
		iso.ServeAPI = func(l net.Listener) { _ = httpSrv.Serve(sandboxListener{boundWrites(l, cfg.ClientWriteTimeout)}) }
	}
	// Deployments a crash or shutdown interrupted run again, in every
	// scope.
	if err := svc.Resume(ctx); err != nil {
		svc.Close()
		ln.Close()
		closeNet(iso, logger)
		closeStores()
		return nil, err
	}
	return &Server{
		cfg:     cfg,
		auth:    auth,
		log:     logger,
		store:   store,
		pool:    p,
		invoker: iv,
		svc:     svc,
		events:  events,
		async:   dispatcher,
		runtime: registry,
		limits:  limits,
		iso:     iso,
		starts:  starts,
		driver:  driver,
		ln:      ln,
		http:    httpSrv,
		logs:    logs,
		out:     out,
	}, nil
}

// eventQueueFunc is a function as a sluice.EventQueue.
type eventQueueFunc func(ctx context.Context, ev sluice.QueuedEvent) error

func (f eventQueueFunc) Enqueue(ctx context.Context, ev sluice.QueuedEvent) error { return f(ctx, ev) }

// Addr is the address the Lambda API listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve serves until ctx ends, then shuts down: it stops accepting
// requests, lets in-flight invocations run for ShutdownGrace, stops every
// execution environment (invocations still running end with an error
// event) and closes the store. Every child process is gone when it returns.
func (s *Server) Serve(ctx context.Context) error {
	var wg sync.WaitGroup
	reaperCtx, stopReaper := context.WithCancel(context.Background())
	wg.Add(1)
	go func() { defer wg.Done(); s.pool.Run(reaperCtx) }()

	if s.auth.path != "" {
		wg.Add(1)
		go func() { defer wg.Done(); s.auth.reloadOnHUP(reaperCtx) }()
	}

	wg.Add(1)
	go func() { defer wg.Done(); retainLogs(reaperCtx, s.logs) }()

	if s.cfg.BackupDir != "" {
		b := &backups{store: s.store, dir: s.cfg.BackupDir, interval: s.cfg.BackupInterval, keep: s.cfg.BackupKeep, log: s.log}
		wg.Add(1)
		go func() { defer wg.Done(); b.run(reaperCtx) }()
	}

	// The dispatcher of Event invocations: it stops with the shutdown
	// (deliveries under way get ShutdownGrace, what is unfinished stays
	// queued for the next start).
	asyncCtx, stopAsync := context.WithCancel(context.Background())
	asyncDone := make(chan struct{})
	go func() {
		defer close(asyncDone)
		if err := s.async.Run(asyncCtx); err != nil {
			s.log.Error("event invocations are not delivered", "err", err)
		}
	}()

	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	s.out.stopping.Store(true)
	s.log.Info("shutting down", "grace", s.cfg.ShutdownGrace)

	grace, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
	defer cancel()
	httpDone := make(chan struct{})
	go func() {
		defer close(httpDone)
		_ = s.http.Shutdown(context.Background()) // returns once every handler is done
	}()
	// Once the grace period is over, cold starts still waiting for their
	// turn are refused, so that closing the pool does not wait for them.
	graceOver := context.AfterFunc(grace, s.starts.Close)
	defer graceOver()
	stopAsync() // its deliveries under way go on for the grace period
	s.invoker.Shutdown(grace)
	select {
	case <-httpDone:
	case <-time.After(5 * time.Second): // handlers end once their environments are gone
		s.http.Close()
		<-httpDone
	}
	<-asyncDone
	stopReaper()
	wg.Wait()
	s.svc.Close()     // waits for deployments in progress
	s.runtime.Close() // stops runtime installs in progress
	s.driver.Close()  // the prepared slots
	if s.iso != nil && s.iso.Cgroups != nil {
		// Every environment is gone: remove sluice's cgroup directories.
		if err := s.iso.Cgroups.Close(); err != nil {
			s.log.Warn("removing sluice's cgroups", "err", err)
		}
	}
	if s.iso != nil && s.iso.Guard != nil {
		_ = s.iso.Guard.Stop()
	}
	closeNet(s.iso, s.log) // every environment is gone
	if err := s.logs.Close(); err != nil && serveErr == nil {
		serveErr = err
	}
	if err := s.events.Close(); err != nil && serveErr == nil {
		serveErr = err
	}
	if err := s.store.Close(); err != nil && serveErr == nil {
		serveErr = err
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}

// runtimesConfig wires the runtime registry: the Node.js runtime
// interface client (runtimes/nodejs) and sluice's Python bootstrap
// (runtimes/python). The server and `sluice runtime install` share it.
func runtimesConfig(cfg Config, logger *slog.Logger) runtimes.Config {
	return runtimes.Config{
		DataDir: cfg.DataDir,
		Dir:     cfg.RuntimesDir,
		Node:    cfg.Node,
		NodeFor: cfg.NodeFor,
		Python:  cfg.Python,
		Logger:  logger,
		InstallNode: func(ctx context.Context, dir, node string) error {
			return nodejs.Install(ctx, dir, node, logger)
		},
		NodeCommand:   func(handler string) []string { return nodejs.Command("node", handler) },
		NodeEnv:       nodejs.Env,
		InstallPython: python.Install,
		PythonCommand: python.Command,
		PythonEnv:     python.Env,
	}
}

// startCPUProfile starts profiling the process into path; stop ends the
// profile and closes the file.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
