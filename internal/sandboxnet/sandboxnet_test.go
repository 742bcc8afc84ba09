package sandboxnet

import (
	"bufio"
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

	"golang.org/x/sys/unix"
)

// testUID is a sandbox uid of these tests, far from sluice's own ranges.
const testUID = 1_999_990_001

// needTools fails unless the test runs as root with bwrap, pasta, nft and
// ip at hand: sluice's sandboxes need bwrap and nft, the tests ip, and the
// benchmark of the alternative pasta (CI installs them: .ci/run).
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

// testHost opens a Host for an instance id of the test's own.
func testHost(t testing.TB) *Host {
	t.Helper()
	h, err := Open(context.Background(), "nft", 0xfe000000|uint32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h
}

// TestAttach: the sandbox gets eth0 with an address of its own and a
// default route to the gateway; the host gets the other end, named for
// the instance, with a route to that address; Close removes both.
func TestAttach(t *testing.T) {
	needTools(t)
	h := testHost(t)
	pid := sandbox(t, testUID)
	if routes := inside(t, pid, "route"); strings.Contains(routes, "default") {
		t.Fatalf("a default route before Attach: %s", routes)
	}
	l, err := h.Attach(pid)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(l.Name, h.prefix) || len(l.Name) != 15 {
		t.Errorf("host side %q, want %s + 5 hex digits", l.Name, h.prefix)
	}
	if routes := inside(t, pid, "route"); !strings.Contains(routes, "default via 169.254.1.1 dev eth0") {
		t.Errorf("no default route to the gateway after Attach: %s", routes)
	}
	if addrs := inside(t, pid, "-4", "addr", "show", "eth0"); !strings.Contains(addrs, "inet "+l.Addr.String()+"/32") {
		t.Errorf("eth0 inside has not %s: %s", l.Addr, addrs)
	}
	out, err := exec.Command("ip", "route", "show", l.Addr.String()+"/32").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "dev "+l.Name) {
		t.Errorf("the host's route to %s: %s %v", l.Addr, out, err)
	}
	l.Close()
	if out, err := exec.Command("ip", "link", "show", l.Name).CombinedOutput(); err == nil {
		t.Errorf("%s still there after Close: %s", l.Name, out)
	}
	if routes := inside(t, pid, "link"); strings.Contains(routes, "eth0") {
		t.Errorf("eth0 still inside after Close: %s", routes)
	}
}

// TestAttachTaken: an address another instance routes already is skipped,
// and so is an interface name in use.
func TestAttachTaken(t *testing.T) {
	needTools(t)
	a, b := testHost(t), testHost(t)
	l1, err := a.Attach(sandbox(t, testUID))
	if err != nil {
		t.Fatal(err)
	}
	defer l1.Close()
	// b tries l1's name and address first.
	b.prefix, b.nextIf, b.nextAddr = a.prefix, a.nextIf-1, a.nextAddr-1
	l2, err := b.Attach(sandbox(t, testUID+1))
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if l2.Name == l1.Name || l2.Addr.Equal(l1.Addr) {
		t.Errorf("two links share a name or an address: %s %s, %s %s", l1.Name, l1.Addr, l2.Name, l2.Addr)
	}
}

// TestAttachGone: a process that is gone is an error.
func TestAttachGone(t *testing.T) {
	needTools(t)
	if _, err := testHost(t).Attach(1 << 30); err == nil {
		t.Fatal("Attach to no process succeeded")
	}
}

// TestTable: the instance's table filters and masquerades what comes from
// the instance's interfaces; a second Open replaces it (what a crash
// left); Close deletes it.
func TestTable(t *testing.T) {
	needTools(t)
	ctx := context.Background()
	h := testHost(t)
	again, err := Open(ctx, "nft", 0xfe000000|uint32(os.Getpid()))
	if err != nil {
		t.Fatalf("Open over a leftover: %v", err)
	}
	out, err := exec.Command("nft", "list", "table", "inet", h.Table()).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, want := range []string{
		`iifname "` + h.prefix + `*" meta l4proto tcp reject with tcp reset`,
		`iifname "` + h.prefix + `*" oifname "sl*" reject`,
		`iifname "` + h.prefix + `*" oifname != "sl*" masquerade`,
	} {
		if strings.Count(string(out), want) != 1 {
			t.Errorf("want %q once in:\n%s", want, out)
		}
	}
	if b, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); strings.TrimSpace(string(b)) != "1" {
		t.Errorf("ip_forward = %q after Open", b)
	}
	if err := again.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("nft", "list", "table", "inet", h.Table()).CombinedOutput(); err == nil {
		t.Errorf("table still there after Close:\n%s", out)
	}
}

// BenchmarkAttach is the per-environment cost of the chosen link, a veth
// pair (median-ms).
func BenchmarkAttach(b *testing.B) {
	needTools(b)
	h := testHost(b)
	var times []time.Duration
	for b.Loop() {
		b.StopTimer()
		pid := sandbox(b, testUID)
		b.StartTimer()
		start := time.Now()
		l, err := h.Attach(pid)
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

// BenchmarkPasta is the per-environment cost of the alternative, pasta
// (Debian passt): attached to the namespace as the sandbox's uid until it
// has configured it (median-ms), and its resident memory (rss-MB).
func BenchmarkPasta(b *testing.B) {
	needTools(b)
	var times []time.Duration
	var rss []time.Duration // KiB, sorted with the same helper
	for b.Loop() {
		b.StopTimer()
		pid := sandbox(b, testUID)
		b.StartTimer()
		start := time.Now()
		cmd, err := attachPasta(pid, testUID)
		times = append(times, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)); err == nil {
			for _, line := range strings.Split(string(status), "\n") {
				if f := strings.Fields(line); len(f) > 1 && f[0] == "VmRSS:" {
					kb, _ := strconv.Atoi(f[1])
					rss = append(rss, time.Duration(kb))
				}
			}
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		b.StartTimer()
	}
	report(b, times)
	if len(rss) > 0 {
		slices.Sort(rss)
		b.ReportMetric(float64(rss[len(rss)/2])/1024, "rss-MB")
	}
}

// attachPasta starts pasta as uid in the network namespace of pid, as
// sluice would have (it joins the user namespace that owns the network
// namespace, handed over by file descriptor), and returns once pasta has
// configured it (it writes its pid file, a pipe, then).
func attachPasta(pid, uid int) (*exec.Cmd, error) {
	netNS, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return nil, err
	}
	defer netNS.Close()
	ownerFD, err := unix.IoctlRetInt(int(netNS.Fd()), 0xb701) // NS_GET_USERNS
	if err != nil {
		return nil, err
	}
	owner := os.NewFile(uintptr(ownerFD), "userns")
	defer owner.Close()
	ready, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer ready.Close()
	if err := readyW.Chmod(0o222); err != nil {
		readyW.Close()
		return nil, err
	}
	cmd := exec.Command("pasta", "--foreground", "--quiet", "--config-net", "--no-map-gw",
		"--tcp-ports", "none", "--udp-ports", "none", "--tcp-ns", "none", "--udp-ns", "none",
		"--userns", "/proc/self/fd/3", "--netns", "/proc/self/fd/4", "--pid", "/proc/self/fd/5")
	cmd.ExtraFiles = []*os.File{owner, netNS, readyW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(ready).ReadString('\n')
	if err != nil || strings.TrimSpace(line) == "" {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return nil, fmt.Errorf("pasta did not configure the namespace: %v", err)
	}
	return cmd, nil
}

func report(b *testing.B, times []time.Duration) {
	slices.Sort(times)
	ms := func(q float64) float64 { return float64(times[int(q*float64(len(times)-1))].Microseconds()) / 1000 }
	b.ReportMetric(ms(0.5), "median-ms")
	b.ReportMetric(ms(0.1), "p10-ms")
	b.ReportMetric(ms(0.9), "p90-ms")
}
