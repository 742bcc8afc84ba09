package sluice

import (
	"regexp"
	"testing"
	"time"
)

func TestNewRequestIDAndTraceID(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewRequestID()
		if !uuid.MatchString(id) || seen[id] {
			t.Fatalf("request id %q: not a fresh version-4 UUID", id)
		}
		seen[id] = true
	}
	now := time.Unix(0x6564d8a1, 0)
	trace := regexp.MustCompile(`^Root=1-6564d8a1-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$`)
	a, b := NewTraceID(now), NewTraceID(now)
	if !trace.MatchString(a) || a == b {
		t.Fatalf("trace ids %q, %q", a, b)
	}
}

func BenchmarkNewRequestID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		NewRequestID()
	}
}
