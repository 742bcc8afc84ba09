package cgroup

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// procCgroups is the content of /proc/<pid>/cgroup.
type procCgroups struct {
	v1    map[string]string // v1 controller (or "name=..." hierarchy) → cgroup path
	v2    string            // path in the unified hierarchy
	hasV2 bool
}

// parseProcCgroup parses /proc/<pid>/cgroup: lines "ID:controllers:path",
// where controllers is a comma-separated list for a v1 hierarchy and empty
// for the unified one ("0::/path").
func parseProcCgroup(data []byte) (procCgroups, error) {
	pc := procCgroups{v1: map[string]string{}}
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" {
			continue
		}
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 || !strings.HasPrefix(f[2], "/") {
			return pc, fmt.Errorf("malformed line %q", line)
		}
		if f[0] == "0" && f[1] == "" {
			pc.v2, pc.hasV2 = f[2], true
			continue
		}
		for _, c := range strings.Split(f[1], ",") {
			if c != "" {
				pc.v1[c] = f[2]
			}
		}
	}
	return pc, nil
}

// mount is a cgroup or cgroup2 line of /proc/<pid>/mountinfo.
type mount struct {
	root   string   // the cgroup mounted there ("/" for the whole hierarchy)
	point  string   // where it is mounted
	fstype string   // "cgroup" or "cgroup2"
	opts   []string // super options: for v1 they name the controllers
}

// parseMountInfo returns the cgroup and cgroup2 mounts of a mountinfo file
// (proc(5)): "ID parentID major:minor root point options [optional...] -
// fstype source superoptions".
func parseMountInfo(data []byte) ([]mount, error) {
	var mounts []mount
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 6 || sep < 0 || sep+3 >= len(f) {
			return nil, fmt.Errorf("malformed line %q", line)
		}
		fstype := f[sep+1]
		if fstype != "cgroup" && fstype != "cgroup2" {
			continue
		}
		mounts = append(mounts, mount{
			root:   unescape(f[3]),
			point:  unescape(f[4]),
			fstype: fstype,
			opts:   strings.Split(f[sep+3], ","),
		})
	}
	return mounts, nil
}

// unescape undoes mountinfo's octal escapes (\040 for a space, ...).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ownDir returns the directory, in a mount of type fstype (serving
// controller ctl, for v1), of the cgroup at cgPath in that hierarchy.
func ownDir(mounts []mount, fstype, ctl, cgPath string) (string, error) {
	found := false
	for _, mt := range mounts {
		if mt.fstype != fstype || (ctl != "" && !slices.Contains(mt.opts, ctl)) {
			continue
		}
		found = true
		if rel, ok := relTo(mt.root, cgPath); ok {
			return filepath.Join(mt.point, rel), nil
		}
	}
	if found {
		return "", fmt.Errorf("own cgroup %s is outside every mount of its hierarchy", cgPath)
	}
	return "", errors.New("hierarchy not mounted")
}

// relTo returns p relative to root, both cgroup paths, if p is root or
// below it.
func relTo(root, p string) (string, bool) {
	root, p = path.Clean(root), path.Clean(p)
	switch {
	case root == "/":
		return p, true
	case p == root:
		return "/", true
	case strings.HasPrefix(p, root+"/"):
		return p[len(root):], true
	}
	return "", false
}

// within reports whether the directory p is dir or below it.
func within(p, dir string) bool {
	p, dir = filepath.Clean(p), filepath.Clean(dir)
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}
