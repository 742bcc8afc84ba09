package api

import (
	"regexp"
	"testing"
)

// The RuntimeVersionArn is the same for every function of a runtime and
// architecture, and differs per runtime and per architecture, as AWS's
// (test_mixed_architecture: x86_64 and arm64 answer different ARNs).
func TestRuntimeVersionARN(t *testing.T) {
	x86 := runtimeVersionARN("us-east-1", "python3.12", "x86_64")
	if !regexp.MustCompile(`^arn:aws:lambda:us-east-1::runtime:[0-9a-f]{64}$`).MatchString(x86) {
		t.Fatalf("ARN %q", x86)
	}
	if again := runtimeVersionARN("us-east-1", "python3.12", "x86_64"); again != x86 {
		t.Errorf("not stable: %q, %q", x86, again)
	}
	for _, other := range []string{runtimeVersionARN("us-east-1", "python3.12", "arm64"), runtimeVersionARN("us-east-1", "python3.13", "x86_64")} {
		if other == x86 {
			t.Errorf("%q answered for another runtime or architecture too", other)
		}
	}
}
