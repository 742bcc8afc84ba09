package api

import (
	"context"
	"net/http"
)

// Record is what the API learned of one request, for a middleware around
// the Server (the request log and the request metrics of cmd/sluice):
// the middleware puts an empty Record into the request's context with
// WithRecord, and the route that takes the request fills it in before its
// handler runs. It costs one context value per request.
type Record struct {
	// Operation is the Lambda operation name of the route ("Unknown" for
	// a request no operation matches); it stays "" when the request never
	// reached the Server.
	Operation string
	// Function is the function the request names in its path as given
	// (a name, a partial or a full ARN), "" for operations on none.
	Function string
	// RequestID is the request's id (X-Amzn-RequestId).
	RequestID string
}

type recordKey struct{}

// WithRecord returns ctx carrying rec, which the Server fills in.
func WithRecord(ctx context.Context, rec *Record) context.Context {
	return context.WithValue(ctx, recordKey{}, rec)
}

// RecordOf returns the Record ctx carries, nil when none.
func RecordOf(ctx context.Context) *Record {
	rec, _ := ctx.Value(recordKey{}).(*Record)
	return rec
}

// fillRecord fills in the Record of r's context, if it carries one.
func fillRecord(r *http.Request, op, id string) {
	if rec := RecordOf(r.Context()); rec != nil {
		rec.Operation, rec.RequestID, rec.Function = op, id, r.PathValue("name")
	}
}
