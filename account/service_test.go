package account_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tamas-cc/tamas/account"
	"github.com/tamas-cc/tamas/crm/sqlite/sqlitetest"
)

func newService(t *testing.T, now *time.Time) *account.Service {
	t.Helper()
	return newServiceCost(t, now, bcrypt.MinCost)
}

func newServiceCost(t *testing.T, now *time.Time, cost int) *account.Service {
	t.Helper()
	st := sqlitetest.New(t)
	return account.NewService(st, account.Options{BcryptCost: cost, SessionTTL: time.Hour,
		Now: func() time.Time { return *now }})
}

func TestLoginSessionLogout(t *testing.T) {
	now := time.Now()
	s := newService(t, &now)
	ctx := context.Background()
	u := &account.User{Username: " Ali ", Role: account.RoleAgent, DisplayName: "Ali"}
	if err := s.CreateUser(ctx, u, "correct horse"); err != nil {
		t.Fatal(err)
	}
	if u.Username != "ali" || strings.Contains(string(u.PasswordHash), "correct") {
		t.Fatalf("stored user %+v", u)
	}
	if _, _, err := s.Login(ctx, "ali", "wrong password", "10.0.0.1"); !errors.Is(err, account.ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, _, err := s.Login(ctx, "nobody", "correct horse", "10.0.0.1"); !errors.Is(err, account.ErrBadCredentials) {
		t.Fatalf("unknown user: %v", err)
	}
	token, got, err := s.Login(ctx, "ALI", "correct horse", "10.0.0.1")
	if err != nil || got.ID != u.ID || len(token) != 43 {
		t.Fatalf("login: %v %+v %q", err, got, token)
	}
	if who, _, err := s.Authenticate(ctx, token); err != nil || who.Username != "ali" {
		t.Fatalf("authenticate: %v %+v", err, who)
	}
	if _, _, err := s.Authenticate(ctx, token[:42]+"x"); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("forged token: %v", err)
	}
	now = now.Add(2 * time.Hour)
	if _, _, err := s.Authenticate(ctx, token); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("expired session: %v", err)
	}
	token, _, _ = s.Login(ctx, "ali", "correct horse", "10.0.0.1")
	if err := s.Logout(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Authenticate(ctx, token); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("after logout: %v", err)
	}
	// A disabled user can neither log in nor use an open session.
	token, _, _ = s.Login(ctx, "ali", "correct horse", "10.0.0.1")
	u, _ = s.Users().UserByName(ctx, "ali")
	u.Disabled = true
	if err := s.Users().UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Authenticate(ctx, token); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("disabled user's session: %v", err)
	}
	if _, _, err := s.Login(ctx, "ali", "correct horse", "10.0.0.1"); !errors.Is(err, account.ErrBadCredentials) {
		t.Fatalf("disabled login: %v", err)
	}
}

func TestLoginRateLimit(t *testing.T) {
	now := time.Now()
	s := newService(t, &now)
	ctx := context.Background()
	if err := s.CreateUser(ctx, &account.User{Username: "sara", Role: account.RoleSupervisor}, "s3cret-pass"); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, _, err := s.Login(ctx, "sara", "guess", "10.0.0.9"); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	// Locked out, even with the right password, from any address.
	if _, _, err := s.Login(ctx, "sara", "s3cret-pass", "10.0.0.10"); !errors.Is(err, account.ErrRateLimited) {
		t.Fatalf("6th attempt: %v", err)
	}
	// The guessing address is locked for other users too.
	if _, _, err := s.Login(ctx, "other", "x", "10.0.0.9"); !errors.Is(err, account.ErrRateLimited) {
		t.Fatalf("same address: %v", err)
	}
	now = now.Add(16 * time.Minute)
	if _, _, err := s.Login(ctx, "sara", "s3cret-pass", "10.0.0.9"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestCreateUserRejectsBadInput(t *testing.T) {
	now := time.Now()
	s := newService(t, &now)
	ctx := context.Background()
	for _, tc := range []struct {
		u  account.User
		pw string
	}{
		{account.User{Username: "a b", Role: account.RoleAgent}, "longenough"},
		{account.User{Username: "<img>", Role: account.RoleAgent}, "longenough"},
		{account.User{Username: "ok", Role: "root"}, "longenough"},
		{account.User{Username: "ok", Role: account.RoleAgent}, "short"},
		{account.User{Username: "ok", Role: account.RoleAgent}, strings.Repeat("x", 73)},
		{account.User{Username: "ok", Role: account.RoleAgent, Lang: "de"}, "longenough"},
	} {
		if err := s.CreateUser(ctx, &tc.u, tc.pw); err == nil {
			t.Errorf("accepted %+v", tc.u)
		}
	}
	if !account.RoleAdmin.Allows(account.RoleSupervisor) || account.RoleAgent.Allows(account.RoleSupervisor) || account.Role("x").Allows(account.RoleAgent) {
		t.Fatal("role order wrong")
	}
}

func TestUsernamesAndPasswords(t *testing.T) {
	now := time.Now()
	s := newService(t, &now)
	ctx := context.Background()
	long := strings.Repeat("a", 64)
	for _, tc := range []struct {
		name, pw string
		ok       bool
	}{
		{"Mina.K_2-x", "eight ch", true},
		{long, strings.Repeat("p", 72), true},
		{"persian", strings.Repeat("س", 8), true}, // 8 characters, 16 bytes
		{long + "a", "longenough", false},
		{"", "longenough", false},
		{"short-pw", "seven c", false},
		{"persian-short", strings.Repeat("س", 4), false}, // 8 bytes but 4 characters
		{"long-pw", strings.Repeat("p", 73), false},
		{"علی", "longenough", false},
	} {
		u := &account.User{Username: tc.name, Role: account.RoleAgent}
		err := s.CreateUser(ctx, u, tc.pw)
		if (err == nil) != tc.ok {
			t.Errorf("user %q password of %d bytes: %v, want ok=%v", tc.name, len(tc.pw), err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), tc.pw) {
			t.Errorf("error %q shows the password", err)
		}
	}
	got, err := s.Users().UserByName(ctx, "mina.k_2-x")
	if err != nil || got.Username != "mina.k_2-x" || got.Lang != "en" {
		t.Fatalf("stored %+v %v, want the lower-cased name", got, err)
	}
	if err := s.CreateUser(ctx, &account.User{Username: "MINA.K_2-X", Role: account.RoleAdmin}, "longenough"); !errors.Is(err, account.ErrExists) {
		t.Fatalf("same name in capitals: %v, want ErrExists", err)
	}
	for _, pw := range []string{"eight ch", strings.Repeat("p", 72), strings.Repeat("س", 8)} {
		if _, _, err := s.Login(ctx, "nope", pw, "10.1.0.1"); !errors.Is(err, account.ErrBadCredentials) || strings.Contains(err.Error(), pw) {
			t.Errorf("unknown user's error: %v", err)
		}
	}
}

func TestSetPassword(t *testing.T) {
	now := time.Now()
	s := newService(t, &now)
	ctx := context.Background()
	u := &account.User{Username: "reza", Role: account.RoleAgent, Endpoint: "PJSIP/1002", DisplayName: "رضا"}
	if err := s.CreateUser(ctx, u, "first password"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, u.ID, "short"); !errors.Is(err, account.ErrWeakPassword) {
		t.Fatalf("weak password: %v", err)
	}
	if err := s.SetPassword(ctx, u.ID+100, "another password"); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	if err := s.SetPassword(ctx, u.ID, "second password"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Login(ctx, "reza", "first password", "10.2.0.1"); !errors.Is(err, account.ErrBadCredentials) {
		t.Fatalf("old password still works: %v", err)
	}
	_, got, err := s.Login(ctx, "reza", "second password", "10.2.0.2")
	if err != nil || got.Endpoint != "PJSIP/1002" || got.DisplayName != "رضا" {
		t.Fatalf("new password: %+v %v (other fields must survive)", got, err)
	}
}

func TestTokens(t *testing.T) {
	now := time.Now()
	s := newService(t, &now)
	ctx := context.Background()
	if err := s.CreateUser(ctx, &account.User{Username: "nazanin", Role: account.RoleAdmin}, "longenough"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 3 {
		token, _, err := s.Login(ctx, "nazanin", "longenough", "10.3.0.1")
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(raw) != 32 || seen[token] {
			t.Fatalf("token %q: %d bytes, %v, repeated %v", token, len(raw), err, seen[token])
		}
		seen[token] = true
		// The store holds the token's SHA-256 and nothing that would work as
		// a token itself.
		h := sha256.Sum256([]byte(token))
		ss, err := s.Users().SessionByHash(ctx, h[:], now)
		if err != nil || ss.ExpiresAt.Sub(now.Add(time.Hour)).Abs() >= time.Millisecond {
			t.Fatalf("session by sha256(token): %+v %v", ss, err)
		}
		if _, err := s.Users().SessionByHash(ctx, []byte(token), now); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("the raw token is stored: %v", err)
		}
	}
	for _, bad := range []string{"", "short", strings.Repeat("!", 43), strings.Repeat("A", 42) + "=", strings.Repeat("A", 44)} {
		if _, _, err := s.Authenticate(ctx, bad); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("malformed token %q: %v", bad, err)
		}
		if err := s.Logout(ctx, bad); err != nil {
			t.Errorf("logout with malformed token %q: %v", bad, err)
		}
	}
	// A user removed from under a session does not keep it alive.
	token, u, _ := s.Login(ctx, "nazanin", "longenough", "10.3.0.1")
	u.Disabled = true
	if err := s.Users().UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Authenticate(ctx, token); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("disabled user: %v", err)
	}
}

func TestRateLimitPerAddress(t *testing.T) {
	now := time.Now()
	s := newService(t, &now)
	ctx := context.Background()
	if err := s.CreateUser(ctx, &account.User{Username: "parisa", Role: account.RoleAgent}, "longenough"); err != nil {
		t.Fatal(err)
	}
	// One address trying five different names is locked out, valid or not.
	for i := range 5 {
		name := fmt.Sprintf("guess%d", i)
		if i == 4 {
			name = "not a valid name!"
		}
		if _, _, err := s.Login(ctx, name, "whatever1", "192.0.2.7"); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, _, err := s.Login(ctx, "parisa", "longenough", "192.0.2.7"); !errors.Is(err, account.ErrRateLimited) {
		t.Fatalf("locked address: %v", err)
	}
	// The user is not locked out from elsewhere.
	if _, _, err := s.Login(ctx, "parisa", "longenough", "192.0.2.8"); err != nil {
		t.Fatalf("other address: %v", err)
	}
	// A success forgets the username's failures, not the address's.
	for range 4 {
		s.Login(ctx, "parisa", "wrong-one", "198.51.100.1")
	}
	if _, _, err := s.Login(ctx, "parisa", "longenough", "198.51.100.2"); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if _, _, err := s.Login(ctx, "parisa", "wrong-two", "198.51.100.3"); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("after a success, failure %d: %v", i, err)
		}
	}
	if _, _, err := s.Login(ctx, "parisa", "longenough", "198.51.100.4"); err != nil {
		t.Fatalf("4 failures since the last success locked the user: %v", err)
	}
	if _, _, err := s.Login(ctx, "x", "y", "198.51.100.1"); !errors.Is(err, account.ErrBadCredentials) {
		t.Fatalf("address with 4 failures: %v", err)
	}
	if _, _, err := s.Login(ctx, "parisa", "longenough", "198.51.100.1"); !errors.Is(err, account.ErrRateLimited) {
		t.Fatalf("address with 5 failures: %v", err)
	}
}

// An unknown username must cost a password check like a known one, or the
// time a login takes tells which usernames exist.
func TestUnknownUserTakesAsLong(t *testing.T) {
	now := time.Now()
	s := newServiceCost(t, &now, 8)
	ctx := context.Background()
	if err := s.CreateUser(ctx, &account.User{Username: "known", Role: account.RoleAgent}, "longenough"); err != nil {
		t.Fatal(err)
	}
	fastest := func(name string) time.Duration {
		best := time.Hour
		for i := range 3 {
			start := time.Now()
			if _, _, err := s.Login(ctx, name, "wrong password", fmt.Sprint("203.0.113.", i)); !errors.Is(err, account.ErrBadCredentials) {
				t.Fatalf("%s: %v", name, err)
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	known, unknown := fastest("known"), fastest("unknown")
	if unknown < known/3 {
		t.Fatalf("a wrong password takes %v but an unknown user only %v", known, unknown)
	}
}

// A session checked before the database went away stays valid until it
// expires; a logout elsewhere shows once the recheck time has passed.
func TestSessionsOutliveADatabaseOutage(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.New(t)
	now := time.Now()
	clock := func() time.Time { return now }
	a := account.NewService(st, account.Options{BcryptCost: bcrypt.MinCost, SessionTTL: time.Hour, Now: clock})
	b := account.NewService(st, account.Options{BcryptCost: bcrypt.MinCost, SessionTTL: time.Hour, Now: clock})
	if err := a.CreateUser(ctx, &account.User{Username: "ali", Role: account.RoleAgent}, "correct horse"); err != nil {
		t.Fatal(err)
	}
	t1, _, err := a.Login(ctx, "ali", "correct horse", "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	t2, _, _ := a.Login(ctx, "ali", "correct horse", "10.0.0.1")
	for _, tok := range []string{t1, t2} {
		if _, _, err := b.Authenticate(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	// Logged out through the other node: still trusted here for the
	// recheck time, not after.
	if err := a.Logout(ctx, t2); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Authenticate(ctx, t2); err != nil {
		t.Fatalf("within the recheck time: %v", err)
	}
	now = now.Add(6 * time.Second)
	if _, _, err := b.Authenticate(ctx, t2); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("after the recheck time: %v", err)
	}
	if _, _, err := b.Authenticate(ctx, t1); err != nil {
		t.Fatal(err)
	}
	st.Close() // the database is gone
	now = now.Add(time.Minute)
	if u, _, err := b.Authenticate(ctx, t1); err != nil || u.Username != "ali" {
		t.Fatalf("during the outage: %v", err)
	}
	if _, _, err := a.Authenticate(ctx, t2); err == nil {
		t.Fatal("a session never checked here passed during the outage")
	}
	now = now.Add(2 * time.Hour) // past the session's expiry
	if _, _, err := b.Authenticate(ctx, t1); err == nil {
		t.Fatal("an expired session passed during the outage")
	}
}

func TestEnabled(t *testing.T) {
	now := time.Now()
	s := newService(t, &now)
	ctx := context.Background()
	for _, name := range []string{"ali", "gone"} {
		if err := s.CreateUser(ctx, &account.User{Username: name, Role: account.RoleAgent}, "correct horse"); err != nil {
			t.Fatal(err)
		}
	}
	gone, err := s.Users().UserByName(ctx, "gone")
	if err != nil {
		t.Fatal(err)
	}
	gone.Disabled = true
	if err := s.UpdateUser(ctx, gone); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"ali": true, "ALI": true, "gone": false, "nobody": false} {
		if got := s.Enabled(ctx, name); got != want {
			t.Errorf("Enabled(%q) = %v, want %v", name, got, want)
		}
	}
}
