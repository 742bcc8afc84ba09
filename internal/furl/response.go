package furl

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// HTTPIntegrationContentType is the content type of a streamed response
// that starts with a prelude: JSON, then PreludeDelimiter, then the body.
const HTTPIntegrationContentType = "application/vnd.awslambda.http-integration-response"

// PreludeDelimiter ends the prelude of an HTTP-integration response.
const PreludeDelimiter = "\x00\x00\x00\x00\x00\x00\x00\x00"

// MaxPreludeSize is the longest prelude SplitPrelude reads, delimiter
// excluded: API Gateway's limit for the same format.
const MaxPreludeSize = 16 * 1024

// DefaultStreamContentType is the Content-Type of a streamed response that
// names none, as the runtimes default it.
const DefaultStreamContentType = "application/octet-stream"

// ErrBadResponse is wrapped by the errors of MapBuffered and SplitPrelude:
// the function's response cannot be mapped to an HTTP response. The front
// end answers 502.
var ErrBadResponse = errors.New("furl: the function returned a response the URL cannot send")

// MapBuffered maps the payload a function returned to a BUFFERED URL to an
// HTTP response, as Lambda does:
//
//   - a JSON object with a statusCode member is a response: statusCode (a
//     number, or a string of one, 100 to 599), headers (names to
//     strings), cookies (each a Set-Cookie header), body (a string; any
//     other JSON value is sent as its JSON text) and isBase64Encoded
//     (decode body). Content-Type defaults to application/json;
//   - a JSON string is the body, unquoted, with status 200 and
//     Content-Type application/json;
//   - anything else (an object without statusCode, an array, a number, a
//     boolean, null, bytes that are not JSON) is the body as is, with
//     status 200 and Content-Type application/json.
//
// Hop-by-hop headers and Content-Length are dropped from the function's
// headers: the front end frames the body. Errors wrap ErrBadResponse.
func MapBuffered(payload []byte) (status int, header http.Header, body []byte, err error) {
	header = make(http.Header)
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) > 0 && trimmed[0] == '"' {
		var s string
		if json.Unmarshal(trimmed, &s) == nil {
			header.Set("Content-Type", "application/json")
			return http.StatusOK, header, []byte(s), nil
		}
	}
	var obj map[string]json.RawMessage
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &obj) != nil || obj["statusCode"] == nil {
		header.Set("Content-Type", "application/json")
		return http.StatusOK, header, payload, nil
	}

	status, err = parseStatus(obj["statusCode"])
	if err != nil {
		return 0, nil, nil, err
	}
	if err := addHeaders(header, obj["headers"]); err != nil {
		return 0, nil, nil, err
	}
	if err := addCookies(header, obj["cookies"]); err != nil {
		return 0, nil, nil, err
	}
	var b64 bool
	if raw := obj["isBase64Encoded"]; raw != nil && !isNull(raw) {
		if err := json.Unmarshal(raw, &b64); err != nil {
			return 0, nil, nil, fmt.Errorf("%w: isBase64Encoded is not a boolean", ErrBadResponse)
		}
	}
	if raw := obj["body"]; raw != nil && !isNull(raw) {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			body = []byte(s)
		} else {
			body = []byte(raw)
		}
		if b64 {
			body, err = base64.StdEncoding.DecodeString(string(body))
			if err != nil {
				return 0, nil, nil, fmt.Errorf("%w: body is not base64: %v", ErrBadResponse, err)
			}
		}
	}
	if body == nil {
		body = []byte{}
	}
	if header.Get("Content-Type") == "" {
		header.Set("Content-Type", "application/json")
	}
	return status, header, body, nil
}

// prelude is the JSON head of an HTTP-integration response.
type prelude struct {
	StatusCode json.RawMessage `json:"statusCode"`
	Headers    json.RawMessage `json:"headers"`
	Cookies    json.RawMessage `json:"cookies"`
}

// SplitPrelude returns the status, headers and body of a streamed
// response whose runtime Content-Type is contentType, reading from r no
// more than it must. For HTTPIntegrationContentType it reads the JSON
// prelude up to PreludeDelimiter (at most MaxPreludeSize bytes before it),
// taking statusCode (default 200), headers and cookies (Set-Cookie) from
// it, and returns a body that yields the bytes read past the delimiter,
// then the rest of r as it arrives: nothing is buffered beyond the
// prelude. Content-Type defaults to DefaultStreamContentType. For any
// other type the status is 200, Content-Type is contentType (default
// DefaultStreamContentType), and the body is r.
//
// Errors: a prelude that is too long, is not a JSON object, has invalid
// members, or ends before its delimiter wraps ErrBadResponse; a read
// error of r is returned as is.
func SplitPrelude(r io.Reader, contentType string) (status int, header http.Header, body io.Reader, err error) {
	header = make(http.Header)
	if mt, _, _ := mime.ParseMediaType(contentType); mt != HTTPIntegrationContentType {
		if contentType == "" {
			contentType = DefaultStreamContentType
		}
		header.Set("Content-Type", contentType)
		return http.StatusOK, header, r, nil
	}

	buf := make([]byte, 0, 1024)
	chunk := make([]byte, 4096)
	searched := 0 // buf[:searched] holds no delimiter start
	for {
		if i := bytes.Index(buf[searched:], []byte(PreludeDelimiter)); i >= 0 {
			end := searched + i
			status, err := parsePrelude(buf[:end], header)
			if err != nil {
				return 0, nil, nil, err
			}
			rest := bytes.Clone(buf[end+len(PreludeDelimiter):])
			return status, header, io.MultiReader(bytes.NewReader(rest), r), nil
		}
		searched = max(0, len(buf)-len(PreludeDelimiter)+1)
		if len(buf) > MaxPreludeSize+len(PreludeDelimiter) {
			return 0, nil, nil, fmt.Errorf("%w: no prelude delimiter within the first %d bytes", ErrBadResponse, MaxPreludeSize)
		}
		// Read at most up to the limit, so a function that streams a
		// large body without a prelude is not read far.
		want := min(len(chunk), MaxPreludeSize+len(PreludeDelimiter)+1-len(buf))
		n, rerr := r.Read(chunk[:want])
		buf = append(buf, chunk[:n]...)
		if rerr == io.EOF {
			if bytes.Contains(buf[searched:], []byte(PreludeDelimiter)) {
				continue
			}
			return 0, nil, nil, fmt.Errorf("%w: the response ended before its prelude delimiter", ErrBadResponse)
		}
		if rerr != nil {
			return 0, nil, nil, rerr
		}
	}
}

// parsePrelude reads a prelude into header and returns its status.
func parsePrelude(b []byte, header http.Header) (int, error) {
	status := http.StatusOK
	if len(bytes.TrimSpace(b)) == 0 {
		header.Set("Content-Type", DefaultStreamContentType)
		return status, nil
	}
	var p prelude
	if err := json.Unmarshal(b, &p); err != nil {
		return 0, fmt.Errorf("%w: the prelude is not a JSON object: %v", ErrBadResponse, err)
	}
	if p.StatusCode != nil && !isNull(p.StatusCode) {
		var err error
		if status, err = parseStatus(p.StatusCode); err != nil {
			return 0, err
		}
	}
	if err := addHeaders(header, p.Headers); err != nil {
		return 0, err
	}
	if err := addCookies(header, p.Cookies); err != nil {
		return 0, err
	}
	if header.Get("Content-Type") == "" {
		header.Set("Content-Type", DefaultStreamContentType)
	}
	return status, nil
}

// parseStatus reads a statusCode: a JSON number or a string of one, 100
// to 599.
func parseStatus(raw json.RawMessage) (int, error) {
	var n json.Number
	var s string
	switch {
	case json.Unmarshal(raw, &n) == nil:
		s = n.String()
	case json.Unmarshal(raw, &s) == nil:
	default:
		return 0, fmt.Errorf("%w: statusCode %s is not a number", ErrBadResponse, raw)
	}
	code, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || code < 100 || code > 599 {
		return 0, fmt.Errorf("%w: statusCode %.40q is not an HTTP status", ErrBadResponse, s)
	}
	return code, nil
}

// addHeaders adds a headers member (an object of strings; numbers and
// booleans are taken as their JSON text, null values skipped) to h,
// leaving out hop-by-hop headers and Content-Length. A null or absent
// member adds nothing.
func addHeaders(h http.Header, raw json.RawMessage) error {
	if raw == nil || isNull(raw) {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("%w: headers is not an object", ErrBadResponse)
	}
	for name, rv := range m {
		if isNull(rv) {
			continue
		}
		var v string
		if err := json.Unmarshal(rv, &v); err != nil {
			if rv[0] == '{' || rv[0] == '[' {
				return fmt.Errorf("%w: header %.40q is not a string", ErrBadResponse, name)
			}
			v = string(rv) // a number or a boolean
		}
		lower := strings.ToLower(name)
		if hopByHop[lower] || lower == "content-length" || !validHeaderName(name) {
			continue
		}
		h.Add(name, sanitizeHeaderValue(v))
	}
	return nil
}

// addCookies adds a cookies member (an array of strings) to h as
// Set-Cookie headers.
func addCookies(h http.Header, raw json.RawMessage) error {
	if raw == nil || isNull(raw) {
		return nil
	}
	var cs []string
	if err := json.Unmarshal(raw, &cs); err != nil {
		return fmt.Errorf("%w: cookies is not an array of strings", ErrBadResponse)
	}
	for _, c := range cs {
		h.Add("Set-Cookie", sanitizeHeaderValue(c))
	}
	return nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// validHeaderName reports whether name is an HTTP token (RFC 9110).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// sanitizeHeaderValue replaces the bytes a header value must not hold
// (CR, LF, NUL) with spaces, so that a function cannot split the response.
func sanitizeHeaderValue(v string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, v)
}
