package account_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tamas-cc/tamas/account"
	"github.com/tamas-cc/tamas/crm/sqlite"
)

func newService(t *testing.T, now *time.Time) *account.Service {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return account.NewService(st, account.Options{BcryptCost: bcrypt.MinCost, SessionTTL: time.Hour,
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
