package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/logstore"
	"github.com/sluice-dev/sluice/internal/sandbox"
)

// Function logs: every execution environment's log (START/END/REPORT and
// the function's stdout and stderr) goes, one event per line stamped on
// arrival, to the log store in DATA-DIR/logs, in the function's log group
// (/aws/lambda/NAME, or its LoggingConfig.LogGroup) and the environment's
// log stream (YYYY/MM/DD/[VERSION]<32 hex>), where the Logs API
// (internal/logsapi) serves it; with --function-logs-stderr, also to
// sluice's stderr, each line prefixed with "[NAME] ". A function whose
// LoggingConfig.LogFormat is JSON has its platform lines stored as
// Lambda's JSON records (logstore.LambdaJSON); stderr keeps them as text.

func (c *Config) functionLogFlags(fs *flag.FlagSet) {
	fs.Var(byteSizeFlag{&c.LogRetentionSize}, "log-retention-size", "most disk space the function logs in DATA-DIR/logs may take; the oldest go first (e.g. 1G, 512M)")
	fs.Var(daysFlag{&c.LogRetentionAge}, "log-retention-age", "how long function logs are kept (e.g. 7d, 36h)")
	fs.BoolVar(&c.FunctionLogsStderr, "function-logs-stderr", c.FunctionLogsStderr, "also write function logs to stderr, each line prefixed with [FUNCTION]")
}

func (c Config) validateFunctionLogs() error {
	if c.LogRetentionSize < 1<<20 {
		return fmt.Errorf("--log-retention-size must be at least 1M, got %d", c.LogRetentionSize)
	}
	if c.LogRetentionAge < time.Minute {
		return fmt.Errorf("--log-retention-age must be at least a minute, got %v", c.LogRetentionAge)
	}
	return nil
}

func openLogStore(cfg Config, logger *slog.Logger) (*logstore.Store, error) {
	s, err := logstore.Open(logstore.Options{Dir: filepath.Join(cfg.DataDir, "logs"), MaxBytes: cfg.LogRetentionSize, MaxAge: cfg.LogRetentionAge, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("the function log store: %w", err)
	}
	return s, nil
}

// retainLogs applies the log store's age limit every minute until ctx
// ends (the size limit applies as logs are written).
func retainLogs(ctx context.Context, s *logstore.Store) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Retain()
		}
	}
}

// functionLog is the sandbox's FunctionLog: each environment's log goes
// to the store, and to stderr's writers (nil: not) by function name.
func functionLog(store *logstore.Store, stderr func(string) io.Writer) func(sandbox.LogStream) io.Writer {
	return func(ls sandbox.LogStream) io.Writer {
		w := store.Writer(ls.Scope, ls.Group, ls.Stream)
		if fn := ls.Function; fn.Logging.LogFormat == sluice.LogFormatJSON {
			// Lambda's JSON records for the platform lines (LoggingConfig).
			w = store.WriterFunc(ls.Scope, ls.Group, ls.Stream, logstore.LambdaJSON(fn.Name, fn.VersionOrLatest(), fn.Logging.SystemLogLevel))
		}
		if stderr == nil {
			return w
		}
		return io.MultiWriter(w, stderr(ls.Function.Name))
	}
}

// daysFlag is a flag.Value over a duration that also takes whole days
// ("7d").
type daysFlag struct{ p *time.Duration }

func (f daysFlag) String() string {
	if f.p == nil {
		return ""
	}
	if d := *f.p; d > 0 && d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return f.p.String()
}

func (f daysFlag) Set(s string) error {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return errors.New("want a duration such as 7d or 36h")
		}
		*f.p = time.Duration(days) * 24 * time.Hour
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration such as 7d or 36h")
	}
	*f.p = d
	return nil
}

// newFunctionLogs returns a FunctionLog factory that writes every function's
// log stream to w, one whole line at a time, prefixed with the function's
// name: "[hello] START RequestId: ...".
func newFunctionLogs(w io.Writer) func(string) io.Writer {
	mu := new(sync.Mutex)
	return func(name string) io.Writer {
		return &prefixWriter{mu: mu, w: w, prefix: []byte("[" + name + "] ")}
	}
}

// prefixWriter buffers a partial line until its newline arrives.
type prefixWriter struct {
	mu      *sync.Mutex // shared by all functions' writers
	w       io.Writer
	prefix  []byte
	partial []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	n := len(b)
	p.partial = append(p.partial, b...)
	var out []byte
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		out = append(out, p.prefix...)
		out = append(out, p.partial[:i+1]...)
		p.partial = p.partial[i+1:]
	}
	if len(p.partial) > 64<<10 { // a very long line without newline: flush it
		out = append(append(append(out, p.prefix...), p.partial...), '\n')
		p.partial = p.partial[:0]
	}
	if len(out) > 0 {
		p.mu.Lock()
		_, err := p.w.Write(out)
		p.mu.Unlock()
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
