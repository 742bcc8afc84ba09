// Package sigv4 verifies AWS Signature Version 4 on incoming requests, as
// the Lambda API does.
//
// The verifier rebuilds the canonical request from what the client put on
// the wire and from the client's own SignedHeaders list, never from a fixed
// header set: the Go SDK signs content-length, botocore does not, the JS SDK
// adds x-amz-content-sha256 and x-amz-user-agent. Every header the client did
// not list is ignored.
//
// The canonical URI is the request path exactly as sent (function ARNs
// arrive as arn%3Aaws%3Alambda...), escaped once more per RFC 3986 with '/'
// kept, as every AWS SDK does for services other than S3. The JS SDK and
// botocore also remove "." and ".." and empty segments before escaping, the Go
// SDK does not; a path that has such segments is accepted in either form.
// Likewise header values are accepted with runs of spaces collapsed (Go SDK)
// or with runs of any white space collapsed (JS SDK, botocore), which differ
// only when a signed value holds a tab.
//
// Both header signatures (Authorization) and query signatures (presigned
// URLs, X-Amz-Signature) are accepted. The payload hash of the canonical
// request is always the hash of the body received: unsigned payloads
// (UNSIGNED-PAYLOAD, an S3 feature Lambda does not support) and chunked
// payload signing (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) are not accepted.
//
// Temporary credentials carry X-Amz-Security-Token: in the query of a
// presigned URL (covered, like every parameter, by the signature) or as a
// header, which must then be signed, as every AWS SDK signs it. A presigned
// URL is good for the clock skew (15 minutes) around its X-Amz-Date, as on
// AWS's services other than S3; a shorter X-Amz-Expires shortens it.
//
// Derived signing keys are cached per verifier (least recently used, 1024
// keys): a client's requests of one day share one.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice"
)

const (
	algorithm       = "AWS4-HMAC-SHA256"
	terminator      = "aws4_request"
	amzDateFormat   = "20060102T150405Z"
	unsignedPayload = "UNSIGNED-PAYLOAD"

	defaultService = "lambda"
	defaultMaxSkew = 15 * time.Minute
	// maxPresignExpires is the longest X-Amz-Expires AWS accepts (7 days).
	maxPresignExpires = 7 * 24 * 60 * 60
	// maxEcho caps how much of a client's Authorization header an error
	// message repeats.
	maxEcho = 512
)

// Error messages worded as AWS words them.
const (
	msgMissingToken  = "Missing Authentication Token"
	msgUnknownClient = "The security token included in the request is invalid."
	msgMismatch      = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgContentSHA = "The provided 'x-amz-content-sha256' header does not match what was computed."
)

// Verifier checks SigV4-signed requests. Its zero value rejects every
// request as signed by an unknown client; set Secret.
type Verifier struct {
	// Secret returns the secret access key of accessKeyID, presented with
	// sessionToken (X-Amz-Security-Token, "" when the request has none).
	// It refuses with a *sluice.Error: EUnrecognizedClient for an unknown
	// key or a token that does not belong to it, EExpiredToken for
	// temporary credentials that have expired.
	Secret func(accessKeyID, sessionToken string) (secret string, err error)
	// Service is the service name the credential scope must name; "" means
	// "lambda".
	Service string
	// Region, when not empty, is the only region the credential scope may
	// name. When empty, any region is accepted (the signature still covers
	// the region the client signed with).
	Region string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxSkew is how far the request's date may be from Now, either way;
	// 0 means 15 minutes.
	MaxSkew time.Duration

	// keys caches derived signing keys: one per secret, day, region and
	// service, which every request of a client shares.
	keys keyCache
}

// StaticCredentials returns a Secret func accepting exactly one key pair,
// without a session token.
func StaticCredentials(accessKeyID, secret string) func(string, string) (string, error) {
	return func(id, token string) (string, error) {
		if id != accessKeyID || token != "" {
			return "", fail(sluice.EUnrecognizedClient, msgUnknownClient)
		}
		return secret, nil
	}
}

// Signature is what a verified request was signed with.
type Signature struct {
	AccessKeyID  string
	SessionToken string // X-Amz-Security-Token, "" when none
	Region       string // of the credential scope
	Service      string
	Time         time.Time // the request's date
}

const tokenName = "X-Amz-Security-Token"

// sessionToken returns the request's X-Amz-Security-Token, "" when it has
// none. The token may be a query parameter (presigned URLs put it there;
// the canonical query covers every parameter) or a header, which must then
// be one of the signed headers: every AWS SDK signs it, and a token the
// signature does not cover could be swapped in transit. It may not be
// given twice.
func sessionToken(r *http.Request, query []queryParam, a *auth) (string, error) {
	var inQuery []string
	for _, q := range query {
		if q.key == tokenName {
			inQuery = append(inQuery, q.value)
		}
	}
	inHeader := r.Header.Values(tokenName)
	switch {
	case len(inQuery) > 1:
		return "", invalid("The query string has more than one '%s' parameter.", tokenName)
	case len(inHeader) > 1:
		return "", invalid("The request carries more than one '%s' header.", tokenName)
	case len(inQuery) == 1 && len(inHeader) == 1:
		return "", invalid("The request carries '%s' both as a header and in the query string.", tokenName)
	case len(inQuery) == 1:
		return inQuery[0], nil
	case len(inHeader) == 1:
		if !a.signs(tokenName) {
			return "", invalid("'%s' must be a 'SignedHeader' in the AWS Authorization.", tokenName)
		}
		return inHeader[0], nil
	}
	return "", nil
}

// Verify checks r (whose body has already been read into body) and returns
// nil or a *sluice.Error:
//   - sluice.EMissingToken when the request carries no signature at all;
//   - Secret's error (sluice.EUnrecognizedClient when the access key is
//     unknown or its session token is not its own, sluice.EExpiredToken
//     when its temporary credentials have expired);
//   - sluice.EInvalidSignature when the signature is malformed, scoped to
//     another service or region, outside the allowed clock skew, expired,
//     or does not match, when X-Amz-Content-Sha256 does not match body, or
//     when an X-Amz-Security-Token header is not signed.
//
// Messages are AWS's where AWS has one. The Err of a mismatch error holds
// the canonical request and string to sign sluice computed, for logs. The
// signature is compared in constant time.
func (v *Verifier) Verify(r *http.Request, body []byte) (*Signature, error) {
	h, err := v.CheckHeader(r)
	if err != nil {
		return nil, err
	}
	return h.Verify(r, body)
}

// Header is what CheckHeader found of a request's signature: its
// parameters and the key's secret. Its Verify finishes the check once the
// body is read, without parsing the signature or looking the key up again
// (for minted credentials, opening the session token again).
type Header struct {
	v      *Verifier
	path   string
	query  []queryParam
	a      *auth
	secret string
}

// CheckHeader checks everything of r's signature that does not need the
// body: the form of the Authorization header or presigned query, the
// access key, the credential scope and the date. A server calls it before
// it reads a body, so that a client without a known key, or with a stale
// or malformed signature, is refused before it can make the server hold
// its body. Its errors are Verify's; what it returns keeps what it found (the
// signature's parameters, the key's secret) for Header.Verify, which
// finishes the check once the body is read.
func (v *Verifier) CheckHeader(r *http.Request) (*Header, error) {
	path, rawQuery := requestTarget(r)
	query := parseQuery(rawQuery)
	a, secret, err := v.head(r, query)
	if err != nil {
		return nil, err
	}
	return &Header{v: v, path: path, query: query, a: a, secret: secret}, nil
}

// Verify is Verifier.Verify for the request h was checked on (r, whose
// body has now been read into body). The time is checked again: the body
// may have taken a while.
func (h *Header) Verify(r *http.Request, body []byte) (*Signature, error) {
	v, path, query, a, secret := h.v, h.path, h.query, h.a, h.secret
	if err := v.checkTime(a); err != nil {
		return nil, err
	}
	payloadHash, err := payloadHash(r, body)
	if err != nil {
		return nil, err
	}

	key := v.signingKey(secret, a.scopeDate, a.region, a.service)
	scope := a.scopeDate + "/" + a.region + "/" + a.service + "/" + terminator
	var first, firstSTS string
	for i, creq := range canonicalRequests(r, path, query, a, payloadHash) {
		sts := stringToSign(a.amzDate, scope, creq)
		// The signature is compared as sent, lower-case hex, in constant
		// time: how much of it matches says nothing.
		want := hex.EncodeToString(hmacSHA256(key, sts))
		if subtle.ConstantTimeCompare([]byte(want), []byte(a.signature)) == 1 {
			return &Signature{AccessKeyID: a.accessKey, SessionToken: a.token, Region: a.region, Service: a.service, Time: a.time}, nil
		}
		if i == 0 {
			first, firstSTS = creq, sts
		}
	}
	var note string
	if r.Header.Get("X-Amz-Content-Sha256") == unsignedPayload {
		note = " (UNSIGNED-PAYLOAD is not supported: the payload hash is the body's)"
	}
	return nil, &sluice.Error{
		Code:    sluice.EInvalidSignature,
		Message: msgMismatch,
		Err:     fmt.Errorf("canonical request %q, string to sign %q%s", first, firstSTS, note),
	}
}

// head is the part of Verify that needs no body: the signature's
// parameters, their scope, the key's secret and the time.
func (v *Verifier) head(r *http.Request, query []queryParam) (*auth, string, error) {
	a, err := v.parse(r, query)
	if err != nil {
		return nil, "", err
	}
	if err := v.checkScope(a); err != nil {
		return nil, "", err
	}
	if a.token, err = sessionToken(r, query, a); err != nil {
		return nil, "", err
	}
	if v.Secret == nil {
		return nil, "", fail(sluice.EUnrecognizedClient, msgUnknownClient)
	}
	secret, err := v.Secret(a.accessKey, a.token)
	if err != nil {
		return nil, "", err
	}
	if err := v.checkTime(a); err != nil {
		return nil, "", err
	}
	return a, secret, nil
}

// auth is what a request says about its signature.
type auth struct {
	accessKey string
	scopeDate string // YYYYMMDD from the credential
	region    string
	service   string
	// signedHeaders is the client's list, as given.
	signedHeaders    []string
	signedHeadersRaw string
	signature        string
	amzDate          string // ISO 8601 basic, as used in the string to sign
	time             time.Time
	presigned        bool
	expires          time.Duration // presigned with X-Amz-Expires only
	token            string        // X-Amz-Security-Token
}

func (v *Verifier) service() string {
	if v.Service == "" {
		return defaultService
	}
	return v.Service
}

func (v *Verifier) now() time.Time {
	if v.Now == nil {
		return time.Now()
	}
	return v.Now()
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew <= 0 {
		return defaultMaxSkew
	}
	return v.MaxSkew
}

func fail(code sluice.ErrorCode, msg string) error {
	return &sluice.Error{Code: code, Message: msg}
}

func invalid(format string, args ...any) error {
	return fail(sluice.EInvalidSignature, fmt.Sprintf(format, args...))
}

// parse extracts the signature parameters from the Authorization header or
// from the query.
func (v *Verifier) parse(r *http.Request, query []queryParam) (*auth, error) {
	headers := r.Header.Values("Authorization")
	var header string
	if len(headers) > 0 {
		header = headers[0]
	}
	header = strings.TrimSpace(header)
	inQuery := hasQueryAuth(query)
	switch {
	case len(headers) > 1:
		return nil, invalid("The request carries more than one Authorization header.")
	case header != "" && inQuery:
		return nil, invalid("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.")
	case header != "":
		return parseHeader(r, header)
	case inQuery:
		return parseQueryAuth(query)
	}
	return nil, fail(sluice.EMissingToken, msgMissingToken)
}

// Authorization is the parsed value of an AWS4-HMAC-SHA256 Authorization
// header: its three parameters, as the client gave them (trimmed).
type authorization struct {
	credential, signedHeaders, signature string
	// missing lists the messages of the parameters the header lacks.
	missing []string
}

// parseAuthorization parses the value of an Authorization header. It
// refuses another algorithm, a parameter without '=' and a parameter
// given twice; parameters it does not know are ignored, as AWS ignores
// them. A parameter the header lacks is reported in missing, for the
// caller to word with what else is missing.
func parseAuthorization(header string) (*authorization, error) {
	alg, rest, _ := strings.Cut(header, " ")
	if alg != algorithm {
		return nil, invalid("Unsupported AWS 'algorithm': '%s'; only '%s' is accepted. Authorization=%s", echo(alg), algorithm, echo(header))
	}
	p := &authorization{}
	var haveCred, haveSigned, haveSig bool
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			return nil, invalid("Invalid key=value pair (missing equal-sign) in Authorization header: '%s'. Authorization=%s", echo(part), echo(header))
		}
		var dst *string
		var seen *bool
		switch strings.TrimSpace(k) {
		case "Credential":
			dst, seen = &p.credential, &haveCred
		case "SignedHeaders":
			dst, seen = &p.signedHeaders, &haveSigned
		case "Signature":
			dst, seen = &p.signature, &haveSig
		default:
			continue // AWS ignores unknown parameters
		}
		if *seen {
			return nil, invalid("Authorization header has more than one '%s' parameter. Authorization=%s", strings.TrimSpace(k), echo(header))
		}
		*dst, *seen = strings.TrimSpace(val), true
	}
	if !haveCred {
		p.missing = append(p.missing, "Authorization header requires 'Credential' parameter.")
	}
	if !haveSig {
		p.missing = append(p.missing, "Authorization header requires 'Signature' parameter.")
	}
	if !haveSigned {
		p.missing = append(p.missing, "Authorization header requires 'SignedHeaders' parameter.")
	}
	return p, nil
}

func parseHeader(r *http.Request, header string) (*auth, error) {
	p, err := parseAuthorization(header)
	if err != nil {
		return nil, err
	}
	dateValue, dateHeader := r.Header.Get("X-Amz-Date"), "X-Amz-Date"
	if dateValue == "" {
		dateValue, dateHeader = r.Header.Get("Date"), "Date"
	}
	missing := p.missing
	if dateValue == "" {
		missing = append(missing, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if len(missing) > 0 {
		return nil, invalid("%s Authorization=%s", strings.Join(missing, " "), echo(header))
	}

	a := &auth{signature: p.signature}
	if err := a.setCredential(p.credential); err != nil {
		return nil, err
	}
	if err := a.setSignedHeaders(p.signedHeaders); err != nil {
		return nil, err
	}
	if err := a.setDate(dateValue, dateHeader == "Date"); err != nil {
		return nil, err
	}
	return a, nil
}

var queryAuthParams = []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders"}

func hasQueryAuth(query []queryParam) bool {
	for _, p := range query {
		if p.key == "X-Amz-Algorithm" || p.key == "X-Amz-Signature" || p.key == "X-Amz-Credential" {
			return true
		}
	}
	return false
}

func parseQueryAuth(query []queryParam) (*auth, error) {
	vals := map[string]string{}
	for _, p := range query {
		if _, dup := vals[p.key]; dup && (slices.Contains(queryAuthParams, p.key) || p.key == "X-Amz-Expires") {
			return nil, invalid("The query string has more than one '%s' parameter.", p.key)
		}
		vals[p.key] = p.value
	}
	for _, k := range queryAuthParams {
		if vals[k] == "" {
			return nil, invalid("AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders'. Re-examine the query-string parameters.")
		}
	}
	if alg := vals["X-Amz-Algorithm"]; alg != algorithm {
		return nil, invalid("X-Amz-Algorithm only supports '%s', not '%s'.", algorithm, echo(alg))
	}
	a := &auth{signature: vals["X-Amz-Signature"], presigned: true}
	if err := a.setCredential(vals["X-Amz-Credential"]); err != nil {
		return nil, err
	}
	if err := a.setSignedHeaders(vals["X-Amz-SignedHeaders"]); err != nil {
		return nil, err
	}
	if err := a.setDate(vals["X-Amz-Date"], false); err != nil {
		return nil, err
	}
	if e, ok := vals["X-Amz-Expires"]; ok {
		n, err := strconv.Atoi(e)
		if err != nil || n < 1 || n > maxPresignExpires {
			return nil, invalid("X-Amz-Expires must be a number of seconds between 1 and %d, not '%s'.", maxPresignExpires, echo(e))
		}
		a.expires = time.Duration(n) * time.Second
	}
	return a, nil
}

func (a *auth) setCredential(cred string) error {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return invalid("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", echo(cred))
	}
	a.accessKey, a.scopeDate, a.region, a.service = parts[0], parts[1], parts[2], parts[3]
	if parts[4] != terminator {
		return invalid("Credential should be scoped with a valid terminator: '%s', not '%s'.", terminator, echo(parts[4]))
	}
	return nil
}

// signs says whether name is one of the signed headers.
func (a *auth) signs(name string) bool {
	for _, h := range a.signedHeaders {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

func (a *auth) setSignedHeaders(s string) error {
	a.signedHeadersRaw = s
	a.signedHeaders = strings.Split(s, ";")
	if a.signs("host") {
		return nil
	}
	return invalid("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
}

// setDate parses the request's date. A Date header may be in HTTP format;
// X-Amz-Date must be in ISO 8601 basic format.
func (a *auth) setDate(s string, httpDate bool) error {
	t, err := time.Parse(amzDateFormat, s)
	if err != nil && httpDate {
		t, err = http.ParseTime(s)
	}
	if err != nil {
		return invalid("Date must be in ISO-8601 'basic format'. Got '%s'.", echo(s))
	}
	a.time = t.UTC()
	a.amzDate = a.time.Format(amzDateFormat)
	return nil
}

func (v *Verifier) checkScope(a *auth) error {
	if want := v.service(); a.service != want {
		return invalid("Credential should be scoped to correct service: '%s'.", want)
	}
	if a.region == "" {
		return invalid("Credential should be scoped to a valid region.")
	}
	if v.Region != "" && a.region != v.Region {
		return invalid("Credential should be scoped to a valid region, not '%s'.", echo(a.region))
	}
	if day := a.amzDate[:8]; a.scopeDate != day {
		return invalid("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", echo(a.scopeDate), day, a.amzDate)
	}
	return nil
}

// checkTime checks the request's date against the clock: at most MaxSkew
// either way, presigned or not. AWS's services other than S3 ignore
// X-Amz-Expires (a presigned STS or IoT URL lives 15 minutes whatever it
// says), so it never lengthens the window; sluice honours a shorter one, as
// the signer asked for it.
func (v *Verifier) checkTime(a *auth) error {
	now := v.now().UTC()
	skew := v.maxSkew()
	if earliest := now.Add(-skew); a.time.Before(earliest) {
		return invalid("Signature expired: %s is now earlier than %s (%s - %s)",
			a.amzDate, earliest.Format(amzDateFormat), now.Format(amzDateFormat), formatSkew(skew))
	}
	if a.presigned && a.expires > 0 && a.expires < skew {
		if earliest := now.Add(-a.expires); a.time.Before(earliest) {
			return invalid("Signature expired: %s is now earlier than %s (%s - X-Amz-Expires %d sec.)",
				a.amzDate, earliest.Format(amzDateFormat), now.Format(amzDateFormat), int64(a.expires/time.Second))
		}
	}
	if latest := now.Add(skew); a.time.After(latest) {
		return invalid("Signature not yet current: %s is still later than %s (%s + %s)",
			a.amzDate, latest.Format(amzDateFormat), now.Format(amzDateFormat), formatSkew(skew))
	}
	return nil
}

func formatSkew(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min.", int64(d/time.Minute))
	}
	return fmt.Sprintf("%d sec.", int64(d/time.Second))
}

// payloadHash returns the payload hash line of the canonical request: the
// SHA-256 of the body received, always. Lambda does not support unsigned
// payloads (only S3 does): a request signed over UNSIGNED-PAYLOAD, whatever
// its X-Amz-Content-Sha256 header says, fails as a signature mismatch, so
// that no body the signature does not cover is accepted. A header with a
// hash must match the body; chunked signing (STREAMING-*) is refused.
func payloadHash(r *http.Request, body []byte) (string, error) {
	sum := sha256.Sum256(body)
	computed := hex.EncodeToString(sum[:])
	vals := r.Header.Values("X-Amz-Content-Sha256")
	if len(vals) == 0 {
		return computed, nil
	}
	h := vals[0]
	switch {
	case len(vals) > 1:
		return "", invalid("The request carries more than one 'x-amz-content-sha256' header.")
	case h == unsignedPayload:
		return computed, nil
	case strings.HasPrefix(h, "STREAMING-"):
		return "", invalid("Chunked payload signing ('x-amz-content-sha256: %s') is not supported.", echo(h))
	case !strings.EqualFold(h, computed):
		return "", fail(sluice.EInvalidSignature, msgContentSHA)
	}
	return h, nil
}

// echo shortens client-supplied text repeated in an error message.
func echo(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	return s[:maxEcho] + "..."
}

// requestTarget returns the escaped path and the raw query of r as the
// client sent them.
func requestTarget(r *http.Request) (path, rawQuery string) {
	if uri := r.RequestURI; strings.HasPrefix(uri, "/") {
		path, rawQuery, _ = strings.Cut(uri, "?")
	} else if r.URL != nil {
		path, rawQuery = r.URL.EscapedPath(), r.URL.RawQuery
	}
	if path == "" {
		path = "/"
	}
	return path, rawQuery
}

type queryParam struct{ key, value string }

// parseQuery splits a raw query into decoded parameters in wire order. It
// decodes like net/url ('+' is a space); a component with a malformed
// escape is kept as it is.
func parseQuery(raw string) []queryParam {
	var params []queryParam
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		params = append(params, queryParam{unescapeQuery(k), unescapeQuery(v)})
	}
	return params
}

func unescapeQuery(s string) string {
	u, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return u
}

// canonicalQuery encodes every parameter but the signature and sorts the
// encoded pairs by key, then value.
func canonicalQuery(query []queryParam, presigned bool) string {
	pairs := make([]queryParam, 0, len(query))
	for _, p := range query {
		if presigned && p.key == "X-Amz-Signature" {
			continue
		}
		pairs = append(pairs, queryParam{uriEncode(p.key, false), uriEncode(p.value, false)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].key != pairs[j].key {
			return pairs[i].key < pairs[j].key
		}
		return pairs[i].value < pairs[j].value
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.key)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String()
}

// uriEncode percent-encodes every byte of s outside the RFC 3986 unreserved
// set (A-Z a-z 0-9 - . _ ~) with upper-case hex, keeping '/' if keepSlash.
func uriEncode(s string, keepSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (c == '/' && keepSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// normalizePath removes "." and ".." and empty segments the way the JS SDK
// and botocore do before signing (RFC 3986 §5.2.4, plus "//" → "/").
func normalizePath(p string) string {
	var segs []string
	for s := range strings.SplitSeq(p, "/") {
		switch s {
		case "", ".":
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, s)
		}
	}
	out := strings.Join(segs, "/")
	if strings.HasPrefix(p, "/") {
		out = "/" + out
	}
	if len(segs) > 0 && strings.HasSuffix(p, "/") {
		out += "/"
	}
	return out
}

// canonicalRequests yields the canonical requests r may have been signed
// as, most likely first, without duplicates: the Go SDK form, then the
// forms of clients that normalise the path or collapse all white space.
// The other forms are computed only when the caller asks for them (after
// the first did not match).
func canonicalRequests(r *http.Request, path string, query []queryParam, a *auth, payloadHash string) iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		q := canonicalQuery(query, a.presigned)
		p0 := uriEncode(path, true)
		h0 := canonicalHeaders(r, a.signedHeaders, trimSpaces)
		join := func(p, h string) string {
			var b strings.Builder
			b.Grow(len(r.Method) + len(p) + len(q) + len(h) + len(a.signedHeadersRaw) + len(payloadHash) + 5)
			for i, part := range [...]string{r.Method, p, q, h, a.signedHeadersRaw, payloadHash} {
				if i > 0 {
					b.WriteByte('\n')
				}
				b.WriteString(part)
			}
			return b.String()
		}
		if !yield(0, join(p0, h0)) {
			return
		}
		paths := []string{p0}
		if np := uriEncode(normalizePath(path), true); np != p0 {
			paths = append(paths, np)
		}
		headers := []string{h0}
		if h := canonicalHeaders(r, a.signedHeaders, trimWhiteSpace); h != h0 {
			headers = append(headers, h)
		}
		i := 1
		for _, p := range paths {
			for _, h := range headers {
				if p == p0 && h == h0 {
					continue // yielded first
				}
				if !yield(i, join(p, h)) {
					return
				}
				i++
			}
		}
	}
}

// canonicalHeaders renders the signed headers, one "name:value\n" line
// each, in the client's order.
func canonicalHeaders(r *http.Request, names []string, trim func(string) string) string {
	var b strings.Builder
	for _, name := range names {
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range headerValues(r, strings.ToLower(name)) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(trim(v))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// headerValues returns the values of the lower-case header name, including
// those Go's server moves out of r.Header.
func headerValues(r *http.Request, name string) []string {
	switch name {
	case "host":
		if r.Host == "" && r.URL != nil {
			return []string{r.URL.Host}
		}
		return []string{r.Host}
	case "content-length":
		if vs := r.Header.Values(name); len(vs) > 0 {
			return vs
		}
		if r.ContentLength >= 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	case "transfer-encoding":
		if vs := r.Header.Values(name); len(vs) > 0 {
			return vs
		}
		if len(r.TransferEncoding) > 0 {
			return []string{strings.Join(r.TransferEncoding, ",")}
		}
	}
	return r.Header.Values(name)
}

// trimSpaces trims a header value and collapses runs of spaces, as the Go
// SDK and the SigV4 specification do.
func trimSpaces(s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// trimWhiteSpace trims a header value and collapses runs of any white
// space to one space, as the JS SDK and botocore do.
func trimWhiteSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func stringToSign(amzDate, scope, canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
}

// signingKey derives the signing key of secret for one day, region and
// service, or takes it from the verifier's cache.
func (v *Verifier) signingKey(secret, date, region, service string) []byte {
	k := keyID{secret: secret, date: date, region: region, service: service}
	if key, ok := v.keys.get(k); ok {
		return key
	}
	key := deriveKey(secret, date, region, service)
	v.keys.put(k, key)
	return key
}

func deriveKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, terminator)
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
