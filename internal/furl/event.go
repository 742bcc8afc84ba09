package furl

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sluice-dev/sluice"
)

// EventTimeLayout is the layout of requestContext.time.
const EventTimeLayout = "02/Jan/2006:15:04:05 -0700"

// AnonymousAccount is requestContext.accountId of a request to a URL whose
// AuthType is NONE.
const AnonymousAccount = "anonymous"

// EventContext is what Event needs beyond the HTTP request.
type EventContext struct {
	// Config is the URL's configuration: its URLID and AuthType.
	Config *sluice.FunctionURLConfig
	// AccountID is the account of the function's owner, the
	// requestContext.accountId of an AWS_IAM URL.
	AccountID string
	// RequestID is requestContext.requestId, the invocation's request id.
	RequestID string
	// SourceIP is the address of the client's TCP connection.
	SourceIP string
	// Caller is the SigV4-verified caller of an AWS_IAM URL
	// (requestContext.authorizer.iam); ignored for NONE.
	Caller *IAMCaller
	// RawPath is the request's path as the function sees it (escaped),
	// "" for r.URL.EscapedPath(); the path-style front end passes the
	// path after /lambda-url/<url-id>.
	RawPath string
	// DomainName is requestContext.domainName, "" for r.Host without its
	// port.
	DomainName string
	// Port is the x-forwarded-port header, "" for the port of r.Host (or
	// 80 / 443).
	Port string
	// TraceID, when not empty, is the x-amzn-trace-id header.
	TraceID string
	// Time is when the request arrived.
	Time time.Time
}

// IAMCaller is the identity behind the access key that signed a request
// to an AWS_IAM URL.
type IAMCaller struct {
	AccessKey string
	AccountID string
	CallerID  string
	UserARN   string
	UserID    string
}

// event is the payload format 2.0 event, in AWS's field order. Fields AWS
// documents as "null or excluded" for function URLs (pathParameters,
// stageVariables, authentication, cognitoIdentity...) are excluded, as in
// aws-lambda-go's LambdaFunctionURLRequest.
type event struct {
	Version               string            `json:"version"`
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	RequestContext        requestContext    `json:"requestContext"`
	Body                  string            `json:"body,omitempty"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
}

type requestContext struct {
	AccountID    string      `json:"accountId"`
	APIID        string      `json:"apiId"`
	Authorizer   *authorizer `json:"authorizer,omitempty"`
	DomainName   string      `json:"domainName"`
	DomainPrefix string      `json:"domainPrefix"`
	HTTP         httpContext `json:"http"`
	RequestID    string      `json:"requestId"`
	RouteKey     string      `json:"routeKey"`
	Stage        string      `json:"stage"`
	Time         string      `json:"time"`
	TimeEpoch    int64       `json:"timeEpoch"`
}

type authorizer struct {
	IAM *iamAuthorizer `json:"iam"`
}

type iamAuthorizer struct {
	AccessKey string `json:"accessKey"`
	AccountID string `json:"accountId"`
	CallerID  string `json:"callerId"`
	UserARN   string `json:"userArn"`
	UserID    string `json:"userId"`
}

type httpContext struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// hopByHop are the request and response headers that belong to one
// connection (RFC 9110 §7.6.1), never passed on.
var hopByHop = map[string]bool{
	"connection":          true,
	"keep-alive":          true,
	"proxy-connection":    true,
	"proxy-authenticate":  true,
	"proxy-authorization": true,
	"te":                  true,
	"trailer":             true,
	"transfer-encoding":   true,
	"upgrade":             true,
}

// Event returns the payload format 2.0 event for a request to a function
// URL whose (whole) body is body:
//
//   - header names in lower case, repeated headers joined with ","; the
//     Cookie headers become cookies (split on ";"), hop-by-hop headers are
//     dropped, host is added, and x-forwarded-for (the client's address
//     appended to what the client sent), x-forwarded-proto and
//     x-forwarded-port are set as AWS's front end sets them;
//   - queryStringParameters from the raw query, repeated values joined
//     with ",";
//   - body as text when the content type is textual and the bytes are
//     UTF-8, base64 otherwise (isBase64Encoded true), absent when empty;
//   - requestContext.accountId "anonymous" for AuthType NONE, the owner's
//     account and authorizer.iam (from ec.Caller) for AWS_IAM.
func Event(r *http.Request, body []byte, ec EventContext) ([]byte, error) {
	if r == nil || r.URL == nil || ec.Config == nil {
		return nil, errors.New("furl: Event needs a request and a URL configuration")
	}
	rawPath := ec.RawPath
	if rawPath == "" {
		rawPath = r.URL.EscapedPath()
	}
	if rawPath == "" {
		rawPath = "/"
	}
	e := event{
		Version:        "2.0",
		RouteKey:       "$default",
		RawPath:        rawPath,
		RawQueryString: r.URL.RawQuery,
		Headers:        make(map[string]string, len(r.Header)+4),
	}
	for name, values := range r.Header {
		lower := strings.ToLower(name)
		switch {
		case hopByHop[lower]:
		case lower == "cookie":
			for _, v := range values {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						e.Cookies = append(e.Cookies, c)
					}
				}
			}
		default:
			if prev, ok := e.Headers[lower]; ok { // names that differ only in case
				values = append([]string{prev}, values...)
			}
			e.Headers[lower] = strings.Join(values, ",")
		}
	}
	host, hostPort := r.Host, ""
	if h, p, err := net.SplitHostPort(r.Host); err == nil {
		host, hostPort = h, p
	}
	e.Headers["host"] = r.Host
	if xff, ok := e.Headers["x-forwarded-for"]; ok && xff != "" {
		e.Headers["x-forwarded-for"] = xff + ", " + ec.SourceIP
	} else {
		e.Headers["x-forwarded-for"] = ec.SourceIP
	}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	e.Headers["x-forwarded-proto"] = proto
	port := ec.Port
	switch {
	case port != "":
	case hostPort != "":
		port = hostPort
	case r.TLS != nil:
		port = "443"
	default:
		port = "80"
	}
	e.Headers["x-forwarded-port"] = port
	if ec.TraceID != "" {
		e.Headers["x-amzn-trace-id"] = ec.TraceID
	}
	if _, ok := e.Headers["content-length"]; !ok && len(body) > 0 {
		e.Headers["content-length"] = strconv.Itoa(len(body))
	}

	if q, _ := url.ParseQuery(r.URL.RawQuery); len(q) > 0 { // the well-formed pairs
		e.QueryStringParameters = make(map[string]string, len(q))
		for k, vs := range q {
			e.QueryStringParameters[k] = strings.Join(vs, ",")
		}
	}

	if len(body) > 0 {
		if IsTextContentType(r.Header.Get("Content-Type")) && utf8.Valid(body) {
			e.Body = string(body)
		} else {
			e.Body = base64.StdEncoding.EncodeToString(body)
			e.IsBase64Encoded = true
		}
	}

	domain := ec.DomainName
	if domain == "" {
		domain = host
	}
	rc := &e.RequestContext
	rc.AccountID = AnonymousAccount
	if ec.Config.AuthType == sluice.URLAuthIAM {
		rc.AccountID = ec.AccountID
		if c := ec.Caller; c != nil {
			rc.Authorizer = &authorizer{IAM: &iamAuthorizer{
				AccessKey: c.AccessKey, AccountID: c.AccountID, CallerID: c.CallerID, UserARN: c.UserARN, UserID: c.UserID,
			}}
		}
	}
	rc.APIID = ec.Config.URLID
	rc.DomainName = domain
	rc.DomainPrefix = ec.Config.URLID
	rc.HTTP = httpContext{
		Method:    r.Method,
		Path:      rawPath,
		Protocol:  r.Proto,
		SourceIP:  ec.SourceIP,
		UserAgent: r.UserAgent(),
	}
	if rc.HTTP.Method == "" {
		rc.HTTP.Method = http.MethodGet
	}
	if rc.HTTP.Protocol == "" {
		rc.HTTP.Protocol = "HTTP/1.1"
	}
	rc.RequestID = ec.RequestID
	rc.RouteKey = "$default"
	rc.Stage = "$default"
	rc.Time = ec.Time.UTC().Format(EventTimeLayout)
	rc.TimeEpoch = ec.Time.UnixMilli()
	return json.Marshal(&e)
}

// IsTextContentType reports whether a request body of this Content-Type
// is passed to the function as text (when it is UTF-8): text/*, and JSON,
// XML and JavaScript types (application/json, application/xml,
// application/javascript, application/*+json, application/*+xml).
// Everything else, multipart/form-data and
// application/x-www-form-urlencoded included, and a missing Content-Type,
// is passed base64-encoded.
func IsTextContentType(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	typ, sub, _ := strings.Cut(mt, "/")
	if typ == "text" {
		return true
	}
	switch sub {
	case "json", "xml", "javascript", "ecmascript", "x-javascript":
		return true
	}
	return strings.HasSuffix(sub, "+json") || strings.HasSuffix(sub, "+xml")
}
