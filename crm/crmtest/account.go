package crmtest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/account"
)

// RunAccountSuite runs the user and session conformance tests. newStore
// returns a fresh, migrated, empty store and closes it when t ends.
func RunAccountSuite(t *testing.T, newStore func(t *testing.T) account.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s account.Store)
	}{
		{"Users", testUsers},
		{"UserUpdate", testUserUpdate},
		{"ListUsers", testListUsers},
		{"Sessions", testSessions},
		{"DeleteExpiredSessions", testDeleteExpiredSessions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

func createUser(t *testing.T, s account.Store, u *account.User) *account.User {
	t.Helper()
	if err := s.CreateUser(ctx(t), u); err != nil {
		t.Fatalf("create user %q: %v", u.Username, err)
	}
	if u.ID == 0 || u.CreatedAt.IsZero() {
		t.Fatalf("create user %q: id %d created %v", u.Username, u.ID, u.CreatedAt)
	}
	return u
}

func testUsers(t *testing.T, s account.Store) {
	before := time.Now()
	u := createUser(t, s, &account.User{Username: "ali", DisplayName: "علی رضایی", Role: account.RoleAgent, Lang: "fa",
		Endpoint: "PJSIP/1001", PasswordHash: []byte("$2a$10$hash")})
	if u.CreatedAt.Before(before.Add(-time.Second)) || u.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("CreatedAt = %v, want about %v", u.CreatedAt, before)
	}
	for _, name := range []string{"ali", "ALI", "Ali"} {
		err := s.CreateUser(ctx(t), &account.User{Username: name, Role: account.RoleAdmin, PasswordHash: []byte("h")})
		if !errors.Is(err, account.ErrExists) {
			t.Errorf("second user %q: %v, want ErrExists", name, err)
		}
	}
	for _, name := range []string{"ali", "ALI", "aLi"} {
		got, err := s.UserByName(ctx(t), name)
		if err != nil {
			t.Fatalf("by name %q: %v", name, err)
		}
		if got.ID != u.ID || got.Username != "ali" || got.DisplayName != "علی رضایی" || got.Role != account.RoleAgent ||
			got.Lang != "fa" || got.Endpoint != "PJSIP/1001" || string(got.PasswordHash) != "$2a$10$hash" ||
			got.Disabled || got.CreatedAt.Location() != time.UTC || got.CreatedAt.Sub(u.CreatedAt).Abs() >= time.Millisecond {
			t.Errorf("by name %q = %+v, stored %+v", name, got, u)
		}
	}
	got, err := s.UserByID(ctx(t), u.ID)
	if err != nil || got.Username != "ali" || got.Endpoint != "PJSIP/1001" {
		t.Errorf("by id = %+v %v", got, err)
	}
	if _, err := s.UserByName(ctx(t), "nobody"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("unknown name: %v, want ErrNotFound", err)
	}
	if _, err := s.UserByID(ctx(t), u.ID+1000); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("unknown id: %v, want ErrNotFound", err)
	}
}

func testUserUpdate(t *testing.T, s account.Store) {
	u := createUser(t, s, &account.User{Username: "sara", DisplayName: "Sara", Role: account.RoleAgent, Lang: "en",
		PasswordHash: []byte("old")})
	createdAt := u.CreatedAt
	ch := *u
	ch.Username, ch.CreatedAt = "someone-else", createdAt.Add(-time.Hour)
	ch.DisplayName, ch.Role, ch.Lang, ch.Endpoint = "سارا", account.RoleSupervisor, "fa", "PJSIP/2002"
	ch.PasswordHash, ch.Disabled = []byte("new"), true
	if err := s.UpdateUser(ctx(t), &ch); err != nil {
		t.Fatalf("update: %v", err)
	}
	got, err := s.UserByID(ctx(t), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Username != "sara" || got.CreatedAt.Sub(createdAt).Abs() >= time.Millisecond {
		t.Errorf("update changed the username or creation time: %+v", got)
	}
	if got.DisplayName != "سارا" || got.Role != account.RoleSupervisor || got.Lang != "fa" || got.Endpoint != "PJSIP/2002" ||
		!bytes.Equal(got.PasswordHash, []byte("new")) || !got.Disabled {
		t.Errorf("after update = %+v", got)
	}
	if _, err := s.UserByName(ctx(t), "someone-else"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("the update renamed the user: %v", err)
	}
	err = s.UpdateUser(ctx(t), &account.User{ID: u.ID + 1000, Role: account.RoleAgent, PasswordHash: []byte("x")})
	if !errors.Is(err, account.ErrNotFound) {
		t.Errorf("update unknown: %v, want ErrNotFound", err)
	}
}

func testListUsers(t *testing.T, s account.Store) {
	list, err := s.ListUsers(ctx(t))
	if err != nil || len(list) != 0 {
		t.Fatalf("empty store lists %+v %v", list, err)
	}
	for _, name := range []string{"sara", "ali", "omid", "zahra", "mina"} {
		createUser(t, s, &account.User{Username: name, Role: account.RoleAgent, PasswordHash: []byte("h")})
	}
	list, err = s.ListUsers(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range list {
		names = append(names, u.Username)
		if u.ID == 0 || u.Role != account.RoleAgent {
			t.Errorf("listed %+v", u)
		}
	}
	if fmt.Sprint(names) != "[ali mina omid sara zahra]" {
		t.Errorf("list order = %v, want username order", names)
	}
}

func testSessions(t *testing.T, s account.Store) {
	u := createUser(t, s, &account.User{Username: "omid", Role: account.RoleAgent, PasswordHash: []byte("h")})
	now := time.Now().UTC().Truncate(time.Millisecond)
	live := account.Session{TokenHash: bytes.Repeat([]byte{1}, 32), UserID: u.ID, CreatedAt: now.Add(-time.Minute),
		ExpiresAt: now.Add(time.Hour)}
	old := account.Session{TokenHash: bytes.Repeat([]byte{2}, 32), UserID: u.ID, CreatedAt: now.Add(-2 * time.Hour),
		ExpiresAt: now.Add(-time.Hour)}
	edge := account.Session{TokenHash: bytes.Repeat([]byte{3}, 32), UserID: u.ID, CreatedAt: now.Add(-time.Hour),
		ExpiresAt: now}
	for _, ss := range []account.Session{live, old, edge} {
		if err := s.CreateSession(ctx(t), ss); err != nil {
			t.Fatalf("create session: %v", err)
		}
	}
	if err := s.CreateSession(ctx(t), live); err == nil {
		t.Errorf("a second session with the same hash was stored")
	}
	got, err := s.SessionByHash(ctx(t), live.TokenHash, now)
	if err != nil {
		t.Fatalf("live session: %v", err)
	}
	if !bytes.Equal(got.TokenHash, live.TokenHash) || got.UserID != u.ID || !got.CreatedAt.Equal(live.CreatedAt) ||
		!got.ExpiresAt.Equal(live.ExpiresAt) || got.ExpiresAt.Location() != time.UTC {
		t.Errorf("session = %+v, stored %+v", got, live)
	}
	// A session is expired from the moment it expires.
	for name, ss := range map[string]account.Session{"expired": old, "expiring now": edge} {
		if _, err := s.SessionByHash(ctx(t), ss.TokenHash, now); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("%s session: %v, want ErrNotFound", name, err)
		}
	}
	if _, err := s.SessionByHash(ctx(t), edge.TokenHash, now.Add(-time.Millisecond)); err != nil {
		t.Errorf("a session a millisecond before it expires: %v", err)
	}
	if _, err := s.SessionByHash(ctx(t), bytes.Repeat([]byte{9}, 32), now); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("unknown session: %v, want ErrNotFound", err)
	}
	if err := s.DeleteSession(ctx(t), live.TokenHash); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := s.SessionByHash(ctx(t), live.TokenHash, now); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("deleted session: %v, want ErrNotFound", err)
	}
	// Logging out twice is not an error.
	if err := s.DeleteSession(ctx(t), live.TokenHash); err != nil {
		t.Errorf("deleting a deleted session: %v", err)
	}
}

func testDeleteExpiredSessions(t *testing.T, s account.Store) {
	a := createUser(t, s, &account.User{Username: "ali", Role: account.RoleAgent, PasswordHash: []byte("h")})
	b := createUser(t, s, &account.User{Username: "sara", Role: account.RoleAdmin, PasswordHash: []byte("h")})
	now := time.Now().UTC().Truncate(time.Millisecond)
	var live [][]byte
	for i, ss := range []struct {
		user    int64
		expires time.Duration
	}{
		{a.ID, -48 * time.Hour}, {a.ID, -time.Second}, {b.ID, -time.Minute}, {b.ID, 0},
		{a.ID, time.Millisecond}, {b.ID, time.Hour},
	} {
		hash := bytes.Repeat([]byte{byte(i + 1)}, 32)
		err := s.CreateSession(ctx(t), account.Session{TokenHash: hash, UserID: ss.user, CreatedAt: now.Add(-72 * time.Hour),
			ExpiresAt: now.Add(ss.expires)})
		if err != nil {
			t.Fatal(err)
		}
		if ss.expires > 0 {
			live = append(live, hash)
		}
	}
	n, err := s.DeleteExpiredSessions(ctx(t), now)
	if err != nil || n != 4 {
		t.Fatalf("deleted %d expired sessions (%v), want 4", n, err)
	}
	if n, err := s.DeleteExpiredSessions(ctx(t), now); err != nil || n != 0 {
		t.Errorf("second sweep deleted %d (%v), want 0", n, err)
	}
	for _, h := range live {
		if _, err := s.SessionByHash(ctx(t), h, now); err != nil {
			t.Errorf("live session %x gone: %v", h[:1], err)
		}
	}
}
