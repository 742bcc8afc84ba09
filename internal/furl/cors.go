package furl

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice"
)

// corsResponseHeaders are the CORS headers of an actual response; when the
// URL has a CORS configuration, the configuration decides them and the
// function's are dropped ("If there are conflicting headers, the
// configured CORS headers on the function URL take precedence").
var corsResponseHeaders = []string{
	"Access-Control-Allow-Origin",
	"Access-Control-Allow-Credentials",
	"Access-Control-Expose-Headers",
	"Access-Control-Allow-Methods",
	"Access-Control-Allow-Headers",
	"Access-Control-Max-Age",
}

// IsPreflight reports whether r is a CORS preflight request: OPTIONS with
// Origin and Access-Control-Request-Method.
func IsPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// Preflight answers a CORS preflight request from the URL's configuration
// c. It handles the request (handled true; the front end answers 200 with
// header and an empty body, without invoking the function) when c is not
// nil and r is a preflight request; a URL without CORS configuration
// passes OPTIONS requests to its function.
//
// When the origin, the method and every requested header are allowed,
// header carries Access-Control-Allow-Origin ("*" when AllowOrigins has
// "*" and credentials are not allowed, else the request's Origin),
// -Allow-Methods and -Allow-Headers (the configured lists; for "*" the
// requested method and headers, which also works with credentials),
// -Allow-Credentials "true" when allowed, -Max-Age when MaxAge > 0, and
// Vary. Otherwise header has no CORS headers, and the browser refuses the
// request.
func Preflight(c *sluice.Cors, r *http.Request) (handled bool, header http.Header) {
	if c == nil || !IsPreflight(r) {
		return false, nil
	}
	header = make(http.Header)
	header.Set("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
	origin := r.Header.Get("Origin")
	method := r.Header.Get("Access-Control-Request-Method")
	requested := splitList(r.Header.Values("Access-Control-Request-Headers"))
	if !originAllowed(c, origin) || !listed(c.AllowMethods, method) {
		return true, header
	}
	for _, h := range requested {
		if !listed(c.AllowHeaders, h) {
			return true, header
		}
	}
	header.Set("Access-Control-Allow-Origin", allowOrigin(c, origin))
	if slices.Contains(c.AllowMethods, "*") {
		header.Set("Access-Control-Allow-Methods", method)
	} else {
		header.Set("Access-Control-Allow-Methods", strings.Join(c.AllowMethods, ", "))
	}
	switch {
	case slices.Contains(c.AllowHeaders, "*"):
		if len(requested) > 0 {
			header.Set("Access-Control-Allow-Headers", strings.Join(requested, ", "))
		}
	case len(c.AllowHeaders) > 0:
		header.Set("Access-Control-Allow-Headers", strings.Join(c.AllowHeaders, ", "))
	}
	if c.AllowCredentials {
		header.Set("Access-Control-Allow-Credentials", "true")
	}
	if c.MaxAge > 0 {
		header.Set("Access-Control-Max-Age", strconv.Itoa(c.MaxAge))
	}
	return true, header
}

// ApplyCORS sets the CORS headers of an actual (not preflight) response to
// a request r for a URL whose CORS configuration is c, in header, the
// response's headers (the function's). With c nil it changes nothing: the
// function's own CORS headers pass. Otherwise the function's CORS headers
// are replaced: when r has an allowed Origin, header gets
// Access-Control-Allow-Origin, -Expose-Headers (when configured) and
// -Allow-Credentials (when allowed); and Vary: Origin when the answer
// depends on the origin.
func ApplyCORS(c *sluice.Cors, r *http.Request, header http.Header) {
	if c == nil {
		return
	}
	for _, h := range corsResponseHeaders {
		header.Del(h)
	}
	origin := r.Header.Get("Origin")
	if origin == "" || !originAllowed(c, origin) {
		if len(c.AllowOrigins) > 0 {
			addVary(header, "Origin")
		}
		return
	}
	allow := allowOrigin(c, origin)
	header.Set("Access-Control-Allow-Origin", allow)
	if allow != "*" {
		addVary(header, "Origin")
	}
	if len(c.ExposeHeaders) > 0 {
		header.Set("Access-Control-Expose-Headers", strings.Join(c.ExposeHeaders, ", "))
	}
	if c.AllowCredentials {
		header.Set("Access-Control-Allow-Credentials", "true")
	}
}

// originAllowed reports whether AllowOrigins has "*" or origin (compared
// case-insensitively: scheme and host are).
func originAllowed(c *sluice.Cors, origin string) bool {
	for _, o := range c.AllowOrigins {
		if o == "*" || strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	return false
}

// allowOrigin is the Access-Control-Allow-Origin for an allowed origin:
// "*" for a wildcard configuration without credentials (browsers refuse
// "*" with credentials), the origin otherwise.
func allowOrigin(c *sluice.Cors, origin string) string {
	if !c.AllowCredentials && slices.Contains(c.AllowOrigins, "*") {
		return "*"
	}
	return origin
}

// listed reports whether list has "*" or v, case-insensitively.
func listed(list []string, v string) bool {
	for _, x := range list {
		if x == "*" || strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// splitList splits comma-separated header values into trimmed, non-empty,
// lower-case items.
func splitList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, strings.ToLower(item))
			}
		}
	}
	return out
}

// addVary adds token to the Vary header unless it is there.
func addVary(h http.Header, token string) {
	for _, v := range splitList(h.Values("Vary")) {
		if strings.EqualFold(v, token) || v == "*" {
			return
		}
	}
	h.Add("Vary", token)
}
