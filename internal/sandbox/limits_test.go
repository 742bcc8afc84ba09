package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/cgroup"
)

// fakeV2 is a cgroup.Manager on a fake cgroup v2 file system (plain files
// in a temporary directory): memory and pids enabled, the instance
// directory "sluice-test" made.
func fakeV2(t *testing.T) (*cgroup.Manager, string) {
	t.Helper()
	root := t.TempDir()
	base := filepath.Join(root, "sluice-test")
	files := map[string]string{
		filepath.Join(root, "cgroup.controllers"):     "memory pids\n",
		filepath.Join(root, "cgroup.subtree_control"): "memory pids\n",
		filepath.Join(base, "cgroup.subtree_control"): "memory pids\n",
		filepath.Join(base, "pids.max"):               "max\n",
		filepath.Join(base, "pids.current"):           "0\n",
		filepath.Join(root, "self-cgroup"):            "0::/\n",
		filepath.Join(root, "mountinfo"):              "30 25 0:26 / " + root + " rw,nosuid - cgroup2 cgroup2 rw\n",
	}
	if err := os.Mkdir(base, 0o755); err != nil {
		t.Fatal(err)
	}
	for p, c := range files {
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := cgroup.New(cgroup.Options{Prefix: "sluice-test", Root: root, ProcSelf: filepath.Join(root, "self-cgroup"), MountInfo: filepath.Join(root, "mountinfo")})
	if err != nil {
		t.Fatal(err)
	}
	if m.Version() != "v2" {
		t.Fatalf("fake cgroupfs is %s, want v2", m.Version())
	}
	return m, base
}

// TestCommandFailsClosedOnV2: when the environment's v2 cgroup cannot be
// opened, nothing is started (it would run outside its limits).
func TestCommandFailsClosedOnV2(t *testing.T) {
	m, base := fakeV2(t)
	g, err := m.Create("env-x", cgroup.Limits{}, -1)
	if err != nil {
		t.Fatal(err)
	}
	s := &isolated{iso: &Isolation{Bwrap: "bwrap", Cgroups: m}, uid: 1_000_000_000, group: g}
	fn := &sluice.Function{Name: "fn", Runtime: "provided", Handler: "x", Timeout: 3, MemorySize: 128, EphemeralStorage: 512}
	l := &Launch{ID: "x", Spec: Spec{Function: fn, CodeDir: t.TempDir(), Bootstrap: Bootstrap{}.withDefaults()}}

	cmd, err := s.command(l, nil)
	if err != nil || !cmd.SysProcAttr.UseCgroupFD {
		t.Fatalf("command with the group there: %v, UseCgroupFD %v; want it started in the group", err, cmd != nil && cmd.SysProcAttr.UseCgroupFD)
	}
	s.cgroupFD.Close()
	s.cgroupFD = nil

	if err := os.RemoveAll(filepath.Join(base, "env-x")); err != nil {
		t.Fatal(err)
	}
	cmd, err = s.command(l, nil)
	if err == nil || cmd != nil {
		t.Fatalf("command without the group's directory: %v, %v; want an error and nothing to start", cmd, err)
	}
	if !strings.Contains(err.Error(), "cgroup") {
		t.Errorf("error %q does not say it is the cgroup", err)
	}
}

// TestAdmitPIDs: a new environment is refused, with Lambda's throttling
// error, when the environments' tasks are within minEnvTasks of the
// host-wide limit.
func TestAdmitPIDs(t *testing.T) {
	m, base := fakeV2(t)
	iso := &Isolation{Cgroups: m}
	if err := iso.admit(); err != nil {
		t.Fatalf("admit with pids.max max: %v", err)
	}
	os.WriteFile(filepath.Join(base, "pids.max"), []byte("1000\n"), 0o644)
	os.WriteFile(filepath.Join(base, "pids.current"), []byte("936\n"), 0o644)
	if err := iso.admit(); err != nil {
		t.Fatalf("admit with 936 of 1000: %v", err)
	}
	os.WriteFile(filepath.Join(base, "pids.current"), []byte("937\n"), 0o644)
	err := iso.admit()
	var se *sluice.Error
	if !errors.As(err, &se) || se.Code != sluice.EThrottled || se.Reason != ReasonHostLimit || !strings.Contains(se.Message, "937 of the 1000") {
		t.Fatalf("admit with 937 of 1000: %#v, want EThrottled with the figures", err)
	}
	if err := (&Isolation{}).admit(); err != nil {
		t.Errorf("admit without cgroups: %v", err)
	}
}
