package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/cgroup"
)

// Prepared slots. Starting a sandbox costs, on this kind of machine, ~12 ms
// to move the first process into the environment's cgroup v1 groups (each
// move waits for an RCU grace period) and ~5 ms for bwrap to build the
// namespaces and mounts. A slot does both ahead of time, in the background:
// a uid, a cgroup, and a bwrap sandbox already inside the cgroup, set up,
// and blocked (--block-fd) before it runs anything. Two host directories
// of the slot are bound into it: task/ at /var/task and runtime/ at
// /var/runtime. task/ is a shared mount point, so when an environment
// takes the slot, sluice bind-mounts the function's code onto it (read-only)
// and the mount propagates into the waiting sandbox; it writes the
// function's environment to runtime/env, sets the cgroup limits, and
// unblocks bwrap, which runs `. /var/runtime/env; exec /var/task/bootstrap`.
//
// A slot fits functions with the default /tmp size, no FileSystemConfigs and
// the host network; others start the direct way (isolate.go). Slots are
// prepared one at a time, owned by the Isolation; Close discards them, and
// CleanStage removes what a crash left in the stage directory.

// slotsWanted is how many prepared slots are kept.
const slotsWanted = 2

// slotEphemeralMB is the /tmp size of a prepared slot (Lambda's default).
const slotEphemeralMB = sluice.DefaultEphemeralStorage

// slot is one prepared sandbox.
type slot struct {
	uid   int
	group *cgroup.Group
	dir   string    // the slot's stage directory: task/ and runtime/
	cmd   *exec.Cmd // the shell that became bwrap, blocked
	block *os.File  // write end of bwrap's --block-fd: a byte lets it go
	logR  *os.File  // read end of its stdout and stderr, for the Env's log capture
	// codeMounted is set once the function's code is mounted on task/.
	codeMounted bool
}

// slotPool keeps prepared slots.
type slotPool struct {
	mu      sync.Mutex
	ready   []*slot
	filling bool
	closed  bool
	wg      sync.WaitGroup
	next    int // names the slot directories
}

// fits reports whether fn can start in a prepared slot.
// Slots are for cgroup v1 only: there the moves are what is slow, and a
// process joins v1 groups itself; on v2 the direct start creates the
// process inside its group (CLONE_INTO_CGROUP) and needs no move.
func (iso *Isolation) fits(fn *sluice.Function) bool {
	return iso.Cgroups != nil && iso.Cgroups.Version() == "v1" && iso.StageDir != "" && iso.Network != "none" &&
		fn.EphemeralStorage == slotEphemeralMB && len(fn.FileSystemConfigs) == 0
}

// take returns a prepared slot for fn, or nil, and starts preparing more.
func (iso *Isolation) take(fn *sluice.Function) *slot {
	if !iso.fits(fn) {
		return nil
	}
	p := &iso.slots
	p.mu.Lock()
	defer p.mu.Unlock()
	var s *slot
	if n := len(p.ready); n > 0 {
		s, p.ready = p.ready[n-1], p.ready[:n-1]
	}
	iso.refillLocked()
	return s
}

// refill starts preparing slots up to slotsWanted, in the background.
func (iso *Isolation) refill() {
	iso.slots.mu.Lock()
	defer iso.slots.mu.Unlock()
	iso.refillLocked()
}

func (iso *Isolation) refillLocked() {
	p := &iso.slots
	if !p.filling && !p.closed && len(p.ready) < slotsWanted {
		p.filling = true
		p.wg.Add(1)
		go iso.fill()
	}
}

// fill prepares slots until slotsWanted are ready.
func (iso *Isolation) fill() {
	p := &iso.slots
	defer p.wg.Done()
	for {
		p.mu.Lock()
		if p.closed || len(p.ready) >= slotsWanted {
			p.filling = false
			p.mu.Unlock()
			return
		}
		p.next++
		dir := filepath.Join(iso.StageDir, "slot-"+strconv.Itoa(p.next))
		p.mu.Unlock()
		s, err := iso.prepare(dir)
		p.mu.Lock()
		if err != nil || p.closed {
			p.filling = false
			p.mu.Unlock()
			if s != nil {
				s.discard(iso)
			}
			return
		}
		p.ready = append(p.ready, s)
		p.mu.Unlock()
	}
}

// prepare makes one slot in dir.
func (iso *Isolation) prepare(dir string) (s *slot, err error) {
	uid, err := iso.UIDs.Get()
	if err != nil {
		return nil, err
	}
	s = &slot{uid: uid, dir: dir}
	defer func() {
		if err != nil {
			s.discard(iso)
			s = nil
		}
	}()
	task, rt := filepath.Join(dir, "task"), filepath.Join(dir, "runtime")
	for _, d := range []string{dir, task, rt} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return s, err
		}
	}
	// task/ becomes a shared mount point: what is mounted on it later
	// propagates into the sandbox, whose mounts are its slaves.
	if err := syscall.Mount(task, task, "", syscall.MS_BIND, ""); err != nil {
		return s, fmt.Errorf("bind the slot's task dir: %w", err)
	}
	if err := syscall.Mount("", task, "", syscall.MS_SHARED, ""); err != nil {
		_ = syscall.Unmount(task, syscall.MNT_DETACH)
		return s, fmt.Errorf("share the slot's task dir: %w", err)
	}
	// No memory limit yet: the Env sets its own (lowering from unlimited
	// is always allowed).
	if s.group, err = iso.Cgroups.Create(filepath.Base(dir)+"-"+strconv.Itoa(uid), cgroup.Limits{PIDs: orDefault(iso.PIDs, defaultPIDs)}, uid); err != nil {
		return s, err
	}
	blockR, blockW, err := os.Pipe()
	if err != nil {
		return s, err
	}
	logR, logW, err := os.Pipe()
	if err != nil {
		blockR.Close()
		blockW.Close()
		return s, err
	}
	s.block, s.logR = blockW, logR

	args := []string{"-c", `n=$1; shift; while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; ulimit -n "$n" || exit 125; exec "$@"`,
		"sluice-sandbox", strconv.Itoa(orDefault(iso.NoFile, defaultNoFile))}
	args = append(args, s.group.ProcsFiles()...)
	args = append(args, "--", iso.Bwrap)
	args = append(args, namespaceArgs(iso)...)
	args = append(args,
		"--clearenv",
		"--ro-bind", task, taskRoot,
		"--ro-bind", rt, "/var/runtime",
		"--dir", "/opt",
		"--size", strconv.Itoa(slotEphemeralMB<<20), "--perms", "1777", "--tmpfs", "/tmp",
		"--proc", "/proc", "--dev", "/dev",
		"--remount-ro", "/", "--chdir", taskRoot,
		"--block-fd", "3",
		"/bin/sh", "-c", `. /var/runtime/env && exec `+bootstrapPath,
	)
	cmd := exec.Command("/bin/sh", args...)
	cmd.Dir = "/"
	cmd.Env = []string{}
	cmd.Stdout, cmd.Stderr = logW, logW
	cmd.ExtraFiles = []*os.File{blockR}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
		Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)},
	}
	err = cmd.Start()
	blockR.Close()
	logW.Close()
	if err != nil {
		return s, err
	}
	s.cmd = cmd
	return s, nil
}

// namespaceArgs are bwrap's namespace, identity and base file system
// options, shared by slots and direct starts.
func namespaceArgs(iso *Isolation) []string {
	args := []string{
		"--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
		"--uid", strconv.Itoa(sandboxUID), "--gid", strconv.Itoa(sandboxGID),
		"--hostname", "sandbox",
		"--die-with-parent", "--new-session",
		"--ro-bind", "/usr", "/usr",
		"--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
		"--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
	}
	for _, p := range etcFiles {
		args = append(args, "--ro-bind-try", p, p)
	}
	return args
}

// launch runs the function in the slot: its code on task/, its environment
// in runtime/env, then bwrap goes on.
func (s *slot) launch(codeDir string, env []string) error {
	task := filepath.Join(s.dir, "task")
	if err := syscall.Mount(codeDir, task, "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("sandbox: mount the code into the slot: %w", err)
	}
	s.codeMounted = true
	if err := syscall.Mount("", task, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY|syscall.MS_NOSUID|syscall.MS_NODEV, ""); err != nil {
		return fmt.Errorf("sandbox: make the slot's code read-only: %w", err)
	}
	var b bytes.Buffer
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		b.WriteString("export " + k + "=" + shellQuote(v) + "\n")
	}
	if err := os.WriteFile(filepath.Join(s.dir, "runtime", "env"), b.Bytes(), 0o644); err != nil {
		return err
	}
	_, err := s.block.Write([]byte{1})
	s.block.Close()
	return err
}

// shellQuote quotes v for sh: single quotes, with ' written as '\”.
func shellQuote(v string) string {
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// unstage removes the slot's mounts and directory.
func (s *slot) unstage() {
	task := filepath.Join(s.dir, "task")
	if s.codeMounted {
		_ = syscall.Unmount(task, syscall.MNT_DETACH)
	}
	_ = syscall.Unmount(task, syscall.MNT_DETACH) // the shared self-bind
	_ = os.RemoveAll(s.dir)
}

// discard kills and removes a slot nobody runs.
func (s *slot) discard(iso *Isolation) {
	for _, f := range []*os.File{s.block, s.logR} {
		if f != nil {
			f.Close()
		}
	}
	if s.cmd != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		_ = s.cmd.Wait()
	}
	if s.group != nil {
		_ = s.group.Remove()
	}
	s.unstage()
	iso.UIDs.Put(s.uid)
}

// Close stops preparing slots and discards the prepared ones.
func (iso *Isolation) Close() {
	p := &iso.slots
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.wg.Wait()
	p.mu.Lock()
	ready := p.ready
	p.ready = nil
	p.mu.Unlock()
	for _, s := range ready {
		s.discard(iso)
	}
}

// CleanStage removes what an earlier run left in dir (after a crash):
// every mount under it, then its contents.
func CleanStage(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var mounts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 {
			if p := fields[4]; p == dir || strings.HasPrefix(p, dir+"/") {
				mounts = append(mounts, p)
			}
		}
	}
	f.Close()
	// Deepest first; a path mounted twice is unmounted twice.
	for i := len(mounts) - 1; i >= 0; i-- {
		if err := syscall.Unmount(mounts[i], syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			return fmt.Errorf("unmount %s: %w", mounts[i], err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.MkdirAll(dir, 0o711)
}
