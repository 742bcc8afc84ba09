package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

const versionUsage = `Usage:
  sluice version
  sluice --version

Prints sluice's version: the one set at build time (-ldflags
"-X main.version=V"), else the module version of the build ("(devel)" for
a plain build of a checkout), with the VCS revision, its time and whether
the tree was modified, and the Go version.
`

// versionCommand is `sluice version` (and `sluice --version`).
func versionCommand(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", stderr)
	if code, ok := parseFlags(fs, args, versionUsage, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sluice version: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	info, _ := debug.ReadBuildInfo()
	fmt.Fprintln(stdout, versionString(version, info))
	return 0
}

// versionString is the one line `sluice version` prints, e.g.
//
//	sluice v0.4.0 (revision 6a5efe1c0ffe, 2026-12-03T15:39:18Z, modified) go1.26.8
//
// ldflags is the version set at build time (empty when not set); info may
// be nil (a binary without build information).
func versionString(ldflags string, info *debug.BuildInfo) string {
	v := ldflags
	if v == "" && info != nil {
		v = info.Main.Version
	}
	if v == "" {
		v = "(devel)"
	}
	var details []string
	goVersion := ""
	if info != nil {
		goVersion = info.GoVersion
		var rev, at, modified string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" {
			details = append(details, "revision "+rev)
		}
		if at != "" {
			details = append(details, at)
		}
		if modified == "true" {
			details = append(details, "modified")
		}
	}
	line := "sluice " + v
	if len(details) > 0 {
		line += " (" + strings.Join(details, ", ") + ")"
	}
	if goVersion != "" {
		line += " " + goVersion
	}
	return line
}
