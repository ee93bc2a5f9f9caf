package sip

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/icholy/digest"
)

// digestAuth checks INVITEs against RFC 3261 §22 digest credentials (MD5,
// qop=auth). Nonces are stateless — a timestamp signed with a key that
// lives as long as the endpoint — so a challenge needs no memory and
// expires on its own.
type digestAuth struct {
	realm string
	users map[string]string
	key   []byte
	ttl   time.Duration
	now   func() time.Time
}

// authOutcome is what a request's credentials amount to.
type authOutcome int

const (
	authOK      authOutcome = iota
	authMissing             // no credentials: challenge
	authStale               // good password, expired nonce: challenge with stale=true
	authFailed              // wrong: refuse
)

func newDigestAuth(a Auth) (*digestAuth, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("sip: nonce key: %w", err)
	}
	return &digestAuth{realm: a.Realm, users: a.Users, key: key, ttl: a.NonceTTL, now: time.Now}, nil
}

// challenge is the WWW-Authenticate value of a 401.
func (a *digestAuth) challenge(stale bool) string {
	c := digest.Challenge{Realm: a.realm, Nonce: a.nonce(a.now()), Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
	return c.String()
}

func (a *digestAuth) nonce(t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return ts + "." + a.sign(ts)
}

func (a *digestAuth) sign(ts string) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(ts))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// checkNonce reports whether the nonce is ours, and whether it is still
// fresh.
func (a *digestAuth) checkNonce(n string) (ours, fresh bool) {
	ts, sig, ok := strings.Cut(n, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(a.sign(ts))) {
		return false, false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false, false
	}
	age := a.now().Sub(time.Unix(sec, 0))
	return true, age >= -time.Minute && age <= a.ttl
}

// check verifies the Authorization header value of a request with method.
// The reason is for logs and metrics: it never says which part was wrong
// to the caller.
func (a *digestAuth) check(method, authorization string) (user string, outcome authOutcome, reason string) {
	if authorization == "" {
		return "", authMissing, "no credentials"
	}
	cred, err := digest.ParseCredentials(authorization)
	if err != nil {
		return "", authFailed, "unparseable credentials"
	}
	if cred.Realm != a.realm {
		return cred.Username, authFailed, "wrong realm"
	}
	if alg := strings.ToUpper(cred.Algorithm); alg != "" && alg != "MD5" {
		return cred.Username, authFailed, "unsupported algorithm"
	}
	if cred.QOP != "" && cred.QOP != "auth" {
		return cred.Username, authFailed, "unsupported qop"
	}
	ours, fresh := a.checkNonce(cred.Nonce)
	if !ours {
		return cred.Username, authFailed, "foreign nonce"
	}
	pass, known := a.users[cred.Username]
	if !known {
		// Same work either way, so timing does not reveal user names.
		pass = "\x00"
	}
	chal := digest.Challenge{Realm: a.realm, Nonce: cred.Nonce, Opaque: cred.Opaque, Algorithm: cred.Algorithm}
	if cred.QOP != "" {
		chal.QOP = []string{cred.QOP}
	}
	want, err := digest.Digest(&chal, digest.Options{
		Method: method, URI: cred.URI, Username: cred.Username, Password: pass,
		Cnonce: cred.Cnonce, Count: cred.Nc,
	})
	if err != nil {
		return cred.Username, authFailed, "cannot compute digest"
	}
	if cred.QOP != "" && cred.Cnonce == "" {
		return cred.Username, authFailed, "missing cnonce"
	}
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(cred.Response)), []byte(want.Response)) != 1 || !known {
		return cred.Username, authFailed, "wrong credentials"
	}
	if !fresh {
		return cred.Username, authStale, "stale nonce"
	}
	return cred.Username, authOK, ""
}
