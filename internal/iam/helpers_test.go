package iam

import (
	"errors"

	"github.com/sluice-dev/sluice"
)

// asSluiceError returns the *sluice.Error in err's chain, or nil.
func asSluiceError(err error) *sluice.Error {
	var se *sluice.Error
	if errors.As(err, &se) {
		return se
	}
	return nil
}
