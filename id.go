package sluice

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// NewRequestID returns a random version-4 UUID in its canonical text form,
// the shape of Lambda request and revision ids.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}

// NewTraceID returns an X-Ray trace header value
// "Root=1-<epoch hex>-<24 hex>;Parent=<16 hex>;Sampled=0".
func NewTraceID(now time.Time) string {
	root, parent := NewTraceParts(now)
	return "Root=" + root + ";Parent=" + parent + ";Sampled=0"
}

// NewTraceParts returns the Root ("1-<epoch hex>-<24 hex>") and Parent
// (16 hex) of a new trace, as NewTraceID has them.
func NewTraceParts(now time.Time) (root, parent string) {
	var b [20]byte
	_, _ = rand.Read(b[:])
	var r [35]byte
	r[0], r[1] = '1', '-'
	var epoch [4]byte
	binary.BigEndian.PutUint32(epoch[:], uint32(now.Unix()))
	hex.Encode(r[2:10], epoch[:])
	r[10] = '-'
	hex.Encode(r[11:35], b[:12])
	return string(r[:]), hex.EncodeToString(b[12:])
}
