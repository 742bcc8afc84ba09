package cgroup

import (
	"reflect"
	"testing"
)

func TestParseProcCgroup(t *testing.T) {
	// This machine's: v1 controllers, cpu and cpuacct mounted apart, and
	// the unified hierarchy.
	pc, err := parseProcCgroup([]byte(`9:name=systemd:/
8:pids:/
6:freezer:/
4:memory:/process_api/4557780c4356bcd4a642c30956805f20
2:cpuacct:/
1:cpu,cpuacct:/a:b
0::/
`))
	if err != nil {
		t.Fatal(err)
	}
	want := procCgroups{
		v1: map[string]string{
			"name=systemd": "/", "pids": "/", "freezer": "/",
			"memory": "/process_api/4557780c4356bcd4a642c30956805f20",
			"cpu":    "/a:b", "cpuacct": "/a:b",
		},
		v2: "/", hasV2: true,
	}
	if !reflect.DeepEqual(pc, want) {
		t.Errorf("got %+v\nwant %+v", pc, want)
	}

	pc, err = parseProcCgroup([]byte("0::/user.slice/session-1.scope\n"))
	if err != nil || !pc.hasV2 || pc.v2 != "/user.slice/session-1.scope" || len(pc.v1) != 0 {
		t.Errorf("pure v2: %+v, %v", pc, err)
	}
	for _, bad := range []string{"4:memory\n", "garbage\n", "4:memory:relative\n"} {
		if _, err := parseProcCgroup([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestParseMountInfo(t *testing.T) {
	mounts, err := parseMountInfo([]byte(`22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 /docker/c1 /sys/fs/cgroup/memory rw,nosuid shared:5 master:3 - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
42 31 0:39 / /mnt/with\040space\134x rw - cgroup2 none rw
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []mount{
		{"/", "/sys/fs/cgroup/cpu", "cgroup", []string{"rw", "cpu"}},
		{"/docker/c1", "/sys/fs/cgroup/memory", "cgroup", []string{"rw", "memory"}},
		{"/", "/sys/fs/cgroup/cpu,cpuacct", "cgroup", []string{"rw", "cpu", "cpuacct"}},
		{"/", "/sys/fs/cgroup/unified", "cgroup2", []string{"rw", "nsdelegate"}},
		{"/", `/mnt/with space\x`, "cgroup2", []string{"rw"}},
	}
	if !reflect.DeepEqual(mounts, want) {
		t.Errorf("got %+v\nwant %+v", mounts, want)
	}
	for _, bad := range []string{"1 2 3\n", "31 23 0:28 / /x rw - cgroup\n", "31 23 0:28 / /x rw shared:1 cgroup cgroup rw\n"} {
		if _, err := parseMountInfo([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`/a\040b`: "/a b", `/a\011b\012`: "/a\tb\n", `/a\134`: `/a\`, `/a\`: `/a\`, `/a\04`: `/a\04`, `/a\999`: `/a\999`, "/plain": "/plain",
	} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOwnDir(t *testing.T) {
	mounts := []mount{
		{"/", "/sys/fs/cgroup/cpu,cpuacct", "cgroup", []string{"rw", "cpu", "cpuacct"}},
		{"/docker/c1", "/sys/fs/cgroup/memory", "cgroup", []string{"rw", "memory"}},
		{"/", "/sys/fs/cgroup/unified", "cgroup2", []string{"rw"}},
	}
	for _, c := range []struct{ fstype, ctl, path, want string }{
		{"cgroup", "cpu", "/", "/sys/fs/cgroup/cpu,cpuacct"},
		{"cgroup", "cpuacct", "/x/y", "/sys/fs/cgroup/cpu,cpuacct/x/y"},
		{"cgroup", "memory", "/docker/c1", "/sys/fs/cgroup/memory"},
		{"cgroup", "memory", "/docker/c1/app", "/sys/fs/cgroup/memory/app"},
		{"cgroup", "memory", "/docker/c10", ""}, // a sibling, not below the mount's root
		{"cgroup", "memory", "/", ""},
		{"cgroup", "pids", "/", ""}, // not mounted
		{"cgroup2", "", "/a", "/sys/fs/cgroup/unified/a"},
	} {
		got, err := ownDir(mounts, c.fstype, c.ctl, c.path)
		if got != c.want || (err == nil) != (c.want != "") {
			t.Errorf("ownDir(%s %s %s) = %q, %v; want %q", c.fstype, c.ctl, c.path, got, err, c.want)
		}
	}
}

func TestWithin(t *testing.T) {
	for _, c := range []struct {
		p, dir string
		want   bool
	}{
		{"/sys/fs/cgroup", "/sys/fs/cgroup", true},
		{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/", true},
		{"/sys/fs/cgroupx", "/sys/fs/cgroup", false},
		{"/sys/fs", "/sys/fs/cgroup", false},
		{"/anything", "/", true},
	} {
		if got := within(c.p, c.dir); got != c.want {
			t.Errorf("within(%q, %q) = %v", c.p, c.dir, got)
		}
	}
}
