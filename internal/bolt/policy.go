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
		if err := b.exists(function); err != nil {
			return err
		}
		switch {
		case qualifier == "" || qualifier == sluice.LatestVersion:
			fn, err := b.latest(function)
			if err != nil {
				return err
			}
			if err := checkPolicyRevision(fn.Policy, prevPolicyRevision); err != nil {
				return err
			}
			fn.Policy = p
			value, err := encodeLatest(fn)
			if err != nil {
				return err
			}
			return b.functions.Put([]byte(function), value)
		case sluice.IsVersionNumber(qualifier):
			fn, err := b.version(function, qualifier)
			if err != nil {
				return err
			}
			if err := checkPolicyRevision(fn.Policy, prevPolicyRevision); err != nil {
				return err
			}
			fn.Policy = p
			value, err := encode(fn)
			if err != nil {
				return err
			}
			n, _ := parseVersion(qualifier) // b.version parsed it
			return b.versions.Bucket([]byte(function)).Put(versionKey(n), value)
		default:
			a, err := b.alias(function, qualifier)
			if err != nil {
				return err
			}
			if err := checkPolicyRevision(a.Policy, prevPolicyRevision); err != nil {
				return err
			}
			a.Policy = p
			value, err := encodeAlias(a)
			if err != nil {
				return err
			}
			return b.aliases.Bucket([]byte(function)).Put([]byte(qualifier), value)
		}
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
