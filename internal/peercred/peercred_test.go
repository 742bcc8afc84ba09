package peercred

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dialEnv makes the test binary, re-executed as another uid, dial the given
// address and hold the connection open until the peer closes it.
const dialEnv = "PEERCRED_TEST_DIAL"

func TestMain(m *testing.M) {
	if addr := os.Getenv(dialEnv); addr != "" {
		os.Exit(dialAndHold(addr))
	}
	os.Exit(m.Run())
}

func dialAndHold(addr string) int {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dial:", err)
		return 2
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	// Hold the connection until the server closes it.
	if _, err := io.Copy(io.Discard, c); err != nil {
		fmt.Fprintln(os.Stderr, "read:", err)
		return 3
	}
	return 0
}

// hostOrder rewrites the canned tables (written for a little-endian host) for
// the running host: on big-endian hosts every 32-bit address word is
// byte-swapped.
func hostOrder(table string) string {
	if binary.NativeEndian.Uint32([]byte{1, 0, 0, 0}) == 1 {
		return table
	}
	re := regexp.MustCompile(`\b([0-9A-F]{8}|[0-9A-F]{32}):([0-9A-F]{4})\b`)
	return re.ReplaceAllStringFunc(table, func(s string) string {
		h, p, _ := strings.Cut(s, ":")
		var out strings.Builder
		for i := 0; i < len(h); i += 8 {
			w := h[i : i+8]
			out.WriteString(w[6:8] + w[4:6] + w[2:4] + w[0:2])
		}
		return out.String() + ":" + p
	})
}

const cannedTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 513 1 000000000b36f58b 100 0 0 10 0                       
   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 9001 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 9002 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000 65534        0 9003 1 0000000000000000 20 4 30 10 -1
   4: 0100007F:C351 0100007F:1F90 06 00000000:00000000 03:00000DCB 00000000     0        0 0 3 0000000000000000
   5: 0100007F:C352 0100007F:1F90 01 00000000:00000000 00:00000000 00000000 4294967295 0 9004 1 0000000000000000 20 4 30 10 -1
   6: 0200007F:1F90 0300007F:D431 01 00000000:00000000 00:00000000 00000000   123        0 9005 1 0000000000000000 20 4 30 10 -1
   7: 0100007F:C353 0100007F:1F90 01
   8: 0100007F:C354 0100007F:1F90 01 00000000:00000000 00:00000000 00000000   notanumber 0 9006
   9: 0100007G:C355 0100007F:1F90 01 00000000:00000000 00:00000000 00000000   7 0 9007
  10: 0100007F:C356 0100007F:1F90 01 00000000:00000000 00:00000000 00000000   99999999999 0 9008
  11: 0100007F:C357 0100007F 01 00000000:00000000 00:00000000 00000000   8 0 9009
  12: 0x00007F:C358 0100007F:1F90 01 00000000:00000000 00:00000000 00000000   9 0 9010
  13: 0100007F:+358 0100007F:1F90 01 00000000:00000000 00:00000000 00000000   10 0 9011
  xx: 0100007F:C359 0100007F:1F90 01 00000000:00000000 00:00000000 00000000   11 0 9012
0100007F:C35A 0100007F:1F90 01 00000000:00000000 00:00000000 00000000   12 0 9013 0
  14: 0100007F:C35B 0100007F:1F90 1 00000000:00000000 00:00000000 00000000   13 0 9014

:
  15: :
  16: 0100007F:C35C 0100007F:1F90 0C 00000000:00000000 00:00000000 00000000   0 0 0
`

const cannedTCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 700 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:A000 00000000000000000000000001000000:1F91 01 00000000:00000000 00:00000000 00000000  1001        0 701 1 0000000000000000 20 4 30 10 -1
   2: 0000000000000000FFFF00000100007F:1F91 0000000000000000FFFF00000100007F:B000 01 00000000:00000000 00:00000000 00000000     0        0 702 1 0000000000000000 20 4 30 10 -1
   3: 0000000000000000FFFF00000100007F:B000 0000000000000000FFFF00000100007F:1F91 01 00000000:00000000 00:00000000 00000000  2002        0 703 1 0000000000000000 20 4 30 10 -1
   4: 000080FE00000000FF00FC00010000FE:C000 000080FE00000000FF00FC00010000FE:1F91 01 00000000:00000000 00:00000000 00000000  3003        0 704 1 0000000000000000 20 4 30 10 -1
   5: 0000000000000000FFFF00000100007:B001 0000000000000000FFFF00000100007F:1F91 01 00000000:00000000 00:00000000 00000000  4004        0 705
   6: 000000000000000000000000010000000:B002 00000000000000000000000001000000:1F91 01 00000000:00000000 00:00000000 00000000  5005 0 706
`

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestParseTable(t *testing.T) {
	tests := []struct {
		name          string
		table         string
		local, remote string
		uid           uint32
		ok            bool
	}{
		{"v4 client", cannedTCP, "127.0.0.1:50000", "127.0.0.1:8080", 65534, true},
		{"v4 server side", cannedTCP, "127.0.0.1:8080", "127.0.0.1:50000", 1000, true},
		{"v4 reversed tuple absent", cannedTCP, "127.0.0.1:8080", "127.0.0.1:50001", 0, false},
		{"v4 max uid", cannedTCP, "127.0.0.1:50002", "127.0.0.1:8080", 4294967295, true},
		{"v4 other loopback addrs", cannedTCP, "127.0.0.2:8080", "127.0.0.3:54321", 123, true},
		{"v4 wrong addr", cannedTCP, "127.0.0.3:8080", "127.0.0.2:54321", 0, false},
		{"v4 mapped query", cannedTCP, "[::ffff:127.0.0.1]:50000", "[::ffff:127.0.0.1]:8080", 65534, true},
		{"v4 listener never matches a client", cannedTCP, "0.0.0.0:2024", "0.0.0.0:0", 0, true},
		{"time-wait skipped", cannedTCP, "127.0.0.1:50001", "127.0.0.1:8080", 0, false},
		{"new-syn-recv skipped", cannedTCP, "127.0.0.1:50012", "127.0.0.1:8080", 0, false},
		{"short row", cannedTCP, "127.0.0.1:50003", "127.0.0.1:8080", 0, false},
		{"bad uid", cannedTCP, "127.0.0.1:50004", "127.0.0.1:8080", 0, false},
		{"bad hex addr", cannedTCP, "127.0.0.1:50005", "127.0.0.1:8080", 0, false},
		{"uid overflow", cannedTCP, "127.0.0.1:50006", "127.0.0.1:8080", 0, false},
		{"missing port", cannedTCP, "127.0.0.1:50007", "127.0.0.1:8080", 0, false},
		{"0x prefix", cannedTCP, "127.0.0.1:50008", "127.0.0.1:8080", 0, false},
		{"signed port", cannedTCP, "127.0.0.1:50009", "127.0.0.1:8080", 0, false},
		{"bad sl", cannedTCP, "127.0.0.1:50009", "127.0.0.1:8080", 0, false},
		{"no sl", cannedTCP, "127.0.0.1:50010", "127.0.0.1:8080", 0, false},
		{"bad state", cannedTCP, "127.0.0.1:50011", "127.0.0.1:8080", 0, false},

		{"v6 loopback client", cannedTCP6, "[::1]:40960", "[::1]:8081", 1001, true},
		{"v6 mapped client", cannedTCP6, "127.0.0.1:45056", "127.0.0.1:8081", 2002, true},
		{"v6 mapped client, mapped query", cannedTCP6, "[::ffff:127.0.0.1]:45056", "[::ffff:127.0.0.1]:8081", 2002, true},
		{"v6 mapped server side", cannedTCP6, "127.0.0.1:8081", "127.0.0.1:45056", 0, true},
		{"v6 link-local", cannedTCP6, "[fe80::fc:ff:fe00:1]:49152", "[fe80::fc:ff:fe00:1]:8081", 3003, true},
		{"v6 link-local zone ignored", cannedTCP6, "[fe80::fc:ff:fe00:1%eth0]:49152", "[fe80::fc:ff:fe00:1]:8081", 3003, true},
		{"v6 short addr", cannedTCP6, "127.0.0.1:45057", "127.0.0.1:8081", 0, false},
		{"v6 long addr", cannedTCP6, "[::1]:45058", "[::1]:8081", 0, false},
		{"v6 table, v4 absent", cannedTCP6, "127.0.0.1:50000", "127.0.0.1:8080", 0, false},
		{"v4 table, v6 absent", cannedTCP, "[::1]:40960", "[::1]:8081", 0, false},
		{"empty", "", "127.0.0.1:50000", "127.0.0.1:8080", 0, false},
		{"header only", strings.SplitAfter(cannedTCP, "\n")[0], "127.0.0.1:50000", "127.0.0.1:8080", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			uid, ok, err := parseTable(strings.NewReader(hostOrder(tc.table)), ap(tc.local), ap(tc.remote))
			if err != nil {
				t.Fatalf("parseTable: %v", err)
			}
			if uid != tc.uid || ok != tc.ok {
				t.Fatalf("parseTable(%s -> %s) = %d, %v; want %d, %v", tc.local, tc.remote, uid, ok, tc.uid, tc.ok)
			}
		})
	}
}

func TestParseTableAmbiguous(t *testing.T) {
	table := hostOrder(`  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 1 1
   1: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1001        0 2 1
`)
	if _, _, err := parseTable(strings.NewReader(table), ap("127.0.0.1:50000"), ap("127.0.0.1:8080")); err == nil {
		t.Fatal("conflicting owners: want error")
	}
	// The same owner twice is not ambiguous.
	table = strings.Replace(table, " 1001 ", " 1000 ", 1)
	uid, ok, err := parseTable(strings.NewReader(table), ap("127.0.0.1:50000"), ap("127.0.0.1:8080"))
	if err != nil || !ok || uid != 1000 {
		t.Fatalf("got %d, %v, %v; want 1000, true, nil", uid, ok, err)
	}
}

func TestParseTableLongLine(t *testing.T) {
	table := "  sl  local_address\n" + strings.Repeat("x", 100*1024) + "\n"
	if _, _, err := parseTable(strings.NewReader(table), ap("127.0.0.1:1"), ap("127.0.0.1:2")); err == nil {
		t.Fatal("overlong line: want error")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("boom") }

func TestParseTableReadError(t *testing.T) {
	r := io.MultiReader(strings.NewReader(hostOrder(cannedTCP)), errReader{})
	if _, _, err := parseTable(r, ap("127.0.0.1:50000"), ap("127.0.0.1:8080")); err == nil {
		t.Fatal("read error: want error")
	}
}

// formatRow writes a table row the way the kernel does (get_tcp4_sock /
// get_tcp6_sock).
func formatRow(sl int, local, remote netip.AddrPort, st uint8, uid uint32) string {
	enc := func(a netip.AddrPort) string {
		var s strings.Builder
		if a.Addr().Is4() {
			b := a.Addr().As4()
			fmt.Fprintf(&s, "%08X", binary.NativeEndian.Uint32(b[:]))
		} else {
			b := a.Addr().As16()
			for i := 0; i < 16; i += 4 {
				fmt.Fprintf(&s, "%08X", binary.NativeEndian.Uint32(b[i:]))
			}
		}
		fmt.Fprintf(&s, ":%04X", a.Port())
		return s.String()
	}
	return fmt.Sprintf("%4d: %s %s %02X 00000000:00000000 00:00000000 00000000 %5d        0 %d 1 0000000000000000 20 4 30 10 -1\n",
		sl, enc(local), enc(remote), st, uid, 1000+sl)
}

func TestFormatRoundTrip(t *testing.T) {
	for i, c := range []struct{ local, remote string }{
		{"127.0.0.1:1", "127.0.0.1:65535"},
		{"10.1.2.3:443", "192.168.254.1:12345"},
		{"[::1]:8080", "[::1]:50000"},
		{"[2001:db8::1:2:3]:1", "[fd00::2]:2"},
	} {
		l, r := ap(c.local), ap(c.remote)
		table := "  sl  local_address rem_address   st\n" + formatRow(0, r, l, 1, 7) + formatRow(1, l, r, 1, uint32(100+i))
		uid, ok, err := parseTable(strings.NewReader(table), l, r)
		if err != nil || !ok || uid != uint32(100+i) {
			t.Errorf("%v -> %v: got %d, %v, %v; want %d", l, r, uid, ok, err, 100+i)
		}
	}
	// The canned text matches the kernel's encoding.
	want := "0100007F:1F90"
	if binary.NativeEndian.Uint32([]byte{1, 0, 0, 0}) != 1 {
		want = "7F000001:1F90"
	}
	if row := formatRow(0, ap("127.0.0.1:8080"), ap("127.0.0.1:1"), 1, 0); !strings.Contains(row, want) {
		t.Errorf("formatRow: %q does not contain %q", row, want)
	}
}

func FuzzParseTable(f *testing.F) {
	// Seed with single rows rather than whole tables: the fuzzer minimizes
	// every interesting input, which takes seconds for a 3 KB table.
	for _, table := range []string{cannedTCP, cannedTCP6} {
		for _, line := range strings.SplitAfter(hostOrder(table), "\n") {
			f.Add([]byte(line), "127.0.0.1:50000", "127.0.0.1:8080")
		}
	}
	f.Add([]byte(strings.Join(strings.SplitAfter(hostOrder(cannedTCP), "\n")[:4], "")), "127.0.0.1:50000", "127.0.0.1:8080")
	f.Add([]byte(strings.SplitAfter(hostOrder(cannedTCP6), "\n")[1]), "[::1]:40960", "[::1]:8081")
	f.Add([]byte(strings.SplitAfter(hostOrder(cannedTCP6), "\n")[3]), "127.0.0.1:45056", "127.0.0.1:8081")
	f.Add([]byte("   0: 0100007F:C350 0100007F:1F90 01 0:0 0:0 0 1 0 0 0\n"), "127.0.0.1:50000", "127.0.0.1:8080")
	f.Add([]byte("0:"), "[::ffff:1.2.3.4]:0", "[fe80::1%eth0]:1")
	f.Add([]byte{}, "", "")
	f.Fuzz(func(t *testing.T, data []byte, local, remote string) {
		l, _ := netip.ParseAddrPort(local)
		r, _ := netip.ParseAddrPort(remote)
		uid, ok, err := parseTable(strings.NewReader(string(data)), l, r)
		if err != nil && ok {
			t.Fatalf("ok with error %v", err)
		}
		if !ok && uid != 0 {
			t.Fatalf("uid %d without match", uid)
		}
		// Any match must survive a canonical re-encoding of its row.
		if ok && l.IsValid() && r.IsValid() {
			lu := netip.AddrPortFrom(l.Addr().Unmap().WithZone(""), l.Port())
			ru := netip.AddrPortFrom(r.Addr().Unmap().WithZone(""), r.Port())
			table := formatRow(0, lu, ru, 1, uid)
			got, ok2, err2 := parseTable(strings.NewReader(table), l, r)
			if err2 != nil || !ok2 || got != uid {
				t.Fatalf("re-encoded %q: got %d, %v, %v; want %d", table, got, ok2, err2, uid)
			}
		}
	})
}

// fakeConn is a net.Conn with arbitrary addresses.
type fakeConn struct {
	net.Conn
	local, remote net.Addr
}

func (c fakeConn) LocalAddr() net.Addr  { return c.local }
func (c fakeConn) RemoteAddr() net.Addr { return c.remote }

func setProcNet(t *testing.T, dir string) {
	t.Helper()
	old := procNet
	procNet = dir
	t.Cleanup(func() { procNet = old })
}

func TestOwnerUIDProcRoot(t *testing.T) {
	dir := t.TempDir()
	setProcNet(t, dir)
	conn := func(server, client string) net.Conn {
		return fakeConn{local: net.TCPAddrFromAddrPort(ap(server)), remote: net.TCPAddrFromAddrPort(ap(client))}
	}

	// No tables at all: error, and not ErrNotFound (the lookup itself failed).
	if _, err := OwnerUID(conn("127.0.0.1:8080", "127.0.0.1:50000")); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("missing tcp table: err = %v; want a read error", err)
	}

	// tcp only (IPv6 disabled): a missing tcp6 is fine.
	if err := os.WriteFile(filepath.Join(dir, "tcp"), []byte(hostOrder(cannedTCP)), 0o644); err != nil {
		t.Fatal(err)
	}
	if uid, err := OwnerUID(conn("127.0.0.1:8080", "127.0.0.1:50000")); err != nil || uid != 65534 {
		t.Fatalf("OwnerUID = %d, %v; want 65534", uid, err)
	}
	if _, err := OwnerUID(conn("127.0.0.1:8080", "127.0.0.1:50001")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("time-wait client: err = %v; want ErrNotFound", err)
	}

	if err := os.WriteFile(filepath.Join(dir, "tcp6"), []byte(hostOrder(cannedTCP6)), 0o644); err != nil {
		t.Fatal(err)
	}
	// A dual-stack server sees mapped addresses; the client is in tcp6.
	if uid, err := OwnerUID(conn("[::ffff:127.0.0.1]:8081", "[::ffff:127.0.0.1]:45056")); err != nil || uid != 2002 {
		t.Fatalf("mapped: OwnerUID = %d, %v; want 2002", uid, err)
	}
	// A dual-stack server whose client socket is AF_INET (in tcp).
	if uid, err := OwnerUID(conn("[::ffff:127.0.0.1]:8080", "[::ffff:127.0.0.1]:50000")); err != nil || uid != 65534 {
		t.Fatalf("mapped v4 client: OwnerUID = %d, %v; want 65534", uid, err)
	}
	if uid, err := OwnerUID(conn("[::1]:8081", "[::1]:40960")); err != nil || uid != 1001 {
		t.Fatalf("v6: OwnerUID = %d, %v; want 1001", uid, err)
	}
	if _, err := OwnerUID(conn("[::1]:8081", "[::1]:40961")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("absent v6: err = %v; want ErrNotFound", err)
	}

	// An unreadable tcp6 (here: a directory) is an error, not "not found".
	os.Remove(filepath.Join(dir, "tcp6"))
	if err := os.Mkdir(filepath.Join(dir, "tcp6"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := OwnerUID(conn("[::1]:8081", "[::1]:40960")); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("unreadable tcp6: err = %v; want a read error", err)
	}
}

func TestOwnerUIDNotTCP(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, err := OwnerUID(a); err == nil {
		t.Fatal("net.Pipe: want error")
	}
	if _, err := OwnerUID(fakeConn{local: &net.TCPAddr{}, remote: &net.TCPAddr{}}); err == nil {
		t.Fatal("zero TCPAddr: want error")
	}
	if _, err := OwnerUID(fakeConn{local: (*net.TCPAddr)(nil), remote: (*net.TCPAddr)(nil)}); err == nil {
		t.Fatal("nil TCPAddr: want error")
	}
}

// acceptOne accepts one connection from l with a timeout.
func acceptOne(t *testing.T, l net.Listener) net.Conn {
	t.Helper()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := l.Accept()
		ch <- res{c, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("Accept: %v", r.err)
		}
		t.Cleanup(func() { r.c.Close() })
		return r.c
	case <-time.After(20 * time.Second):
		l.Close()
		t.Fatal("Accept timed out")
		return nil
	}
}

func TestOwnerUIDReal(t *testing.T) {
	for _, tc := range []struct{ network, listen, dial string }{
		{"tcp4", "127.0.0.1:0", "127.0.0.1"},
		{"tcp6", "[::1]:0", "::1"},
		{"tcp", ":0", "127.0.0.1"}, // dual-stack listener, v4-mapped server side
	} {
		t.Run(tc.network, func(t *testing.T) {
			l, err := net.Listen(tc.network, tc.listen)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			port := l.Addr().(*net.TCPAddr).Port
			c, err := net.Dial("tcp", net.JoinHostPort(tc.dial, strconv.Itoa(port)))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			s := acceptOne(t, l)
			uid, err := OwnerUID(s)
			if err != nil {
				t.Fatalf("OwnerUID: %v", err)
			}
			if uid != uint32(os.Getuid()) {
				t.Fatalf("OwnerUID = %d; want %d", uid, os.Getuid())
			}
			// The client end is not the server end: asking about the
			// client's view finds the server socket, also ours.
			if uid, err := OwnerUID(c); err != nil || uid != uint32(os.Getuid()) {
				t.Fatalf("OwnerUID(client) = %d, %v", uid, err)
			}
		})
	}
}

const otherUID = 65534

// startDialer runs a copy of the test binary as otherUID, dialing addr and
// holding the connection until the server closes it. The returned wait
// function reaps it and reports its exit.
func startDialer(t *testing.T, addr net.Addr) (wait func() error) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Fatalf("this test must run as root to start a process as uid %d (running as %d)", otherUID, os.Getuid())
	}
	exe := dialerBinary(t)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = []string{dialEnv + "=" + addr.String()}
	cmd.Dir = "/"
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: otherUID, Gid: otherUID, Groups: []uint32{}}}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting dialer as uid %d: %v", otherUID, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var result error
	waited := false
	wait = func() error {
		if waited {
			return result
		}
		waited = true
		select {
		case err := <-done:
			if err != nil {
				err = fmt.Errorf("%w; stderr: %s", err, stderr.String())
			}
			result = err
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
			result = errors.New("dialer did not exit")
		}
		return result
	}
	t.Cleanup(func() {
		if !waited {
			cmd.Process.Kill()
			wait()
		}
	})
	return wait
}

// dialerBinary copies the test binary where otherUID can execute it (go test
// builds it in a directory only root can enter).
func dialerBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "peercred-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	exe := filepath.Join(dir, "dialer")
	dst, err := os.OpenFile(exe, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return exe
}

func TestOwnerUIDOtherUser(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	wait := startDialer(t, l.Addr())
	s := acceptOne(t, l)
	uid, err := OwnerUID(s)
	if err != nil {
		t.Fatalf("OwnerUID: %v", err)
	}
	if uid != otherUID {
		t.Fatalf("OwnerUID = %d; want %d", uid, otherUID)
	}
	s.Close()
	if err := wait(); err != nil {
		t.Fatalf("dialer: %v", err)
	}
}

type refusal struct {
	addr  net.Addr
	owner uint32
	err   error
}

func TestListen(t *testing.T) {
	inner, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusals := make(chan refusal, 10)
	l := Listen(inner, otherUID, func(addr net.Addr, owner uint32, err error) {
		refusals <- refusal{addr, owner, err}
	})
	defer l.Close()
	if l.Addr().String() != inner.Addr().String() {
		t.Fatalf("Addr = %v; want %v", l.Addr(), inner.Addr())
	}

	// A connection from our own uid: refused and closed.
	own, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()

	type res struct {
		c   net.Conn
		err error
	}
	accepted := make(chan res, 1)
	go func() {
		c, err := l.Accept()
		accepted <- res{c, err}
	}()

	select {
	case r := <-refusals:
		if r.addr.String() != own.LocalAddr().String() {
			t.Errorf("refused addr = %v; want %v", r.addr, own.LocalAddr())
		}
		if r.owner != uint32(os.Getuid()) {
			t.Errorf("refused owner = %d; want %d", r.owner, os.Getuid())
		}
		if !errors.Is(r.err, ErrWrongOwner) {
			t.Errorf("refused err = %v; want ErrWrongOwner", r.err)
		}
	case r := <-accepted:
		t.Fatalf("Accept returned %v, %v before the allowed uid connected", r.c, r.err)
	case <-time.After(20 * time.Second):
		t.Fatal("own connection was neither refused nor accepted")
	}
	own.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := own.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("refused connection still open: Read = %d, %v", n, err)
	}

	// A connection from otherUID: accepted.
	wait := startDialer(t, l.Addr())
	var c net.Conn
	select {
	case r := <-accepted:
		if r.err != nil {
			t.Fatalf("Accept: %v", r.err)
		}
		c = r.c
	case r := <-refusals:
		t.Fatalf("allowed connection refused: %v owner %d: %v", r.addr, r.owner, r.err)
	case <-time.After(20 * time.Second):
		t.Fatal("Accept timed out")
	}
	if uid, err := OwnerUID(c); err != nil || uid != otherUID {
		t.Fatalf("accepted connection: OwnerUID = %d, %v; want %d", uid, err, otherUID)
	}
	if c.RemoteAddr().String() == own.LocalAddr().String() {
		t.Fatal("accepted our own connection")
	}
	c.Close()
	if err := wait(); err != nil {
		t.Fatalf("dialer: %v", err)
	}
	select {
	case r := <-refusals:
		t.Fatalf("unexpected refusal: %v owner %d: %v", r.addr, r.owner, r.err)
	default:
	}

	// Closing the listener makes a blocked Accept return an error.
	go func() {
		c, err := l.Accept()
		accepted <- res{c, err}
	}()
	time.Sleep(10 * time.Millisecond)
	l.Close()
	select {
	case r := <-accepted:
		if r.err == nil {
			r.c.Close()
			t.Fatal("Accept after Close: want error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Accept did not return after Close")
	}
}

// TestListenNilCallback checks that refusals without a callback neither
// panic nor stop Accept.
func TestListenNilCallback(t *testing.T) {
	inner, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Listen(inner, uint32(os.Getuid())+1, nil)
	defer l.Close()
	done := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			c.Close()
			err = errors.New("accepted a connection from the wrong uid")
		}
		done <- err
	}()
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("connection %d not closed: %v", i, err)
		}
		c.Close()
	}
	l.Close()
	if err := <-done; err == nil || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept = %v; want net.ErrClosed", err)
	}
}
