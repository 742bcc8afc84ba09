// Package eventstream writes the response of InvokeWithResponseStream: a
// body of content type application/vnd.amazon.eventstream holding
// PayloadChunk events with the function's bytes, then one InvokeComplete
// event. The framing (prelude, headers, CRCs) is the AWS SDK's encoder's.
//
// Every frame carries three string headers in the order :event-type,
// :content-type, :message-type; :content-type is application/octet-stream
// for PayloadChunk and application/json for InvokeComplete, as Smithy
// prescribes for a blob and a structure payload.
package eventstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	awses "github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream/eventstreamapi"
)

// MaxChunk is the largest payload put in one PayloadChunk frame; Chunk
// splits larger payloads. It keeps frames far below the 16 MiB message limit
// of the CRT-based SDKs.
const MaxChunk = 256 * 1024

// Event types of the InvokeWithResponseStreamResponseEvent union.
const (
	eventPayloadChunk   = "PayloadChunk"
	eventInvokeComplete = "InvokeComplete"
)

// ErrCompleted is returned by writes after Complete.
var ErrCompleted = errors.New("eventstream: write after InvokeComplete")

var (
	chunkHeaders    = eventHeaders(eventPayloadChunk, "application/octet-stream")
	completeHeaders = eventHeaders(eventInvokeComplete, "application/json")
)

func eventHeaders(eventType, contentType string) awses.Headers {
	return awses.Headers{
		{Name: eventstreamapi.EventTypeHeader, Value: awses.StringValue(eventType)},
		{Name: eventstreamapi.ContentTypeHeader, Value: awses.StringValue(contentType)},
		{Name: eventstreamapi.MessageTypeHeader, Value: awses.StringValue(eventstreamapi.EventMessageType)},
	}
}

// Writer writes Lambda response-stream events to w, flushing after each
// one. Each frame reaches w in a single Write call. A Writer is not safe
// for concurrent use. Once a write or flush has failed, every later call
// returns that error without writing.
type Writer struct {
	w     io.Writer
	flush func() error
	enc   *awses.Encoder
	err   error
	done  bool
}

// NewWriter returns a Writer that writes frames to w and calls flush (if
// not nil) after each frame, e.g. http.NewResponseController(rw).Flush.
func NewWriter(w io.Writer, flush func() error) *Writer {
	return &Writer{w: w, flush: flush, enc: awses.NewEncoder()}
}

// Chunk writes p as PayloadChunk events (:message-type event, :event-type
// PayloadChunk, :content-type application/octet-stream), one frame per
// MaxChunk bytes, flushing after each. Empty p writes nothing.
func (w *Writer) Chunk(p []byte) error {
	for len(p) > 0 {
		n := min(len(p), MaxChunk)
		if err := w.write(chunkHeaders, p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return w.err
}

// Complete is the InvokeComplete event. Empty fields are left out of the
// event's JSON.
type Complete struct {
	ErrorCode    string `json:",omitempty"`
	ErrorDetails string `json:",omitempty"`
	LogResult    string `json:",omitempty"`
}

// Complete writes the InvokeComplete event (:content-type
// application/json), whose payload is the JSON object of the non-empty
// fields of c ({} when all are empty), and flushes. It must be the last
// event: later calls return ErrCompleted.
func (w *Writer) Complete(c Complete) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return err // cannot happen: three strings
	}
	if err := w.write(completeHeaders, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))); err != nil {
		return err
	}
	w.done = true
	return nil
}

func (w *Writer) write(h awses.Headers, payload []byte) error {
	if w.err != nil {
		return w.err
	}
	if w.done {
		return ErrCompleted
	}
	err := w.enc.Encode(w.w, awses.Message{Headers: h, Payload: payload})
	if err == nil && w.flush != nil {
		err = w.flush()
	}
	if err != nil {
		w.err = err
	}
	return err
}
