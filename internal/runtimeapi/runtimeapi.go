// Package runtimeapi serves the Lambda Runtime API (2018-06-01) that a
// function's runtime calls from inside its execution environment:
//
//	GET  /2018-06-01/runtime/invocation/next
//	POST /2018-06-01/runtime/invocation/{id}/response   (buffered or streaming, trailers)
//	POST /2018-06-01/runtime/invocation/{id}/error
//	POST /2018-06-01/runtime/init/error
//
// It owns the wire details (Lambda-Runtime-* headers, error trailers, the
// runtime-facing error JSON) and nothing else: what an invocation is and
// where a response goes is the Backend's business (package sandbox).
//
// Every /response body is treated as a stream, whatever the runtime says:
// aws-lambda-go sends every response chunked with trailers declared and never
// sends Lambda-Runtime-Function-Response-Mode.
package runtimeapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice"
)

// Header names of the Runtime API.
const (
	HeaderRequestID       = "Lambda-Runtime-Aws-Request-Id"
	HeaderDeadlineMs      = "Lambda-Runtime-Deadline-Ms"
	HeaderFunctionARN     = "Lambda-Runtime-Invoked-Function-Arn"
	HeaderTraceID         = "Lambda-Runtime-Trace-Id"
	HeaderClientContext   = "Lambda-Runtime-Client-Context"
	HeaderCognitoIdentity = "Lambda-Runtime-Cognito-Identity"
	HeaderResponseMode    = "Lambda-Runtime-Function-Response-Mode"
	HeaderErrorType       = "Lambda-Runtime-Function-Error-Type"
	HeaderErrorBody       = "Lambda-Runtime-Function-Error-Body"
)

// MaxErrorBody is the largest /error or /init/error body accepted.
const MaxErrorBody = 1 << 20

// Backend is the execution environment behind one Runtime API server.
// Methods return *Error values to choose the runtime-facing status; any
// other error is answered 500.
type Backend interface {
	// Next blocks until an invocation is available for the runtime and
	// returns it, or returns an error when ctx ends (the runtime went
	// away) or the environment is stopping.
	Next(ctx context.Context) (*sluice.Invocation, error)
	// Respond hands the response of invocation id to its caller and
	// blocks until the caller is done with resp.Body (or ctx ends).
	Respond(ctx context.Context, id string, resp *Response) error
	// Fail reports that invocation id failed with ferr.
	Fail(ctx context.Context, id string, ferr *sluice.FunctionError) error
	// InitError reports that the runtime failed to initialise.
	InitError(ctx context.Context, ferr *sluice.FunctionError) error
}

// Response is a runtime's response to one invocation, read as it arrives.
type Response struct {
	ContentType string
	// Streaming is true when the runtime declared
	// Lambda-Runtime-Function-Response-Mode: streaming.
	Streaming bool
	// Body is the runtime's request body.
	Body    io.Reader
	trailer func() http.Header
}

// Err returns the error the runtime declared in the
// Lambda-Runtime-Function-Error-Type / -Error-Body trailers, or nil. It is
// valid only after Body returned io.EOF.
func (r *Response) Err() *sluice.FunctionError {
	if r.trailer == nil {
		return nil
	}
	t := r.trailer()
	typ := t.Get(HeaderErrorType)
	if typ == "" {
		return nil
	}
	var payload []byte
	if b := t.Get(HeaderErrorBody); b != "" {
		if dec, err := base64.StdEncoding.DecodeString(b); err == nil && json.Valid(dec) {
			payload = dec
		}
	}
	return NewFunctionError(typ, payload, "")
}

// NewFunctionError builds a FunctionError of type typ. payload is the
// runtime's error document; when it is empty or not JSON, a document
// {"errorType":typ,"errorMessage":message} is built instead.
func NewFunctionError(typ string, payload []byte, message string) *sluice.FunctionError {
	if len(payload) == 0 || !json.Valid(payload) {
		if message == "" && len(payload) > 0 {
			message = string(payload)
		}
		payload, _ = json.Marshal(struct {
			ErrorType    string `json:"errorType"`
			ErrorMessage string `json:"errorMessage"`
		}{typ, message})
	}
	return &sluice.FunctionError{Type: typ, Payload: payload}
}

// Error is a Runtime API error as the runtime sees it.
type Error struct {
	Status  int
	Type    string
	Message string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// The Runtime API's error table (the RIE's names and statuses).
var (
	ErrInvalidRequestID       = &Error{http.StatusBadRequest, "InvalidRequestID", "Invalid request ID"}
	ErrInvalidResponseMode    = &Error{http.StatusBadRequest, "InvalidFunctionResponseMode", "Invalid function response mode"}
	ErrInvalidStateTransition = &Error{http.StatusForbidden, "InvalidStateTransition", "State transition is not allowed"}
	ErrTooLarge               = &Error{http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Request body is too large"}
	ErrShuttingDown           = &Error{http.StatusGone, "EnvironmentShuttingDown", "The execution environment is shutting down"}
	errInternal               = &Error{http.StatusInternalServerError, "InternalError", "Internal error"}
)

// Handler serves the Runtime API of one execution environment.
type Handler struct {
	backend Backend
	log     *slog.Logger
	mux     *http.ServeMux
}

// NewHandler returns a Handler serving b. log may be nil.
func NewHandler(b Backend, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{backend: b, log: log, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", h.wrap(h.next))
	h.mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", h.wrap(h.response))
	h.mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", h.wrap(h.error))
	h.mux.HandleFunc("POST /2018-06-01/runtime/init/error", h.wrap(h.initError))
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) wrap(fn func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := fn(w, r)
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			if r.Context().Err() != nil {
				return // the runtime went away; nobody to answer
			}
			h.log.Warn("runtime api", "path", r.URL.Path, "err", err)
			e = errInternal
		}
		writeJSON(w, e.Status, map[string]string{"errorType": e.Type, "errorMessage": e.Message})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func accepted(w http.ResponseWriter) error {
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
	return nil
}

func (h *Handler) next(w http.ResponseWriter, r *http.Request) error {
	inv, err := h.backend.Next(r.Context())
	if err != nil {
		return err
	}
	hd := w.Header()
	hd.Set(HeaderRequestID, inv.RequestID)
	hd.Set(HeaderDeadlineMs, strconv.FormatInt(inv.Deadline.UnixMilli(), 10))
	hd.Set(HeaderFunctionARN, inv.InvokedFunctionARN)
	hd.Set(HeaderTraceID, inv.TraceID)
	if len(inv.ClientContext) > 0 {
		hd.Set(HeaderClientContext, string(inv.ClientContext))
	}
	if len(inv.CognitoIdentity) > 0 {
		hd.Set(HeaderCognitoIdentity, string(inv.CognitoIdentity))
	}
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(inv.Payload)))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(inv.Payload)
	return err
}

func (h *Handler) response(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	resp := &Response{
		ContentType: r.Header.Get("Content-Type"),
		Body:        r.Body,
		trailer:     func() http.Header { return r.Trailer },
	}
	if resp.ContentType == "" {
		resp.ContentType = "application/octet-stream"
	}
	switch mode := strings.ToLower(r.Header.Get(HeaderResponseMode)); mode {
	case "":
	case "streaming":
		resp.Streaming = true
	case "buffered":
	default:
		ferr := NewFunctionError("Runtime.InvalidResponseModeHeader", nil,
			"Invalid value for "+HeaderResponseMode+" header: "+mode)
		if err := h.backend.Fail(r.Context(), id, ferr); err != nil {
			return err
		}
		return ErrInvalidResponseMode
	}
	if err := h.backend.Respond(r.Context(), id, resp); err != nil {
		return err
	}
	return accepted(w)
}

// readErrorBody reads an /error or /init/error request into a FunctionError:
// type from the Lambda-Runtime-Function-Error-Type header, else from the
// document's errorType, else "Unhandled".
func readErrorBody(r *http.Request) (*sluice.FunctionError, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxErrorBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > MaxErrorBody {
		return nil, ErrTooLarge
	}
	typ := r.Header.Get(HeaderErrorType)
	if typ == "" {
		var doc struct {
			ErrorType string `json:"errorType"`
		}
		if json.Unmarshal(body, &doc) == nil {
			typ = doc.ErrorType
		}
	}
	if typ == "" {
		typ = "Unhandled"
	}
	return NewFunctionError(typ, body, ""), nil
}

func (h *Handler) error(w http.ResponseWriter, r *http.Request) error {
	ferr, err := readErrorBody(r)
	if err != nil {
		return err
	}
	if err := h.backend.Fail(r.Context(), r.PathValue("id"), ferr); err != nil {
		return err
	}
	return accepted(w)
}

func (h *Handler) initError(w http.ResponseWriter, r *http.Request) error {
	ferr, err := readErrorBody(r)
	if err != nil {
		return err
	}
	if err := h.backend.InitError(r.Context(), ferr); err != nil {
		return err
	}
	return accepted(w)
}
