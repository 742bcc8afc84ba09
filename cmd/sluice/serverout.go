package main

// The server's own output (issue 13): sluice's log format, the request
// log, the health and readiness answers and the Prometheus metrics.
//
// The handler chain is
//
//	requestLog( urlserver( sluiceRoutes( api ) ) )
//
// so every request, function URL requests included, is logged and
// counted once, and /_sluice/... is answered before authentication for
// requests that are not function URL requests (a function URL host keeps
// every path for its function).

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/api"
	"github.com/sluice-dev/sluice/internal/asyncq"
	"github.com/sluice-dev/sluice/internal/bolt"
	"github.com/sluice-dev/sluice/internal/metrics"
	"github.com/sluice-dev/sluice/internal/sandbox"
)

// The paths of sluice's own endpoints.
const (
	healthPath  = "/_sluice/health"
	readyPath   = "/_sluice/ready"
	metricsPath = "/_sluice/metrics"
)

// Log formats (--log-format) and metrics exposures (--metrics).
const (
	logFormatAuto = "auto"
	logFormatText = "text"
	logFormatJSON = "json"

	metricsAuto = "auto"
	metricsOn   = "on"
	metricsOff  = "off"
)

func (c *Config) outputFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "format of sluice's own log on stderr: text, json, or auto (text on a terminal, JSON otherwise)")
	fs.StringVar(&c.Metrics, "metrics", c.Metrics, "serve Prometheus metrics at "+metricsPath+" without authentication: on, off, or auto (on when --listen is a loopback address); functions in isolated sandboxes never reach it")
}

func (c Config) validateOutput() error {
	switch c.LogFormat {
	case logFormatAuto, logFormatText, logFormatJSON:
	default:
		return fmt.Errorf("--log-format must be text, json or auto, got %q", c.LogFormat)
	}
	switch c.Metrics {
	case metricsAuto, metricsOn, metricsOff:
	default:
		return fmt.Errorf("--metrics must be on, off or auto, got %q", c.Metrics)
	}
	return nil
}

// newServerLogger is sluice's own logger, writing to w in format at
// level; auto is text when w is a terminal, JSON otherwise.
func newServerLogger(format string, level slog.Level, w io.Writer) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	if format == logFormatAuto {
		format = logFormatJSON
		if isTerminal(w) {
			format = logFormatText
		}
	}
	switch format {
	case logFormatText:
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case logFormatJSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text, json or auto, got %q", format)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// serverOutput is the request log, the metrics and the health answers of
// one server.
type serverOutput struct {
	log      *slog.Logger
	registry *prometheus.Registry
	metrics  *metrics.Metrics
	// metricsOpen says whether metricsPath is served (--metrics).
	metricsOpen bool
	// checks say whether the store and the sandboxes are usable (ready).
	checks []readinessCheck
	// stopping is set when the server starts shutting down: it is no
	// longer ready.
	stopping atomic.Bool
}

// readinessCheck is one component of the readiness answer; check must be
// cheap (it runs on every probe).
type readinessCheck struct {
	name  string
	check func(ctx context.Context) error
}

func newServerOutput(cfg Config, logger *slog.Logger) *serverOutput {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &serverOutput{
		log:         logger,
		registry:    reg,
		metrics:     metrics.New(reg),
		metricsOpen: cfg.Metrics == metricsOn || cfg.Metrics == metricsAuto && loopbackListen(cfg.Listen),
	}
}

// loopbackListen says whether the listen address only accepts
// connections from this machine.
func loopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// routes answers sluice's own endpoints and passes everything else to
// next (the Lambda API).
func (o *serverOutput) routes(next http.Handler) http.Handler {
	metricsHandler := promhttp.HandlerFor(o.registry, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(o.log.Handler(), slog.LevelWarn)})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/_sluice/") {
			next.ServeHTTP(w, r)
			return
		}
		rec := api.RecordOf(r.Context())
		setOp := func(op string) {
			if rec != nil {
				rec.Operation = op
			}
		}
		switch {
		case r.URL.Path == healthPath && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			setOp("Health")
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
		case r.URL.Path == readyPath && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			setOp("Ready")
			o.ready(w, r)
		case r.URL.Path == metricsPath && r.Method == http.MethodGet && o.metricsOpen && !fromSandbox(r.Context()):
			setOp("Metrics")
			metricsHandler.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r) // the API's UnknownOperationException
		}
	})
}

// readiness is the readiness answer.
type readiness struct {
	Ready bool `json:"ready"`
	// Checks says, for each component, "ok" or why it is not usable.
	Checks       map[string]string `json:"checks"`
	ShuttingDown bool              `json:"shutting_down,omitempty"`
}

func (o *serverOutput) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	ans := readiness{Ready: true, Checks: map[string]string{}}
	for _, c := range o.checks {
		if err := c.check(ctx); err != nil {
			ans.Ready = false
			ans.Checks[c.name] = "unusable"
			o.log.Warn("not ready", "component", c.name, "err", err)
		} else {
			ans.Checks[c.name] = "ok"
		}
	}
	if o.stopping.Load() {
		ans.Ready, ans.ShuttingDown = false, true
	}
	w.Header().Set("Content-Type", "application/json")
	if !ans.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(ans)
}

// requestLog logs every request at info once its response is done (the
// operation, the function, the status, the duration and the request
// id) and counts it in the API metrics. Probes of health and readiness
// are logged at debug only.
func (o *serverOutput) requestLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := new(api.Record)
		ctx := api.WithRecord(r.Context(), rec)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(ctx))
		d := time.Since(start)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		op := rec.Operation
		if op == "" {
			op = "FunctionUrl" // the only requests that never reach the API
		}
		id := rec.RequestID
		if id == "" {
			id = w.Header().Get("X-Amzn-RequestId")
		}
		o.metrics.Request(op, status, d)
		level := slog.LevelInfo
		if op == "Health" || op == "Ready" || op == "Metrics" {
			level = slog.LevelDebug
		}
		o.log.LogAttrs(r.Context(), level, "request",
			slog.String("operation", op),
			slog.String(sluice.LogKeyFunction, rec.Function),
			slog.Int("status", status),
			slog.Duration("duration", d),
			slog.String(sluice.LogKeyRequestID, id),
			slog.String("method", r.Method))
	})
}

// statusWriter remembers the status of a response; it passes flushes
// through with their errors (streaming) and unwraps for
// http.ResponseController (write deadlines).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// FlushError flushes what was written to the client, with its error
// (http.ResponseController prefers it to Flush).
func (w *statusWriter) FlushError() error {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Flush() { _ = w.FlushError() }

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Connections from the API listeners of isolated sandboxes are marked,
// so that the metrics are never served to functions.
type fromSandboxKey struct{}

type sandboxListener struct{ net.Listener }

type sandboxConn struct{ net.Conn }

func (l sandboxListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return sandboxConn{c}, nil
}

// connContext is the http.Server's ConnContext.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if _, ok := c.(sandboxConn); ok {
		return context.WithValue(ctx, fromSandboxKey{}, true)
	}
	return ctx
}

func fromSandbox(ctx context.Context) bool {
	v, _ := ctx.Value(fromSandboxKey{}).(bool)
	return v
}

// readinessChecks are the components the readiness answer reports: the
// store (a read transaction), the event queue (a read transaction) and
// the sandboxes (their scratch directory, and bubblewrap when they are
// isolated).
func readinessChecks(store *bolt.Store, events *asyncq.Queue, iso *sandbox.Isolation, scratch string) []readinessCheck {
	return []readinessCheck{
		{"store", func(ctx context.Context) error {
			_, err := store.Scopes(ctx)
			return err
		}},
		{"event_queue", func(context.Context) error {
			_, _, err := events.OldestDue()
			return err
		}},
		{"sandboxes", func(context.Context) error {
			if st, err := os.Stat(scratch); err != nil {
				return err
			} else if !st.IsDir() {
				return fmt.Errorf("%s is not a directory", scratch)
			}
			if iso != nil {
				if _, err := os.Stat(iso.Bwrap); err != nil {
					return err
				}
			}
			return nil
		}},
	}
}
