package sandbox

import (
	"slices"
	"testing"

	"github.com/sluice-dev/sluice"
)

// AWS_LAMBDA_EXEC_WRAPPER puts the wrapper before the runtime's command
// (through the check Lambda's bootstrap scripts make) for a managed
// runtime, and changes nothing for provided.* or without it.
func TestWithExecWrapper(t *testing.T) {
	py := Bootstrap{Command: []string{"/usr/bin/python3", "-u", "/var/runtime/bootstrap.py"}}
	wrapped := py.withExecWrapper(&sluice.Function{Runtime: "python3.12", Environment: map[string]string{"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/wrap.sh"}})
	want := []string{"/bin/sh", "-c", execWrapperScript, "/var/task/wrap.sh", "/usr/bin/python3", "-u", "/var/runtime/bootstrap.py"}
	if !slices.Equal(wrapped.Command, want) {
		t.Errorf("python3.12 with a wrapper: %q, want %q", wrapped.Command, want)
	}
	if len(py.Command) != 3 {
		t.Errorf("the Bootstrap it was made from changed: %q", py.Command)
	}
	for _, fn := range []*sluice.Function{
		{Runtime: "python3.12"},
		{Runtime: "provided.al2023", Environment: map[string]string{"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/wrap.sh"}},
		nil,
	} {
		if got := py.withExecWrapper(fn); !slices.Equal(got.Command, py.Command) {
			t.Errorf("%+v: command %q, want it unchanged", fn, got.Command)
		}
	}
}
