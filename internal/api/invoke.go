package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/eventstream"
	"github.com/sluice-dev/sluice/internal/service"
)

// Invocation types and log types of the invoke operations.
const (
	invokeRequestResponse = "RequestResponse"
	invokeEvent           = "Event"
	invokeDryRun          = "DryRun"
)

// invokeParams is a validated invoke request, before it runs.
type invokeParams struct {
	// svc is the Service of the request's scope.
	svc *service.Service
	// run is what runs: the version the qualifier and the alias's routing
	// picked, as it serves now.
	run            *service.Runnable
	invocationType string
	tail           bool
	invocation     sluice.Invocation
}

// parseInvoke validates an Invoke or InvokeWithResponseStream request in
// Lambda's order: model constraints (ValidationException), then the
// function's existence, then the payload and client context.
func (s *Server) parseInvoke(r *http.Request, body []byte, stream bool) (*invokeParams, error) {
	var v sluice.Violations
	qualifier := r.URL.Query().Get("Qualifier")
	sluice.ValidateQualifier(qualifier, &v)
	ref, _ := sluice.ParseFunctionName(r.PathValue("name"), &v)
	p := &invokeParams{invocationType: r.Header.Get("X-Amz-Invocation-Type")}
	allowed := "[Event, RequestResponse, DryRun]"
	if stream {
		allowed = "[RequestResponse, DryRun]"
	}
	switch p.invocationType {
	case "":
		p.invocationType = invokeRequestResponse
	case invokeRequestResponse, invokeDryRun:
	case invokeEvent:
		if stream {
			v.Add(p.invocationType, "invocationType", "Member must satisfy enum value set: "+allowed)
		}
	default:
		v.Add(p.invocationType, "invocationType", "Member must satisfy enum value set: "+allowed)
	}
	switch lt := r.Header.Get("X-Amz-Log-Type"); lt {
	case "", "None":
	case "Tail":
		p.tail = true
	default:
		v.Add(lt, "logType", "Member must satisfy enum value set: [None, Tail]")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}

	ctx := r.Context()
	var err error
	if p.svc, err = s.service(r, ref); err != nil {
		return nil, err
	}
	if p.run, err = p.svc.ResolveRunnable(ctx, ref, qualifier); err != nil {
		return nil, err
	}
	// The caller's trace: its lineage counts recursive loops (service.Lineage).
	p.invocation = sluice.Invocation{RequestID: requestID(ctx), TraceID: r.Header.Get("X-Amzn-Trace-Id")}
	if p.invocationType == invokeEvent && len(body) > sluice.MaxAsyncPayload {
		return nil, sluice.Errorf(sluice.ERequestTooLarge, "Request must be smaller than %d bytes for the InvokeAsync operation", sluice.MaxAsyncPayload)
	}
	if p.invocation.Payload, err = payload(body); err != nil {
		return nil, err
	}
	if cc := r.Header.Get("X-Amz-Client-Context"); cc != "" {
		if p.invocation.ClientContext, err = clientContext(cc); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// payload checks that the request body is UTF-8 JSON. An empty body is the
// empty object, as Lambda hands it to the runtime.
func payload(body []byte) ([]byte, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return []byte("{}"), nil
	}
	if !utf8.Valid(body) {
		return nil, sluice.Errorf(sluice.EInvalidContent, "Could not parse request body into json: Could not parse payload into json: Invalid UTF-8 byte sequence")
	}
	if !json.Valid(body) {
		var x any
		err := json.Unmarshal(body, &x)
		return nil, sluice.Errorf(sluice.EInvalidContent, "Could not parse request body into json: Could not parse payload into json: %v", err)
	}
	return body, nil
}

// clientContext decodes X-Amz-Client-Context: base64 of a JSON object, at
// most sluice.MaxClientContext bytes as sent.
func clientContext(h string) ([]byte, error) {
	invalid := sluice.Errorf(sluice.EInvalidContent, "Client context must be a valid Base64-encoded JSON object.")
	if len(h) > sluice.MaxClientContext {
		return nil, sluice.Errorf(sluice.EInvalidContent, "Client context must be smaller than %d bytes.", sluice.MaxClientContext+1)
	}
	dec, err := base64.StdEncoding.DecodeString(h)
	if err != nil {
		return nil, invalid
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(dec, &obj); err != nil || obj == nil {
		return nil, invalid
	}
	return dec, nil
}

// invoke serves Invoke (POST /2015-03-31/functions/{name}/invocations).
func (s *Server) invoke(w http.ResponseWriter, r *http.Request, body []byte) error {
	p, err := s.parseInvoke(r, body, false)
	if err != nil {
		return err
	}
	switch p.invocationType {
	case invokeDryRun:
		w.WriteHeader(http.StatusNoContent)
		return nil
	case invokeEvent:
		if err := p.svc.InvokeAsync(r.Context(), p.run, p.invocation); err != nil {
			return err
		}
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	out, err := p.svc.Invoke(r.Context(), p.run, p.invocation)
	if err != nil {
		return err
	}
	// Buffered: gather up to the response limit; past it the function's
	// output is discarded (Close drains it) and the caller gets Lambda's
	// Function.ResponseSizeTooLarge error.
	var buf bytes.Buffer
	_, readErr := buf.ReadFrom(io.LimitReader(out, sluice.MaxBufferedResponse+1))
	tooLarge := readErr == nil && buf.Len() > sluice.MaxBufferedResponse
	out.Close()
	res := out.Result()

	h := w.Header()
	h.Set("X-Amz-Executed-Version", p.run.ExecutedVersion())
	if p.tail {
		h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString(res.LogTail))
	}
	h.Set("Content-Type", "application/json")
	result := buf.Bytes()
	switch {
	case res.Err != nil:
		h.Set("X-Amz-Function-Error", "Unhandled")
		result = res.Err.Payload
	case tooLarge:
		h.Set("X-Amz-Function-Error", "Unhandled")
		result = responseTooLarge()
	case readErr != nil:
		return readErr
	}
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(result)
	return err
}

func responseTooLarge() []byte {
	b, _ := json.Marshal(map[string]string{
		"errorType":    "Function.ResponseSizeTooLarge",
		"errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
	})
	return b
}

// invokeStream serves InvokeWithResponseStream
// (POST /2021-11-15/functions/{name}/response-streaming-invocations).
//
// Errors found before the function runs are ordinary HTTP errors. Once the
// 200 is out, the runtime's bytes are relayed as PayloadChunks the moment
// they arrive (writeChunks), and the stream always ends with InvokeComplete, which
// carries the function's error (ErrorCode = error type, ErrorDetails = the
// error document) and, for LogType=Tail, the log tail.
func (s *Server) invokeStream(w http.ResponseWriter, r *http.Request, body []byte) error {
	p, err := s.parseInvoke(r, body, true)
	if err != nil {
		return err
	}
	if p.invocationType == invokeDryRun {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	out, err := p.svc.Invoke(r.Context(), p.run, p.invocation)
	if err != nil {
		return err
	}
	defer out.Close()

	h := w.Header()
	h.Set("Content-Type", "application/vnd.amazon.eventstream")
	h.Set("X-Amz-Executed-Version", p.run.ExecutedVersion())
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	ew := eventstream.NewWriter(w, rc.Flush)
	if err := rc.Flush(); err != nil {
		return err // the client is gone; Close lets the function finish
	}

	tooLarge, clientErr := writeChunks(ew, out)
	out.Close()
	if clientErr != nil {
		return clientErr
	}
	res := out.Result()
	var c eventstream.Complete
	switch {
	case tooLarge:
		c.ErrorCode = "Function.ResponseSizeTooLarge"
		c.ErrorDetails = `{"errorType":"Function.ResponseSizeTooLarge","errorMessage":"Response payload size exceeded maximum allowed payload size (209715200 bytes)."}`
	case res.Err != nil:
		c.ErrorCode = res.Err.Type
		c.ErrorDetails = string(res.Err.Payload)
	}
	if p.tail {
		c.LogResult = base64.StdEncoding.EncodeToString(res.LogTail)
	}
	return ew.Complete(c)
}
