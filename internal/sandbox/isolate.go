package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/cgroup"
	"github.com/sluice-dev/sluice/internal/peercred"
	"github.com/sluice-dev/sluice/internal/sandboxnet"
)

// Sandboxed environments (Options.Isolation). Each environment runs under
// bubblewrap (bwrap), a small, well-kept setuid-free sandbox tool, in its
// own user, PID, IPC, UTS, mount and cgroup namespaces (and a network
// namespace unless Isolation.Network is "host"), as its own host uid, inside
// a cgroup that limits memory, CPU share and processes:
//
//	/bin/sh (as the env's host uid) joins the cgroup, sets RLIMIT_NOFILE,
//	  └─ exec bwrap: namespaces, uid 993/gid 990 inside, no capabilities,
//	       └─ Bootstrap.Command (/var/task/bootstrap for provided.*)
//
// Inside, the file system is a read-only tmpfs root holding: /usr and the
// /lib, /lib64, /bin, /sbin links (read-only), a few /etc files a runtime
// needs (read-only), the code at /var/task (read-only), the runtime's
// Bootstrap.RuntimeDir at /var/runtime (read-only; empty without one),
// /opt (empty, for layers), a private tmpfs /tmp of EphemeralStorage MB, /proc of its own
// PID namespace, a minimal /dev, and each FileSystemConfigs directory at
// its LocalMountPath. Nothing else of the host: not the data dir, not other
// functions' code or /tmp, not the host's processes or environment.
//
// With a network namespace of its own, the environment's Runtime API
// listener is opened inside it (see startGated), where only that
// environment can reach it. With the host's network, the listener on the
// host's loopback accepts only connections from sockets owned by the
// environment's host uid (internal/peercred), so one function cannot drive
// another's runtime even though both share the host's loopback.

// Inside-the-sandbox identity, Lambda's (sbx_user1051).
const (
	sandboxUID = 993
	sandboxGID = 990
)

// Isolation configures sandboxed environments.
type Isolation struct {
	// Bwrap is the path of the bwrap binary.
	Bwrap string
	// Cgroups creates each environment's cgroup; nil runs without
	// resource limits (the caller says so at start).
	Cgroups *cgroup.Manager
	// UIDs hands out the host uid of each environment.
	UIDs *UIDRange
	// Network is NetworkIsolated, NetworkNone or NetworkHost.
	Network string
	// Net links each environment's network namespace to the outside
	// (NetworkIsolated; internal/sandboxnet); its owner closes it at
	// shutdown.
	Net *sandboxnet.Host
	// APIPort, when not 0, is where sluice's own API is inside each
	// NetworkIsolated environment: 127.0.0.1:APIPort, a listener in the
	// environment's namespace that ServeAPI serves (AWS_ENDPOINT_URL and
	// AWS_ENDPOINT_URL_LAMBDA point there). ServeAPI returns when the listener is closed, which
	// the environment's release does.
	APIPort  int
	ServeAPI func(net.Listener)
	// EFSDir is the host directory of the FileSystemConfigs access points.
	EFSDir string
	// PIDs and NoFile are the process and open-file limits; 0 means
	// Lambda's 1024 each.
	PIDs, NoFile int
	// Guard thaws the environments if sluice dies (see ThawGuard); its
	// owner stops it at shutdown.
	Guard *ThawGuard

	// StageDir holds the prepared slots' directories (slots.go); it must
	// be reachable by the sandboxes' uids. The Slots driver needs it.
	StageDir string

	slots slotPool // prepared sandboxes (slots.go); the Slots driver's Close discards them
}

// The values of Isolation.Network.
const (
	// NetworkIsolated: a network namespace of its own with outbound
	// access (a veth pair and NAT, internal/sandboxnet), as Lambda functions outside a
	// VPC have, and sluice's API at 127.0.0.1:APIPort; no route to the
	// host's loopback, the host's addresses or other environments.
	NetworkIsolated = "isolated"
	// NetworkNone: a network namespace of its own with only loopback.
	NetworkNone = "none"
	// NetworkHost: sluice's own network namespace, the host's loopback
	// and every address the host reaches included.
	NetworkHost = "host"
)

// ownNetwork reports whether environments get a network namespace of
// their own.
func (iso *Isolation) ownNetwork() bool { return iso.Network != NetworkHost }

// Bwrap returns the driver that starts each environment in a new
// bubblewrap sandbox configured by iso (the direct start).
func Bwrap(iso *Isolation) Driver { return bwrapDriver{iso} }

type bwrapDriver struct{ iso *Isolation }

func (d bwrapDriver) Start(ctx context.Context, l *Launch) (Process, error) {
	if err := d.iso.admit(); err != nil {
		return nil, err
	}
	return d.iso.startDirect(ctx, l)
}

// minEnvTasks is the room under the host-wide task limit (the parent
// cgroup's pids.max, --sandbox-pids) a new environment needs: a runtime
// and its threads, with some to spare. Its own pids.max (1024) is a cap,
// not what it uses, so admission does not add those up: the parent's limit
// is the hard cap the kernel enforces (a fork beyond it fails inside the
// function that forks), and admission only refuses to start an environment
// that could not even start its runtime.
const minEnvTasks = 64

// admit refuses a new environment when the environments' tasks are within
// minEnvTasks of their host-wide limit, with Lambda's throttling error
// (429 TooManyRequestsException: SDKs retry it).
func (iso *Isolation) admit() error {
	if iso.Cgroups == nil {
		return nil
	}
	cur, limit, err := iso.Cgroups.PIDs()
	if err != nil || limit < 0 || cur+minEnvTasks <= limit {
		return nil
	}
	return &sluice.Error{Code: sluice.EThrottled, Reason: ReasonHostLimit,
		Message: fmt.Sprintf("Rate Exceeded. The execution environments on this sluice hold %d of the %d processes and threads they may have together (--sandbox-pids); a new one starts once others end.", cur, limit)}
}

// ReasonHostLimit is the Reason of the TooManyRequestsException that
// refuses an environment for a host-wide limit (memory, processes): the
// Reason Lambda gives when the account's concurrency is used up, which
// the SDKs know and retry.
const ReasonHostLimit = "ConcurrentInvocationLimitExceeded"

func (bwrapDriver) Close() {}

// Lambda's per-environment limits.
const (
	defaultPIDs   = 1024
	defaultNoFile = 1024
	// fullCPUMemoryMB is the memory size that gets one full vCPU on
	// Lambda; CPU share is proportional to memory.
	fullCPUMemoryMB = 1769
)

// etcFiles are the /etc entries a runtime needs, bound read-only when the
// host has them.
var etcFiles = []string{"/etc/ld.so.cache", "/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/ssl", "/etc/ca-certificates", "/etc/localtime"}

// UIDRange hands out distinct host uids, one per live environment.
type UIDRange struct {
	mu    sync.Mutex
	base  int
	size  int
	next  int
	inUse map[int]bool
}

// NewUIDRange returns the uids [base, base+size).
func NewUIDRange(base, size int) *UIDRange {
	return &UIDRange{base: base, size: size, inUse: map[int]bool{}}
}

// Get returns a uid no live environment has.
func (r *UIDRange) Get() (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for range r.size {
		uid := r.base + r.next
		r.next = (r.next + 1) % r.size
		if !r.inUse[uid] {
			r.inUse[uid] = true
			return uid, nil
		}
	}
	return 0, fmt.Errorf("sandbox: all %d sandbox uids are in use", r.size)
}

// Put returns uid to the range.
func (r *UIDRange) Put(uid int) {
	r.mu.Lock()
	delete(r.inUse, uid)
	r.mu.Unlock()
}

// isolated is the sandbox part of an Env.
type isolated struct {
	iso   *Isolation
	uid   int
	group *cgroup.Group // nil without cgroups
	// limits are the group's limits after init; during init its CPU
	// weight is initBoost's.
	limits cgroup.Limits
	// cgroupFD is the v2 group's directory, for CLONE_INTO_CGROUP.
	cgroupFD *os.File
	// freezeMu orders freeze, thaw and thawForKill: once a kill has
	// thawed the group, nothing freezes it again (a frozen process would
	// not act on its SIGKILL).
	freezeMu sync.Mutex
	frozen   bool // freeze has frozen the group
	killed   bool // thawForKill ran
	// slot is the prepared start the Env launches, or nil.
	slot *slot
	// netns is the environment's network namespace, when it has one.
	netns netns
	// refillDue says that the slots are to be refilled once this start
	// is over (refillLater).
	refillDue atomic.Bool
	// settled is closed once initDone's work is over: nil before
	// initDone; released is set by release, after which initDone does
	// nothing.
	settleMu sync.Mutex
	settled  chan struct{}
	released bool
}

// netns is what sluice holds in an environment's network namespace.
type netns struct {
	runtimeLn net.Listener     // the Runtime API listener, 127.0.0.1:9001 inside
	apiLn     net.Listener     // sluice's API, 127.0.0.1:APIPort inside (NetworkIsolated), or nil
	link      *sandboxnet.Link // the outbound link (NetworkIsolated), or nil
}

// setUp opens the listeners in the network namespace of process pid (a
// process of the sandbox) and, with NetworkIsolated, attaches its outbound
// link.
func (n *netns) setUp(iso *Isolation, pid int) (err error) {
	defer func() {
		if err != nil {
			n.close()
		}
	}()
	if n.runtimeLn, err = listenIn(pid, sandboxRuntimeAPI); err != nil {
		return fmt.Errorf("sandbox: runtime api listener in the sandbox: %w", err)
	}
	if iso.Network != NetworkIsolated {
		return nil
	}
	if iso.Net == nil {
		return errors.New("sandbox: network isolated without its link (Isolation.Net)")
	}
	if iso.APIPort != 0 && iso.ServeAPI != nil {
		if n.apiLn, err = listenIn(pid, net.JoinHostPort("127.0.0.1", strconv.Itoa(iso.APIPort))); err != nil {
			return fmt.Errorf("sandbox: sluice's api listener in the sandbox: %w", err)
		}
	}
	if n.link, err = iso.Net.Attach(pid); err != nil {
		return err
	}
	return nil
}

// serve hands the listeners over: the Runtime API to the Env, sluice's
// API to ServeAPI.
func (n *netns) serve(iso *Isolation, l *Launch) {
	l.Serve(n.runtimeLn)
	if n.apiLn != nil {
		go iso.ServeAPI(n.apiLn) // ends when close closes the listener
	}
}

// close closes the listeners and removes the outbound link.
func (n *netns) close() {
	for _, ln := range []net.Listener{n.runtimeLn, n.apiLn} {
		if ln != nil {
			ln.Close()
		}
	}
	n.link.Close()
}

// endpoint is sluice's API as an environment started with l reaches it:
// with NetworkIsolated, the listener in its own namespace
// (127.0.0.1:APIPort, with the scheme of l's APIEndpoint); with
// NetworkHost, sluice's listener itself (l's APIEndpoint); with
// NetworkNone, nothing: there is no way out of the namespace.
func (iso *Isolation) endpoint(l *Launch) string {
	switch iso.Network {
	case NetworkIsolated:
		if iso.APIPort == 0 || iso.ServeAPI == nil {
			return ""
		}
		scheme := "http"
		if u, err := url.Parse(l.APIEndpoint()); err == nil && u.Scheme != "" {
			scheme = u.Scheme
		}
		return scheme + "://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(iso.APIPort))
	case NetworkHost:
		return l.APIEndpoint()
	}
	return ""
}

// release removes the cgroup (killing what is left in it) and frees the
// uid; called once the runtime has exited.
func (s *isolated) release() {
	s.settle()
	if s.cgroupFD != nil {
		s.cgroupFD.Close()
	}
	if s.group != nil {
		_ = s.group.Remove()
	}
	if s.slot != nil {
		s.slot.unstage()
	}
	s.netns.close()
	s.iso.UIDs.Put(s.uid)
	s.refillNow()
}

// listen wraps the Runtime API listener so that it accepts only the
// environment's own uid.
func (s *isolated) listen(ln net.Listener, log *slog.Logger) net.Listener {
	return peercred.Listen(ln, uint32(s.uid), func(addr net.Addr, owner uint32, err error) {
		log.Warn("refused a Runtime API connection from another uid", "addr", addr.String(), "owner", owner, "err", err)
	})
}

// newIsolated allocates the uid and the cgroup of an environment.
func (iso *Isolation) newIsolated(l *Launch) (*isolated, error) {
	uid, err := iso.UIDs.Get()
	if err != nil {
		return nil, err
	}
	s := &isolated{iso: iso, uid: uid}
	if iso.Cgroups != nil {
		s.limits = iso.limits(l.Spec.Function)
		s.group, err = iso.Cgroups.Create("env-"+l.ID, initBoost(s.limits), uid)
		if err != nil {
			iso.UIDs.Put(uid)
			return nil, fmt.Errorf("sandbox: cgroup: %w", err)
		}
	}
	return s, nil
}

// startDirect starts an environment in a new sandbox: uid, cgroup, the
// join wrapper and bwrap. With a network namespace of its own, the
// listeners are opened inside it and its link attached before the runtime
// runs (startGated); with the host's network the Runtime API listener is
// on the host's loopback, for the uid only.
func (iso *Isolation) startDirect(ctx context.Context, l *Launch) (Process, error) {
	mounts, err := iso.efsMounts(l.Spec.Function)
	if err != nil {
		return nil, err
	}
	s, err := iso.newIsolated(l)
	if err != nil {
		return nil, err
	}
	gated := iso.ownNetwork()
	api := sandboxRuntimeAPI
	if !gated {
		ln, err := listenLoopback(ctx)
		if err != nil {
			s.release()
			return nil, err
		}
		api = ln.Addr().String()
		l.Serve(s.listen(ln, l.Logger))
	}
	cmd, err := s.command(l, mounts)
	if err != nil {
		s.release()
		return nil, err
	}
	cmd.Env = l.Environ(api, iso.endpoint(l), nil)
	r, w, err := os.Pipe()
	if err != nil {
		s.release()
		return nil, fmt.Errorf("sandbox: log pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if gated {
		err = startGated(cmd, func(pid int) error { return s.netns.setUp(iso, pid) })
		if err == nil {
			s.netns.serve(iso, l)
		} else if cmd.Process != nil {
			_ = cmd.Wait()
		}
	} else {
		err = cmd.Start()
	}
	w.Close()
	if err != nil {
		// The sandbox could not be set up: a platform failure.
		r.Close()
		s.release()
		return nil, err
	}
	return &child{cmd: cmd, out: r, iso: s}, nil
}

// limits are the cgroup limits of e's function: memory, a CPU share
// proportional to memory, and Lambda's process limit.
func (iso *Isolation) limits(fn *sluice.Function) cgroup.Limits {
	return cgroup.Limits{
		MemoryBytes: int64(fn.MemorySize) << 20,
		CPUWeight:   max(1, min(10000, 100*fn.MemorySize/fullCPUMemoryMB)),
		PIDs:        orDefault(iso.PIDs, defaultPIDs),
	}
}

// initBoost is l with the highest CPU weight: an environment's init runs
// at it, and initDone gives it its own. Inits are few at once (the start
// gate), short and bounded by the init timeout; without the boost, a new
// environment's init shared the CPUs with every running function's threads
// (hundreds runnable at once in a storm of streams), and took seconds.
func initBoost(l cgroup.Limits) cgroup.Limits {
	l.CPUWeight = 10000
	return l
}

// initDone gives the environment its own CPU weight once its init is over,
// and detaches a slot's mounts from sluice's mount table. Its caller is
// the runtime's first GET /next, which hands the first invocation over
// next: the cgroup writes and the mount calls run beside it, not before
// it; release waits for them.
func (s *isolated) initDone() {
	if s.group == nil && s.slot == nil {
		return
	}
	s.settleMu.Lock()
	defer s.settleMu.Unlock()
	if s.released || s.settled != nil {
		return
	}
	done := make(chan struct{})
	s.settled = done
	go func() {
		defer close(done)
		if s.group != nil {
			_ = s.group.SetLimits(s.limits)
		}
		if s.slot != nil {
			s.slot.detach()
		}
	}()
}

// settle waits for initDone's work, and keeps it from starting later.
func (s *isolated) settle() {
	s.settleMu.Lock()
	s.released = true
	done := s.settled
	s.settleMu.Unlock()
	if done != nil {
		<-done
	}
}

// orDefault is v, or def when v is not positive.
func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// bwrapArgs are bwrap's options for the environment (neither bwrap's name
// nor the command).
func (s *isolated) bwrapArgs(l *Launch, mounts []Mount) []string {
	fn, b := l.Spec.Function, l.Spec.Bootstrap
	args := namespaceArgs(s.iso)
	if s.iso.ownNetwork() {
		args = append(args, "--unshare-net", "--info-fd", "3", "--block-fd", "4")
	}
	args = append(args, "--ro-bind", l.Spec.CodeDir, taskRoot)
	if b.RuntimeDir != "" {
		args = append(args, "--ro-bind", b.RuntimeDir, runtimeDir)
	} else {
		args = append(args, "--dir", runtimeDir)
	}
	args = append(args,
		"--dir", "/opt",
		"--size", strconv.FormatInt(int64(fn.EphemeralStorage)<<20, 10), "--perms", "1777", "--tmpfs", sandboxTmp,
		"--proc", "/proc", "--dev", "/dev",
	)
	for _, m := range mounts {
		args = append(args, "--bind", m.Source, m.Target)
	}
	return append(args, "--remount-ro", "/", "--chdir", b.Cwd)
}

// joinScript is the wrapper that starts every sandbox: it joins every
// cgroup hierarchy given before "--", sets RLIMIT_NOFILE to $1, and execs
// the rest (bwrap).
const joinScript = `n=$1; shift; while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; ulimit -n "$n" || exit 125; exec "$@"`

// command builds the process that starts the environment when no slot
// is prepared: the join wrapper, bwrap and the runtime's command. It fails
// closed: when the v2 group cannot be opened, nothing starts (the process
// would run outside its limits).
func (s *isolated) command(l *Launch, mounts []Mount) (*exec.Cmd, error) {
	args := []string{"-c", joinScript, "sluice-sandbox", strconv.Itoa(orDefault(s.iso.NoFile, defaultNoFile))}
	var v2 *os.File
	if s.group != nil {
		// A v1 hierarchy is joined by the wrapper itself (its procs files
		// are chowned to the uid). A v2 group cannot be joined that way by
		// an unprivileged process; the process is created in it instead
		// (clone3 CLONE_INTO_CGROUP, done by sluice as root).
		v2dir := s.group.Dir()
		for _, f := range s.group.ProcsFiles() {
			if v2dir == "" || filepath.Dir(f) != v2dir {
				args = append(args, f)
			}
		}
		if v2dir != "" {
			var err error
			if v2, err = os.Open(v2dir); err != nil {
				return nil, fmt.Errorf("sandbox: the environment's cgroup: %w", err)
			}
		}
	}
	args = append(args, "--", s.iso.Bwrap)
	args = append(args, s.bwrapArgs(l, mounts)...)
	args = append(args, "--")
	args = append(args, l.Spec.Bootstrap.Command...)

	cmd := exec.Command("/bin/sh", args...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
		Credential: &syscall.Credential{Uid: uint32(s.uid), Gid: uint32(s.uid), NoSetGroups: false},
	}
	if v2 != nil {
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = int(v2.Fd())
		s.cgroupFD = v2 // closed by release, after the start
	}
	return cmd, nil
}

// Mount is a host directory bound read-write into an environment.
type Mount struct{ Source, Target string }

// efsMounts resolves the function's FileSystemConfigs to host directories
// under EFSDir: the access point arn:...:access-point/fsap-X is EFSDir/fsap-X.
// A missing directory is Lambda's EFSMountConnectivityException (the file
// system cannot be reached); one that is not a usable directory is
// EFSMountFailureException.
func (iso *Isolation) efsMounts(fn *sluice.Function) ([]Mount, error) {
	var mounts []Mount
	for _, fs := range fn.FileSystemConfigs {
		id := fs.ARN[strings.LastIndex(fs.ARN, "/")+1:]
		if iso.EFSDir == "" || id == "" || strings.ContainsAny(id, `/\`) || id == "." || id == ".." {
			return nil, sluice.Errorf(sluice.EEFSMountFailure, "The function could not mount the file system with access point %s: sluice has no EFS directory configured for it (--efs-dir).", fs.ARN)
		}
		dir := filepath.Join(iso.EFSDir, id)
		fi, err := os.Stat(dir)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, sluice.Errorf(sluice.EEFSMountConnectivity, "The function couldn't connect to the Amazon EFS file system with access point %s. Check your network configuration and try again.", fs.ARN)
		case errors.Is(err, os.ErrPermission):
			return nil, sluice.Errorf(sluice.EEFSMountFailure, "The function couldn't mount the Amazon EFS file system with access point %s: permission denied.", fs.ARN)
		case err != nil:
			return nil, &sluice.Error{Code: sluice.EEFSIO, Message: fmt.Sprintf("An error occurred when reading from or writing to a connected file system with access point %s.", fs.ARN), Err: err}
		case !fi.IsDir():
			return nil, sluice.Errorf(sluice.EEFSMountFailure, "The function couldn't mount the Amazon EFS file system with access point %s: it is not a directory.", fs.ARN)
		}
		mounts = append(mounts, Mount{Source: dir, Target: fs.LocalMountPath})
	}
	return mounts, nil
}

// oomKilled reports whether the kernel killed the environment for memory.
func (s *isolated) oomKilled() bool {
	if s == nil || s.group == nil {
		return false
	}
	ok, _ := s.group.OOMKilled()
	return ok
}

// freeze stops every process of the environment between invocations, as
// Lambda freezes the whole environment: the runtime and whatever it
// started, its goroutines and threads included. It does not wait for the
// kernel to report the group FROZEN: the write is what the invocation path
// pays for (one write(2) to a file kept open), and the next invocation's
// thaw is valid in any state. thaw resumes them before the next invocation
// is handed over.
func (s *isolated) freeze() {
	if s == nil || s.group == nil {
		return
	}
	s.freezeMu.Lock()
	defer s.freezeMu.Unlock()
	if s.killed || s.frozen {
		return
	}
	if s.group.Freeze() == nil {
		s.frozen = true
	}
}

func (s *isolated) thaw() {
	if s == nil || s.group == nil {
		return
	}
	s.freezeMu.Lock()
	defer s.freezeMu.Unlock()
	if s.frozen {
		s.frozen = false
		_ = s.group.Thaw()
	}
}

// thawForKill thaws the group whatever freeze recorded, and keeps freeze
// from freezing it again: a kill must reach every process.
func (s *isolated) thawForKill() {
	if s == nil || s.group == nil {
		return
	}
	s.freezeMu.Lock()
	defer s.freezeMu.Unlock()
	s.killed, s.frozen = true, false
	_ = s.group.Thaw()
}

// peakMB is the environment's peak memory in MB, or -1 when unknown.
func (s *isolated) peakMB() int {
	if s == nil || s.group == nil {
		return -1
	}
	b, err := s.group.PeakMemory()
	if err != nil || b <= 0 {
		return -1
	}
	return int((b + 1<<20 - 1) >> 20)
}

// Networks "isolated" and "none": the environment has a network namespace
// of its own, so the Runtime API listener must live inside it. bwrap
// reports the sandbox's pid (--info-fd) and waits before it runs the
// bootstrap (--block-fd); meanwhile sluice opens the listeners in the
// sandbox's network namespace (setns on a locked thread), attaches the
// outbound link (isolated), and then lets bwrap go on. Only that
// environment can reach the listeners.

// sandboxRuntimeAPI is the Runtime API address inside a network-isolated
// sandbox.
const sandboxRuntimeAPI = "127.0.0.1:9001"

// listenIn opens a TCP listener on addr inside the network namespace of
// process pid.
func listenIn(pid int, addr string) (net.Listener, error) {
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, err
	}
	defer self.Close()

	type result struct {
		ln  net.Listener
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		// The thread goes back to sluice's namespace before it is
		// unlocked; if that fails it stays locked and dies with this
		// goroutine, so no other goroutine ever runs in the sandbox's
		// namespace.
		if err := setns(int(self.Fd())); err != nil {
			done <- result{err: err}
			return
		}
		if err := setns(int(ns.Fd())); err != nil {
			done <- result{err: fmt.Errorf("enter the sandbox's network namespace: %w", err)}
			runtime.UnlockOSThread()
			return
		}
		ln, lerr := listenWhenUp(addr)
		if err := setns(int(self.Fd())); err != nil {
			if ln != nil {
				ln.Close()
			}
			done <- result{err: fmt.Errorf("return to sluice's network namespace: %w", err)}
			return // the thread stays locked and exits with the goroutine
		}
		runtime.UnlockOSThread()
		done <- result{ln: ln, err: lerr}
	}()
	r := <-done
	return r.ln, r.err
}

func setns(fd int) error { return unix.Setns(fd, unix.CLONE_NEWNET) }

// addressWait bounds how long listenWhenUp waits for its address.
const addressWait = 5 * time.Second

// listenWhenUp listens on addr in the network namespace of the calling
// thread, waiting while the address is not (yet) the namespace's: bwrap's
// child sets its loopback up (address, then link) while the parent has
// already reported the child's pid, and a listen that falls between the two
// fails with EADDRNOTAVAIL. A burst of 1,000 cold starts on 2 busy cores hit
// that window once per run (a 500 to the client).
func listenWhenUp(addr string) (net.Listener, error) {
	deadline := time.Now().Add(addressWait)
	pause := 100 * time.Microsecond
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil || !errors.Is(err, syscall.EADDRNOTAVAIL) || time.Now().After(deadline) {
			return ln, err
		}
		time.Sleep(pause)
		pause = min(2*pause, 10*time.Millisecond)
	}
}

// startGated is cmd.Start for a sandbox with a network namespace of its
// own: it starts bwrap with --info-fd 3 and --block-fd 4, reads the
// sandbox's pid, calls setUp with it (which opens the listeners inside its
// network namespace and attaches its link), then unblocks bwrap.
func startGated(cmd *exec.Cmd, setUp func(pid int) error) error {
	infoR, infoW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer infoR.Close()
	blockR, blockW, err := os.Pipe()
	if err != nil {
		infoW.Close()
		return err
	}
	defer blockW.Close()
	cmd.ExtraFiles = []*os.File{infoW, blockR}
	err = cmd.Start()
	infoW.Close()
	blockR.Close()
	if err != nil {
		return err
	}
	fail := func(err error) error {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		return err
	}
	pid, err := readChildPID(infoR)
	if err != nil {
		return fail(err)
	}
	if err := setUp(pid); err != nil {
		return fail(err)
	}
	if _, err := blockW.Write([]byte{1}); err != nil {
		return fail(fmt.Errorf("sandbox: unblock bwrap: %w", err))
	}
	return nil
}

// readChildPID reads the sandbox's pid from bwrap's --info-fd.
func readChildPID(info io.Reader) (int, error) {
	var v struct {
		ChildPID int `json:"child-pid"`
	}
	if err := json.NewDecoder(io.LimitReader(info, 1<<16)).Decode(&v); err != nil || v.ChildPID <= 0 {
		return 0, fmt.Errorf("sandbox: bwrap did not report its child: %v", err)
	}
	return v.ChildPID, nil
}

// ThawGuard thaws every environment's cgroup when sluice dies. A frozen
// process cannot act on a SIGKILL until it is thawed, so without it the
// environments frozen between invocations would outlive a crash of sluice
// (their Pdeathsig and bwrap's --die-with-parent signals stay pending). The
// guard is a shell outside every environment, waiting on a pipe only sluice
// holds: when sluice exits, however it exits, the pipe closes and the guard
// thaws the groups under dirs (the per-instance freezer directories), so
// the pending kills take effect. Leftover directories are removed at the
// next start (cgroup.Manager.Cleanup).
type ThawGuard struct {
	cmd *exec.Cmd
	w   *os.File
}

// StartThawGuard starts the guard for the freezer directories dirs.
func StartThawGuard(dirs []string) (*ThawGuard, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	script := `read _ 2>/dev/null; for d in "$@"; do for f in "$d"/*/freezer.state; do [ -e "$f" ] && echo THAWED > "$f"; done; for f in "$d"/*/cgroup.freeze; do [ -e "$f" ] && echo 0 > "$f"; done; done; exit 0`
	cmd := exec.Command("/bin/sh", append([]string{"-c", script, "sluice-thaw-guard"}, dirs...)...)
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return nil, err
	}
	return &ThawGuard{cmd: cmd, w: w}, nil
}

// Stop ends the guard (at a clean shutdown, once every environment is gone).
func (g *ThawGuard) Stop() error {
	g.w.Close()
	return g.cmd.Wait()
}
