package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

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

// readBody reads the whole request body, failing with op.tooLarge when it
// is larger than op.maxBody. The body is read before authentication because
// the signature covers its hash.
func readBody(r *http.Request, op operation) ([]byte, error) {
	if r.ContentLength > op.maxBody {
		return nil, tooLarge(op)
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, op.maxBody+1)); err != nil {
		return nil, &sluice.Error{Code: sluice.EInvalidContent, Message: "Could not read the request body.", Err: err}
	}
	if int64(buf.Len()) > op.maxBody {
		return nil, tooLarge(op)
	}
	return buf.Bytes(), nil
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
