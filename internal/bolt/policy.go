package bolt

import (
	"context"

	"github.com/sluice-dev/sluice"
)

// SetPolicy replaces the resource-based policy of the function's $LATEST
// (qualifier "" or $LATEST), of a published version (a decimal number) or
// of an alias (any other qualifier) with p (nil: none), if the stored
// policy's RevisionID is prevPolicyRevision ("" for none). The policy is
// a member of the record it belongs to, so it is written, and deleted,
// with it; nothing else of the record changes. Errors: ENotFound for the
// function, the version or the alias; EPrecondition if the stored
// policy's revision differs.
func (s *Store) SetPolicy(ctx context.Context, function, qualifier string, p *sluice.FunctionPolicy, prevPolicyRevision string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p = p.Clone()
	return s.update(func(b *buckets) error {
		return b.changeQualified(function, qualifier, func(fn *sluice.Function) error {
			if err := checkPolicyRevision(fn.Policy, prevPolicyRevision); err != nil {
				return err
			}
			fn.Policy = p
			return nil
		}, func(a *sluice.Alias) error {
			if err := checkPolicyRevision(a.Policy, prevPolicyRevision); err != nil {
				return err
			}
			a.Policy = p
			return nil
		})
	})
}

// checkPolicyRevision is SetPolicy's compare-and-swap: the stored policy's
// revision ("" for none) must be prev.
func checkPolicyRevision(stored *sluice.FunctionPolicy, prev string) error {
	have := ""
	if stored != nil {
		have = stored.RevisionID
	}
	if have != prev {
		return sluice.Errorf(sluice.EPrecondition, "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id")
	}
	return nil
}
