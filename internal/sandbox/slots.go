package sandbox

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/cgroup"
)

// Prepared slots. Starting a sandbox costs, on this kind of machine, ~12 ms
// to move the first process into the environment's cgroup v1 groups (each
// move waits for an RCU grace period) and ~5 ms for bwrap to build the
// namespaces and mounts. A slot does both ahead of time, in the background:
// a uid, a cgroup (with the pids limit and the memory limit of the last
// function that took a slot: a start of that size only raises the CPU
// weight), and a bwrap sandbox already inside the cgroup, set up, its
// program (the slot's /bin/sh) started and waiting for the launch data
// before it runs anything of the function. It fits every runtime:
//
//   - task/ and runtime/, two host directories of the slot, are shared
//     mount points bound read-only at /var/task and /var/runtime. When an
//     environment takes the slot, sluice bind-mounts the function's code
//     onto task/ and the runtime's Bootstrap.RuntimeDir onto runtime/
//     (both read-only; runtime/ stays empty without one), and the mounts
//     propagate into the waiting sandbox, whose mounts are their slaves.
//   - The launch data (environment, working directory, command) reaches
//     the sandbox through a pipe, inherited as fd 3: sluice sets the
//     cgroup limits, then writes a shell script of exports, a cd and an
//     exec and closes its end; the slot's shell, already waiting on the
//     pipe, sources the script (which closes fd 3 before its exec).
//     Nothing of it is a file, inside or outside.
//
// With a network namespace of its own (networks "isolated" and "none"),
// the slot's namespace is ready too: the Runtime API listener (and sluice's
// API listener) opened inside it and, with "isolated", its outbound link
// attached (internal/sandboxnet), all before the slot is taken.
//
// A slot fits functions with the default /tmp size and no
// FileSystemConfigs; others start the direct way (isolate.go). Slots are
// prepared ahead of demand (slotsWanted, below) by up to slotFillers
// goroutines, owned by the Isolation, off the path of the starts they
// refill for (refillLater); the driver's Close
// discards them, and CleanStage removes what a crash left in the stage
// directory.

// Slots returns the driver that starts environments in prepared slots
// (cgroup v1 only: see fits), and the direct way (Bwrap) when none fits.
// iso.StageDir must be set.
func Slots(iso *Isolation) Driver { return slotsDriver{iso} }

type slotsDriver struct{ iso *Isolation }

func (d slotsDriver) Close() { d.iso.closeSlots() }

// slotScript is the program of a slot's sandbox: it runs the launch
// script it reads from fd 3 (the script closes fd 3 before it execs). It
// starts when the slot is prepared and waits in its read of the pipe, so
// that bwrap's last steps (its pid 1's fork, the exec of the shell, the
// shell's own start) are not part of the start that takes the slot: it
// ran them under --block-fd before, 2-3 ms of every start here. The
// shell sources the pipe through /proc/self/fd rather than reading it with
// $(cat <&4): that fork and exec cost 6 ms of every cold start here. The
// pipe is made readable by its inside user for that (see prepare); no
// other process can reach it: /proc/<pid>/fd needs ptrace rights on it.
const slotScript = `. /proc/self/fd/3`

func (d slotsDriver) Start(ctx context.Context, l *Launch) (Process, error) {
	iso := d.iso
	if err := iso.admit(); err != nil {
		return nil, err
	}
	sl, later := iso.take(l.Spec.Function)
	if sl == nil {
		return iso.startDirect(ctx, l)
	}
	s := &isolated{iso: iso, uid: sl.uid, group: sl.group, slot: sl}
	if later {
		s.refillLater()
	}
	fail := func(err error) (Process, error) {
		// The sandbox never ran the function: stop it.
		sl.launchW.Close()
		sl.logR.Close()
		_ = syscall.Kill(-sl.cmd.Process.Pid, syscall.SIGKILL)
		_ = sl.cmd.Wait()
		s.release() // refills
		return nil, err
	}
	s.limits = iso.limits(l.Spec.Function)
	if err := sl.group.SetLimits(initBoost(s.limits)); err != nil {
		return fail(fmt.Errorf("sandbox: cgroup limits: %w", err))
	}
	api := sandboxRuntimeAPI
	if iso.ownNetwork() {
		s.netns, sl.netns = sl.netns, netns{} // the Env's now: release closes it
		s.netns.serve(iso, l)
	} else {
		ln, err := listenLoopback(ctx)
		if err != nil {
			return fail(err)
		}
		l.Serve(s.listen(ln, l.Logger))
		api = ln.Addr().String()
	}
	if err := sl.launch(l.Spec, l.Environ(api, iso.endpoint(l), nil)); err != nil {
		return fail(err)
	}
	return &child{cmd: sl.cmd, out: sl.logR, iso: s}, nil
}

// Prepared slots follow demand: at least slotsWanted are kept ready, and
// as many more as environments took (or wanted) a slot in the last second,
// up to slotsMax; up to slotFillers are prepared at once. A burst of
// starts thus finds its slots prepared while earlier starts run, instead
// of preparing each one inside its own start.
const (
	slotsWanted = 2
	slotsMax    = 32
)

// slotFillers is how many slots are prepared at once: a preparation
// mostly waits on the kernel (the cgroup move), so one per CPU.
var slotFillers = max(2, runtime.NumCPU())

// slotEphemeralMB is the /tmp size of a prepared slot (Lambda's default).
const slotEphemeralMB = sluice.DefaultEphemeralStorage

// slot is one prepared sandbox.
type slot struct {
	uid     int
	group   *cgroup.Group
	dir     string    // the slot's stage directory: task/ and runtime/
	cmd     *exec.Cmd // the shell that became bwrap; its sandbox's shell waits on launchW
	launchW *os.File  // write end of the launch script's pipe (fd 3 inside)
	logR    *os.File  // read end of its stdout and stderr, for the Env's log capture
	// codeMounted and runtimeMounted are set once the function's code is
	// mounted on task/, and the runtime's directory on runtime/.
	codeMounted, runtimeMounted bool
	selfBound                   int        // task/, then runtime/, are their own shared mounts
	dirBound                    bool       // dir is its own private mount, holding the others
	mu                          sync.Mutex // detach and unstage: the Env's init and its end
	netns                       netns      // its network namespace's listeners and link, until taken
}

// slotPool keeps prepared slots.
type slotPool struct {
	mu        sync.Mutex
	ready     []*slot
	fillers   int // fill goroutines running
	preparing int // slots being prepared
	closed    bool
	wg        sync.WaitGroup
	next      int // names the slot directories
	// Demand: takes in the second that began at window, and in the one
	// before it.
	window    time.Time
	cur, prev int
	// memoryMB is the memory size of the last function that took a slot:
	// new slots get it as their memory limit ahead of time, so that a
	// start of the same size has no limit to write.
	memoryMB int
}

// wantedLocked is how many slots to keep ready now.
func (p *slotPool) wantedLocked(now time.Time) int {
	if d := now.Sub(p.window); d >= time.Second {
		p.prev = p.cur
		if d >= 2*time.Second {
			p.prev = 0
		}
		p.cur, p.window = 0, now
	}
	return min(max(slotsWanted, p.cur, p.prev), slotsMax)
}

// fits reports whether fn can start in a prepared slot.
// Slots are for cgroup v1 only: there the moves are what is slow, and a
// process joins v1 groups itself; on v2 the direct start creates the
// process inside its group (CLONE_INTO_CGROUP) and needs no move.
func (iso *Isolation) fits(fn *sluice.Function) bool {
	return iso.Cgroups != nil && iso.Cgroups.Version() == "v1" && iso.StageDir != "" &&
		fn.EphemeralStorage == slotEphemeralMB && len(fn.FileSystemConfigs) == 0
}

// take returns a prepared slot for fn, or nil, and starts preparing more:
// now, or, when it found a slot and another is still ready for the next
// start, later (later is true), once this start is over (refillLater).
func (iso *Isolation) take(fn *sluice.Function) (s *slot, later bool) {
	if !iso.fits(fn) {
		return nil, false
	}
	p := &iso.slots
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wantedLocked(time.Now())
	p.cur++ // a start wanted a slot, found or not
	p.memoryMB = fn.MemorySize
	if n := len(p.ready); n > 0 {
		s, p.ready = p.ready[n-1], p.ready[:n-1]
	}
	if s != nil && len(p.ready) > 0 {
		return s, true
	}
	iso.refillLocked()
	return s, false
}

// A refill overlapping a start slows it down: preparing a slot is CPU
// (bwrap's namespaces and mounts) on a machine whose start is CPU-bound,
// and, on cgroup v1, moving the slot's first process into its groups
// takes the kernel's cgroup_threadgroup_rwsem for writing, which blocks
// every fork, exec and thread creation on the machine (the starting
// runtime's among them) for an RCU grace period. So a start that leaves
// a slot ready for the next one refills after its first invocation:
// when the environment is first frozen (its runtime back in GET /next),
// when it ends, or slotRefillLate after the take, whichever comes first.
// A start that empties the pool refills at once (a burst is under way).
var slotRefillLate = time.Second // a variable for the tests

// refillLater arranges the refill of the slot s was started in.
func (s *isolated) refillLater() {
	s.refillDue.Store(true)
	time.AfterFunc(slotRefillLate, s.refillNow) // a no-op once it is done
}

// refillNow refills the slots, once, if s's start left that for later.
func (s *isolated) refillNow() {
	if s.refillDue.CompareAndSwap(true, false) {
		s.iso.refill()
	}
}

// refill starts preparing slots up to what is wanted, in the background.
func (iso *Isolation) refill() {
	iso.slots.mu.Lock()
	defer iso.slots.mu.Unlock()
	iso.refillLocked()
}

func (iso *Isolation) refillLocked() {
	p := &iso.slots
	if p.closed {
		return
	}
	need := p.wantedLocked(time.Now()) - len(p.ready) - p.preparing
	for ; need > 0 && p.fillers < slotFillers; need-- {
		p.fillers++
		p.wg.Add(1)
		go iso.fill()
	}
}

// fill prepares slots, one at a time, until as many are ready or being
// prepared as are wanted.
func (iso *Isolation) fill() {
	p := &iso.slots
	defer p.wg.Done()
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.closed && len(p.ready)+p.preparing < p.wantedLocked(time.Now()) {
		p.next++
		dir := filepath.Join(iso.StageDir, "slot-"+strconv.Itoa(p.next))
		p.preparing++
		mb := cmp.Or(p.memoryMB, sluice.DefaultMemorySize)
		p.mu.Unlock()
		s, err := iso.prepare(dir, mb)
		p.mu.Lock()
		p.preparing--
		if err != nil || p.closed {
			if s != nil {
				p.mu.Unlock()
				s.discard(iso)
				p.mu.Lock()
			}
			break
		}
		p.ready = append(p.ready, s)
	}
	p.fillers--
}

// prepare makes one slot in dir, with a memory limit of memoryMB.
func (iso *Isolation) prepare(dir string, memoryMB int) (s *slot, err error) {
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
	// dir becomes a private mount point holding the others, so that they
	// can all be detached from sluice's mount table at once, without
	// propagation, once the sandbox has its copies (see detach).
	if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
		return s, fmt.Errorf("bind the slot's dir: %w", err)
	}
	s.dirBound = true
	if err := syscall.Mount("", dir, "", syscall.MS_PRIVATE, ""); err != nil {
		return s, fmt.Errorf("make the slot's dir private: %w", err)
	}
	// task/ and runtime/ become shared mount points: what is mounted on
	// them later propagates into the sandbox, whose mounts are their
	// slaves.
	for _, d := range []string{task, rt} {
		if err := syscall.Mount(d, d, "", syscall.MS_BIND, ""); err != nil {
			return s, fmt.Errorf("bind the slot's %s dir: %w", filepath.Base(d), err)
		}
		if err := syscall.Mount("", d, "", syscall.MS_SHARED, ""); err != nil {
			_ = syscall.Unmount(d, syscall.MNT_DETACH)
			return s, fmt.Errorf("share the slot's %s dir: %w", filepath.Base(d), err)
		}
		s.selfBound++
	}
	// The limits of a function of memoryMB, but for the CPU weight (the
	// default while the slot waits; the start raises it for the init):
	// the start writes only what differs from them.
	if s.group, err = iso.Cgroups.Create(filepath.Base(dir)+"-"+strconv.Itoa(uid), cgroup.Limits{MemoryBytes: int64(memoryMB) << 20, PIDs: orDefault(iso.PIDs, defaultPIDs)}, uid); err != nil {
		return s, err
	}
	// launch, log, and bwrap's info pipe with a network namespace of its
	// own (only then: bwrap passes an fd it does not use on to the
	// function).
	pipes := make([][2]*os.File, 2, 3)
	if iso.ownNetwork() {
		pipes = pipes[:3]
	}
	for i := range pipes {
		if pipes[i][0], pipes[i][1], err = os.Pipe(); err != nil {
			for _, p := range pipes[:i] {
				p[0].Close()
				p[1].Close()
			}
			return s, err
		}
	}
	launchR, logW := pipes[0][0], pipes[1][1]
	s.launchW, s.logR = pipes[0][1], pipes[1][0]
	cmd := exec.Command("/bin/sh")
	cmd.ExtraFiles = []*os.File{launchR}
	var infoR *os.File
	if len(pipes) == 3 {
		infoR = pipes[2][0]
		defer infoR.Close()
		cmd.ExtraFiles = append(cmd.ExtraFiles, pipes[2][1])
	}

	args := []string{"-c", joinScript, "sluice-sandbox", strconv.Itoa(orDefault(iso.NoFile, defaultNoFile))}
	args = append(args, s.group.ProcsFiles()...)
	args = append(args, "--", iso.Bwrap)
	args = append(args, namespaceArgs(iso)...)
	args = append(args,
		"--clearenv",
		"--ro-bind", task, taskRoot,
		"--ro-bind", rt, runtimeDir,
		"--dir", "/opt",
		"--size", strconv.Itoa(slotEphemeralMB<<20), "--perms", "1777", "--tmpfs", sandboxTmp,
		"--proc", "/proc", "--dev", "/dev",
		"--remount-ro", "/", "--chdir", "/",
	)
	if iso.ownNetwork() {
		args = append(args, "--unshare-net", "--info-fd", "4")
	}
	args = append(args, "--", "/bin/sh", "-c", slotScript)
	cmd.Args = append(cmd.Args, args...)
	cmd.Dir = "/"
	cmd.Env = []string{}
	cmd.Stdout, cmd.Stderr = logW, logW
	// The sandbox's user opens it anew through /proc/self/fd/3.
	if err := launchR.Chmod(0o444); err != nil {
		for _, p := range pipes {
			p[0].Close()
			p[1].Close()
		}
		return s, err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
		Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)},
	}
	err = cmd.Start()
	for _, f := range cmd.ExtraFiles {
		f.Close()
	}
	logW.Close()
	if err != nil {
		return s, err
	}
	s.cmd = cmd
	if iso.ownNetwork() {
		pid, err := readChildPID(infoR)
		if err != nil {
			return s, err
		}
		if err := s.netns.setUp(iso, pid); err != nil {
			return s, err
		}
	}
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

// launch runs the function in the slot: its code on task/, the runtime's
// directory on runtime/, then the launch script into the pipe, which the
// slot's shell runs.
func (s *slot) launch(spec Spec, env []string) error {
	if err := s.bindReadOnly(spec.CodeDir, "task"); err != nil {
		return fmt.Errorf("sandbox: mount the code into the slot: %w", err)
	}
	s.codeMounted = true
	if d := spec.Bootstrap.RuntimeDir; d != "" {
		if err := s.bindReadOnly(d, "runtime"); err != nil {
			return fmt.Errorf("sandbox: mount the runtime into the slot: %w", err)
		}
		s.runtimeMounted = true
	}
	_, err := s.launchW.Write(launchScript(spec.Bootstrap, env))
	s.launchW.Close()
	if err != nil {
		return fmt.Errorf("sandbox: write the slot's launch script: %w", err)
	}
	return nil
}

// bindReadOnly bind-mounts src read-only onto the slot's shared mount
// point name (task or runtime), so that the mount propagates into the
// waiting sandbox read-only. A remount's flags do not propagate, so src is
// first bound and made read-only at a private staging point of the slot,
// and that mount, whose flags a bind copies, is bound onto the target.
//
// Where the kernel has the mount API (open_tree, mount_setattr,
// move_mount: Linux 5.12), the staging point is a detached copy instead:
// three system calls, no staging mount to add and remove in sluice's mount
// table. The copy is read-only before it is attached anywhere.
func (s *slot) bindReadOnly(src, name string) error {
	if err := bindReadOnlyDetached(src, filepath.Join(s.dir, name)); err == nil {
		return nil
	}
	ro := uintptr(syscall.MS_BIND | syscall.MS_REMOUNT | syscall.MS_RDONLY | syscall.MS_NOSUID | syscall.MS_NODEV)
	staging := filepath.Join(s.dir, "staging")
	if err := os.Mkdir(staging, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	if err := syscall.Mount(src, staging, "", syscall.MS_BIND, ""); err != nil {
		return err
	}
	defer syscall.Unmount(staging, syscall.MNT_DETACH)
	if err := syscall.Mount("", staging, "", ro, ""); err != nil {
		return err
	}
	return syscall.Mount(staging, filepath.Join(s.dir, name), "", syscall.MS_BIND, "")
}

// bindReadOnlyDetached binds src onto target read-only, nosuid and nodev
// with the mount API: a detached copy of src's mount, made read-only, then
// attached at target. Nothing is attached when it fails.
func bindReadOnlyDetached(src, target string) error {
	fd, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		return err
	}
	return unix.MoveMount(fd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH)
}

// detach removes the slot's mounts from sluice's mount table once the
// sandbox has its copies: the Env calls it (through initDone) when the
// runtime has asked for its first invocation, which it can only do after
// bwrap set the sandbox up. (A slot counts as ready as soon as bwrap has
// started: its mounts may not exist yet when the slot is launched, and a
// detach then would leave the sandbox with empty directories; once they
// exist, what is mounted on task/ and runtime/ propagates into them at
// once.) Every bwrap started later
// copies sluice's mount table and parses it once per bind: with four mounts
// left behind per environment, a burst of 1,000 starts spent most of the
// machine in bwrap reading /proc/self/mountinfo. The tree is made private
// first, so that unmounting it does not propagate into the sandbox, whose
// copies stay (they become private). On failure the mounts stay, and
// unstage removes them when the environment ends.
func (s *slot) detach() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dirBound {
		return
	}
	if err := syscall.Mount("", s.dir, "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return
	}
	if err := syscall.Unmount(s.dir, syscall.MNT_DETACH); err != nil {
		return
	}
	s.dirBound, s.codeMounted, s.runtimeMounted, s.selfBound = false, false, false, 0
}

// launchScript is the shell script a slot runs: export env, cd to the
// working directory, exec the command.
func launchScript(b Bootstrap, env []string) []byte {
	var buf bytes.Buffer
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		buf.WriteString("export " + k + "=" + shellQuote(v) + "\n")
	}
	buf.WriteString("exec 3<&-\ncd " + shellQuote(b.Cwd) + " || exit 126\nexec")
	for _, a := range b.Command {
		buf.WriteString(" " + shellQuote(a))
	}
	buf.WriteString("\n")
	return buf.Bytes()
}

// shellQuote quotes v for sh: single quotes, with ' written as '\”.
func shellQuote(v string) string {
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// unstage removes the slot's mounts and directory.
func (s *slot) unstage() {
	s.mu.Lock()
	defer s.mu.Unlock()
	task, rt := filepath.Join(s.dir, "task"), filepath.Join(s.dir, "runtime")
	if s.codeMounted {
		_ = syscall.Unmount(task, syscall.MNT_DETACH)
	}
	if s.runtimeMounted {
		_ = syscall.Unmount(rt, syscall.MNT_DETACH)
	}
	for _, d := range []string{task, rt}[:s.selfBound] {
		_ = syscall.Unmount(d, syscall.MNT_DETACH) // the shared self-bind
	}
	if s.dirBound {
		_ = syscall.Unmount(s.dir, syscall.MNT_DETACH)
	}
	_ = os.RemoveAll(s.dir)
}

// discard kills and removes a slot nobody runs.
func (s *slot) discard(iso *Isolation) {
	for _, f := range []*os.File{s.launchW, s.logR} {
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
	s.netns.close()
	s.unstage()
	iso.UIDs.Put(s.uid)
}

// closeSlots stops preparing slots and discards the prepared ones.
func (iso *Isolation) closeSlots() {
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
