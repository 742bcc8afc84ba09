package iam

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
)

var testKey = bytes.Repeat([]byte{0x5a}, 32)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func TestMinterRoundTrip(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	c := &clock{t: start}
	m := NewMinter(testKey, c.now)
	cr := m.Mint("111111111111", "fn-role", "my-function", 15*time.Minute)

	if !regexp.MustCompile(`^ASIA[A-Z2-7]{16}$`).MatchString(cr.AccessKeyID) {
		t.Errorf("AccessKeyID %q", cr.AccessKeyID)
	}
	if len(cr.SecretAccessKey) != 40 {
		t.Errorf("secret of %d characters", len(cr.SecretAccessKey))
	}
	if want := time.Date(2030, 1, 2, 3, 19, 5, 0, time.UTC); !cr.Expiration.Equal(want) || cr.Expiration.Location() != time.UTC {
		t.Errorf("Expiration %v, want %v", cr.Expiration, want)
	}
	if _, err := base64.RawURLEncoding.DecodeString(cr.SessionToken); err != nil {
		t.Errorf("token is not base64url: %v", err)
	}

	secret, p, err := m.Open(cr.AccessKeyID, cr.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	if secret != cr.SecretAccessKey {
		t.Errorf("Open's secret differs from Mint's")
	}
	want := Principal{Account: "111111111111", ARN: "arn:aws:sts::111111111111:assumed-role/fn-role/my-function", AccessKeyID: cr.AccessKeyID, Role: "fn-role"}
	if *p != want {
		t.Errorf("Open = %+v, want %+v", *p, want)
	}

	// Another minter with the same key opens it too (stateless); a second
	// mint differs in key id, secret and token.
	if s2, _, err := NewMinter(testKey, c.now).Open(cr.AccessKeyID, cr.SessionToken); err != nil || s2 != secret {
		t.Errorf("same key, other minter: %v", err)
	}
	cr2 := m.Mint("111111111111", "fn-role", "my-function", 15*time.Minute)
	if cr2.AccessKeyID == cr.AccessKeyID || cr2.SecretAccessKey == cr.SecretAccessKey || cr2.SessionToken == cr.SessionToken {
		t.Error("two mints gave the same credentials")
	}
	// Tokens are not interchangeable between keys ids.
	if _, _, err := m.Open(cr2.AccessKeyID, cr.SessionToken); !isCode(err, sluice.EUnrecognizedClient) {
		t.Errorf("token of another key id: %v", err)
	}
}

func isCode(err error, code sluice.ErrorCode) bool {
	se := asSluiceError(err)
	return se != nil && se.Code == code
}

func TestMinterRefuses(t *testing.T) {
	c := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	m := NewMinter(testKey, c.now)
	cr := m.Mint("111111111111", "r", "f", time.Hour)
	other := NewMinter(bytes.Repeat([]byte{0xa5}, 32), c.now)
	crOther := other.Mint("111111111111", "r", "f", time.Hour)

	for _, tc := range []struct {
		name, keyID, token string
	}{
		{"empty token", cr.AccessKeyID, ""},
		{"wrong key id", "ASIAAAAAAAAAAAAAAAAA", cr.SessionToken},
		{"key id in lower case", strings.ToLower(cr.AccessKeyID), cr.SessionToken},
		{"empty key id", "", cr.SessionToken},
		{"another minter's token", crOther.AccessKeyID, crOther.SessionToken},
		{"not base64", cr.AccessKeyID, "!!!!"},
		{"padded base64", cr.AccessKeyID, cr.SessionToken + "="},
		{"std base64", cr.AccessKeyID, base64.StdEncoding.EncodeToString([]byte("x"))},
		{"too short", cr.AccessKeyID, base64.RawURLEncoding.EncodeToString([]byte("short"))},
		{"truncated", cr.AccessKeyID, cr.SessionToken[:len(cr.SessionToken)-2]},
		{"extended", cr.AccessKeyID, cr.SessionToken + "AA"},
		{"too long", cr.AccessKeyID, strings.Repeat("A", 4096)},
		{"the secret as token", cr.AccessKeyID, cr.SecretAccessKey},
	} {
		secret, p, err := m.Open(tc.keyID, tc.token)
		if !isCode(err, sluice.EUnrecognizedClient) || secret != "" || p != nil {
			t.Errorf("%s: Open = %q, %v, %v; want UnrecognizedClient", tc.name, secret, p, err)
			continue
		}
		if se := asSluiceError(err); se.Message != "The security token included in the request is invalid." {
			t.Errorf("%s: message %q", tc.name, se.Message)
		}
		if tc.token != "" && len(tc.token) > 8 && strings.Contains(err.Error(), tc.token) {
			t.Errorf("%s: error contains the token", tc.name)
		}
	}

	// A forged payload with a valid-looking structure but no valid MAC.
	raw, _ := base64.RawURLEncoding.DecodeString(cr.SessionToken)
	forged := append([]byte(nil), raw...)
	copy(forged[len(forged)-32:], make([]byte, 32))
	if _, _, err := m.Open(cr.AccessKeyID, base64.RawURLEncoding.EncodeToString(forged)); !isCode(err, sluice.EUnrecognizedClient) {
		t.Errorf("zeroed MAC: %v", err)
	}
}

// Any change to any one character of the token, or to any one byte of what
// it encodes, is refused.
func TestMinterTamper(t *testing.T) {
	c := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	m := NewMinter(testKey, c.now)
	cr := m.Mint("111111111111", "fn-role", "my-function", time.Hour)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	tok := []byte(cr.SessionToken)
	tried := 0
	for i := range tok {
		for _, r := range []byte(alphabet + "=+/.") {
			if r == tok[i] {
				continue
			}
			tampered := append([]byte(nil), tok...)
			tampered[i] = r
			tried++
			if _, _, err := m.Open(cr.AccessKeyID, string(tampered)); !isCode(err, sluice.EUnrecognizedClient) {
				t.Fatalf("character %d changed to %q: Open = %v", i, r, err)
			}
		}
	}
	raw, err := base64.RawURLEncoding.DecodeString(cr.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			tampered := append([]byte(nil), raw...)
			tampered[i] ^= x
			tried++
			if _, _, err := m.Open(cr.AccessKeyID, base64.RawURLEncoding.EncodeToString(tampered)); !isCode(err, sluice.EUnrecognizedClient) {
				t.Fatalf("byte %d xor %#x: Open = %v", i, x, err)
			}
		}
	}
	// Dropping any one byte.
	for i := range raw {
		shorter := append(append([]byte(nil), raw[:i]...), raw[i+1:]...)
		tried++
		if _, _, err := m.Open(cr.AccessKeyID, base64.RawURLEncoding.EncodeToString(shorter)); !isCode(err, sluice.EUnrecognizedClient) {
			t.Fatalf("byte %d dropped: Open = %v", i, err)
		}
	}
	if _, _, err := m.Open(cr.AccessKeyID, cr.SessionToken); err != nil {
		t.Fatalf("untampered token refused: %v", err)
	}
	t.Logf("%d tampered tokens refused", tried)
}

func TestMinterExpiry(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &clock{t: start}
	m := NewMinter(testKey, c.now)
	cr := m.Mint("111111111111", "r", "f", 10*time.Minute)

	c.set(start.Add(10*time.Minute - time.Nanosecond))
	if _, _, err := m.Open(cr.AccessKeyID, cr.SessionToken); err != nil {
		t.Fatalf("just before expiry: %v", err)
	}
	for _, at := range []time.Duration{10 * time.Minute, 10*time.Minute + time.Second, 1000 * time.Hour} {
		c.set(start.Add(at))
		_, p, err := m.Open(cr.AccessKeyID, cr.SessionToken)
		if !isCode(err, sluice.EExpiredToken) || p != nil {
			t.Fatalf("at +%v: Open = %v, %v; want ExpiredToken", at, p, err)
		}
		if se := asSluiceError(err); se.Message != "The security token included in the request is expired" {
			t.Errorf("message %q", se.Message)
		}
	}
	// An expired token that is also altered is invalid, not expired: the
	// MAC is checked first, so nothing of a forged token is believed.
	raw, _ := base64.RawURLEncoding.DecodeString(cr.SessionToken)
	raw[len(raw)-33] ^= 1 // last byte of the expiry
	if _, _, err := m.Open(cr.AccessKeyID, base64.RawURLEncoding.EncodeToString(raw)); !isCode(err, sluice.EUnrecognizedClient) {
		t.Errorf("altered expired token: %v", err)
	}
	// The clock going back makes it valid again (no state).
	c.set(start)
	if _, _, err := m.Open(cr.AccessKeyID, cr.SessionToken); err != nil {
		t.Errorf("back in time: %v", err)
	}
	// A zero or negative ttl mints credentials that are already expired.
	cr0 := m.Mint("111111111111", "r", "f", 0)
	if _, _, err := m.Open(cr0.AccessKeyID, cr0.SessionToken); !isCode(err, sluice.EExpiredToken) {
		t.Errorf("ttl 0: %v", err)
	}
}

func TestMinterFieldLimits(t *testing.T) {
	m := NewMinter(testKey, nil)
	long := strings.Repeat("x", 256)
	cr := m.Mint("111111111111", long, long, time.Hour)
	if _, p, err := m.Open(cr.AccessKeyID, cr.SessionToken); err != nil || p.Role != long {
		t.Errorf("256-byte fields: %v", err)
	}
	cr = m.Mint("111111111111", long+"x", "f", time.Hour)
	if _, _, err := m.Open(cr.AccessKeyID, cr.SessionToken); !isCode(err, sluice.EUnrecognizedClient) {
		t.Errorf("257-byte role: %v", err)
	}
}

func TestNewMinterShortKey(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewMinter accepted a 31-byte key")
		}
	}()
	NewMinter(make([]byte, 31), nil)
}

func TestMinterKeyNotPrinted(t *testing.T) {
	key := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	m := NewMinter(key, nil)
	key[0] = 'X' // the minter keeps its own copy
	cr := m.Mint("111111111111", "r", "f", time.Hour)
	if _, _, err := m.Open(cr.AccessKeyID, cr.SessionToken); err != nil {
		t.Fatalf("minter shares the caller's key slice: %v", err)
	}
	var out []string
	for _, v := range []any{m, *m, struct{ m Minter }{*m}, []Minter{*m}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d"} {
			out = append(out, fmt.Sprintf(verb, v))
		}
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("m", "minter", m)
	out = append(out, logs.String())
	all := strings.Join(out, "\n")
	for _, s := range []string{"123456789abcdef", fmt.Sprintf("%x", key[1:10]), "49 50 51"} {
		if strings.Contains(all, s) {
			t.Fatalf("minter key printed:\n%s", all)
		}
	}
	if !strings.Contains(all, "iam.Minter{key: [redacted]}") {
		t.Errorf("unexpected output:\n%s", all)
	}
}
