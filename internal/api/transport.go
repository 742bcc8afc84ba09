package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/sluice-dev/sluice"
)

// Header names of the Lambda wire protocol.
const (
	headerRequestID = "X-Amzn-RequestId"
	headerErrorType = "X-Amzn-ErrorType"
)

// responseWriter records whether a response has been started, so that the
// wrapper knows whether it may still render an error. It implements Unwrap
// so that http.ResponseController reaches the connection (deadlines, full
// duplex) and Flush/FlushError so that flushing marks the response started.
type responseWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *responseWriter) WriteHeader(code int) {
	if code >= 200 { // 1xx informational responses do not start the response
		w.wrote = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// FlushError sends any buffered data to the client; it is what
// http.ResponseController.Flush calls.
func (w *responseWriter) FlushError() error {
	w.wrote = true
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// BodyLimits bound how request bodies are read (the body is read before
// the signature is checked in full, because the signature covers its hash).
type BodyLimits struct {
	// Idle is the longest wait for the next bytes of a body.
	Idle time.Duration
	// Total is the longest a whole body may take to arrive.
	Total time.Duration
	// InFlight is the most body bytes all requests may hold at once;
	// beyond it a request gets TooManyRequestsException.
	InFlight int64
}

// DefaultBodyLimits: 30 s without a byte, 5 minutes in all (a 70 MB
// CreateFunction at about 2 Mbit/s), 512 MiB held at once.
var DefaultBodyLimits = BodyLimits{Idle: 30 * time.Second, Total: 5 * time.Minute, InFlight: 512 << 20}

func (l BodyLimits) withDefaults() BodyLimits {
	if l.Idle <= 0 {
		l.Idle = DefaultBodyLimits.Idle
	}
	if l.Total <= 0 {
		l.Total = DefaultBodyLimits.Total
	}
	if l.InFlight <= 0 {
		l.InFlight = DefaultBodyLimits.InFlight
	}
	return l
}

// bodyBudget counts the body bytes requests hold.
type bodyBudget struct {
	mu    sync.Mutex
	limit int64
	used  int64
}

// take reserves n bytes, or reports that the budget is spent.
func (b *bodyBudget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.limit {
		return false
	}
	b.used += n
	return true
}

func (b *bodyBudget) give(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

var errBodyBudget = errors.New("request bodies in flight hold the whole memory budget")

// budgetReader reserves each piece of a body from the budget as it
// arrives, and keeps each read within the idle and total deadlines.
type budgetReader struct {
	r        io.Reader
	budget   *bodyBudget
	held     int64
	rc       *http.ResponseController
	idle     time.Duration
	deadline time.Time
}

func (br *budgetReader) Read(p []byte) (int, error) {
	d := time.Now().Add(br.idle)
	if br.deadline.Before(d) {
		d = br.deadline
	}
	_ = br.rc.SetReadDeadline(d) // not every writer supports it (tests)
	n, err := br.r.Read(p)
	if n > 0 {
		if !br.budget.take(int64(n)) {
			return 0, errBodyBudget
		}
		br.held += int64(n)
	}
	return n, err
}

// readBody reads the whole request body, failing with op.tooLarge when it
// is larger than op.maxBody. The buffer grows with what arrives, never
// with what Content-Length announces; every piece is reserved from the
// server's in-flight budget (released by the returned func, once the
// request is done); a body that stalls for Bodies.Idle or takes longer
// than Bodies.Total in all ends the request.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, op operation) ([]byte, func(), error) {
	if r.ContentLength > op.maxBody {
		return nil, func() {}, tooLarge(op)
	}
	rc := http.NewResponseController(w)
	br := &budgetReader{r: io.LimitReader(r.Body, op.maxBody+1), budget: s.bodies, rc: rc,
		idle: s.cfg.Bodies.Idle, deadline: time.Now().Add(s.cfg.Bodies.Total)}
	release := func() { s.bodies.give(br.held) }
	var buf bytes.Buffer
	_, err := buf.ReadFrom(br)
	if err == nil {
		_ = rc.SetReadDeadline(time.Time{})
	}
	// After an error the deadline stays: net/http tries to read the rest
	// of an unread body before it answers, and must fail at once (then it
	// answers and closes the connection) rather than wait for a client
	// that stalls.
	switch {
	case errors.Is(err, errBodyBudget):
		return nil, release, &sluice.Error{Code: sluice.EThrottled, Message: "Rate exceeded: too many request bodies in flight.", Err: err}
	case err != nil:
		return nil, release, &sluice.Error{Code: sluice.EInvalidContent, Message: "Could not read the request body.", Err: err}
	}
	if int64(buf.Len()) > op.maxBody {
		return nil, release, tooLarge(op)
	}
	return buf.Bytes(), release, nil
}

func tooLarge(op operation) error {
	return sluice.Errorf(op.tooLarge, "Request must be smaller than %d bytes for the %s operation", op.maxBody, op.name)
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := marshalJSON(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}

// marshalJSON encodes v without HTML escaping, as the AWS services do.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
