package sluice

import "strings"

// Hot reload, LocalStack's convention: CreateFunction or
// UpdateFunctionCode with the S3 bucket HotReloadBucket and, as the key,
// the absolute path of a directory on the server's host makes the
// function run straight from that directory (no copy, no zip), a change
// in it being picked up by the next invocation. Such a function's
// CodeSHA256 is HotReloadCode(dir): it names the directory instead of a
// stored package.

// HotReloadBucket is the Code.S3Bucket that asks for hot reload.
const HotReloadBucket = "hot-reload"

// HotReloadCodeSha256 is the CodeSha256 Lambda's API answers for a
// hot-reloaded function (LocalStack's; its CodeSize is 0).
const HotReloadCodeSha256 = "hot-reloading-hash-not-available"

const hotReloadPrefix = "hot-reload:"

// HotReloadCode is the Function.CodeSHA256 of code run from the host
// directory dir (the path as the client gave it).
func HotReloadCode(dir string) string { return hotReloadPrefix + dir }

// HotReloadDir returns the directory of a Function.CodeSHA256 made by
// HotReloadCode, and whether it is one.
func HotReloadDir(code string) (string, bool) {
	return strings.CutPrefix(code, hotReloadPrefix)
}
