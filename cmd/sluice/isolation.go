package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/cgroup"
	"github.com/sluice-dev/sluice/internal/sandbox"
	"github.com/sluice-dev/sluice/internal/sandboxnet"
)

// Sandbox uids: each live environment runs as its own host uid from this
// range, far from the uids of real users and of the usual subordinate
// ranges.
// All stay below 2^31: bwrap prints uids as signed integers into the uid
// map, which the kernel refuses above that.
const (
	sandboxUIDBase   = 1_000_000_000
	sandboxUIDs      = 1 << 16 // per instance
	sandboxInstances = 1 << 14 // 2^30 uids above the base in all
)

// isolation builds the sandboxing of execution environments that cfg asks
// for. "auto" falls back to unsandboxed environments when this machine
// cannot sandbox, and says so loudly; "bwrap" fails instead; "none" runs
// plain child processes, also said loudly. With sandboxes it also returns
// the limits of all environments together (hostLimits), which their
// parent cgroup enforces.
func isolation(ctx context.Context, cfg Config, log *slog.Logger) (*sandbox.Isolation, cgroup.Limits, error) {
	notIsolated := func(why string) {
		log.Warn("EXECUTION ENVIRONMENTS ARE NOT ISOLATED: functions run as plain child processes of sluice, with its user, its file system and no resource limits; use only with code you trust ("+why+")", "sandbox", cfg.Sandbox)
	}
	if cfg.Sandbox == "none" {
		notIsolated("--sandbox none")
		return nil, cgroup.Limits{}, nil
	}
	iso, lim, err := bwrapIsolation(ctx, cfg, log)
	if err == nil {
		return iso, lim, nil
	}
	if cfg.Sandbox == "auto" {
		notIsolated(err.Error())
		return nil, cgroup.Limits{}, nil
	}
	return nil, cgroup.Limits{}, err
}

// minSandboxPIDs is the smallest --sandbox-pids: a few environments, each a
// runtime and its threads (sluice refuses to start one within 64 tasks of
// the limit).
const minSandboxPIDs = 256

// hostLimits are the limits of all execution environments together:
// --sandbox-memory and --sandbox-pids, or what this host allows by
// default (cgroup.HostLimits: MemTotal less a reserve, half of pid_max).
func hostLimits(cfg Config) (cgroup.Limits, error) {
	l, err := cgroup.HostLimits()
	if err != nil {
		return l, err
	}
	if cfg.SandboxMemory > 0 {
		l.MemoryBytes = int64(cfg.SandboxMemory) << 20
	}
	if cfg.SandboxPIDs > 0 {
		l.PIDs = cfg.SandboxPIDs
	}
	return l, nil
}

// defaultMemoryOvercommit is --sandbox-memory-overcommit's default: the
// busy environments' MemorySize may add up to 8 times --sandbox-memory. A
// function's MemorySize is its limit, not what it uses (a Go or Node.js
// function streaming tokens uses a few MB of its 128); reserving all of it
// let this 24 GB host run 164 environments of 128 MB, so a burst of 1,000
// streams was mostly throttled while the machine had memory to spare. The
// parent cgroup's hard limit (--sandbox-memory) bounds what all of them
// really use whatever the admission allows, so the host does not fall over
// (docs/decisions.md).
const defaultMemoryOvercommit = 8

// overMemory is the error of an invocation that needs a new environment
// for which the memory of all environments (--sandbox-memory) has no room,
// even once every idle one is stopped: Lambda's throttling error, which
// the SDKs retry (docs/decisions.md).
func overMemory(want, inUse, limit int64) error {
	return &sluice.Error{Code: sluice.EThrottled, Reason: sandbox.ReasonHostLimit,
		Message: fmt.Sprintf("Rate Exceeded. The busy execution environments on this sluice hold %d MB of MemorySize of the %d MB all of them may have (--sandbox-memory times --sandbox-memory-overcommit); a new one of %d MB starts once others end.", inUse, limit, want)}
}

// sandboxDriver is the driver of the execution environments: plain child
// processes (scratch space under tmp) without isolation; with it, prepared
// slots where they pay (cgroup v1, where moving a process into the cgroups
// is what is slow), else a bubblewrap sandbox started on demand.
func sandboxDriver(iso *sandbox.Isolation, tmp string) sandbox.Driver {
	switch {
	case iso == nil:
		return sandbox.Plain(tmp)
	case iso.StageDir != "" && iso.Cgroups != nil && iso.Cgroups.Version() == "v1":
		return sandbox.Slots(iso)
	default:
		return sandbox.Bwrap(iso)
	}
}

func bwrapIsolation(ctx context.Context, cfg Config, log *slog.Logger) (*sandbox.Isolation, cgroup.Limits, error) {
	iso, err := bwrapIsolationOnly(ctx, cfg, log)
	if err != nil {
		return nil, cgroup.Limits{}, err
	}
	// Every environment's cgroup is under the instance's directories: the
	// limits there bound them all together.
	lim, err := hostLimits(cfg)
	if err == nil {
		err = iso.Cgroups.SetLimits(lim)
	}
	if err != nil {
		if iso.Guard != nil {
			_ = iso.Guard.Stop()
		}
		_ = iso.Cgroups.Close()
		return nil, cgroup.Limits{}, fmt.Errorf("limits of all environments: %w", err)
	}
	log.Info("execution environments are sandboxed", "tool", iso.Bwrap, "cgroups", iso.Cgroups.Version(), "network", iso.Network,
		"memory_mb", lim.MemoryBytes>>20, "pids", lim.PIDs)
	return iso, lim, nil
}

func bwrapIsolationOnly(ctx context.Context, cfg Config, log *slog.Logger) (*sandbox.Isolation, error) {
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		return nil, errors.New("bubblewrap (bwrap) is not installed")
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("sandboxing needs root: each environment runs as its own uid in its own cgroup")
	}
	if err := traversable(cfg.DataDir); err != nil {
		return nil, err
	}
	// One sluice per data dir: its cgroups, uids and network filter are
	// its own, so that two instances on one machine neither share uids nor
	// remove each other's cgroups or filters as leftovers.
	abs, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	instance := instanceOf(abs)
	iso := &sandbox.Isolation{
		Bwrap:   bwrap,
		UIDs:    sandbox.NewUIDRange(instanceUIDBase(instance), sandboxUIDs),
		Network: cfg.SandboxNetwork,
	}
	if cfg.EFSDir != "" {
		if iso.EFSDir, err = filepath.Abs(cfg.EFSDir); err != nil {
			return nil, err
		}
	}
	cg, err := cgroup.New(cgroup.Options{Prefix: fmt.Sprintf("sluice-%08x", instance)})
	if err != nil {
		return nil, fmt.Errorf("no usable cgroup memory controller: %w", err)
	}
	n, err := cg.Cleanup()
	if err != nil {
		log.Warn("removing the cgroups of an earlier run", "err", err)
	} else if n > 0 {
		log.Info("removed the cgroups of an earlier run", "count", n)
	}
	iso.Cgroups = cg
	// Prepared sandboxes (internal/sandbox/slots.go) live here; a crash
	// may have left mounts behind.
	stage := filepath.Join(abs, "sandbox")
	if err := sandbox.CleanStage(stage); err != nil {
		return nil, fmt.Errorf("sandbox stage dir: %w", err)
	}
	iso.StageDir = stage
	sandboxNetwork(ctx, iso, instance, log)
	if dir, ok := cg.Paths()["freezer"]; ok {
		if iso.Guard, err = sandbox.StartThawGuard([]string{dir}); err != nil {
			closeNet(iso, log)
			return nil, fmt.Errorf("thaw guard: %w", err)
		}
	}
	return iso, nil
}

// instanceOf is the instance id of the sluice whose absolute data dir is
// abs.
func instanceOf(abs string) uint32 {
	sum := sha256.Sum256([]byte(abs))
	return binary.BigEndian.Uint32(sum[:4])
}

// instanceUIDBase is the first sandbox uid of an instance.
func instanceUIDBase(instance uint32) int {
	return sandboxUIDBase + int(instance%sandboxInstances)*sandboxUIDs
}

// traversable makes sure the environments' uids can reach the code under
// dir: every directory on the way needs the search (x) permission for
// others. The data dir itself is sluice's own, so it is fixed here; a
// parent that lacks it is an error naming it.
func traversable(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(abs); err == nil && fi.Mode().Perm()&0o001 == 0 {
		if err := os.Chmod(abs, fi.Mode().Perm()|0o011); err != nil {
			return err
		}
	}
	for p := filepath.Dir(abs); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("the sandboxes cannot reach the data dir: %s is not searchable by other users (chmod o+x %s, or put --data-dir elsewhere)", p, p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// sandboxNetwork sets up the environments' network (iso.Network):
// "isolated" needs nft, and loads the instance's nftables table (it
// replaces what a crash left); without nft, or when that fails, it falls
// back to "none", said loudly. "host" is said loudly too.
func sandboxNetwork(ctx context.Context, iso *sandbox.Isolation, instance uint32, log *slog.Logger) {
	switch iso.Network {
	case sandbox.NetworkHost:
		log.Warn("EXECUTION ENVIRONMENTS SHARE THE HOST'S NETWORK (--sandbox-network host): functions reach the host's loopback, sluice's API and every service on the host, and can serve connections from outside; use only with code you trust")
		return
	case sandbox.NetworkIsolated:
	default:
		return
	}
	noOutbound := func(why string) {
		log.Warn("execution environments have NO OUTBOUND NETWORK: --sandbox-network isolated "+why+"; running as --sandbox-network none", "network", sandbox.NetworkNone)
		iso.Network = sandbox.NetworkNone
	}
	nft, err := exec.LookPath("nft")
	if err != nil {
		noOutbound("needs nft (Debian package nftables)")
		return
	}
	h, err := sandboxnet.Open(ctx, nft, instance)
	if err != nil {
		// The sandboxes stay: only their link is missing.
		noOutbound("could not be set up (" + err.Error() + ")")
		return
	}
	iso.Net = h
}

// closeNet removes the instance's nftables table, if any (at shutdown,
// once every environment is gone).
func closeNet(iso *sandbox.Isolation, log *slog.Logger) {
	if iso == nil || iso.Net == nil {
		return
	}
	if err := iso.Net.Close(context.Background()); err != nil {
		log.Warn("removing the sandboxes' network table", "err", err)
	}
}
