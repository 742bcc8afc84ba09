package peercred

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// The fast path: ask the kernel for the one socket by its four-tuple over
// netlink (sock_diag, the interface `ss` uses). Reading /proc/net/tcp walks
// every bucket of the kernel's TCP hash table whatever the number of
// sockets, which takes milliseconds on a machine with much memory; an exact
// sock_diag lookup takes microseconds. OwnerUID falls back to the tables
// when sock_diag is not available or does not find the socket.

// Netlink and sock_diag constants (linux/netlink.h, linux/sock_diag.h,
// linux/inet_diag.h).
const (
	netlinkInetDiag   = 4  // NETLINK_INET_DIAG (NETLINK_SOCK_DIAG)
	sockDiagByFamily  = 20 // SOCK_DIAG_BY_FAMILY
	nlmsgHdrLen       = 16
	inetDiagReqV2Len  = 56
	inetDiagMsgMinLen = 72
	allTCPStates      = 0xffffffff
)

// diagErrNotFound is the kernel's answer for no such socket.
var errDiagNotFound = errors.New("peercred: sock_diag: no such socket")

// ownerUIDDiag returns the uid owning the TCP socket whose local end is
// local and remote end is remote (both IPv4, or both IPv6).
func ownerUIDDiag(local, remote netip.AddrPort) (uint32, error) {
	family := syscall.AF_INET6
	if local.Addr().Is4() && remote.Addr().Is4() {
		family = syscall.AF_INET
	}
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, netlinkInetDiag)
	if err != nil {
		return 0, fmt.Errorf("peercred: sock_diag socket: %w", err)
	}
	defer syscall.Close(fd)
	if err := syscall.Sendto(fd, diagRequest(family, local, remote), 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return 0, fmt.Errorf("peercred: sock_diag send: %w", err)
	}
	buf := make([]byte, 8192)
	n, _, err := syscall.Recvfrom(fd, buf, 0)
	if err != nil {
		return 0, fmt.Errorf("peercred: sock_diag receive: %w", err)
	}
	return parseDiagReply(buf[:n])
}

// diagRequest builds the netlink message asking for one socket.
func diagRequest(family int, local, remote netip.AddrPort) []byte {
	b := make([]byte, nlmsgHdrLen+inetDiagReqV2Len)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], sockDiagByFamily)
	ne.PutUint16(b[6:], syscall.NLM_F_REQUEST)
	ne.PutUint32(b[8:], 1) // sequence
	req := b[nlmsgHdrLen:]
	req[0] = byte(family)
	req[1] = syscall.IPPROTO_TCP
	ne.PutUint32(req[4:], allTCPStates)
	id := req[8:] // inet_diag_sockid: ports and addresses in network order
	binary.BigEndian.PutUint16(id[0:], local.Port())
	binary.BigEndian.PutUint16(id[2:], remote.Port())
	putAddr(id[4:20], local.Addr(), family)
	putAddr(id[20:36], remote.Addr(), family)
	ne.PutUint32(id[40:], 0xffffffff) // INET_DIAG_NOCOOKIE
	ne.PutUint32(id[44:], 0xffffffff)
	return b
}

func putAddr(dst []byte, a netip.Addr, family int) {
	if family == syscall.AF_INET {
		v4 := a.Unmap().As4()
		copy(dst, v4[:])
		return
	}
	v6 := a.As16()
	copy(dst, v6[:])
}

// parseDiagReply reads the uid from the kernel's answer: one
// inet_diag_msg, or an error message.
func parseDiagReply(b []byte) (uint32, error) {
	ne := binary.NativeEndian
	if len(b) < nlmsgHdrLen {
		return 0, errors.New("peercred: sock_diag: short reply")
	}
	length, typ := ne.Uint32(b[0:]), ne.Uint16(b[4:])
	if int(length) > len(b) || length < nlmsgHdrLen {
		return 0, errors.New("peercred: sock_diag: malformed reply")
	}
	body := b[nlmsgHdrLen:length]
	switch typ {
	case syscall.NLMSG_ERROR:
		if len(body) < 4 {
			return 0, errors.New("peercred: sock_diag: short error")
		}
		if errno := -int32(ne.Uint32(body)); errno == int32(syscall.ENOENT) {
			return 0, errDiagNotFound
		} else if errno != 0 {
			return 0, fmt.Errorf("peercred: sock_diag: %w", syscall.Errno(errno))
		}
		return 0, errors.New("peercred: sock_diag: acknowledged without an answer")
	case sockDiagByFamily:
		if len(body) < inetDiagMsgMinLen {
			return 0, errors.New("peercred: sock_diag: short answer")
		}
		state := body[1]
		if state == stateTimeWait || state == stateNewSynRecv {
			return 0, errDiagNotFound // no owner recorded, as in the tables
		}
		return ne.Uint32(body[64:]), nil // idiag_uid, after expires, rqueue, wqueue
	}
	return 0, fmt.Errorf("peercred: sock_diag: unexpected message type %d", typ)
}
