package sandboxnet

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testUID is a sandbox uid of these tests, far from sluice's own ranges.
const testUID = 1_999_990_001

// needTools fails unless the test runs as root with bwrap, pasta, nft and
// ip at hand, as sluice's sandboxes need (CI installs them: .ci/run).
func needTools(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the sandbox network needs root")
	}
	for _, tool := range []string{"bwrap", "pasta", "nft", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the sandbox network tests need %s", tool)
		}
	}
}

// sandbox starts a bubblewrap sandbox as uid with a network namespace of
// its own, as sluice does (uid 993 inside), running sleep; it returns the
// pid of the process inside.
func sandbox(t testing.TB, uid int) int {
	t.Helper()
	infoR, infoW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer infoR.Close()
	cmd := exec.Command("bwrap", "--unshare-user", "--unshare-pid", "--unshare-net",
		"--uid", "993", "--gid", "990", "--die-with-parent",
		"--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
		"--symlink", "usr/bin", "/bin", "--proc", "/proc", "--dev", "/dev",
		"--info-fd", "3", "--", "sleep", "60")
	cmd.ExtraFiles = []*os.File{infoW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	infoW.Close()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	var info struct {
		ChildPID int `json:"child-pid"`
	}
	if err := json.NewDecoder(io.LimitReader(infoR, 1<<16)).Decode(&info); err != nil {
		t.Fatalf("bwrap's info: %v", err)
	}
	return info.ChildPID
}

// inside runs ip with args in the network namespace of pid.
func inside(t testing.TB, pid int, args ...string) string {
	t.Helper()
	out, err := exec.Command("nsenter", append([]string{"-t", strconv.Itoa(pid), "-n", "ip"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %v inside: %v: %s", args, err, out)
	}
	return string(out)
}

// TestAttach: pasta configures the sandbox's namespace (an interface with
// an address and a default route), runs as the sandbox's uid, and is gone
// after Close.
func TestAttach(t *testing.T) {
	needTools(t)
	pid := sandbox(t, testUID)
	if routes := inside(t, pid, "route"); strings.Contains(routes, "default") {
		t.Fatalf("a default route before Attach: %s", routes)
	}
	l, err := Attach("pasta", pid, testUID)
	if err != nil {
		t.Fatal(err)
	}
	if routes := inside(t, pid, "route"); !strings.Contains(routes, "default") {
		t.Errorf("no default route after Attach: %s", routes)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", l.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("Uid:\t%d\t%d", testUID, testUID); !strings.Contains(string(status), want) {
		t.Errorf("pasta does not run as the sandbox's uid:\n%s", status)
	}
	l.Close()
	if err := syscall.Kill(l.cmd.Process.Pid, 0); err == nil {
		t.Errorf("pasta still runs after Close")
	}
}

// TestAttachFails: a process that is gone is an error, not a hang.
func TestAttachFails(t *testing.T) {
	needTools(t)
	if _, err := Attach("pasta", 1<<30, testUID); err == nil {
		t.Fatal("Attach to no process succeeded")
	}
}

// TestFilter: the table rejects what the uid range sends to the host's
// addresses, and only that; Remove deletes it; a second install replaces
// the first (what a crash left).
func TestFilter(t *testing.T) {
	needTools(t)
	ctx := context.Background()
	table := fmt.Sprintf("sluice_test_%d", os.Getpid())
	f, err := InstallFilter(ctx, "nft", table, testUID, testUID+9)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Remove(ctx)
	if _, err := InstallFilter(ctx, "nft", table, testUID, testUID+9); err != nil {
		t.Fatalf("install over a leftover: %v", err)
	}
	out, err := exec.Command("nft", "list", "table", "inet", table).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if n := strings.Count(string(out), fmt.Sprintf("meta skuid %d-%d fib daddr type local", testUID, testUID+9)); n != 2 {
		t.Errorf("want the two rules once each:\n%s", out)
	}
	if err := f.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("nft", "list", "table", "inet", table).CombinedOutput(); err == nil {
		t.Errorf("table still there after Remove:\n%s", out)
	}
}

// BenchmarkAttach is the cost of option (b), pasta, per environment:
// Attach until the namespace is configured (median-ms).
func BenchmarkAttach(b *testing.B) {
	needTools(b)
	var times []time.Duration
	for b.Loop() {
		b.StopTimer()
		pid := sandbox(b, testUID)
		b.StartTimer()
		start := time.Now()
		l, err := Attach("pasta", pid, testUID)
		times = append(times, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		l.Close()
		b.StartTimer()
	}
	report(b, times)
}

// BenchmarkVeth is the cost of option (a), a veth pair per environment,
// without the NAT and filter rules (loaded once per instance): one ip
// process creates the pair with its end in the namespace, addresses and
// brings up the host's end, one more (in the namespace) addresses its end
// and adds the default route. The fork/exec of ip is part of it, as it
// would be for a netlink library's setns round trip.
func BenchmarkVeth(b *testing.B) {
	needTools(b)
	var times []time.Duration
	i := 0
	for b.Loop() {
		b.StopTimer()
		pid := sandbox(b, testUID)
		i++
		host := fmt.Sprintf("slbench%d", i)
		hostIP, nsIP := fmt.Sprintf("100.127.%d.1", i%250), fmt.Sprintf("100.127.%d.2", i%250)
		batch := fmt.Sprintf("link add %s type veth peer name eth0 netns %d\naddr add %s/30 dev %s\nlink set %s up\n", host, pid, hostIP, host, host)
		b.StartTimer()
		start := time.Now()
		cmd := exec.Command("ip", "-b", "-")
		cmd.Stdin = strings.NewReader(batch)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
		in := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-n", "ip", "-b", "-")
		in.Stdin = strings.NewReader(fmt.Sprintf("addr add %s/30 dev eth0\nlink set eth0 up\nroute add default via %s\n", nsIP, hostIP))
		if out, err := in.CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
		times = append(times, time.Since(start))
		b.StopTimer()
		_ = exec.Command("ip", "link", "del", host).Run()
		b.StartTimer()
	}
	report(b, times)
}

func report(b *testing.B, times []time.Duration) {
	slices.Sort(times)
	ms := func(q float64) float64 { return float64(times[int(q*float64(len(times)-1))].Microseconds()) / 1000 }
	b.ReportMetric(ms(0.5), "median-ms")
	b.ReportMetric(ms(0.1), "p10-ms")
	b.ReportMetric(ms(0.9), "p90-ms")
}
