// Package peercred tells which host uid owns the client end of a loopback
// TCP connection, and wraps a net.Listener so that it only hands out
// connections from one uid.
//
// sluice runs every execution environment as its own host uid and serves each
// environment's Runtime API on 127.0.0.1 in the host network namespace, which
// sandboxed functions share. TCP has no SO_PEERCRED, but /proc/net/tcp and
// /proc/net/tcp6 list every socket of the network namespace with its local and
// remote address:port and its owner uid. The client socket of an accepted
// connection is the row whose local address is the connection's remote
// address and whose remote address is the connection's local address.
//
// This only works when client and server share a network namespace (the
// client's socket must be visible in our /proc/net).
package peercred

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procNet is the directory holding the tcp and tcp6 tables. Tests point it
// elsewhere.
var procNet = "/proc/net"

// ErrNotFound is returned by OwnerUID when no socket in the tables matches
// the connection (for example because the client has already closed it, or
// lives in another network namespace).
var ErrNotFound = errors.New("peercred: client socket not found in /proc/net/tcp{,6}")

// ErrWrongOwner is passed to Listen's refused callback when the client socket
// was found but belongs to another uid.
var ErrWrongOwner = errors.New("peercred: client socket owned by another uid")

// TCP states (include/net/tcp_states.h) whose rows do not carry the uid of a
// user socket: the kernel prints 0 for time-wait and request sockets, which
// must never be mistaken for root.
const (
	stateTimeWait   = 0x06
	stateNewSynRecv = 0x0C
)

// OwnerUID returns the uid owning the client end of the TCP connection c (a
// *net.TCPConn accepted by a listener on loopback, or any net.Conn whose
// addresses are *net.TCPAddr): it finds the /proc/net/tcp (or tcp6) row whose
// local address is c.RemoteAddr() and whose remote address is c.LocalAddr(),
// and returns its uid column. It errors (wrapping ErrNotFound) when no such
// row exists.
func OwnerUID(c net.Conn) (uint32, error) {
	local, err := addrPort(c.RemoteAddr())
	if err != nil {
		return 0, err
	}
	remote, err := addrPort(c.LocalAddr())
	if err != nil {
		return 0, err
	}
	if uid, err := ownerUIDDiag(local, remote); err == nil {
		return uid, nil
	}
	// Not found by the fast path (or no sock_diag): the tables. An IPv4
	// client may own an AF_INET socket (tcp) or a v4-mapped AF_INET6 one
	// (tcp6); a genuine IPv6 client can only be in tcp6.
	files := []string{"tcp6"}
	if local.Addr().Is4() {
		files = []string{"tcp", "tcp6"}
	}
	for _, name := range files {
		uid, ok, err := lookupFile(filepath.Join(procNet, name), local, remote)
		if err != nil {
			return 0, err
		}
		if ok {
			return uid, nil
		}
	}
	return 0, fmt.Errorf("%w: local %v remote %v", ErrNotFound, local, remote)
}

func lookupFile(path string, local, remote netip.AddrPort) (uint32, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && filepath.Base(path) == "tcp6" {
			return 0, false, nil // IPv6 disabled
		}
		return 0, false, fmt.Errorf("peercred: %w", err)
	}
	defer f.Close()
	uid, ok, err := parseTable(f, local, remote)
	if err != nil {
		return 0, false, fmt.Errorf("peercred: reading %s: %w", path, err)
	}
	return uid, ok, nil
}

func addrPort(a net.Addr) (netip.AddrPort, error) {
	ta, ok := a.(*net.TCPAddr)
	if !ok || ta == nil {
		return netip.AddrPort{}, fmt.Errorf("peercred: not a TCP address: %T %v", a, a)
	}
	ap := ta.AddrPort()
	if !ap.Addr().IsValid() {
		return netip.AddrPort{}, fmt.Errorf("peercred: invalid TCP address %v", a)
	}
	return normalize(ap), nil
}

// normalize unmaps IPv4-mapped IPv6 addresses and drops zones so that the
// same endpoint compares equal whichever family its socket has.
func normalize(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
}

// parseTable scans a /proc/net/tcp or /proc/net/tcp6 table for the socket
// whose local address is local and whose remote address is remote (compared
// after unmapping IPv4-mapped addresses) and returns its uid. Header and
// malformed rows are skipped, as are time-wait and request-socket rows whose
// uid column is meaningless. ok is false when no row matches; err is only set
// for read errors or when matching rows disagree about the owner.
func parseTable(r io.Reader, local, remote netip.AddrPort) (uid uint32, ok bool, err error) {
	local, remote = normalize(local), normalize(remote)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for sc.Scan() {
		row, valid := parseRow(sc.Text())
		if !valid || row.state == stateTimeWait || row.state == stateNewSynRecv {
			continue
		}
		if row.local != local || row.remote != remote {
			continue
		}
		if ok && row.uid != uid {
			return 0, false, fmt.Errorf("ambiguous: %v->%v owned by uids %d and %d", local, remote, uid, row.uid)
		}
		uid, ok = row.uid, true
	}
	if err := sc.Err(); err != nil {
		return 0, false, err
	}
	return uid, ok, nil
}

type row struct {
	local, remote netip.AddrPort
	state         uint8
	uid           uint32
}

// parseRow parses one table row:
//
//	sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ...
//	0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 513 1 ...
func parseRow(line string) (row, bool) {
	f := strings.Fields(line)
	if len(f) < 8 || len(f[0]) < 2 || !strings.HasSuffix(f[0], ":") {
		return row{}, false
	}
	if _, err := strconv.ParseUint(f[0][:len(f[0])-1], 10, 64); err != nil {
		return row{}, false // header line ("sl") or garbage
	}
	var r row
	var ok bool
	if r.local, ok = parseAddrPort(f[1]); !ok {
		return row{}, false
	}
	if r.remote, ok = parseAddrPort(f[2]); !ok {
		return row{}, false
	}
	if len(f[3]) != 2 {
		return row{}, false
	}
	st, err := strconv.ParseUint(f[3], 16, 8)
	if err != nil {
		return row{}, false
	}
	r.state = uint8(st)
	uid, err := strconv.ParseUint(f[7], 10, 32)
	if err != nil {
		return row{}, false
	}
	r.uid = uint32(uid)
	return r, true
}

// parseAddrPort decodes "0100007F:1F90" (IPv4) or 32 hex digits ":" port
// (IPv6). The kernel prints each 32-bit word of the address as a hex number
// in host byte order, and the port in normal (big-endian) order.
func parseAddrPort(s string) (netip.AddrPort, bool) {
	h, p, found := strings.Cut(s, ":")
	if !found || len(p) != 4 || (len(h) != 8 && len(h) != 32) {
		return netip.AddrPort{}, false
	}
	port, ok := hexUint(p)
	if !ok {
		return netip.AddrPort{}, false
	}
	var b [16]byte
	for i := 0; i < len(h)/8; i++ {
		w, ok := hexUint(h[i*8 : i*8+8])
		if !ok {
			return netip.AddrPort{}, false
		}
		binary.NativeEndian.PutUint32(b[i*4:], w)
	}
	var a netip.Addr
	if len(h) == 8 {
		a = netip.AddrFrom4([4]byte(b[:4]))
	} else {
		a = netip.AddrFrom16(b)
	}
	return normalize(netip.AddrPortFrom(a, uint16(port))), true
}

// hexUint parses up to 8 hex digits, accepting nothing else (no sign, prefix
// or underscores).
func hexUint(s string) (uint32, bool) {
	if len(s) == 0 || len(s) > 8 {
		return 0, false
	}
	var v uint32
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint32(d)
	}
	return v, true
}

// Listen wraps inner so that Accept only returns connections whose client
// socket is owned by uid. Any other connection (wrong owner, or owner that
// cannot be determined) is closed at once and reported to refused, if not
// nil, with its remote address, the owner found (0 when the lookup failed) and
// a non-nil error (wrapping ErrWrongOwner or ErrNotFound, or describing why
// the lookup failed). Refused connections never make Accept return an error;
// it keeps accepting. The check reads /proc/net/tcp{,6} inline in Accept.
func Listen(inner net.Listener, uid uint32, refused func(addr net.Addr, owner uint32, err error)) net.Listener {
	return &listener{Listener: inner, uid: uid, refused: refused}
}

type listener struct {
	net.Listener
	uid     uint32
	refused func(net.Addr, uint32, error)
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		owner, err := OwnerUID(c)
		if err == nil && owner == l.uid {
			return c, nil
		}
		if err == nil {
			err = fmt.Errorf("%w: owner %d, want %d", ErrWrongOwner, owner, l.uid)
		} else {
			owner = 0
		}
		addr := c.RemoteAddr()
		c.Close()
		if l.refused != nil {
			l.refused(addr, owner, err)
		}
	}
}
