package artifacts

import (
	"errors"
	"io"
)

// Unpacks returns how many times s has unpacked a package.
func Unpacks(s *Store) int64 { return s.unpacks.Load() }

// SetMaxUnzipped sets the unpacked size limit of s.
func SetMaxUnzipped(s *Store, limit int64) { s.maxUnzipped = limit }

// CopyLimited copies src to dst with the copier Dir uses, under the
// given size limit.
func CopyLimited(dst io.Writer, src io.Reader, limit int64) error {
	return newCopier(limit).copy(dst, src)
}

// IsTooLarge reports whether err is the copier's size limit error.
func IsTooLarge(err error) bool { return errors.Is(err, errTooLarge) }

// InvalidZipMessage is the message of EInvalidZip errors.
const InvalidZipMessage = invalidZipMessage

// CopyBudget copies src to dst with the copier Dir uses, under the given
// size limit and budget (the sizes the entries declared).
func CopyBudget(dst io.Writer, src io.Reader, limit, budget int64) error {
	return newBudgetCopier(limit, budget).copy(dst, src)
}
