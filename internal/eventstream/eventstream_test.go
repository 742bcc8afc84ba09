package eventstream

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"strings"
	"testing"

	awses "github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// recorder is an io.Writer that keeps each Write separately and counts
// flushes.
type recorder struct {
	writes  [][]byte
	flushes int
	// flushedAfter[i] is the number of writes done at the i-th flush.
	flushedAfter []int
}

func (r *recorder) Write(p []byte) (int, error) {
	r.writes = append(r.writes, bytes.Clone(p))
	return len(p), nil
}

func (r *recorder) Flush() error {
	r.flushes++
	r.flushedAfter = append(r.flushedAfter, len(r.writes))
	return nil
}

func (r *recorder) bytes() []byte { return bytes.Join(r.writes, nil) }

// frame builds an event frame by hand from the layout in the wire notes,
// independently of the SDK's encoder.
func frame(eventType, contentType string, payload []byte) []byte {
	var h bytes.Buffer
	for _, kv := range [][2]string{{":event-type", eventType}, {":content-type", contentType}, {":message-type", "event"}} {
		h.WriteByte(byte(len(kv[0])))
		h.WriteString(kv[0])
		h.WriteByte(7) // string
		binary.Write(&h, binary.BigEndian, uint16(len(kv[1])))
		h.WriteString(kv[1])
	}
	var m bytes.Buffer
	binary.Write(&m, binary.BigEndian, uint32(16+h.Len()+len(payload)))
	binary.Write(&m, binary.BigEndian, uint32(h.Len()))
	binary.Write(&m, binary.BigEndian, crc32.ChecksumIEEE(m.Bytes()))
	m.Write(h.Bytes())
	m.Write(payload)
	binary.Write(&m, binary.BigEndian, crc32.ChecksumIEEE(m.Bytes()))
	return m.Bytes()
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// TestVectors reproduces the byte-exact frames of the wire notes (§2.3).
func TestVectors(t *testing.T) {
	tests := []struct {
		name    string
		write   func(*Writer) error
		length  int
		prelude string
		crc     string
		want    []byte
	}{
		{
			name:    "PayloadChunk hi",
			write:   func(w *Writer) error { return w.Chunk([]byte("hi")) },
			length:  108,
			prelude: "00 00 00 6c 00 00 00 5a b2 5e fd cf",
			crc:     "11 62 e4 69",
			want:    frame("PayloadChunk", "application/octet-stream", []byte("hi")),
		},
		{
			name:    "InvokeComplete {}",
			write:   func(w *Writer) error { return w.Complete(Complete{}) },
			length:  102,
			prelude: "00 00 00 66 00 00 00 54 1f 56 c8 69",
			crc:     "70 06 d4 67",
			want:    frame("InvokeComplete", "application/json", []byte("{}")),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec recorder
			if err := tt.write(NewWriter(&rec, rec.Flush)); err != nil {
				t.Fatal(err)
			}
			if len(rec.writes) != 1 || rec.flushes != 1 {
				t.Fatalf("%d writes, %d flushes; want 1, 1", len(rec.writes), rec.flushes)
			}
			got := rec.writes[0]
			if len(got) != tt.length {
				t.Errorf("length %d, want %d", len(got), tt.length)
			}
			if p := mustHex(tt.prelude); !bytes.Equal(got[:12], p) {
				t.Errorf("prelude % x, want % x", got[:12], p)
			}
			if c := mustHex(tt.crc); !bytes.Equal(got[len(got)-4:], c) {
				t.Errorf("message CRC % x, want % x", got[len(got)-4:], c)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("frame\n% x\nwant\n% x", got, tt.want)
			}
		})
	}
}

type event struct {
	headers map[string]string
	order   []string
	payload []byte
}

// decodeAll decodes every frame of b with the SDK's decoder.
func decodeAll(t testing.TB, b []byte) []event {
	t.Helper()
	dec := awses.NewDecoder()
	r := bytes.NewReader(b)
	var out []event
	for {
		m, err := dec.Decode(r, nil)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("decode frame %d: %v", len(out), err)
		}
		ev := event{headers: map[string]string{}, payload: bytes.Clone(m.Payload)}
		for _, h := range m.Headers {
			sv, ok := h.Value.(awses.StringValue)
			if !ok {
				t.Fatalf("header %s is %T, want a string", h.Name, h.Value)
			}
			ev.headers[h.Name] = string(sv)
			ev.order = append(ev.order, h.Name)
		}
		out = append(out, ev)
	}
}

func TestRoundTrip(t *testing.T) {
	var rec recorder
	w := NewWriter(&rec, rec.Flush)
	chunks := [][]byte{[]byte("hello, "), {0, 1, 2, 0xff}, []byte("world")}
	for _, c := range chunks {
		if err := w.Chunk(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Complete(Complete{ErrorCode: "Unhandled", ErrorDetails: "boom", LogResult: "bG9n"}); err != nil {
		t.Fatal(err)
	}
	evs := decodeAll(t, rec.bytes())
	if len(evs) != 4 {
		t.Fatalf("%d events, want 4", len(evs))
	}
	for i, c := range chunks {
		ev := evs[i]
		if !bytes.Equal(ev.payload, c) {
			t.Errorf("chunk %d payload %q, want %q", i, ev.payload, c)
		}
		if ev.headers[":message-type"] != "event" || ev.headers[":event-type"] != "PayloadChunk" || ev.headers[":content-type"] != "application/octet-stream" {
			t.Errorf("chunk %d headers %v", i, ev.headers)
		}
		if strings.Join(ev.order, ",") != ":event-type,:content-type,:message-type" {
			t.Errorf("chunk %d header order %v", i, ev.order)
		}
	}
	last := evs[3]
	if last.headers[":message-type"] != "event" || last.headers[":event-type"] != "InvokeComplete" || last.headers[":content-type"] != "application/json" {
		t.Errorf("complete headers %v", last.headers)
	}
	if got, want := string(last.payload), `{"ErrorCode":"Unhandled","ErrorDetails":"boom","LogResult":"bG9n"}`; got != want {
		t.Errorf("complete payload %s, want %s", got, want)
	}
	if rec.flushes != 4 {
		t.Errorf("%d flushes, want 4", rec.flushes)
	}
}

func TestChunkSplitting(t *testing.T) {
	for _, n := range []int{1, MaxChunk - 1, MaxChunk, MaxChunk + 1, 2*MaxChunk + 5} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i % 251)
		}
		var rec recorder
		if err := NewWriter(&rec, rec.Flush).Chunk(p); err != nil {
			t.Fatal(err)
		}
		evs := decodeAll(t, rec.bytes())
		wantFrames := (n + MaxChunk - 1) / MaxChunk
		if len(evs) != wantFrames {
			t.Fatalf("n=%d: %d frames, want %d", n, len(evs), wantFrames)
		}
		var got []byte
		for i, ev := range evs {
			wantLen := MaxChunk
			if i == len(evs)-1 {
				wantLen = n - (wantFrames-1)*MaxChunk
			}
			if len(ev.payload) != wantLen {
				t.Errorf("n=%d frame %d: %d bytes, want %d", n, i, len(ev.payload), wantLen)
			}
			got = append(got, ev.payload...)
		}
		if !bytes.Equal(got, p) {
			t.Errorf("n=%d: payload differs", n)
		}
		// One write and one flush per frame, each flush right after its write.
		if len(rec.writes) != wantFrames || rec.flushes != wantFrames {
			t.Errorf("n=%d: %d writes, %d flushes, want %d each", n, len(rec.writes), rec.flushes, wantFrames)
		}
		for i, after := range rec.flushedAfter {
			if after != i+1 {
				t.Errorf("n=%d: flush %d after %d writes", n, i, after)
			}
		}
	}
}

func TestEmptyChunk(t *testing.T) {
	var rec recorder
	w := NewWriter(&rec, rec.Flush)
	if err := w.Chunk(nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Chunk([]byte{}); err != nil {
		t.Fatal(err)
	}
	if len(rec.writes) != 0 || rec.flushes != 0 {
		t.Errorf("%d writes, %d flushes, want none", len(rec.writes), rec.flushes)
	}
}

func TestCompleteJSON(t *testing.T) {
	tests := []struct {
		name string
		c    Complete
		want string
	}{
		{"empty", Complete{}, `{}`},
		{"error code only", Complete{ErrorCode: "Sandbox.Timedout"}, `{"ErrorCode":"Sandbox.Timedout"}`},
		{"details only", Complete{ErrorDetails: "d"}, `{"ErrorDetails":"d"}`},
		{"log only", Complete{LogResult: "U1RBUlQ="}, `{"LogResult":"U1RBUlQ="}`},
		{"escaping", Complete{ErrorCode: "Runtime.ExitError", ErrorDetails: "{\"errorMessage\":\"a \\ b\n\tc <d> & é \u2028\x01\"}"},
			`{"ErrorCode":"Runtime.ExitError","ErrorDetails":"{\"errorMessage\":\"a \\ b\n\tc <d> & é \u2028\u0001\"}"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec recorder
			if err := NewWriter(&rec, nil).Complete(tt.c); err != nil {
				t.Fatal(err)
			}
			evs := decodeAll(t, rec.bytes())
			if len(evs) != 1 {
				t.Fatalf("%d events", len(evs))
			}
			if got := string(evs[0].payload); got != tt.want {
				t.Errorf("payload %s\nwant    %s", got, tt.want)
			}
			var back Complete
			if err := json.Unmarshal(evs[0].payload, &back); err != nil {
				t.Fatal(err)
			}
			if back != tt.c {
				t.Errorf("round trip %+v, want %+v", back, tt.c)
			}
		})
	}
}

// TestCompleteInvalidUTF8 checks that the payload stays valid JSON.
func TestCompleteInvalidUTF8(t *testing.T) {
	var rec recorder
	if err := NewWriter(&rec, nil).Complete(Complete{ErrorDetails: "a\xffb"}); err != nil {
		t.Fatal(err)
	}
	p := decodeAll(t, rec.bytes())[0].payload
	if !json.Valid(p) {
		t.Fatalf("invalid JSON %q", p)
	}
	var back Complete
	json.Unmarshal(p, &back)
	if back.ErrorDetails != "a\uFFFDb" {
		t.Errorf("ErrorDetails %q", back.ErrorDetails)
	}
}

func TestWriteAfterComplete(t *testing.T) {
	var rec recorder
	w := NewWriter(&rec, rec.Flush)
	if err := w.Complete(Complete{}); err != nil {
		t.Fatal(err)
	}
	if err := w.Chunk([]byte("late")); !errors.Is(err, ErrCompleted) {
		t.Errorf("Chunk after Complete: %v", err)
	}
	if err := w.Complete(Complete{}); !errors.Is(err, ErrCompleted) {
		t.Errorf("Complete after Complete: %v", err)
	}
	if len(rec.writes) != 1 || rec.flushes != 1 {
		t.Errorf("%d writes, %d flushes, want 1 each", len(rec.writes), rec.flushes)
	}
}

type failWriter struct {
	n   int // writes that succeed
	err error
}

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	f.n--
	return len(p), nil
}

func TestErrorsAreSticky(t *testing.T) {
	boom := errors.New("boom")
	t.Run("write", func(t *testing.T) {
		flushes := 0
		w := NewWriter(&failWriter{n: 1, err: boom}, func() error { flushes++; return nil })
		if err := w.Chunk([]byte("a")); err != nil {
			t.Fatal(err)
		}
		if err := w.Chunk(make([]byte, 2*MaxChunk)); !errors.Is(err, boom) {
			t.Fatalf("Chunk: %v", err)
		}
		if flushes != 1 {
			t.Errorf("%d flushes, want 1", flushes)
		}
		if err := w.Chunk(nil); !errors.Is(err, boom) {
			t.Errorf("empty Chunk after failure: %v", err)
		}
		if err := w.Complete(Complete{}); !errors.Is(err, boom) {
			t.Errorf("Complete after failure: %v", err)
		}
	})
	t.Run("flush", func(t *testing.T) {
		var rec recorder
		w := NewWriter(&rec, func() error { return boom })
		if err := w.Chunk([]byte("a")); !errors.Is(err, boom) {
			t.Fatalf("Chunk: %v", err)
		}
		if err := w.Chunk([]byte("b")); !errors.Is(err, boom) {
			t.Fatalf("second Chunk: %v", err)
		}
		if len(rec.writes) != 1 {
			t.Errorf("%d writes, want 1", len(rec.writes))
		}
	})
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("hi"))
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0x10, 0, 0, 0, 0})
	f.Add(bytes.Repeat([]byte{0xab}, 1000))
	f.Fuzz(func(t *testing.T, p []byte) {
		var rec recorder
		w := NewWriter(&rec, rec.Flush)
		if err := w.Chunk(p); err != nil {
			t.Fatal(err)
		}
		if err := w.Complete(Complete{ErrorDetails: string(p)}); err != nil {
			t.Fatal(err)
		}
		evs := decodeAll(t, rec.bytes())
		var got []byte
		for _, ev := range evs[:len(evs)-1] {
			if ev.headers[":event-type"] != "PayloadChunk" || len(ev.payload) == 0 {
				t.Fatalf("bad chunk event %v (%d bytes)", ev.headers, len(ev.payload))
			}
			got = append(got, ev.payload...)
		}
		if !bytes.Equal(got, p) {
			t.Fatalf("round trip %q, want %q", got, p)
		}
		last := evs[len(evs)-1]
		if last.headers[":event-type"] != "InvokeComplete" || !json.Valid(last.payload) {
			t.Fatalf("bad complete event %v %q", last.headers, last.payload)
		}
		if rec.flushes != len(evs) {
			t.Fatalf("%d flushes for %d events", rec.flushes, len(evs))
		}
	})
}

// FuzzDecode feeds arbitrary bytes to the SDK's decoder the way a client
// reads a stream: it must neither panic nor loop forever.
func FuzzDecode(f *testing.F) {
	var rec recorder
	w := NewWriter(&rec, nil)
	w.Chunk([]byte("hi"))
	w.Complete(Complete{ErrorCode: "e"})
	f.Add(rec.bytes())
	f.Add(mustHex("00 00 00 6c 00 00 00 5a b2 5e fd cf"))
	f.Add(mustHex("00 00 00 00 00 00 00 00 00 00 00 00"))
	f.Add(mustHex("00 00 00 0f 00 00 00 00"))
	f.Add(mustHex("ff ff ff ff ff ff ff ff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dec := awses.NewDecoder()
		r := bytes.NewReader(b)
		for i := 0; ; i++ {
			if i > len(b)/16+1 {
				t.Fatalf("%d messages decoded from %d bytes", i, len(b))
			}
			before := r.Len()
			if _, err := dec.Decode(r, nil); err != nil {
				return
			}
			if r.Len() >= before {
				t.Fatalf("Decode succeeded without consuming input")
			}
		}
	})
}

// TestChunkFrame: a frame built in place is byte for byte the SDK
// encoder's (Chunk), in one write, flushed only when asked; bad buffers
// are refused without writing.
func TestChunkFrame(t *testing.T) {
	for _, n := range []int{1, 5, 4 << 10, MaxChunk} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i * 7)
		}
		var want recorder
		if err := NewWriter(&want, want.Flush).Chunk(p); err != nil {
			t.Fatal(err)
		}
		for _, flush := range []bool{false, true} {
			buf := make([]byte, ChunkHead, ChunkHead+n+ChunkTail)
			buf = append(buf, p...)
			var got recorder
			w := NewWriter(&got, got.Flush)
			if err := w.ChunkFrame(buf, flush); err != nil {
				t.Fatal(err)
			}
			if len(got.writes) != 1 || !bytes.Equal(got.writes[0], want.bytes()) {
				t.Fatalf("n=%d: %d writes, frame differs from the SDK encoder's", n, len(got.writes))
			}
			if wantFlushes := map[bool]int{false: 0, true: 1}[flush]; got.flushes != wantFlushes {
				t.Errorf("n=%d flush=%v: %d flushes", n, flush, got.flushes)
			}
			if err := w.Flush(); err != nil || got.flushes != map[bool]int{false: 1, true: 2}[flush] {
				t.Errorf("Flush: %v, %d flushes", err, got.flushes)
			}
		}
	}
	var rec recorder
	w := NewWriter(&rec, nil)
	for _, bad := range [][]byte{
		make([]byte, ChunkHead-1, 200),                                     // no room for the head
		make([]byte, ChunkHead+3),                                          // no room for the tail
		make([]byte, ChunkHead+MaxChunk+1, ChunkHead+MaxChunk+1+ChunkTail), // too large
	} {
		if err := w.ChunkFrame(bad, true); err == nil {
			t.Errorf("ChunkFrame of %d bytes (cap %d): no error", len(bad), cap(bad))
		}
	}
	if err := w.ChunkFrame(make([]byte, ChunkHead, ChunkHead+ChunkTail), true); err != nil || len(rec.writes) != 0 {
		t.Errorf("empty ChunkFrame: %v, %d writes; want nothing written", err, len(rec.writes))
	}
}
