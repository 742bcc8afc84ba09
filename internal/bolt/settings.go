package bolt

import (
	"context"

	"github.com/sluice-dev/sluice"
)

// SetSettings calls update with the stored settings of the function's
// $LATEST (qualifier "" or $LATEST) or of a published version (a decimal
// number) and stores what update leaves, in one transaction. The settings
// are a member of the record, so they are written, and deleted, with it;
// nothing else of the record changes. Errors: ENotFound for the function
// or the version; update's error, with nothing stored.
func (s *Store) SetSettings(ctx context.Context, function, qualifier string, update func(*sluice.FunctionSettings) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(func(b *buckets) error {
		return b.changeQualified(function, qualifier, func(fn *sluice.Function) error {
			if err := update(&fn.Settings); err != nil {
				return err
			}
			fn.Settings = fn.Settings.Clone() // update's maps are not kept
			return nil
		}, nil) // aliases have no settings
	})
}
