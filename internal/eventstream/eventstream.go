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
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
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

// chunkHeaderBytes is the encoded header block of every PayloadChunk frame.
var chunkHeaderBytes = func() []byte {
	var b bytes.Buffer
	if err := awses.EncodeHeaders(&b, chunkHeaders); err != nil || 12+b.Len() != ChunkHead {
		panic("eventstream: PayloadChunk headers are not ChunkHead-12 bytes")
	}
	return b.Bytes()
}()

// ChunkHead is the room a PayloadChunk frame needs before its payload
// (prelude, prelude CRC, headers) and ChunkTail the room after it (the
// message CRC): see Writer.ChunkFrame.
const (
	ChunkHead = 12 + 90 // the three headers: 27 + 41 + 22 bytes
	ChunkTail = 4
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

// ChunkFrame writes one PayloadChunk frame in a single Write, built in
// place: frame[ChunkHead:] is the payload (at most MaxChunk bytes; none
// writes nothing), frame[:ChunkHead] is overwritten with the prelude and
// headers, and the message CRC goes into the ChunkTail bytes after the
// payload, which cap(frame) must leave. It flushes after the frame if flush
// is set: a caller with more bytes at hand writes them first and flushes
// once (the HTTP server's buffered chunk trailer then shares a write with
// the next frame). The bytes on the wire are the SDK encoder's (Chunk).
func (w *Writer) ChunkFrame(frame []byte, flush bool) error {
	n := len(frame) - ChunkHead
	switch {
	case w.err != nil:
		return w.err
	case w.done:
		return ErrCompleted
	case n < 0 || n > MaxChunk || cap(frame)-len(frame) < ChunkTail:
		return errors.New("eventstream: ChunkFrame needs ChunkHead bytes before at most MaxChunk payload bytes and ChunkTail after")
	case n == 0:
		if flush && w.flush != nil {
			w.err = w.flush()
		}
		return w.err
	}
	binary.BigEndian.PutUint32(frame[0:], uint32(len(frame)+ChunkTail))
	binary.BigEndian.PutUint32(frame[4:], uint32(len(chunkHeaderBytes)))
	binary.BigEndian.PutUint32(frame[8:], crc32.ChecksumIEEE(frame[:8]))
	copy(frame[12:], chunkHeaderBytes)
	frame = binary.BigEndian.AppendUint32(frame, crc32.ChecksumIEEE(frame))
	_, err := w.w.Write(frame)
	if err == nil && flush && w.flush != nil {
		err = w.flush()
	}
	if err != nil {
		w.err = err
	}
	return err
}

// Flush flushes what the Writer's frames left buffered in w.
func (w *Writer) Flush() error {
	if w.err == nil && w.flush != nil {
		w.err = w.flush()
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
