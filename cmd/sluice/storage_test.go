package main

import (
	"flag"
	"io"
	"testing"
)

func TestCodeStorageLimitFlag(t *testing.T) {
	for in, want := range map[string]int64{
		"80530636800": 80530636800,
		"75G":         75 << 30,
		"75GiB":       75 << 30,
		"512M":        512 << 20,
		"64KiB":       64 << 10,
		"1T":          1 << 40,
		"4096B":       4096,
		"75 GB":       75 << 30,
	} {
		cfg := DefaultConfig()
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		cfg.flags(fs)
		if err := fs.Parse([]string{"--code-storage-limit", in}); err != nil || cfg.CodeStorageLimit != want {
			t.Errorf("--code-storage-limit %s: %d, %v; want %d", in, cfg.CodeStorageLimit, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1G", "1.5G", "G", "99999999999T", "75X"} {
		cfg := DefaultConfig()
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		cfg.flags(fs)
		if err := fs.Parse([]string{"--code-storage-limit", in}); err == nil {
			t.Errorf("--code-storage-limit %q accepted: %d", in, cfg.CodeStorageLimit)
		}
	}
	if got := DefaultConfig().CodeStorageLimit; got != 80530636800 {
		t.Errorf("default %d, want 75 GiB", got)
	}
	if s := formatByteSize(75 << 30); s != "75GiB" {
		t.Errorf("formatByteSize(75 GiB) = %q", s)
	}
}
