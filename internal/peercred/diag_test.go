package peercred

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
)

// TestOwnerUIDDiag: the sock_diag lookup finds this process's socket by
// its four-tuple, reports our uid, and reports a tuple nobody has as not
// found (so OwnerUID falls back to the tables).
func TestOwnerUIDDiag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	local := netip.MustParseAddrPort(client.LocalAddr().String())
	remote := netip.MustParseAddrPort(client.RemoteAddr().String())
	uid, err := ownerUIDDiag(local, remote)
	if err != nil || uid != uint32(os.Getuid()) {
		t.Fatalf("ownerUIDDiag(%v, %v) = %d, %v; want %d", local, remote, uid, err, os.Getuid())
	}
	// The server's end of the same connection is found too (swapped tuple).
	if uid, err := ownerUIDDiag(remote, local); err != nil || uid != uint32(os.Getuid()) {
		t.Fatalf("server end: %d, %v", uid, err)
	}
	missing := netip.AddrPortFrom(local.Addr(), 1)
	if _, err := ownerUIDDiag(missing, remote); !errors.Is(err, errDiagNotFound) {
		t.Fatalf("a tuple nobody has: %v, want errDiagNotFound", err)
	}
}

// TestParseDiagReply: answers, errors and malformed messages.
func TestParseDiagReply(t *testing.T) {
	ne := binary.NativeEndian
	msg := func(typ uint16, body []byte) []byte {
		b := make([]byte, nlmsgHdrLen+len(body))
		ne.PutUint32(b, uint32(len(b)))
		ne.PutUint16(b[4:], typ)
		copy(b[nlmsgHdrLen:], body)
		return b
	}
	answer := func(state byte, uid uint32) []byte {
		body := make([]byte, inetDiagMsgMinLen)
		body[0], body[1] = syscall.AF_INET, state
		ne.PutUint32(body[64:], uid)
		return msg(sockDiagByFamily, body)
	}
	errMsg := func(errno int32) []byte {
		body := make([]byte, 4+nlmsgHdrLen)
		ne.PutUint32(body, uint32(-errno))
		return msg(syscall.NLMSG_ERROR, body)
	}
	if uid, err := parseDiagReply(answer(1, 1234)); err != nil || uid != 1234 {
		t.Errorf("established: %d, %v", uid, err)
	}
	for _, st := range []byte{stateTimeWait, stateNewSynRecv} {
		if _, err := parseDiagReply(answer(st, 0)); !errors.Is(err, errDiagNotFound) {
			t.Errorf("state %d: %v, want not found", st, err)
		}
	}
	if _, err := parseDiagReply(errMsg(int32(syscall.ENOENT))); !errors.Is(err, errDiagNotFound) {
		t.Errorf("ENOENT: %v", err)
	}
	if _, err := parseDiagReply(errMsg(int32(syscall.EPERM))); err == nil || errors.Is(err, errDiagNotFound) {
		t.Errorf("EPERM: %v", err)
	}
	for name, b := range map[string][]byte{
		"empty":        nil,
		"short header": make([]byte, 8),
		"lying length": func() []byte { b := answer(1, 1); ne.PutUint32(b, 1<<20); return b }(),
		"short answer": msg(sockDiagByFamily, make([]byte, 10)),
		"short error":  msg(syscall.NLMSG_ERROR, make([]byte, 2)),
		"other type":   msg(99, make([]byte, inetDiagMsgMinLen)),
	} {
		if _, err := parseDiagReply(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzParseDiagReply: any reply is answered without a panic.
func FuzzParseDiagReply(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, nlmsgHdrLen+inetDiagMsgMinLen))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = parseDiagReply(b) })
}
