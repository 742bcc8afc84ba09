package bolt

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice"
	bbolt "go.etcd.io/bbolt"
)

// urlRecord is the stored form of a sluice.FunctionURLConfig (since schema
// version 3), versioned like functionRecord.
type urlRecord struct {
	V            int    `json:"v"`
	FunctionName string `json:"function_name"`
	Qualifier    string `json:"qualifier"` // "" for the unqualified function
	URLID        string `json:"url_id"`
	AuthType     string `json:"auth_type"`
	InvokeMode   string `json:"invoke_mode"`
	// Cors is absent when the URL has no CORS configuration.
	Cors *corsRecord `json:"cors,omitempty"`
	// Times are RFC 3339 with nanoseconds in UTC; "" for the zero time.
	CreationTime     string `json:"creation_time"`
	LastModifiedTime string `json:"last_modified_time"`
}

type corsRecord struct {
	AllowCredentials bool     `json:"allow_credentials"`
	AllowHeaders     []string `json:"allow_headers"`
	AllowMethods     []string `json:"allow_methods"`
	AllowOrigins     []string `json:"allow_origins"`
	ExposeHeaders    []string `json:"expose_headers"`
	MaxAge           int      `json:"max_age"`
}

// urlIndexRecord is the value of a url_ids entry: where its URL is stored.
type urlIndexRecord struct {
	// Region and Account name the scope of the URL's function (since
	// schema version 4).
	Region       string `json:"region"`
	Account      string `json:"account"`
	FunctionName string `json:"function_name"`
	QualifierKey string `json:"qualifier_key"`
}

func (ix *urlIndexRecord) scope() sluice.Scope {
	return sluice.Scope{Region: ix.Region, Account: ix.Account}
}

// urlIndex returns the url_ids entry of id. Errors: ENotFound.
func urlIndex(ids *bbolt.Bucket, id string) (*urlIndexRecord, error) {
	var raw []byte
	if ids != nil && id != "" && len(id) <= bbolt.MaxKeySize {
		raw = ids.Get([]byte(id))
	}
	if raw == nil {
		return nil, urlNotFound()
	}
	var ix urlIndexRecord
	if err := json.Unmarshal(raw, &ix); err != nil {
		return nil, fmt.Errorf("decode url id %s: %w", id, err)
	}
	if !ix.scope().Valid() {
		return nil, fmt.Errorf("url id %s names the invalid scope %q", id, ix.scope())
	}
	return &ix, nil
}

// CreateFunctionURL stores a new URL configuration and its url_ids entry.
// Errors: ENotFound for the function or the alias; EConflict if the
// function (or alias) has a URL, or the URL id is taken.
func (s *Store) CreateFunctionURL(ctx context.Context, c *sluice.FunctionURLConfig) error {
	if err := checkURL(ctx, c); err != nil {
		return err
	}
	if c.URLID == "" || len(c.URLID) > bbolt.MaxKeySize {
		return sluice.Errorf(sluice.EInvalidParameter, "A function URL must have a URL id.")
	}
	value, err := encodeURL(c)
	if err != nil {
		return err
	}
	index, err := json.Marshal(urlIndexRecord{Region: s.scope.Region, Account: s.scope.Account, FunctionName: c.FunctionName, QualifierKey: c.QualifierKey()})
	if err != nil {
		return wrap(err)
	}
	return s.update(func(b *buckets) error {
		if err := b.exists(c.FunctionName); err != nil {
			return err
		}
		if c.Qualifier != "" {
			if _, err := b.alias(c.FunctionName, c.Qualifier); err != nil {
				return err
			}
		}
		if urls := b.urls.Bucket([]byte(c.FunctionName)); urls != nil && urls.Get([]byte(c.QualifierKey())) != nil {
			return sluice.Errorf(sluice.EConflict, "FunctionUrlConfig exists for this Lambda function")
		}
		if b.urlIDs.Get([]byte(c.URLID)) != nil {
			return sluice.Errorf(sluice.EConflict, "The function URL id %s is in use.", c.URLID)
		}
		urls, err := b.urls.CreateBucketIfNotExists([]byte(c.FunctionName))
		if err != nil {
			return err
		}
		if err := urls.Put([]byte(c.QualifierKey()), value); err != nil {
			return err
		}
		return b.urlIDs.Put([]byte(c.URLID), index)
	})
}

// GetFunctionURL returns the URL of a function (qualifier "") or alias.
// Errors: ENotFound.
func (s *Store) GetFunctionURL(ctx context.Context, function, qualifier string) (*sluice.FunctionURLConfig, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var c *sluice.FunctionURLConfig
	err := s.view(func(b *buckets) error {
		var err error
		c, err = b.url(function, qualifierKey(qualifier))
		return err
	})
	return c, err
}

// GetFunctionURLByID returns the URL whose URL id is id, if it is one of
// this scope's. Errors: ENotFound.
func (s *Store) GetFunctionURLByID(ctx context.Context, id string) (*sluice.FunctionURLConfig, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var c *sluice.FunctionURLConfig
	err := s.view(func(b *buckets) error {
		ix, err := urlIndex(b.urlIDs, id)
		if err != nil {
			return err
		}
		if ix.scope() != s.scope {
			return urlNotFound() // another scope's
		}
		c, err = b.url(ix.FunctionName, ix.QualifierKey)
		if err != nil {
			return fmt.Errorf("url id %s names a missing URL %s:%s: %w", id, ix.FunctionName, ix.QualifierKey, err)
		}
		if c.URLID != id {
			return fmt.Errorf("url id %s names the URL of %s:%s, which has id %s", id, ix.FunctionName, ix.QualifierKey, c.URLID)
		}
		return nil
	})
	return c, err
}

// UpdateFunctionURL replaces the stored URL of c.FunctionName and
// c.Qualifier with c, keeping the stored URL id and creation time, and
// returns a copy of what it stored. Errors: ENotFound.
func (s *Store) UpdateFunctionURL(ctx context.Context, c *sluice.FunctionURLConfig) (*sluice.FunctionURLConfig, error) {
	if err := checkURL(ctx, c); err != nil {
		return nil, err
	}
	var stored *sluice.FunctionURLConfig
	err := s.update(func(b *buckets) error {
		old, err := b.url(c.FunctionName, c.QualifierKey())
		if err != nil {
			return err
		}
		stored = c.Clone()
		stored.URLID = old.URLID
		stored.CreationTime = old.CreationTime
		value, err := encodeURL(stored)
		if err != nil {
			return err
		}
		return b.urls.Bucket([]byte(c.FunctionName)).Put([]byte(c.QualifierKey()), value)
	})
	if err != nil {
		return nil, err
	}
	return stored, nil
}

// DeleteFunctionURL removes the URL of a function (qualifier "") or alias
// and its url_ids entry. Errors: ENotFound.
func (s *Store) DeleteFunctionURL(ctx context.Context, function, qualifier string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(func(b *buckets) error {
		if _, err := b.url(function, qualifierKey(qualifier)); err != nil {
			return err
		}
		return b.deleteURL(function, qualifierKey(qualifier))
	})
}

// ListFunctionURLs returns up to limit (<= 0: all) URLs of the function
// whose qualifier key sorts after `after`, in byte order. Errors:
// ENotFound for the function.
func (s *Store) ListFunctionURLs(ctx context.Context, function, after string, limit int) ([]*sluice.FunctionURLConfig, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var cs []*sluice.FunctionURLConfig
	err := s.view(func(b *buckets) error {
		if err := b.exists(function); err != nil {
			return err
		}
		return each(b.urls.Bucket([]byte(function)), []byte(after), limit, func(k, v []byte) error {
			c, err := decodeURL(function, string(k), v)
			if err != nil {
				return err
			}
			cs = append(cs, c)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return cs, nil
}

// url returns the URL stored under a function and a qualifier key.
// Errors: ENotFound.
func (b *buckets) url(function, key string) (*sluice.FunctionURLConfig, error) {
	if b.urls == nil || function == "" || len(function) > bbolt.MaxKeySize || len(key) > bbolt.MaxKeySize {
		return nil, urlNotFound()
	}
	urls := b.urls.Bucket([]byte(function))
	if urls == nil {
		return nil, urlNotFound()
	}
	value := urls.Get([]byte(key))
	if value == nil {
		return nil, urlNotFound()
	}
	return decodeURL(function, key, value)
}

// deleteURL removes the URL stored under a function and a qualifier key
// (an alias name, or $LATEST), with its url_ids entry, if there is one.
func (b *buckets) deleteURL(function, key string) error {
	urls := b.urls.Bucket([]byte(function))
	if urls == nil {
		return nil
	}
	value := urls.Get([]byte(key))
	if value == nil {
		return nil
	}
	c, err := decodeURL(function, key, value)
	if err != nil {
		return err
	}
	if err := b.urlIDs.Delete([]byte(c.URLID)); err != nil {
		return err
	}
	return urls.Delete([]byte(key))
}

// deleteURLs removes every URL of a function, with their url_ids entries.
func (b *buckets) deleteURLs(function string) error {
	urls := b.urls.Bucket([]byte(function))
	if urls == nil {
		return nil
	}
	err := each(urls, nil, 0, func(k, v []byte) error {
		c, err := decodeURL(function, string(k), v)
		if err != nil {
			return err
		}
		return b.urlIDs.Delete([]byte(c.URLID))
	})
	if err != nil {
		return err
	}
	return b.urls.DeleteBucket([]byte(function))
}

// checkURL checks a URL configuration to be written: it needs a function
// name, and its names must fit in bbolt keys.
func checkURL(ctx context.Context, c *sluice.FunctionURLConfig) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c == nil || c.FunctionName == "" {
		return sluice.Errorf(sluice.EInvalidParameter, "A function URL must have a function name.")
	}
	if len(c.FunctionName) > bbolt.MaxKeySize || len(c.Qualifier) > bbolt.MaxKeySize {
		return sluice.Errorf(sluice.EInvalidParameter, "The function or alias name is too long.")
	}
	return nil
}

// qualifierKey returns the key of the URL of qualifier: itself, or
// $LATEST for "".
func qualifierKey(qualifier string) string {
	return (&sluice.FunctionURLConfig{Qualifier: qualifier}).QualifierKey()
}

func urlNotFound() error {
	return sluice.Errorf(sluice.ENotFound, "The resource you requested does not exist.")
}

// encodeURL returns the stored form of c.
func encodeURL(c *sluice.FunctionURLConfig) ([]byte, error) {
	r := urlRecord{
		V:                recordVersion,
		FunctionName:     c.FunctionName,
		Qualifier:        c.Qualifier,
		URLID:            c.URLID,
		AuthType:         c.AuthType,
		InvokeMode:       c.InvokeMode,
		CreationTime:     formatTime(c.CreationTime),
		LastModifiedTime: formatTime(c.LastModifiedTime),
	}
	if c.Cors != nil {
		r.Cors = &corsRecord{
			AllowCredentials: c.Cors.AllowCredentials,
			AllowHeaders:     c.Cors.AllowHeaders,
			AllowMethods:     c.Cors.AllowMethods,
			AllowOrigins:     c.Cors.AllowOrigins,
			ExposeHeaders:    c.Cors.ExposeHeaders,
			MaxAge:           c.Cors.MaxAge,
		}
	}
	b, err := json.Marshal(&r)
	if err != nil {
		return nil, wrap(fmt.Errorf("encode function URL %s:%s: %w", c.FunctionName, c.QualifierKey(), err))
	}
	return b, nil
}

// decodeURL returns the URL of function stored under key as value. The
// result shares no memory with value.
func decodeURL(function, key string, value []byte) (*sluice.FunctionURLConfig, error) {
	var r urlRecord
	if err := json.Unmarshal(value, &r); err != nil {
		return nil, wrap(fmt.Errorf("decode function URL %s:%s: %w", function, key, err))
	}
	if r.V < 3 || r.V > recordVersion {
		return nil, wrap(fmt.Errorf("decode function URL %s:%s: record version %d is not supported (this sluice supports 3 to %d)", function, key, r.V, recordVersion))
	}
	if r.FunctionName != function || qualifierKey(r.Qualifier) != key {
		return nil, wrap(fmt.Errorf("decode function URL %s:%s: record holds %s:%s", function, key, r.FunctionName, qualifierKey(r.Qualifier)))
	}
	c := &sluice.FunctionURLConfig{
		FunctionName: r.FunctionName,
		Qualifier:    r.Qualifier,
		URLID:        r.URLID,
		AuthType:     r.AuthType,
		InvokeMode:   r.InvokeMode,
	}
	var err error
	if c.CreationTime, err = parseTime(r.CreationTime); err != nil {
		return nil, wrap(fmt.Errorf("decode function URL %s:%s: creation_time: %w", function, key, err))
	}
	if c.LastModifiedTime, err = parseTime(r.LastModifiedTime); err != nil {
		return nil, wrap(fmt.Errorf("decode function URL %s:%s: last_modified_time: %w", function, key, err))
	}
	if r.Cors != nil {
		c.Cors = &sluice.Cors{
			AllowCredentials: r.Cors.AllowCredentials,
			AllowHeaders:     r.Cors.AllowHeaders,
			AllowMethods:     r.Cors.AllowMethods,
			AllowOrigins:     r.Cors.AllowOrigins,
			ExposeHeaders:    r.Cors.ExposeHeaders,
			MaxAge:           r.Cors.MaxAge,
		}
	}
	return c, nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}
