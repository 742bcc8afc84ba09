package main

// The network of sandboxed functions (--sandbox-network, default
// "isolated"): hostile functions try to reach the host's loopback, the
// host's own addresses, each other, and to serve the outside; an
// "internet" (a network namespace this test makes, routed from the host)
// must stay reachable, and so must sluice's own API through
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_LAMBDA.

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"golang.org/x/sys/unix"

	"github.com/sluice-dev/sluice/internal/lambdaclient"
)

// hostListener is a TCP service of the host that functions must not reach;
// it counts the connections it accepted.
type hostListener struct {
	ln       net.Listener
	accepted atomic.Int64
}

func listenHost(t *testing.T, addr string) *hostListener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	h := &hostListener{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.accepted.Add(1)
			c.Close()
		}
	}()
	return h
}

func (h *hostListener) port() int { return h.ln.Addr().(*net.TCPAddr).Port }

// hostAddress is an IPv4 address of the host that is not loopback.
func hostAddress(t *testing.T) net.IP {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
			return n.IP
		}
	}
	t.Fatal("the host has no non-loopback IPv4 address")
	return nil
}

// freePort is a TCP port nothing listens on (at the time of the call).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// dialHost reports whether the host reaches addr.
func dialHost(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		c.Close()
	}
	return err
}

// TestSandboxNetworkIsolated: with the default network a function reaches
// neither the host's loopback nor its other addresses, serves nothing to
// the host, shares no abstract unix sockets with another environment and
// sees only its own sockets, but reaches sluice's API through
// AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_LAMBDA) and the outside (an
// "internet" namespace).
func TestSandboxNetworkIsolated(t *testing.T) {
	t.Parallel()
	inet := newInternet(t)
	ts := startSandboxed(t)
	if ts.cfg.SandboxNetwork != "isolated" {
		t.Fatalf("default SandboxNetwork %q, want isolated", ts.cfg.SandboxNetwork)
	}
	ts.createProbe(t, "a")
	ts.createProbe(t, "b")
	apiPort := ts.ln.Addr().(*net.TCPAddr).Port

	t.Run("host loopback", func(t *testing.T) {
		h := listenHost(t, "127.0.0.1:0")
		r := ts.probe(t, "a", map[string]any{"op": "dial", "addr": "127.0.0.1:" + strconv.Itoa(h.port())})
		wantErrno(t, "dial the host's loopback", r, "connection refused")
		if n := h.accepted.Load(); n != 0 {
			t.Errorf("the host's loopback service accepted %d connections from inside", n)
		}
	})
	t.Run("host address", func(t *testing.T) {
		h := listenHost(t, "0.0.0.0:0")
		for _, ip := range []string{hostAddress(t).String(), inet.hostIP} {
			addr := net.JoinHostPort(ip, strconv.Itoa(h.port()))
			r := ts.probe(t, "a", map[string]any{"op": "dial", "addr": addr})
			wantErrno(t, "dial the host's address "+addr, r, "connection refused")
		}
		if n := h.accepted.Load(); n != 0 {
			t.Errorf("the host's service accepted %d connections from inside", n)
		}
	})
	t.Run("host's IPv6 link-local address on the link", func(t *testing.T) {
		h := listenHost(t, "[::]:0")
		ts.probe(t, "a", map[string]any{"op": "whoami"}) // a's environment and link exist
		abs, err := filepath.Abs(ts.cfg.DataDir)
		if err != nil {
			t.Fatal(err)
		}
		// The host's ends of the instance's links, once their IPv6
		// link-local addresses are usable (no longer tentative).
		var addrs []string
		eventually(10*time.Second, func() bool {
			addrs = nil
			for _, name := range linksWithPrefix(t, fmt.Sprintf("sl%08x", instanceOf(abs))) {
				out, _ := exec.Command("ip", "-6", "-o", "addr", "show", "dev", name, "scope", "link").Output()
				for _, line := range strings.Split(string(out), "\n") {
					f := strings.Fields(line)
					if len(f) > 3 && f[2] == "inet6" && !strings.Contains(line, "tentative") {
						addrs = append(addrs, strings.TrimSuffix(f[3], "/64"))
					}
				}
			}
			return len(addrs) > 0
		})
		if len(addrs) == 0 {
			t.Fatalf("no usable IPv6 link-local address on the instance's links")
		}
		for _, ip := range addrs {
			addr := net.JoinHostPort(ip+"%eth0", strconv.Itoa(h.port()))
			// Until the environment's own link-local address is usable
			// (duplicate address detection) there is no source to dial
			// from.
			var r probeResult
			eventually(10*time.Second, func() bool {
				r = ts.probe(t, "a", map[string]any{"op": "dial", "addr": addr})
				return r.OK || r.Error != "cannot assign requested address"
			})
			t.Logf("dial %s: %s", addr, r.raw)
			if r.OK || r.Error == "cannot assign requested address" {
				t.Errorf("dial the host's link-local %s from inside: %s, want it refused", addr, r.raw)
			}
		}
		if n := h.accepted.Load(); n != 0 {
			t.Errorf("the host's service accepted %d connections from inside", n)
		}
	})
	t.Run("sluice's API through AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_LAMBDA", func(t *testing.T) {
		env := ts.probe(t, "a", map[string]any{"op": "env"}).Env
		want := "http://127.0.0.1:" + strconv.Itoa(apiPort)
		for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA"} {
			if env[k] != want {
				t.Errorf("%s = %q, want %q", k, env[k], want)
			}
			// With the environment's own credentials.
			r := ts.probe(t, "a", map[string]any{"op": "lambda", "var": k})
			if !r.OK || strings.Join(r.Names, ",") != "a,b" {
				t.Errorf("ListFunctions from inside at $%s: %s, want a and b", k, r.raw)
			}
		}
	})
	t.Run("a function's own AWS_ENDPOINT_URL_LAMBDA wins", func(t *testing.T) {
		ts.createProbe(t, "own", func(in *lambda.CreateFunctionInput) {
			in.Environment = &types.Environment{Variables: map[string]string{"AWS_ENDPOINT_URL_LAMBDA": "http://lambda.example"}}
		})
		if got := ts.probe(t, "own", map[string]any{"op": "env"}).Env["AWS_ENDPOINT_URL_LAMBDA"]; got != "http://lambda.example" {
			t.Errorf("AWS_ENDPOINT_URL_LAMBDA = %q, want the function's own", got)
		}
	})
	t.Run("serve the host", func(t *testing.T) {
		port := freePort(t)
		r := ts.probe(t, "a", map[string]any{"op": "listen", "addr": "0.0.0.0:" + strconv.Itoa(port)})
		if !r.OK {
			t.Fatalf("listen inside: %s", r.raw)
		}
		for _, ip := range []string{"127.0.0.1", hostAddress(t).String()} {
			addr := net.JoinHostPort(ip, strconv.Itoa(port))
			if err := dialHost(addr); err == nil {
				t.Errorf("the host reached %s, which a function bound inside, after its invocation", addr)
			}
		}
	})
	t.Run("abstract unix socket between environments", func(t *testing.T) {
		name := "@sluice-test-" + unique()
		if r := ts.probe(t, "a", map[string]any{"op": "unixlisten", "path": name}); !r.OK {
			t.Fatalf("unixlisten in a: %s", r.raw)
		}
		if r := ts.probe(t, "a", map[string]any{"op": "unixdial", "path": name}); !r.OK || r.Body != "inside\n" {
			t.Fatalf("unixdial in a itself: %s", r.raw)
		}
		r := ts.probe(t, "b", map[string]any{"op": "unixdial", "path": name})
		wantErrno(t, "b dials a's abstract socket", r, "connection refused")
	})
	t.Run("host sockets in /proc/net/tcp", func(t *testing.T) {
		h := listenHost(t, "127.0.0.1:0")
		r := ts.probe(t, "a", map[string]any{"op": "read", "path": "/proc/net/tcp"})
		if !r.OK {
			t.Fatalf("read /proc/net/tcp: %s", r.raw)
		}
		if hex := fmt.Sprintf(":%04X ", h.port()); strings.Contains(r.Content, hex) {
			t.Errorf("/proc/net/tcp inside shows the host's listener on port %d:\n%s", h.port(), r.Content)
		}
		if len(r.Content) >= 4<<10 {
			t.Errorf("/proc/net/tcp inside lists more than the environment's own few sockets (%d bytes read)", len(r.Content))
		}
	})
	t.Run("outbound", func(t *testing.T) {
		r := ts.probe(t, "a", map[string]any{"op": "http", "url": "http://" + inet.serverAddr + "/"})
		if !r.OK || r.Status != 200 || r.Body != "internet\n" {
			t.Errorf("GET the internet's server %s: %s", inet.serverAddr, r.raw)
		}
	})
	// A function that no prepared slot fits (a larger /tmp) starts the
	// direct way, which sets its network up while bwrap waits.
	t.Run("direct start", func(t *testing.T) {
		ts.createProbe(t, "direct", func(in *lambda.CreateFunctionInput) {
			in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(1024)}
		})
		h := listenHost(t, "127.0.0.1:0")
		r := ts.probe(t, "direct", map[string]any{"op": "dial", "addr": h.ln.Addr().String()})
		wantErrno(t, "dial the host's loopback from a direct start", r, "connection refused")
		r = ts.probe(t, "direct", map[string]any{"op": "http", "url": "http://" + inet.serverAddr + "/"})
		if !r.OK || r.Status != 200 || r.Body != "internet\n" {
			t.Errorf("GET the internet's server from a direct start: %s", r.raw)
		}
		if r := ts.probe(t, "direct", map[string]any{"op": "lambda"}); !r.OK || len(r.Names) < 3 {
			t.Errorf("ListFunctions from a direct start: %s", r.raw)
		}
	})
}

// TestSandboxNetworkEndpoints: where a sandboxed function finds sluice's
// API with the other networks: with "host", at sluice's own listener (the
// loopback address for a listener on every address); with "none", nowhere
// (there is no way out), so neither variable is set.
func TestSandboxNetworkEndpoints(t *testing.T) {
	t.Parallel()
	t.Run("host", func(t *testing.T) {
		ts := startSandboxed(t, func(c *Config) { c.SandboxNetwork = "host"; c.Listen = "0.0.0.0:0" })
		ts.createProbe(t, "a")
		env := ts.probe(t, "a", map[string]any{"op": "env"}).Env
		want := "http://127.0.0.1:" + strconv.Itoa(ts.ln.Addr().(*net.TCPAddr).Port)
		for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA"} {
			if env[k] != want {
				t.Errorf("%s = %q, want %q", k, env[k], want)
			}
		}
		if r := ts.probe(t, "a", map[string]any{"op": "lambda", "var": "AWS_ENDPOINT_URL"}); !r.OK || strings.Join(r.Names, ",") != "a" {
			t.Errorf("ListFunctions from inside at $AWS_ENDPOINT_URL: %s, want a", r.raw)
		}
	})
	t.Run("none", func(t *testing.T) {
		ts := startSandboxed(t, func(c *Config) { c.SandboxNetwork = "none" })
		ts.createProbe(t, "a")
		env := ts.probe(t, "a", map[string]any{"op": "env"}).Env
		for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA"} {
			if v, set := env[k]; set {
				t.Errorf("%s = %q with --sandbox-network none, want it unset", k, v)
			}
		}
		if env["AWS_ACCESS_KEY_ID"] == "" {
			t.Errorf("no credentials with --sandbox-network none: %v", env)
		}
	})
}

// TestSandboxNetworkHostLoopbackFigure is the figure of issue 9 item 2:
// how many of ten host-loopback services a function reaches from inside
// its sandbox, with the default network (0) and with --sandbox-network
// host (all ten, as every function did before "isolated" was the default).
func TestSandboxNetworkHostLoopbackFigure(t *testing.T) {
	t.Parallel()
	const services = 10
	for _, network := range []string{"isolated", "host"} {
		t.Run(network, func(t *testing.T) {
			ts := startSandboxed(t, func(c *Config) { c.SandboxNetwork = network })
			ts.createProbe(t, "attacker")
			reached := 0
			for range services {
				h := listenHost(t, "127.0.0.1:0")
				if r := ts.probe(t, "attacker", map[string]any{"op": "dial", "addr": h.ln.Addr().String()}); r.OK {
					reached++
				}
			}
			t.Logf("FIGURE connections to host loopback from inside (--sandbox-network %s): %d of %d succeeded", network, reached, services)
			want := 0
			if network == "host" {
				want = services
			}
			if reached != want {
				t.Errorf("--sandbox-network %s: %d of %d host-loopback services reached, want %d", network, reached, services, want)
			}
		})
	}
}

// TestSandboxNetworkCleanup: the instance's nftables table and an
// environment's link exist while sluice runs with the default network, and
// are gone after shutdown.
func TestSandboxNetworkCleanup(t *testing.T) {
	t.Parallel()
	ts := startSandboxed(t)
	ts.createProbe(t, "a")
	if r := ts.probe(t, "a", map[string]any{"op": "whoami"}); !r.OK {
		t.Fatalf("whoami: %s", r.raw)
	}
	abs, err := filepath.Abs(ts.cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	instance := instanceOf(abs)
	table, prefix := fmt.Sprintf("sluice_%08x", instance), fmt.Sprintf("sl%08x", instance)
	if out, err := exec.Command("nft", "list", "table", "inet", table).CombinedOutput(); err != nil {
		t.Fatalf("nft list table %s while running: %v: %s", table, err, out)
	}
	if links := linksWithPrefix(t, prefix); len(links) == 0 {
		t.Errorf("no %s* interface while an environment is warm", prefix)
	}
	ts.stop(t)
	if out, err := exec.Command("nft", "list", "table", "inet", table).CombinedOutput(); err == nil {
		t.Errorf("table %s still there after shutdown:\n%s", table, out)
	}
	if links := linksWithPrefix(t, prefix); len(links) > 0 {
		t.Errorf("interfaces left after shutdown: %v", links)
	}
}

// linksWithPrefix lists the host's interfaces whose name starts with prefix.
func linksWithPrefix(t *testing.T, prefix string) []string {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range ifs {
		if strings.HasPrefix(i.Name, prefix) {
			names = append(names, i.Name)
		}
	}
	return names
}

// internet is a network namespace this test makes, reached from the host
// through a veth pair and a route: a server at a non-local address, as
// the internet is for a function.
type internet struct {
	hostIP     string // the host's end of the veth pair (an address of the host)
	serverAddr string // host:port of the HTTP server inside
}

func newInternet(t *testing.T) *internet {
	t.Helper()
	// 198.18.0.0/15 is for benchmarking (RFC 2544), routed nowhere; a /30
	// of it per test run.
	n := rand.IntN(1 << 14)
	prefix := fmt.Sprintf("198.%d.%d.", 18+n>>13, (n>>5)&0xff)
	base := (n & 31) * 4
	hostIP, nsIP := prefix+strconv.Itoa(base+1), prefix+strconv.Itoa(base+2)
	id := fmt.Sprintf("%04x", n)
	// Not "sl...": that is sluice's environments' prefix.
	ns, hostIf, nsIf := "sluice-inet-"+id, "tinet"+id+"h", "tinet"+id+"n"
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	run("link", "add", hostIf, "type", "veth", "peer", "name", nsIf, "netns", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", hostIf).Run() })
	run("addr", "add", hostIP+"/30", "dev", hostIf)
	run("link", "set", hostIf, "up")
	run("-n", ns, "addr", "add", nsIP+"/30", "dev", nsIf)
	run("-n", ns, "link", "set", nsIf, "up")
	run("-n", ns, "link", "set", "lo", "up")

	ln := listenInNetns(t, "/run/netns/"+ns, nsIP+":80")
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				buf := make([]byte, 4096)
				_, _ = c.Read(buf) // the request; HTTP/1.1 without keep-alive
				_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\ninternet\n"))
			}()
		}
	}()
	return &internet{hostIP: hostIP, serverAddr: nsIP + ":80"}
}

// listenInNetns opens a TCP listener on addr inside the network namespace
// at path (setns on a locked thread, which never runs anything else).
func listenInNetns(t *testing.T, path, addr string) net.Listener {
	t.Helper()
	type result struct {
		ln  net.Listener
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		f, err := os.Open(path)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- result{err: err}
			return
		}
		ln, err := net.Listen("tcp", addr)
		done <- result{ln, err}
	}()
	r := <-done
	if r.err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, path, r.err)
	}
	return r.ln
}

// TestSandboxNetworkCrashCleanup: when sluice is SIGKILLed, its
// environments' links vanish with their namespaces; the next sluice on the
// data dir replaces the table the crash left, and removes it at shutdown.
func TestSandboxNetworkCrashCleanup(t *testing.T) {
	data := t.TempDir()
	if err := os.Chmod(filepath.Dir(data), 0o711); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(data)
	if err != nil {
		t.Fatal(err)
	}
	instance := instanceOf(abs)
	table, prefix := fmt.Sprintf("sluice_%08x", instance), fmt.Sprintf("sl%08x", instance)
	tableThere := func() bool { return exec.Command("nft", "list", "table", "inet", table).Run() == nil }

	bin := buildSluice(t)
	args := []string{"--data-dir", data, "--sandbox", "bwrap"}
	s1 := startSluice(t, bin, args...)
	client := lambdaclient.New(s1.url, "test", "test")
	if _, err := client.CreateFunction(ctx(t), &lambda.CreateFunctionInput{
		FunctionName: aws.String("net"),
		Runtime:      types.RuntimeProvidedal2023,
		Handler:      aws.String("probe"),
		Role:         aws.String("arn:aws:iam::000000000000:role/x"),
		Code:         &types.FunctionCode{ZipFile: testFunctionZip},
	}); err != nil {
		t.Fatal(err)
	}
	active := lambda.NewFunctionActiveV2Waiter(client, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
	})
	if err := active.Wait(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("net")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	out, err := client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("net"), Payload: []byte(`{"op":"whoami"}`)})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("invoke: %v %+v", err, out)
	}
	before := linksWithPrefix(t, prefix)
	if len(before) == 0 || !tableThere() {
		t.Fatalf("while running: links %v, table there %v; want both", before, tableThere())
	}

	if err := s1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s1.exited
	var left []string
	if !eventually(10*time.Second, func() bool { left = linksWithPrefix(t, prefix); return len(left) == 0 }) {
		t.Errorf("10 s after sluice was SIGKILLed its environments' links are still there: %v (were %v)", left, before)
	}
	t.Logf("after the crash: table %s there: %v", table, tableThere())

	s2 := startSluice(t, bin, args...)
	if !tableThere() {
		t.Errorf("the restarted sluice has no table %s", table)
	}
	client = lambdaclient.New(s2.url, "test", "test")
	if out, err := client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("net"), Payload: []byte(`{"op":"whoami"}`)}); err != nil || out.FunctionError != nil {
		t.Errorf("invoke after the restart: %v %+v", err, out)
	}
	if err := s2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s2.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("sluice did not exit within 20 s of SIGTERM")
	}
	if tableThere() {
		t.Errorf("table %s still there after a clean shutdown", table)
	}
	if left := linksWithPrefix(t, prefix); len(left) > 0 {
		t.Errorf("links left after a clean shutdown: %v", left)
	}
}
