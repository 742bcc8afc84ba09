// Package parity replays call sequences recorded against real AWS Lambda
// (LocalStack's snapshot files, copied as excerpts into testdata with
// their source path and commit) against sluice through the Go SDK, and
// reports every difference in status, error code, normalised message and
// response fields, one line each.
//
// The package holds the harness (Recorder, Run, Diff, Deviations); its
// tests replay the control-plane cases against an API server on a
// loopback port (parity_test.go, cases_*_test.go), and cmd/sluice's
// tests replay the invocation cases against a whole server. Every
// difference fails the test unless testdata/deviations.tsv names it as a
// deviation documented in docs/decisions.md. inventory.py lists which of
// LocalStack's snapshot tests call only operations sluice implements.
package parity
