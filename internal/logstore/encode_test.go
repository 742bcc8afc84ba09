package logstore

import (
	"bytes"
	"encoding/json"
	"testing"
)

// appendRecord writes exactly what json.Marshal writes.
func FuzzAppendRecord(f *testing.F) {
	for _, s := range []string{"", "plain line\n", "tab\there \"quoted\" \\ back", "<html>&amp;</html>", "\x00\x01\x1f\x7f", "caf\xc3\xa9 \xff\xfe bad", "\u2028\u2029 sep", "emoji 😀"} {
		f.Add(int64(1700000000000), "2026/01/01/[$LATEST]abc", s)
	}
	f.Fuzz(func(t *testing.T, ts int64, stream, msg string) {
		rec := record{T: ts, S: stream, M: msg}
		want, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		got := appendRecord(nil, rec)
		if !bytes.Equal(got, append(want, '\n')) {
			t.Fatalf("appendRecord %q, json.Marshal %q", got, want)
		}
	})
}
