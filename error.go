package sluice

import (
	"errors"
	"fmt"
	"strings"
)

// ErrorCode classifies an Error. Each protocol adapter owns one table that
// maps codes to its wire form (for the Lambda API: HTTP status and
// X-Amzn-ErrorType).
type ErrorCode string

// Error codes. The comment names the Lambda exception the API renders.
const (
	ENotFound             ErrorCode = "not_found"              // ResourceNotFoundException, 404
	EConflict             ErrorCode = "conflict"               // ResourceConflictException, 409
	EInvalidParameter     ErrorCode = "invalid_parameter"      // InvalidParameterValueException, 400
	EValidation           ErrorCode = "validation"             // ValidationException, 400
	EInvalidContent       ErrorCode = "invalid_content"        // InvalidRequestContentException, 400
	EInvalidZip           ErrorCode = "invalid_zip"            // InvalidZipFileException, 502
	ERequestTooLarge      ErrorCode = "request_too_large"      // RequestTooLargeException, 413
	EEntityTooLarge       ErrorCode = "entity_too_large"       // RequestEntityTooLargeException, 413
	EUnsupportedMedia     ErrorCode = "unsupported_media"      // UnsupportedMediaTypeException, 415
	EThrottled            ErrorCode = "throttled"              // TooManyRequestsException, 429
	EPrecondition         ErrorCode = "precondition_failed"    // PreconditionFailedException, 412
	EAccessDenied         ErrorCode = "access_denied"          // AccessDeniedException, 403
	EUnknownOperation     ErrorCode = "unknown_operation"      // UnknownOperationException, 404
	EMissingToken         ErrorCode = "missing_token"          // MissingAuthenticationTokenException, 403
	EUnrecognizedClient   ErrorCode = "unrecognized_client"    // UnrecognizedClientException, 403
	EExpiredToken         ErrorCode = "expired_token"          // ExpiredTokenException, 403: temporary credentials past their expiry
	EInvalidSignature     ErrorCode = "invalid_signature"      // InvalidSignatureException, 403
	ENoPublishedVersion   ErrorCode = "no_published_version"   // NoPublishedVersionException, 400
	EEFSMountFailure      ErrorCode = "efs_mount_failure"      // EFSMountFailureException, 403
	EEFSMountConnectivity ErrorCode = "efs_mount_connectivity" // EFSMountConnectivityException, 408
	EEFSIO                ErrorCode = "efs_io"                 // EFSIOException, 410
	EInvalidRuntime       ErrorCode = "invalid_runtime"        // InvalidRuntimeException, 502
	ECodeStorageExceeded  ErrorCode = "code_storage_exceeded"  // CodeStorageExceededException, 400
	EPolicyLengthExceeded ErrorCode = "policy_length_exceeded" // PolicyLengthExceededException, 400
	ERecursiveInvocation  ErrorCode = "recursive_invocation"   // RecursiveInvocationException, 400
	EInternal             ErrorCode = "internal"               // ServiceException, 500
	EServiceUnavailable   ErrorCode = "unavailable"            // ServiceException, 503 (shutting down)
)

// Error is the error type services return. Message is shown to API clients
// as is, so it must not carry internal detail; wrap the cause in Err for logs.
type Error struct {
	Code    ErrorCode
	Message string
	// Reason is the machine-readable reason of a throttling error
	// (TooManyRequestsException.Reason), empty otherwise.
	Reason string
	// Untyped marks an error whose wire body has no Type member: AWS
	// answers a few so (PutFunctionConcurrency's minimum unreserved
	// concurrency, recorded).
	Untyped bool
	// Err is the underlying cause, for logs only.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCodeOf returns the code of the first *Error in err's chain, or
// EInternal when there is none (and "" for a nil error).
func ErrorCodeOf(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// Violations collects model-constraint failures of one request and renders
// them the way Lambda does in a ValidationException:
// "2 validation errors detected: Value 'x' at 'timeout' failed to satisfy
// constraint: ...; Value ...".
type Violations []string

// Add records that value at field failed constraint.
func (v *Violations) Add(value, field, constraint string) {
	*v = append(*v, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", value, field, constraint))
}

// AddNull records that a required field was missing.
func (v *Violations) AddNull(field string) {
	*v = append(*v, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", field))
}

// Err returns nil when there are no violations, else an EValidation error.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	noun := "error"
	if len(v) > 1 {
		noun = "errors"
	}
	return Errorf(EValidation, "%d validation %s detected: %s", len(v), noun, strings.Join(v, "; "))
}
