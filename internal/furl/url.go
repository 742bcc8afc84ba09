package furl

import (
	"crypto/rand"
	"net"
	"regexp"
	"strings"

	"github.com/sluice-dev/sluice"
)

// urlIDAlphabet is the alphabet of URL ids: lowercase letters and digits,
// as AWS's (and LocalStack's generate_random_url_id).
const urlIDAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// PathPrefix starts the path-style form of a function URL, for clients
// that cannot resolve <url-id>.lambda-url.<region>.localhost:
// http://<host:port>/lambda-url/<url-id>/<path>.
const PathPrefix = "/lambda-url/"

var (
	urlIDRE  = regexp.MustCompile(`^[a-z0-9]{32}$`)
	regionRE = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+$`)
)

// NewURLID returns a random URL id: sluice.URLIDLength characters from
// lowercase letters and digits, uniformly (about 165 bits).
func NewURLID() string {
	b := make([]byte, 0, sluice.URLIDLength)
	var buf [64]byte
	for len(b) < sluice.URLIDLength {
		_, _ = rand.Read(buf[:]) // crypto/rand.Read never fails on supported platforms
		for _, x := range buf {
			// 252 = 7 * 36: rejecting larger values keeps the choice uniform.
			if x < 252 && len(b) < sluice.URLIDLength {
				b = append(b, urlIDAlphabet[x%36])
			}
		}
	}
	return string(b)
}

// ValidURLID reports whether s has the shape of a URL id.
func ValidURLID(s string) bool { return urlIDRE.MatchString(s) }

// URL returns the host-style URL of a function URL as sluice serves it:
// http://<url-id>.lambda-url.<region>.localhost:<port>/. Browsers resolve
// every *.localhost name to the loopback address (RFC 6761), so the URL
// works without DNS set-up when sluice listens on loopback.
func URL(urlID, region, port string) string {
	return "http://" + urlID + ".lambda-url." + region + ".localhost:" + port + "/"
}

// PathURL returns the path-style URL of a function URL on the server at
// base (scheme and authority, e.g. "http://127.0.0.1:9001"):
// <base>/lambda-url/<url-id>/. A request to <base>/lambda-url/<url-id>/p?q
// is served as the request for path /p?q of the host-style URL.
func PathURL(base, urlID string) string {
	return strings.TrimSuffix(base, "/") + PathPrefix + urlID + "/"
}

// ParseHost returns the URL id and region of a request's Host when it
// names a function URL: <url-id>.lambda-url.<region>.<any domain>[:port]
// (the domain is not checked, so the URL can be reached through another
// name that resolves to sluice). Host names are case-insensitive; the id
// is returned in lower case.
func ParseHost(host string) (urlID, region string, ok bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	labels := strings.SplitN(host, ".", 4)
	if len(labels) != 4 || labels[1] != "lambda-url" || labels[3] == "" {
		return "", "", false
	}
	if !ValidURLID(labels[0]) || !regionRE.MatchString(labels[2]) {
		return "", "", false
	}
	return labels[0], labels[2], true
}

// ParsePath returns the URL id and the function's path of a path-style
// request path (escaped, as url.URL.EscapedPath returns it):
// /lambda-url/<url-id> and /lambda-url/<url-id>/ give path "/", and
// /lambda-url/<url-id>/a/b gives "/a/b". The id is matched
// case-insensitively and returned in lower case.
func ParsePath(escapedPath string) (urlID, path string, ok bool) {
	rest, found := strings.CutPrefix(escapedPath, PathPrefix)
	if !found {
		return "", "", false
	}
	id, path, _ := strings.Cut(rest, "/")
	id = strings.ToLower(id)
	if !ValidURLID(id) {
		return "", "", false
	}
	return id, "/" + path, true
}
