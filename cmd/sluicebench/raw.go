package main

// The raw event-stream client: one InvokeWithResponseStream signed with the
// SDK's SigV4 signer and sent with net/http, its body read through a large
// buffer and decoded frame by frame with the SDK's event-stream decoder,
// with nothing of the SDK's event machinery (a goroutine and a channel per
// stream, an unmarshaler per event) in between. It reads what a client
// that cares about throughput reads.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awses "github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream/eventstreamapi"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// rawBuffer is the raw client's read buffer.
const rawBuffer = 1 << 20

// rawClient sends InvokeWithResponseStream to one endpoint.
type rawClient struct {
	endpoint string // http://ADDR
	http     *http.Client
	signer   *v4.Signer
	creds    aws.Credentials
}

func newRawClient(endpoint string) *rawClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ReadBufferSize = rawBuffer
	tr.DisableCompression = true
	return &rawClient{
		endpoint: endpoint,
		http:     &http.Client{Transport: tr},
		signer:   v4.NewSigner(),
		creds:    aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secretAccessKey, Source: "sluicebench"},
	}
}

// stream runs one InvokeWithResponseStream of fn and checks that want
// bytes arrived and that it ended with a clean InvokeComplete.
func (c *rawClient) stream(ctx context.Context, fn string, payload []byte, want int64) (streamSample, error) {
	var s streamSample
	start := time.Now()
	n, err := c.invoke(ctx, fn, payload, nil, func() { s.first = time.Since(start) })
	s.total = time.Since(start)
	if err != nil {
		return s, err
	}
	if n != want {
		return s, fmt.Errorf("%w: %d bytes, want %d", errShortStream, n, want)
	}
	return s, nil
}

// streamTo runs one InvokeWithResponseStream of fn, writes its bytes to
// sink and calls first at the first PayloadChunk.
func (c *rawClient) streamTo(ctx context.Context, fn string, payload []byte, sink io.Writer, first func()) error {
	_, err := c.invoke(ctx, fn, payload, sink, first)
	return err
}

// invoke runs one InvokeWithResponseStream of fn until InvokeComplete (see
// decodeStream).
func (c *rawClient) invoke(ctx context.Context, fn string, payload []byte, sink io.Writer, first func()) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	u := c.endpoint + "/2021-11-15/functions/" + url.PathEscape(fn) + "/response-streaming-invocations"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(payload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(payload)
	if err := c.signer.SignHTTP(ctx, c.creds, req, hex.EncodeToString(sum[:]), "lambda", "us-east-1", time.Now()); err != nil {
		return 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return 0, fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
	return decodeStream(bufio.NewReaderSize(resp.Body, rawBuffer), first, sink)
}

// decodeStream decodes the event stream of an InvokeWithResponseStream
// response from r until InvokeComplete and returns the number of bytes of
// its PayloadChunks, which it writes to sink unless sink is nil. It calls
// first, unless nil, at the first PayloadChunk. An error
// event, an unknown event, an InvokeComplete with an error code, data after
// InvokeComplete or a stream that ends without one are errors.
func decodeStream(r io.Reader, first func(), sink io.Writer) (int64, error) {
	dec := awses.NewDecoder()
	buf := make([]byte, 512<<10)
	var n int64
	for {
		m, err := dec.Decode(r, buf)
		if errors.Is(err, io.EOF) {
			return n, errors.New("stream ended without InvokeComplete")
		}
		if err != nil {
			return n, err
		}
		if len(m.Payload) > len(buf) {
			buf = m.Payload[:cap(m.Payload)] // reuse the larger buffer
		}
		msgType := m.Headers.Get(eventstreamapi.MessageTypeHeader)
		if msgType == nil || msgType.String() != eventstreamapi.EventMessageType {
			return n, fmt.Errorf("%s message: %s %s", msgType, m.Headers.Get(eventstreamapi.ExceptionTypeHeader), m.Payload)
		}
		switch ev := m.Headers.Get(eventstreamapi.EventTypeHeader); {
		case ev == nil:
			return n, errors.New("event without :event-type")
		case ev.String() == "PayloadChunk":
			if n == 0 && len(m.Payload) > 0 && first != nil {
				first()
			}
			n += int64(len(m.Payload))
			if sink != nil {
				if _, err := sink.Write(m.Payload); err != nil {
					return n, err
				}
			}
		case ev.String() == "InvokeComplete":
			var c struct{ ErrorCode, ErrorDetails string }
			if err := json.Unmarshal(m.Payload, &c); err != nil {
				return n, fmt.Errorf("InvokeComplete %q: %w", m.Payload, err)
			}
			if c.ErrorCode != "" {
				return n, fmt.Errorf("InvokeComplete error %s: %s", c.ErrorCode, c.ErrorDetails)
			}
			if extra, _ := r.Read(make([]byte, 1)); extra > 0 {
				return n, errors.New("data after InvokeComplete")
			}
			return n, nil
		default:
			return n, fmt.Errorf("unexpected event %s", ev)
		}
	}
}
