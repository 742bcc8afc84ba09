package api

import (
	"net/http"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/service"
)

// The qualifier resolution itself is the service's (service.Resolve); this
// file reads what names a function in a request.

// parseRef validates the {name} path value and the Qualifier query
// parameter of a read or invoke operation into v (the qualifier first, as
// Lambda lists it).
func parseRef(r *http.Request, v *sluice.Violations) (sluice.FunctionRef, string) {
	qualifier := r.URL.Query().Get("Qualifier")
	sluice.ValidateQualifier(qualifier, v)
	ref, _ := sluice.ParseFunctionName(r.PathValue("name"), v)
	return ref, qualifier
}

// writeTarget parses the {name} of a write operation (the strict pattern)
// into v; after v was checked, the service applies the semantic rules.
func writeTarget(r *http.Request, v *sluice.Violations) sluice.FunctionRef {
	ref, _ := sluice.ParseStrictFunctionName(r.PathValue("name"), v)
	return ref
}

// targetConfiguration renders the version t names, with the FunctionArn
// qualified as the caller qualified it (an alias ARN for an alias), as
// Lambda does.
func targetConfiguration(scope sluice.Scope, t *service.Target) functionConfiguration {
	c := configurationOf(scope, t.Function)
	c.FunctionArn = t.InvokedARN
	return c
}
