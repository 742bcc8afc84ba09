// Package parity replays call sequences recorded against real AWS Lambda
// (LocalStack's snapshot files, copied as excerpts into testdata with
// their source path and commit) against a sluice API server on a loopback
// port, through the Go SDK, and reports every difference in status, error
// code, normalised message and response fields, one line each.
//
// The package has no code of its own: the harness is parity_test.go, the
// replays are cases_test.go. A case fails the test only when it is listed
// in testdata/expected-to-match.txt; every other case only logs its
// differences (see NOTES in the branch and docs/decisions.md for why).
// inventory.py lists which of LocalStack's snapshot tests call only
// operations sluice implements.
package parity
