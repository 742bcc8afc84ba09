package bolt

import "github.com/sluice-dev/sluice"

// changeQualified applies a change to the record a qualifier names within
// b's transaction and writes it back: the function's $LATEST (qualifier ""
// or $LATEST) or a published version (a decimal number) with fnChange, an
// alias (any other qualifier) with aliasChange (nil: aliases have no such
// member, ENotFound). Nothing is written when the change fails. Errors:
// ENotFound for the function, the version or the alias; the change's.
// SetPolicy, SetSettings and SetEventInvokeConfig share it.
func (b *buckets) changeQualified(function, qualifier string, fnChange func(*sluice.Function) error, aliasChange func(*sluice.Alias) error) error {
	if err := b.exists(function); err != nil {
		return err
	}
	switch {
	case qualifier == "" || qualifier == sluice.LatestVersion:
		fn, err := b.latest(function)
		if err != nil {
			return err
		}
		if err := fnChange(fn); err != nil {
			return err
		}
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
		if err := fnChange(fn); err != nil {
			return err
		}
		value, err := encode(fn)
		if err != nil {
			return err
		}
		n, _ := parseVersion(qualifier) // b.version parsed it
		return b.versions.Bucket([]byte(function)).Put(versionKey(n), value)
	case aliasChange == nil:
		return notFound(function + ":" + qualifier)
	default:
		a, err := b.alias(function, qualifier)
		if err != nil {
			return err
		}
		if err := aliasChange(a); err != nil {
			return err
		}
		value, err := encodeAlias(a)
		if err != nil {
			return err
		}
		return b.aliases.Bucket([]byte(function)).Put([]byte(qualifier), value)
	}
}
