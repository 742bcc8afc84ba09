package iam

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/sluice-dev/sluice"
)

// Minter mints and checks temporary credentials of execution roles,
// statelessly: the session token carries account, role, session name,
// expiry and access key id, sealed with the minter's key (HMAC-SHA256),
// and the secret is derived from the key and the access key id, so
// nothing is stored and any number of credentials can be checked. A new
// key (a restart) invalidates every credential minted before.
//
// The token is base64url (no padding) of
//
//	payload = 0x01 (version) | uvarint len, access key id | uvarint len, account
//	          | uvarint len, role | uvarint len, session | int64 expiry (Unix seconds, big-endian)
//	mac     = HMAC-SHA256(key, "sluice session token\x00" || payload)
//
// and the secret is the first 40 characters of
// base64(HMAC-SHA256(key, "secret" || access key id)).
//
// A Minter prints and logs itself without its key, and keeps the key inside
// a closure, which no fmt verb can show even when a Minter is an unexported
// field of another value; it logs nothing itself.
type Minter struct {
	hmac func(parts ...[]byte) []byte // HMAC-SHA256 under the key
	now  func() time.Time
}

const (
	tempKeyPrefix  = "ASIA"
	tokenVersion   = 1
	tokenMACDomain = "sluice session token\x00"
	maxTokenField  = 256
	// maxToken bounds what Open decodes: 4 fields at their limit, expiry,
	// MAC, in base64.
	maxToken = (1 + 4*(2+maxTokenField) + 8 + sha256.Size) * 4 / 3
	// MinMinterKey is the shortest key NewMinter accepts.
	MinMinterKey = 32
)

// Messages of the errors Open returns, as AWS words them
// (UnrecognizedClientException; ExpiredTokenException, as Lambda answers
// with expired temporary credentials, e.g. cloudquery/cq-provider-aws#1171).
const (
	msgInvalidToken = "The security token included in the request is invalid."
	msgExpiredToken = "The security token included in the request is expired"
)

var keyIDEncoding = base32.StdEncoding.WithPadding(base32.NoPadding) // A-Z, 2-7

// NewMinter returns a minter sealing with key (at least MinMinterKey random
// bytes; it panics on a shorter key, a programming error). now is the
// clock, nil for time.Now.
func NewMinter(key []byte, now func() time.Time) *Minter {
	if len(key) < MinMinterKey {
		panic(fmt.Sprintf("iam.NewMinter: key of %d bytes, need at least %d", len(key), MinMinterKey))
	}
	if now == nil {
		now = time.Now
	}
	k := append([]byte(nil), key...)
	return &Minter{
		hmac: func(parts ...[]byte) []byte {
			h := hmac.New(sha256.New, k)
			for _, p := range parts {
				h.Write(p)
			}
			return h.Sum(nil)
		},
		now: now,
	}
}

// Mint returns new credentials for session (the function's name) acting as
// role of account, valid for ttl from now (Expiration is truncated to the
// second, in UTC). The access key id is "ASIA" followed by 16 random
// characters of A-Z and 2-7. Fields longer than 256 bytes make credentials
// that Open refuses.
func (m *Minter) Mint(account, role, session string, ttl time.Duration) sluice.Credentials {
	var raw [10]byte
	if _, err := io.ReadFull(rand.Reader, raw[:]); err != nil {
		panic("iam: crypto/rand failed: " + err.Error()) // crypto/rand does not fail on supported systems
	}
	keyID := tempKeyPrefix + keyIDEncoding.EncodeToString(raw[:])
	exp := m.now().Add(ttl).Truncate(time.Second).UTC()

	payload := []byte{tokenVersion}
	for _, s := range []string{keyID, account, role, session} {
		payload = binary.AppendUvarint(payload, uint64(len(s)))
		payload = append(payload, s...)
	}
	payload = binary.BigEndian.AppendUint64(payload, uint64(exp.Unix()))
	token := append(payload, m.mac(payload)...)
	return sluice.Credentials{
		AccessKeyID:     keyID,
		SecretAccessKey: m.secret(keyID),
		SessionToken:    base64.RawURLEncoding.EncodeToString(token),
		Expiration:      exp,
	}
}

func (m *Minter) mac(payload []byte) []byte {
	return m.hmac([]byte(tokenMACDomain), payload)
}

func (m *Minter) secret(accessKeyID string) string {
	return base64.StdEncoding.EncodeToString(m.hmac([]byte("secret"), []byte(accessKeyID)))[:40]
}

// Open checks a key id and session token minted by m, and returns the
// secret and who it is: a Principal with Account, ARN
// (arn:aws:sts::ACCT:assumed-role/ROLE/SESSION), AccessKeyID and Role, but
// without Policy or Admin: the caller fills them from the Directory's role
// at each request, so that a reload applies. Errors are *sluice.Error:
// EUnrecognizedClient ("The security token included in the request is
// invalid.") for a token that is not m's, altered, or not this key id's;
// EExpiredToken ("The security token included in the request is expired")
// from Expiration on. The MAC is compared in constant time and checked
// before anything of the token is believed. Neither errors nor their
// causes contain the token.
func (m *Minter) Open(accessKeyID, sessionToken string) (secret string, p *Principal, err error) {
	invalid := func(cause string) (string, *Principal, error) {
		return "", nil, &sluice.Error{Code: sluice.EUnrecognizedClient, Message: msgInvalidToken, Err: errors.New(cause)}
	}
	if len(sessionToken) == 0 || len(sessionToken) > maxToken {
		return invalid("session token missing or too long")
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(sessionToken)
	if err != nil {
		return invalid("session token is not base64url")
	}
	if len(raw) < 1+sha256.Size {
		return invalid("session token too short")
	}
	payload, mac := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if !hmac.Equal(mac, m.mac(payload)) {
		return invalid("session token not sealed by this minter's key")
	}
	f, exp, ok := decodePayload(payload)
	if !ok {
		return invalid("session token payload malformed")
	}
	keyID, account, role, session := f[0], f[1], f[2], f[3]
	if subtle.ConstantTimeCompare([]byte(keyID), []byte(accessKeyID)) != 1 {
		return invalid("session token belongs to another access key")
	}
	if !m.now().Before(exp) {
		return "", nil, &sluice.Error{Code: sluice.EExpiredToken, Message: msgExpiredToken}
	}
	return m.secret(keyID), &Principal{
		Account:     account,
		ARN:         "arn:aws:sts::" + account + ":assumed-role/" + role + "/" + session,
		AccessKeyID: keyID,
		Role:        role,
	}, nil
}

func decodePayload(b []byte) (fields [4]string, exp time.Time, ok bool) {
	if len(b) == 0 || b[0] != tokenVersion {
		return fields, exp, false
	}
	b = b[1:]
	for i := range fields {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > maxTokenField || uint64(len(b)-k) < n {
			return fields, exp, false
		}
		fields[i] = string(b[k : k+int(n)])
		b = b[k+int(n):]
	}
	if len(b) != 8 {
		return fields, exp, false
	}
	return fields, time.Unix(int64(binary.BigEndian.Uint64(b)), 0).UTC(), true
}

// String describes m without its key.
func (m Minter) String() string { return "iam.Minter{key: [redacted]}" }

// Format prints m as String does, whatever the verb.
func (m Minter) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, m.String()) }

// LogValue logs m without its key.
func (m Minter) LogValue() slog.Value { return slog.StringValue(m.String()) }
