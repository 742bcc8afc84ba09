package sandbox

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/sluice-dev/sluice/internal/cgroup"
)

// Prepared slots: the slow part of starting a sandbox on cgroup v1 is
// moving its first process into the environment's cgroups (each move
// takes the kernel's cgroup thread-group lock, which waits for an RCU
// grace period: ~10 ms on this kind of machine). A slot does that ahead of
// time: a uid, a cgroup, and a shell already inside the cgroup, running as
// the uid, waiting on a pipe. An environment that takes a slot sets its
// limits, hands bwrap its arguments (--args: NUL-separated, environment
// included) and lets the shell exec bwrap. Slots are prepared one at a
// time in the background, owned by the Isolation (Close stops them).

// slotsWanted is how many prepared slots are kept.
const slotsWanted = 2

// slot is one prepared sandbox start.
type slot struct {
	uid   int
	group *cgroup.Group
	cmd   *exec.Cmd // the waiting shell, started
	start *os.File  // write end of the shell's stdin: a line lets it exec
	args  *os.File  // write end of bwrap's --args pipe (fd 3)
	logR  *os.File  // read end of the shell's stdout and stderr, for the Env's log capture
}

// slotPool keeps prepared slots.
type slotPool struct {
	mu      sync.Mutex
	ready   []*slot
	filling bool
	closed  bool
	wg      sync.WaitGroup
}

// take returns a prepared slot, or nil, and starts preparing more.
func (iso *Isolation) take() *slot {
	if iso.Cgroups == nil || iso.Network == "none" {
		return nil
	}
	p := &iso.slots
	p.mu.Lock()
	defer p.mu.Unlock()
	var s *slot
	if n := len(p.ready); n > 0 {
		s, p.ready = p.ready[n-1], p.ready[:n-1]
	}
	if !p.filling && !p.closed && len(p.ready) < slotsWanted {
		p.filling = true
		p.wg.Add(1)
		go iso.fill()
	}
	return s
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
		p.mu.Unlock()
		s, err := iso.prepare()
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

// prepare makes one slot.
func (iso *Isolation) prepare() (*slot, error) {
	uid, err := iso.UIDs.Get()
	if err != nil {
		return nil, err
	}
	s := &slot{uid: uid}
	// No memory limit yet: the Env sets its own (lowering from unlimited
	// is always allowed).
	if s.group, err = iso.Cgroups.Create(fmt.Sprintf("slot-%d", uid), cgroup.Limits{PIDs: cmp(iso.PIDs, defaultPIDs)}, uid); err != nil {
		iso.UIDs.Put(uid)
		return nil, err
	}
	startR, startW, err := os.Pipe()
	if err != nil {
		s.discard(iso)
		return nil, err
	}
	argsR, argsW, err := os.Pipe()
	if err != nil {
		startR.Close()
		startW.Close()
		s.discard(iso)
		return nil, err
	}
	logR, logW, err := os.Pipe()
	if err != nil {
		startR.Close()
		startW.Close()
		argsR.Close()
		argsW.Close()
		s.discard(iso)
		return nil, err
	}
	// logR is handed to the Env later; the Env's log capture owns it.
	s.start, s.args, s.logR = startW, argsW, logR

	// bwrap takes its options from --args but the program from its own
	// command line: the bootstrap, the same for every environment.
	script := `b=$1; n=$2; shift 2; for f; do echo $$ > "$f" || exit 125; done; ulimit -n "$n" || exit 125; read -r _ || exit 125; exec "$b" --args 3 ` + bootstrapPath
	args := []string{"-c", script, "sluice-sandbox", iso.Bwrap, strconv.Itoa(cmp(iso.NoFile, defaultNoFile))}
	args = append(args, s.group.ProcsFiles()...)
	cmd := exec.Command("/bin/sh", args...)
	cmd.Dir = "/"
	cmd.Env = []string{}
	cmd.Stdin = startR
	cmd.Stdout, cmd.Stderr = logW, logW
	cmd.ExtraFiles = []*os.File{argsR}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
		Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)},
	}
	err = cmd.Start()
	startR.Close()
	argsR.Close()
	logW.Close()
	if err != nil {
		s.discard(iso)
		return nil, err
	}
	s.cmd = cmd
	return s, nil
}

// discard kills and removes a slot nobody took.
func (s *slot) discard(iso *Isolation) {
	for _, f := range []*os.File{s.start, s.args, s.logR} {
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
	iso.UIDs.Put(s.uid)
}

// Close stops preparing slots and discards the prepared ones.
func (iso *Isolation) Close() {
	p := &iso.slots
	p.mu.Lock()
	p.closed = true
	ready := p.ready
	p.ready = nil
	p.mu.Unlock()
	p.wg.Wait()
	p.mu.Lock()
	ready = append(ready, p.ready...)
	p.ready = nil
	p.mu.Unlock()
	for _, s := range ready {
		s.discard(iso)
	}
}

// launch starts bwrap in the slot: args are bwrap's options (the program,
// bootstrapPath, is on the shell's command line) and env the sandboxed
// program's environment.
func (s *slot) launch(args, env []string) error {
	var buf bytes.Buffer
	buf.WriteString("--clearenv\x00")
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		buf.WriteString("--setenv\x00" + k + "\x00" + v + "\x00")
	}
	for _, a := range args {
		buf.WriteString(a + "\x00")
	}
	_, err := s.args.Write(buf.Bytes())
	s.args.Close()
	if err != nil {
		s.start.Close()
		return err
	}
	_, err = s.start.Write([]byte("go\n"))
	s.start.Close()
	return err
}
