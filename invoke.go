package sluice

import (
	"context"
	"io"
	"time"
)

// Payload limits (Lambda's).
const (
	// MaxSyncPayload is the largest request payload of a synchronous invoke.
	MaxSyncPayload = 6 * 1024 * 1024
	// MaxAsyncPayload is the largest request payload of an Event invoke.
	MaxAsyncPayload = 1024 * 1024
	// MaxBufferedResponse is the largest buffered (Invoke) response.
	MaxBufferedResponse = 6*1024*1024 + 100
	// MaxStreamedResponse is the largest streamed response.
	MaxStreamedResponse = 200 * 1024 * 1024
	// MaxClientContext is the largest X-Amz-Client-Context header value.
	MaxClientContext = 3583
	// LogTailSize is how much of an invocation's log LogType=Tail returns.
	LogTailSize = 4096
)

// Invocation is one request to run a function, as handed to an execution
// environment and, through the Runtime API, to the function's runtime.
type Invocation struct {
	RequestID string
	// InvokedFunctionARN is the ARN as the caller named the function
	// (qualified when the caller qualified it).
	InvokedFunctionARN string
	Payload            []byte
	// ClientContext is the decoded client-context JSON, or nil.
	ClientContext []byte
	// CognitoIdentity is the Cognito identity JSON, or nil.
	CognitoIdentity []byte
	TraceID         string
	// Deadline is when the invocation times out: the execution
	// environment sets it from the function's timeout when the runtime
	// takes the invocation (GET /next), as Lambda does.
	Deadline time.Time
}

// FunctionError is a failed invocation as the caller sees it: the function
// or its runtime reported an error, or the platform ended it (timeout,
// crash). It is not a service error: Invoke still answers 200.
type FunctionError struct {
	// Type is the error type, e.g. "errorString", "Runtime.ExitError",
	// "Sandbox.Timedout".
	Type string
	// Payload is the error document (JSON) as the runtime sent it or as the
	// platform built it: {"errorType":...,"errorMessage":...}.
	Payload []byte
}

func (e *FunctionError) Error() string { return e.Type + ": " + string(e.Payload) }

// Result is the outcome of an invocation, known once its output has been
// read to the end or closed.
type Result struct {
	// Err is nil when the function succeeded.
	Err *FunctionError
	// LogTail is the last LogTailSize bytes of the invocation's log
	// (START to REPORT).
	LogTail []byte
}

// Output is the response of a running invocation. The bytes the function
// writes are read from it as they are written.
//
// The holder must call Close exactly once. Close stops delivery to the
// caller but lets the function run to completion or to its deadline (its
// output is discarded), then releases the execution environment. Result
// is valid after Close returned. The function's deadline ends the
// invocation and releases its environment even while the holder neither
// reads nor closes; Read then returns io.EOF.
type Output interface {
	io.Reader
	// ContentType is the content type the function declared.
	ContentType() string
	Close() error
	Result() Result
}

// InvokeRequest asks an Invoker to run a resolved function.
type InvokeRequest struct {
	// Scope is the function's: its region and account (AWS_REGION, its
	// concurrency accounting, its own execution environments).
	Scope Scope
	// Function is the version that runs (already resolved from an alias
	// and, during an update, the configuration that serves).
	Function   *Function
	Invocation Invocation
}

// EnvironmentKey is the key of a version's execution environments: warm
// environments are kept, reused and retired per function version of one
// scope, so that functions of the same name in two scopes never share one.
func EnvironmentKey(scope Scope, function, version string) string {
	return scope.String() + "/" + function + ":" + version
}

// Invoker runs functions.
type Invoker interface {
	// Invoke starts req and returns its output once the runtime starts to
	// respond (or has failed). Errors (before any output): EThrottled when
	// no execution environment is free, EServiceUnavailable when shutting
	// down, EInternal.
	Invoke(ctx context.Context, req InvokeRequest) (Output, error)
	// InvokeAsync queues req (InvocationType Event) and returns at once.
	InvokeAsync(req InvokeRequest) error
	// Retire stops the idle execution environments of one version of the
	// named function of scope and marks its busy ones to stop when their
	// invocation ends; called when $LATEST's code or configuration changes
	// or a version or the function is deleted. Environments built from keep
	// (a Function.Fingerprint; "" keeps none) are spared: an invocation
	// that already runs the new deployment while the change settles stays
	// warm.
	Retire(scope Scope, functionName, version, keep string)
}

// QueuedEvent is an accepted asynchronous invocation (InvocationType
// Event): the function as the caller named it, resolved again when the
// event is delivered.
type QueuedEvent struct {
	Scope     Scope
	Function  string // the function's name
	Qualifier string // as the caller gave it; "" for none
	// Invocation carries the RequestID, InvokedFunctionARN, Payload,
	// ClientContext and TraceID (with the lineage of this invocation).
	Invocation Invocation
}

// EventQueue keeps accepted Event invocations until they are delivered.
type EventQueue interface {
	// Enqueue stores ev durably: once it returns nil, the event is
	// delivered at least once, whatever happens to the process. An error
	// means it was not accepted.
	Enqueue(ctx context.Context, ev QueuedEvent) error
}

// Log attribute keys, for log/slog.
const (
	LogKeyRequestID = "request_id"
	LogKeyFunction  = "function"
	LogKeyEnv       = "env"
)

// Credentials are temporary AWS credentials: those an execution
// environment gets for its function's execution role.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
	Expiration                                 time.Time
}
