// Package sluice holds the domain vocabulary of sluice, a self-hosted,
// AWS-Lambda-wire-compatible function platform: functions and their
// configuration, invocations and their streamed results, the errors the
// platform can return, and the interfaces the adapters implement.
//
// This package imports only the standard library and never net/http or
// os/exec: transports, storage engines and process management live in
// internal/ packages named after what they adapt. See docs/architecture.md.
package sluice
