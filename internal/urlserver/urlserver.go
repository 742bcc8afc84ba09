// Package urlserver serves Lambda function URLs over HTTP, on the same
// listener as the Lambda API: a request whose Host is
// <url-id>.lambda-url.<region>.<domain> (host style), or whose path starts
// with /lambda-url/<url-id>/ (path style, for clients that cannot resolve
// the name), is a function URL request; every other request goes to the
// next handler (the Lambda API).
//
// One request: find the URL, in whichever scope (region and account) it
// is, and what it invokes now (service.Registry.URLTarget; a host-style
// request names a region, which must be the URL's), answer a CORS
// preflight from the URL's configuration, read the body (6 MB at most),
// verify SigV4 for AWS_IAM URLs, build the payload format 2.0 event
// (furl.Event), invoke, and answer:
//
//   - BUFFERED: the function's response mapped as AWS maps it
//     (furl.MapBuffered);
//   - RESPONSE_STREAM: the status and headers of the function's prelude
//     (furl.SplitPrelude), then the body as the function writes it, what
//     arrives during one write joined into the next: never held back.
//
// A function error before any byte of the response is 502 "Internal Server
// Error", as AWS answers (recorded by LocalStack,
// test_lambda_url_invocation_exception); after the status is out, the
// connection is cut without the final chunk, so that the client sees a
// truncated response rather than a complete one. Unknown URLs are 403
// {"Message":null} with x-amzn-ErrorType AccessDeniedException, as
// recorded (test_lambda_url_non_existing_url).
package urlserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/coalesce"
	"github.com/sluice-dev/sluice/internal/furl"
	"github.com/sluice-dev/sluice/internal/iam"
	"github.com/sluice-dev/sluice/internal/service"
	"github.com/sluice-dev/sluice/internal/sigv4"
)

// Config wires a Server. Services and Next are required.
type Config struct {
	// Services finds the URL of an id in every scope, and serves it.
	Services *service.Registry
	// Verifier authenticates requests to AWS_IAM URLs (service lambda).
	// nil refuses every request to an AWS_IAM URL.
	Verifier *sigv4.Verifier
	// Principal returns who signed a request to an AWS_IAM URL; it must
	// then be allowed lambda:InvokeFunctionUrl on the URL's function
	// (iam.Authorize, with the function's resource-based policy). nil:
	// every verified request is allowed (the URL's own account).
	Principal func(sig *sigv4.Signature) (*iam.Principal, error)
	// Next serves every request that is not a function URL's.
	Next http.Handler
	// Logger receives the request log; nil discards it.
	Logger *slog.Logger
	// Now is the clock of the events' time; nil means time.Now.
	Now func() time.Time
}

// Server is the function URL front end. It is safe for concurrent use.
type Server struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
}

// New returns a Server for cfg; it panics when a required field is
// missing, which is a wiring mistake.
func New(cfg Config) *Server {
	if cfg.Services == nil || cfg.Next == nil {
		panic("urlserver: Config.Services and Config.Next are required")
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// streamPiece is the most one write of a RESPONSE_STREAM body holds: the
// bytes that arrive while the previous write is under way go out together,
// up to this many (docs/decisions.md, "Stream frames").
const streamPiece = 256 << 10

// Messages and bodies AWS's front end answers with.
const (
	msgForbidden    = `{"Message":"Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"}`
	msgNoURL        = `{"Message":null}`
	msgInternal     = "Internal Server Error"
	msgThrottled    = `{"Message":"Rate Exceeded."}`
	msgTooLarge     = `{"Message":"Request must be smaller than 6291456 bytes for the InvokeFunction operation"}`
	msgNotReady     = `{"Message":"The function is not ready to be invoked. Check its State."}`
	headerRequestID = "X-Amzn-Requestid"
	headerErrorType = "X-Amzn-Errortype"
)

// match reports whether r is a function URL request: its URL id, the path
// the function sees ("" = the request's own), the domain name of the
// event ("" for a path-style request, whose domain is the URL's) and the
// region a host-style request names ("" for a path-style one).
func (s *Server) match(r *http.Request) (urlID, rawPath, domain, region string, ok bool) {
	if id, region, ok := furl.ParseHost(r.Host); ok {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		return id, "", strings.ToLower(host), region, true
	}
	if id, path, ok := furl.ParsePath(r.URL.EscapedPath()); ok {
		return id, path, "", "", true
	}
	return "", "", "", "", false
}

// ServeHTTP serves function URL requests and hands the rest to Next.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, rawPath, domain, region, ok := s.match(r)
	if !ok {
		s.cfg.Next.ServeHTTP(w, r)
		return
	}
	reqID := sluice.NewRequestID()
	w.Header().Set(headerRequestID, reqID)
	log := s.log.With(sluice.LogKeyRequestID, reqID, "url_id", id, "host", r.Host)
	if err := s.serve(w, r, reqID, id, rawPath, domain, region, log); err != nil {
		log.Warn("function URL request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
}

// plain writes a small error answer.
func plain(w http.ResponseWriter, status int, errType, contentType, body string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	if errType != "" {
		h.Set(headerErrorType, errType)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, reqID, id, rawPath, domain, region string, log *slog.Logger) error {
	arrived := s.now()
	ctx := service.WithLogger(r.Context(), log)
	var svc *service.Service
	var cfg *sluice.FunctionURLConfig
	var run *service.Runnable
	err := service.ErrNoURL
	if id != "" {
		svc, cfg, run, err = s.cfg.Services.URLTarget(ctx, id)
	}
	if err == nil && region != "" && region != svc.Scope().Region {
		err = service.ErrNoURL // the URL of another region: none in this one
	}
	switch {
	case errors.Is(err, service.ErrNoURL):
		plain(w, http.StatusForbidden, "AccessDeniedException", "application/json", msgNoURL)
		return nil
	case err != nil:
		return s.platformError(w, err, log)
	}

	// CORS preflights are answered from the configuration, before any
	// authentication (a browser's preflight carries no credentials).
	if cfg.Cors != nil && furl.IsPreflight(r) {
		_, h := furl.Preflight(cfg.Cors, r)
		for k, v := range h {
			w.Header()[k] = v
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}

	// An AWS_IAM URL checks everything of the signature that needs no body
	// (key, date, scope) before it reads the body: an unauthenticated
	// client costs little.
	var signed *sigv4.Header
	if cfg.AuthType == sluice.URLAuthIAM {
		var herr error
		if s.cfg.Verifier != nil {
			signed, herr = s.cfg.Verifier.CheckHeader(r)
		}
		if signed == nil || herr != nil {
			plain(w, http.StatusForbidden, "AccessDeniedException", "application/json", msgForbidden)
			return nil
		}
	}
	body, err := readBody(r)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			plain(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException", "application/json", msgTooLarge)
			return nil
		}
		return err // the client went away mid-body
	}

	var caller *furl.IAMCaller
	account := furl.AnonymousAccount
	if cfg.AuthType == sluice.URLAuthIAM {
		sig, verr := signed.Verify(r, body)
		if verr == nil && sig.Region != svc.Scope().Region {
			// Signed for another region than the URL's: its credentials
			// are not for this URL, as on AWS.
			verr = fmt.Errorf("signed for region %q, the URL is in %q", sig.Region, svc.Scope().Region)
		}
		if verr != nil {
			log.Info("function URL request refused", "err", verr)
			plain(w, http.StatusForbidden, "AccessDeniedException", "application/json", msgForbidden)
			return nil
		}
		scope := svc.Scope()
		account = scope.Account
		key := accessKeyOf(r)
		caller = &furl.IAMCaller{
			AccessKey: key, AccountID: scope.Account, CallerID: key,
			UserARN: "arn:aws:iam::" + scope.Account + ":root", UserID: scope.Account,
		}
		if s.cfg.Principal != nil {
			p, err := s.authorize(ctx, svc, cfg, sig)
			if err != nil {
				log.Info("function URL request refused", "err", err)
				plain(w, http.StatusForbidden, "AccessDeniedException", "application/json", msgForbidden)
				return nil
			}
			account = p.Account
			caller = &furl.IAMCaller{AccessKey: key, AccountID: p.Account, CallerID: key, UserARN: p.ARN, UserID: key}
		}
	}

	if domain == "" {
		domain = id + ".lambda-url." + svc.Scope().Region + ".localhost"
	}
	event, err := furl.Event(r, body, furl.EventContext{
		Config: cfg, AccountID: account, RequestID: reqID, SourceIP: sourceIP(r),
		Caller: caller, RawPath: rawPath, DomainName: domain, Time: arrived,
	})
	if err != nil {
		plain(w, http.StatusBadRequest, "", "application/json", `{"Message":"Bad Request"}`)
		return err
	}
	out, err := svc.Invoke(ctx, run, sluice.Invocation{RequestID: reqID, Payload: event})
	if err != nil {
		return s.platformError(w, err, log)
	}
	defer out.Close()
	w.Header().Set("X-Amz-Executed-Version", run.ExecutedVersion())
	if cfg.InvokeModeOrDefault() == sluice.InvokeModeResponseStream {
		return s.stream(w, r, cfg, out, log)
	}
	return s.buffered(w, r, cfg, out)
}

// platformError answers an error of the platform (not of the function):
// throttling as 429, a function that cannot run yet as 503, anything else
// as 502 (AWS's answer when Lambda rejects the invocation, e.g.
// InvalidRuntimeException).
func (s *Server) platformError(w http.ResponseWriter, err error, log *slog.Logger) error {
	switch sluice.ErrorCodeOf(err) {
	case sluice.EThrottled:
		w.Header().Set("Retry-After", "1")
		plain(w, http.StatusTooManyRequests, "TooManyRequestsException", "application/json", msgThrottled)
	case sluice.EConflict:
		plain(w, http.StatusServiceUnavailable, "ResourceConflictException", "application/json", msgNotReady)
	case sluice.EServiceUnavailable:
		plain(w, http.StatusServiceUnavailable, "ServiceException", "application/json", `{"Message":"Service Unavailable"}`)
	default:
		plain(w, http.StatusBadGateway, "", "text/plain; charset=utf-8", msgInternal)
	}
	log.Info("function URL request not invoked", "err", err)
	return nil
}

// buffered answers a BUFFERED URL: the whole response (6 MB at most),
// mapped as AWS maps it.
func (s *Server) buffered(w http.ResponseWriter, r *http.Request, cfg *sluice.FunctionURLConfig, out sluice.Output) error {
	payload, readErr := io.ReadAll(io.LimitReader(out, sluice.MaxBufferedResponse+1))
	out.Close()
	res := out.Result()
	if res.Err != nil || readErr != nil || len(payload) > sluice.MaxBufferedResponse {
		plain(w, http.StatusBadGateway, "", "text/plain; charset=utf-8", msgInternal)
		return readErr
	}
	status, h, body, err := furl.MapBuffered(payload)
	if err != nil {
		plain(w, http.StatusBadGateway, "", "text/plain; charset=utf-8", msgInternal)
		return err
	}
	if cfg.Cors != nil {
		furl.ApplyCORS(cfg.Cors, r, h)
	}
	for k, v := range h {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, err = w.Write(body)
	return err
}

// stream answers a RESPONSE_STREAM URL: status and headers from the
// prelude, then the body as the function writes it: whatever has arrived
// when the previous write is done goes out as one write (up to
// streamPiece), at once, and the response is flushed whenever no more has
// arrived (coalesce.Reader).
func (s *Server) stream(w http.ResponseWriter, r *http.Request, cfg *sluice.FunctionURLConfig, out sluice.Output, log *slog.Logger) error {
	status, h, body, err := furl.SplitPrelude(out, out.ContentType())
	var piece []byte
	var rerr error
	var cr *coalesce.Reader
	if err == nil {
		cr = coalesce.New(body, streamPiece, 0, 0)
		defer cr.Stop() // before the caller's out.Close: cr reads out until Stop returns
		// Wait for the first byte (or the end): an error before it is
		// still a 502.
		piece, rerr = cr.Next()
	}
	if err != nil || (len(piece) == 0 && rerr != nil) {
		if cr != nil {
			cr.Stop()
		}
		out.Close()
		if res := out.Result(); res.Err != nil || (err != nil && !errors.Is(err, io.EOF)) {
			plain(w, http.StatusBadGateway, "", "text/plain; charset=utf-8", msgInternal)
			if err == nil {
				err = fmt.Errorf("function error: %s", res.Err.Type)
			}
			log.Info("function URL stream failed before its first byte", "err", err)
			return nil
		}
		if err != nil && h == nil { // an empty response without a prelude
			h, status = http.Header{"Content-Type": {out.ContentType()}}, http.StatusOK
		}
	}
	if cfg.Cors != nil {
		furl.ApplyCORS(cfg.Cors, r, h)
	}
	for k, v := range h {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	rc := http.NewResponseController(w)
	total := int64(0)
	for len(piece) > 0 {
		if total += int64(len(piece)); total > sluice.MaxStreamedResponse {
			log.Warn("function URL stream over the response limit: cut", "limit", sluice.MaxStreamedResponse)
			cr.Stop()
			s.abort(out)
		}
		if _, err := w.Write(piece); err != nil {
			return err // the client is gone; Close lets the function finish
		}
		if cr.Buffered() == 0 {
			if err := rc.Flush(); err != nil {
				return err
			}
		}
		piece, _ = cr.Next()
	}
	if err := rc.Flush(); err != nil {
		return err
	}
	if cr != nil {
		cr.Stop()
	}
	out.Close()
	if res := out.Result(); res.Err != nil {
		log.Info("function failed mid-stream: cutting the response", "type", res.Err.Type)
		s.abort(out)
	}
	return nil
}

// abort ends the response without its final chunk: the client sees a
// truncated body, as it does on AWS when a streaming function fails.
func (s *Server) abort(out sluice.Output) {
	out.Close()
	panic(http.ErrAbortHandler)
}

var errTooLarge = errors.New("request body too large")

// readBody reads the request body, at most sluice.MaxSyncPayload bytes.
func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > sluice.MaxSyncPayload {
		return nil, errTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, sluice.MaxSyncPayload+1))
	if err != nil {
		return nil, err
	}
	if len(b) > sluice.MaxSyncPayload {
		return nil, errTooLarge
	}
	return b, nil
}

// sourceIP is the client's address.
func sourceIP(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// accessKeyOf returns the access key id of a (verified) SigV4 request,
// from its Authorization header or X-Amz-Credential query parameter.
func accessKeyOf(r *http.Request) string {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if a := r.Header.Get("Authorization"); a != "" {
		if _, rest, ok := strings.Cut(a, "Credential="); ok {
			cred = rest
		}
	}
	key, _, _ := strings.Cut(cred, "/")
	return key
}

// authorize decides whether the signer of sig may invoke the URL c of svc's
// scope: lambda:InvokeFunctionUrl on the URL's function ARN (its alias's
// when it has one), with lambda:FunctionUrlAuthType AWS_IAM, against the
// caller's identity policy and the function's resource-based policy.
func (s *Server) authorize(ctx context.Context, svc *service.Service, c *sluice.FunctionURLConfig, sig *sigv4.Signature) (*iam.Principal, error) {
	p, err := s.cfg.Principal(sig)
	if err != nil {
		return nil, err
	}
	req := iam.Request{Action: "lambda:InvokeFunctionUrl", Resource: svc.URLFunctionARN(c),
		Context: map[string]string{"lambda:FunctionUrlAuthType": sluice.URLAuthIAM, "lambda:FunctionArn": svc.Scope().FunctionARN(c.FunctionName)}}
	var policy *iam.Policy
	if doc, err := svc.ResourcePolicy(ctx, c.FunctionName, c.Qualifier); err == nil && doc != "" {
		policy, _ = iam.ParseResourcePolicy([]byte(doc))
	}
	return p, iam.Authorize(p, svc.Scope().Account, policy, req)
}
