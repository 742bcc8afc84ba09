package main

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"syscall"
)

// Code storage: --code-storage-limit, the most storage the deployment
// packages of an account may take (service.Config.CodeStorageLimit).

// byteSizeUnits are the units --code-storage-limit accepts, all binary as
// Lambda's quotas are (its "75 GB" is 75 GiB).
var byteSizeUnits = []struct {
	suffix string
	n      int64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10},
	{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1},
}

// parseByteSize parses a positive size in bytes with an optional binary
// unit: 80530636800, 75G, 75GB, 75GiB, 512M, 64KiB.
func parseByteSize(v string) (int64, error) {
	num, mult := strings.TrimSpace(v), int64(1)
	for _, u := range byteSizeUnits {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(rest), u.n
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("want a positive size such as 75G, 512M or 1048576, got %q", v)
	}
	return n * mult, nil
}

// formatByteSize renders n in the largest binary unit that divides it.
func formatByteSize(n int64) string {
	for _, u := range byteSizeUnits[:4] {
		if n >= u.n && n%u.n == 0 {
			return strconv.FormatInt(n/u.n, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// byteSizeFlag is a flag.Value over an int64 of bytes.
type byteSizeFlag struct{ p *int64 }

func (f byteSizeFlag) String() string {
	if f.p == nil {
		return ""
	}
	return formatByteSize(*f.p)
}

func (f byteSizeFlag) Set(v string) error {
	n, err := parseByteSize(v)
	if err != nil {
		return err
	}
	*f.p = n
	return nil
}

// warnCodeStorage says at start when the code storage limit is larger than
// the file system that holds the packages: the quota then does not keep
// packages from filling it.
func warnCodeStorage(log *slog.Logger, dir string, limit int64) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return
	}
	size := int64(st.Blocks) * int64(st.Bsize)
	if limit > size {
		log.Warn("--code-storage-limit is larger than the file system of the data directory: packages can fill it",
			"code_storage_limit", formatByteSize(limit), "file_system_size", formatByteSize(size/(1<<20)*(1<<20)))
	}
}
