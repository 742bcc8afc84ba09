package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/sluice-dev/sluice"
)

// errorSpec is the wire form of one error code in the Lambda protocol.
type errorSpec struct {
	status    int    // HTTP status
	exception string // X-Amzn-ErrorType, the SDKs' error code
	fault     string // body "Type": "User" or "Service"
	// messageKey is the body member of the message; its casing follows
	// the Lambda model ("message" or "Message"). The SDKs match it
	// case-insensitively but other clients may not.
	messageKey string
}

// internalMessage replaces the message of every EInternal error on the
// wire; the real error only goes to the log.
const internalMessage = "An internal error occurred."

// specOf is THE error table of the Lambda protocol: it maps every
// sluice.ErrorCode to its wire form. ok is false for a code it does not
// know, which the tests rule out for the codes of the root package.
func specOf(code sluice.ErrorCode) (spec errorSpec, ok bool) {
	const user, service = "User", "Service"
	switch code {
	case sluice.ENotFound:
		return errorSpec{http.StatusNotFound, "ResourceNotFoundException", user, "Message"}, true
	case sluice.EConflict:
		return errorSpec{http.StatusConflict, "ResourceConflictException", user, "message"}, true
	case sluice.EInvalidParameter:
		return errorSpec{http.StatusBadRequest, "InvalidParameterValueException", user, "message"}, true
	case sluice.EValidation:
		// Not in the model; AWS's captured responses and the SDKs treat
		// it as a generic error, which reads either casing.
		return errorSpec{http.StatusBadRequest, "ValidationException", user, "message"}, true
	case sluice.EInvalidContent:
		return errorSpec{http.StatusBadRequest, "InvalidRequestContentException", user, "message"}, true
	case sluice.EInvalidZip:
		// A server fault in the model (502), but the package is the
		// user's: AWS sends Type "User".
		return errorSpec{http.StatusBadGateway, "InvalidZipFileException", user, "Message"}, true
	case sluice.ERequestTooLarge:
		return errorSpec{http.StatusRequestEntityTooLarge, "RequestTooLargeException", user, "message"}, true
	case sluice.EEntityTooLarge:
		return errorSpec{http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", user, "Message"}, true
	case sluice.EUnsupportedMedia:
		return errorSpec{http.StatusUnsupportedMediaType, "UnsupportedMediaTypeException", user, "message"}, true
	case sluice.EThrottled:
		return errorSpec{http.StatusTooManyRequests, "TooManyRequestsException", user, "message"}, true
	case sluice.EPrecondition:
		return errorSpec{http.StatusPreconditionFailed, "PreconditionFailedException", user, "message"}, true
	case sluice.EAccessDenied:
		return errorSpec{http.StatusForbidden, "AccessDeniedException", user, "Message"}, true
	case sluice.EUnknownOperation:
		return errorSpec{http.StatusNotFound, "UnknownOperationException", user, "Message"}, true
	case sluice.EMissingToken:
		return errorSpec{http.StatusForbidden, "MissingAuthenticationTokenException", user, "message"}, true
	case sluice.EUnrecognizedClient:
		return errorSpec{http.StatusForbidden, "UnrecognizedClientException", user, "message"}, true
	case sluice.EExpiredToken:
		return errorSpec{http.StatusForbidden, "ExpiredTokenException", user, "message"}, true
	case sluice.EInvalidSignature:
		return errorSpec{http.StatusForbidden, "InvalidSignatureException", user, "message"}, true
	case sluice.ENoPublishedVersion:
		return errorSpec{http.StatusBadRequest, "NoPublishedVersionException", user, "Message"}, true
	case sluice.EEFSMountFailure:
		return errorSpec{http.StatusForbidden, "EFSMountFailureException", user, "Message"}, true
	case sluice.EEFSMountConnectivity:
		return errorSpec{http.StatusRequestTimeout, "EFSMountConnectivityException", user, "Message"}, true
	case sluice.EEFSIO:
		return errorSpec{http.StatusGone, "EFSIOException", user, "Message"}, true
	case sluice.ECodeStorageExceeded:
		return errorSpec{http.StatusBadRequest, "CodeStorageExceededException", user, "message"}, true
	case sluice.ERecursiveInvocation:
		return errorSpec{http.StatusBadRequest, "RecursiveInvocationException", user, "Message"}, true
	case sluice.EPolicyLengthExceeded:
		return errorSpec{http.StatusBadRequest, "PolicyLengthExceededException", user, "message"}, true
	case sluice.EInvalidRuntime:
		return errorSpec{http.StatusBadGateway, "InvalidRuntimeException", service, "Message"}, true
	case sluice.EInternal:
		return errorSpec{http.StatusInternalServerError, "ServiceException", service, "Message"}, true
	case sluice.EServiceUnavailable:
		return errorSpec{http.StatusServiceUnavailable, "ServiceException", service, "Message"}, true
	}
	return errorSpec{}, false
}

// writeError renders err as a Lambda error response: the status,
// Content-Type and X-Amzn-ErrorType of its code, and a JSON body
// {"Type":..., "message"|"Message":...} (plus "Reason" for throttling).
// Errors that are not a *sluice.Error are internal: the client sees a
// generic message and the log gets the whole chain. Headers set before the
// error are dropped. requestID, when not empty, is sent as X-Amzn-RequestId.
func writeError(w http.ResponseWriter, requestID string, err error, log *slog.Logger) {
	var e *sluice.Error
	if !errors.As(err, &e) {
		e = &sluice.Error{Code: sluice.EInternal, Err: err}
	}
	spec, ok := specOf(e.Code)
	if !ok {
		log.Error("error code missing from the error table", "code", string(e.Code))
		e = &sluice.Error{Code: sluice.EInternal, Err: err}
		spec, _ = specOf(sluice.EInternal)
	}

	var msg any = e.Message
	if e.Code == sluice.EInternal {
		msg = internalMessage
	} else if e.Message == "" {
		msg = nil
	}
	if spec.status >= 500 {
		log.Error("request failed", "exception", spec.exception, "err", err)
	} else {
		log.Info("request rejected", "exception", spec.exception, "err", err)
	}

	body := map[string]any{"Type": spec.fault, spec.messageKey: msg}
	if e.Untyped {
		delete(body, "Type")
	}
	if e.Code == sluice.EThrottled && e.Reason != "" {
		body["Reason"] = e.Reason
	}
	b, merr := marshalJSON(body)
	if merr != nil { // only strings inside: cannot happen
		log.Error("encode error response", "err", merr)
	}

	h := w.Header()
	for k := range h {
		delete(h, k)
	}
	if requestID != "" {
		h.Set(headerRequestID, requestID)
	}
	h.Set("Content-Type", "application/json")
	h.Set(headerErrorType, spec.exception)
	if e.Code == sluice.EThrottled {
		// TooManyRequestsException.retryAfterSeconds: executions end
		// within their timeout; a second is a fair first retry.
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(spec.status)
	_, _ = w.Write(b)
}
