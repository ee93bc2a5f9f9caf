package sip

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"
)

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// authorization computes credentials by the RFC 2617 formulas, by hand.
func authorization(user, realm, pass, method, uri, nonce, cnonce string, nc int) string {
	ha1 := md5hex(user + ":" + realm + ":" + pass)
	ha2 := md5hex(method + ":" + uri)
	ncs := fmt.Sprintf("%08x", nc)
	resp := md5hex(ha1 + ":" + nonce + ":" + ncs + ":" + cnonce + ":auth:" + ha2)
	return fmt.Sprintf(`Digest username="%s",realm="%s",nonce="%s",uri="%s",response="%s",algorithm=MD5,cnonce="%s",qop=auth,nc=%s`,
		user, realm, nonce, uri, resp, cnonce, ncs)
}

func TestDigestCheck(t *testing.T) {
	a, err := newDigestAuth(Auth{Realm: "tamas", Users: map[string]string{"pbx": "s3cret"}, NonceTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	a.now = func() time.Time { return now }
	nonce := a.nonce(now)
	uri := "sip:18005550100@192.0.2.10:5080"

	chal := a.challenge(false)
	if !strings.Contains(chal, `realm="tamas"`) || !strings.Contains(chal, `qop="auth"`) || !strings.Contains(chal, "nonce=") {
		t.Errorf("challenge %q", chal)
	}

	tests := []struct {
		name   string
		authz  string
		at     time.Time
		want   authOutcome
		reason string
	}{
		{"good", authorization("pbx", "tamas", "s3cret", "INVITE", uri, nonce, "0a4f113b", 1), now, authOK, ""},
		{"none", "", now, authMissing, "no credentials"},
		{"wrong password", authorization("pbx", "tamas", "nope", "INVITE", uri, nonce, "0a4f113b", 1), now, authFailed, "wrong credentials"},
		{"unknown user", authorization("eve", "tamas", "s3cret", "INVITE", uri, nonce, "0a4f113b", 1), now, authFailed, "wrong credentials"},
		{"other realm", authorization("pbx", "asterisk", "s3cret", "INVITE", uri, nonce, "0a4f113b", 1), now, authFailed, "wrong realm"},
		{"other method", authorization("pbx", "tamas", "s3cret", "REGISTER", uri, nonce, "0a4f113b", 1), now, authFailed, "wrong credentials"},
		{"forged nonce", authorization("pbx", "tamas", "s3cret", "INVITE", uri, "1800000000.00112233445566778899aabbccddeeff", "c", 1), now, authFailed, "foreign nonce"},
		{"stale", authorization("pbx", "tamas", "s3cret", "INVITE", uri, nonce, "0a4f113b", 1), now.Add(2 * time.Minute), authStale, "stale nonce"},
		{"garbage", "Digest ,,,=\"", now, authFailed, "unparseable credentials"},
		{"basic", "Basic cGJ4OnMzY3JldA==", now, authFailed, "unparseable credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.at
			a.now = func() time.Time { return at }
			_, got, reason := a.check("INVITE", tt.authz)
			if got != tt.want || reason != tt.reason {
				t.Errorf("got %v %q, want %v %q", got, reason, tt.want, tt.reason)
			}
		})
	}
}
