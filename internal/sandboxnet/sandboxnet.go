// Package sandboxnet gives a sandbox's network namespace its outbound link
// and keeps the host out of reach of it (--sandbox-network isolated).
//
// The link is pasta (Debian's passt package): a user-mode network stack,
// one process per environment, running as the environment's host uid and
// attached to the environment's network namespace, where it configures a
// tap interface with the host's addresses and routes. What the function
// sends out leaves as ordinary sockets of that pasta process, like any
// other process of the host's; nothing comes in (no port is forwarded
// either way) and the host's loopback is not mapped into the namespace.
//
// The host's own addresses would still be reachable through pasta's
// sockets, so a per-instance nftables table (Filter) rejects every packet
// that a socket owned by one of the instance's sandbox uids sends to an
// address of the host (fib daddr type local: loopback included).
//
// Nothing here is host-global but that table, named per instance: no
// address, route, interface or sysctl of the host changes.
package sandboxnet

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// nsGetUserNS is ioctl_ns(2)'s NS_GET_USERNS, _IO(0xb7, 0x1): the user
// namespace that owns a namespace.
const nsGetUserNS = 0xb701

// attachTimeout bounds how long pasta may take to configure a namespace.
const attachTimeout = 10 * time.Second

// Link is the outbound link of one environment: its pasta process.
type Link struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Attach starts pasta (the binary at path) as uid, attached to the network
// namespace of process pid, and returns once the namespace is configured.
//
// pid is a process inside a bubblewrap sandbox. pasta must join the user
// namespace that owns the network namespace, which uid owns; that need not
// be pid's own (bwrap may run the sandbox in a nested one), so sluice opens
// the network namespace, asks the kernel for its owner, and hands both
// over as file descriptors.
func Attach(path string, pid, uid int) (*Link, error) {
	netNS, err := os.Open("/proc/" + strconv.Itoa(pid) + "/ns/net")
	if err != nil {
		return nil, err
	}
	defer netNS.Close()
	ownerFD, err := unix.IoctlRetInt(int(netNS.Fd()), nsGetUserNS)
	if err != nil {
		return nil, fmt.Errorf("sandboxnet: the user namespace of the sandbox's network: %w", err)
	}
	owner := os.NewFile(uintptr(ownerFD), "userns")
	defer owner.Close()
	// pasta writes its pid to the pid file once the namespace is set up:
	// the pipe's write end, reopened by pasta through /proc/self/fd (as
	// uid, hence the mode).
	ready, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer ready.Close()
	if err := readyW.Chmod(0o222); err != nil {
		readyW.Close()
		return nil, err
	}
	cmd := exec.Command(path, Args("/proc/self/fd/3", "/proc/self/fd/4", "/proc/self/fd/5")...)
	cmd.ExtraFiles = []*os.File{owner, netNS, readyW}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
		Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)},
	}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		return nil, fmt.Errorf("sandboxnet: start pasta: %w", err)
	}
	l := &Link{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(l.done) }() // the Link owns it: Close ends it

	line := make(chan error, 1)
	go func() {
		// Ends when pasta writes its pid, or exits (the pipe closes).
		s, err := bufio.NewReader(ready).ReadString('\n')
		if err == nil && strings.TrimSpace(s) == "" {
			err = errors.New("empty pid file")
		}
		line <- err
	}()
	t := time.NewTimer(attachTimeout)
	defer t.Stop()
	select {
	case err = <-line:
	case <-t.C:
		err = fmt.Errorf("pasta did not configure the namespace within %v", attachTimeout)
	}
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("sandboxnet: pasta: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return l, nil
}

// Args are pasta's options for the user namespace, network namespace and
// pid file paths given: a tap interface configured like the host's
// default-route interface; no port forwarded inbound (-t, -u) nor from
// the namespace to the host (-T, -U: "auto" would map the host's loopback
// ports in); the gateway address not mapped to the host (--no-map-gw);
// in the foreground, so that the Link owns the process; quiet.
func Args(userNS, netNS, pidFile string) []string {
	return []string{
		"--foreground", "--quiet",
		"--config-net", "--no-map-gw",
		"--tcp-ports", "none", "--udp-ports", "none",
		"--tcp-ns", "none", "--udp-ns", "none",
		"--userns", userNS, "--netns", netNS,
		"--pid", pidFile,
	}
}

// Close ends pasta and waits for it.
func (l *Link) Close() {
	if l == nil {
		return
	}
	_ = syscall.Kill(-l.cmd.Process.Pid, syscall.SIGKILL)
	<-l.done
}

// Filter is the instance's nftables table: every packet sent by a socket
// of the sandbox uids [first, last] to an address of the host is rejected
// (TCP with a reset, the rest with ICMP port unreachable).
type Filter struct {
	nft, table string
}

// InstallFilter replaces the table named table (one per sluice instance;
// a crash may have left it) with the filter for uids [first, last], using
// the nft binary at nft. The replacement is one transaction.
func InstallFilter(ctx context.Context, nft, table string, first, last int) (*Filter, error) {
	f := &Filter{nft: nft, table: table}
	rules := fmt.Sprintf(`table inet %[1]s {}
delete table inet %[1]s
table inet %[1]s {
	chain output {
		type filter hook output priority filter; policy accept;
		meta skuid %[2]d-%[3]d fib daddr type local meta l4proto tcp reject with tcp reset
		meta skuid %[2]d-%[3]d fib daddr type local reject
	}
}
`, table, first, last)
	if err := f.run(ctx, rules); err != nil {
		return nil, err
	}
	return f, nil
}

// Remove deletes the table (at shutdown, once no environment is left).
func (f *Filter) Remove(ctx context.Context) error {
	return f.run(ctx, fmt.Sprintf("table inet %[1]s {}\ndelete table inet %[1]s\n", f.table))
}

func (f *Filter) run(ctx context.Context, rules string) error {
	cmd := exec.CommandContext(ctx, f.nft, "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("sandboxnet: nft: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}
