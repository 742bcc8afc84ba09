// Package lambdaclient builds an aws-sdk-go-v2 Lambda client for a sluice
// endpoint. Tests and the benchmark use it; sluice itself does not.
//
// The client's HTTP transport owns every request body. aws-sdk-go-v2 closes
// the request body when RoundTrip returns, while Go's transport may still be
// writing it (it returns as soon as the response headers arrive, which a
// fast server sends before the body is fully read - and InvokeWithResponseStream
// is built on exactly that). Reading the body can then fail with "use of closed
// network connection" on the client side. Copying the body into a reader the
// SDK never sees removes the race; it costs one copy of the request payload.
package lambdaclient

import (
	"bytes"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// New returns a Lambda client for endpoint (e.g. "http://127.0.0.1:9000")
// signing with the given key pair in region us-east-1, retrying nothing
// (tests must see the first answer).
func New(endpoint, accessKeyID, secret string) *lambda.Client {
	return NewInRegion(endpoint, "us-east-1", accessKeyID, secret)
}

// NewInRegion is New signing for region: on sluice, as on AWS, the region
// a client signs for is the region whose functions it sees.
func NewInRegion(endpoint, region, accessKeyID, secret string) *lambda.Client {
	return lambda.New(lambda.Options{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider(accessKeyID, secret, ""),
		BaseEndpoint:     aws.String(endpoint),
		HTTPClient:       &http.Client{Transport: OwnBodies(http.DefaultTransport.(*http.Transport).Clone())},
		RetryMaxAttempts: 1,
	})
}

// OwnBodies wraps base so that the transport reads a private copy of each
// request body.
func OwnBodies(base http.RoundTripper) http.RoundTripper { return ownBodies{base} }

type ownBodies struct{ base http.RoundTripper }

func (t ownBodies) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return t.base.RoundTrip(req)
	}
	b, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	r.ContentLength = int64(len(b))
	return t.base.RoundTrip(r)
}

// DefaultTimeout is a generous per-call timeout for tests.
const DefaultTimeout = 60 * time.Second
