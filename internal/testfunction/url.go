package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Handlers for function URLs (payload format 2.0 events).

// urlReply answers a function URL request: for path /event it returns the
// event it received (a JSON object without statusCode: the front end
// sends it as the body); otherwise it returns the request's body, which
// must be JSON, as its response, so that a test decides the response
// shape (a {"statusCode":...} object, a string, a number...).
func urlReply(ev events.LambdaFunctionURLRequest) (json.RawMessage, error) {
	if ev.RawPath == "/event" {
		return json.Marshal(ev)
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, err
		}
	}
	if ev.RawPath == "/fail" {
		return nil, errors.New("asked to fail")
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("the request body is not JSON: %q", body)
	}
	return body, nil
}

// urlStream streams a response through the HTTP integration prelude
// (aws-lambda-go's LambdaFunctionURLStreamingResponse): status 201, a
// header and a cookie, then ?chunks=N (default 3) lines "part-i\n", ?pauseMs
// apart; ?fail=mid fails after the first chunk, ?fail=first before the
// prelude; ?sse=1 writes server-sent events ("data: part-i\n\n", content
// type text/event-stream).
func urlStream(ev events.LambdaFunctionURLRequest) (*events.LambdaFunctionURLStreamingResponse, error) {
	q := ev.QueryStringParameters
	if q["fail"] == "first" {
		return nil, errors.New("failed before the first byte")
	}
	n, _ := strconv.Atoi(q["chunks"])
	if n <= 0 {
		n = 3
	}
	pause, _ := strconv.Atoi(q["pauseMs"])
	sse := q["sse"] == "1"
	contentType, status := "text/plain; charset=utf-8", 201
	if sse {
		contentType, status = "text/event-stream", 200 // EventSource accepts only 200
	}
	r, w := io.Pipe()
	go func() {
		for i := 0; i < n; i++ {
			if i > 0 {
				time.Sleep(time.Duration(pause) * time.Millisecond)
			}
			line := fmt.Sprintf("part-%d\n", i)
			if sse {
				line = fmt.Sprintf("data: part-%d\n\n", i)
			}
			if _, err := w.Write([]byte(line)); err != nil {
				return
			}
			if i == 0 && q["fail"] == "mid" {
				time.Sleep(time.Duration(pause) * time.Millisecond)
				w.CloseWithError(errors.New("failed mid-stream"))
				return
			}
		}
		w.Close()
	}()
	return &events.LambdaFunctionURLStreamingResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": contentType, "X-Stream": "yes", "Cache-Control": "no-cache"},
		Cookies:    []string{"flavour=oat; Path=/"},
		Body:       r,
	}, nil
}
