package crmtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/account"
	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
)

// RecordStore is a database store as the product uses it: contacts, their
// activities and tasks, and the users who log in.
type RecordStore interface {
	crm.Store
	crm.ActivityStore
	account.Store
}

// RunRecords runs the activity, task, user and session conformance tests.
func RunRecords(t *testing.T, newStore func(t *testing.T) RecordStore) {
	t.Run("Activities", func(t *testing.T) { testActivities(t, newStore(t)) })
	t.Run("Tasks", func(t *testing.T) { testTasks(t, newStore(t)) })
	t.Run("Users", func(t *testing.T) { testUsers(t, newStore(t)) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, newStore(t)) })
}

func newContact(t *testing.T, s RecordStore) int64 {
	t.Helper()
	norm, _ := phone.New("IR")
	c := &crm.Contact{Kind: crm.KindPerson, FirstName: "Leila", LastName: "Moradi", Status: crm.StatusLead,
		Phones: []crm.Phone{{Label: crm.LabelMobile, Raw: "09120000001"}}}
	if err := crm.NewDirectory(s, norm).Create(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func testActivities(t *testing.T, s RecordStore) {
	defer s.Close()
	ctx := context.Background()
	id := newContact(t, s)
	base := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	for i, a := range []crm.Activity{
		{ContactID: id, Kind: crm.ActivityCall, CallID: "call-1", Direction: "inbound", Number: "+989120000001", At: base, Duration: 95 * time.Second},
		{ContactID: id, Kind: crm.ActivityNote, Body: "wants a callback", Agent: "ali", At: base.Add(time.Hour)},
		{ContactID: id, Kind: crm.ActivityNote, Body: "wants a callback", Agent: "ali", At: base.Add(2 * time.Hour)},
	} {
		if err := s.AddActivity(ctx, &a); err != nil || a.ID == 0 {
			t.Fatalf("activity %d: id %d err %v", i, a.ID, err)
		}
	}
	dup := crm.Activity{ContactID: id, Kind: crm.ActivityCall, CallID: "call-1", At: base}
	if err := s.AddActivity(ctx, &dup); !errors.Is(err, crm.ErrConflict) || dup.ID == 0 {
		t.Fatalf("second activity for one call: id %d err %v, want the first id and ErrConflict", dup.ID, err)
	}
	got, err := s.RecentActivities(ctx, id, 0)
	if err != nil || len(got) != 3 {
		t.Fatalf("recent = %d %v, want 3 (notes are never deduplicated)", len(got), err)
	}
	if !got[0].At.Equal(base.Add(2*time.Hour)) || got[2].CallID != "call-1" || got[2].Duration != 95*time.Second || got[2].Number != "+989120000001" {
		t.Fatalf("order or fields wrong: %+v", got)
	}
	if got, _ := s.RecentActivities(ctx, id, 2); len(got) != 2 {
		t.Fatalf("limit 2 gave %d", len(got))
	}
	if err := s.AddActivity(ctx, &crm.Activity{ContactID: 999999, Kind: crm.ActivityNote, Body: "x", At: base}); !errors.Is(err, crm.ErrNotFound) {
		t.Fatalf("unknown contact: %v", err)
	}
	var fe *crm.FieldError
	if err := s.AddActivity(ctx, &crm.Activity{ContactID: id, Kind: "fax", At: base}); !errors.As(err, &fe) {
		t.Fatalf("bad kind: %v", err)
	}
	if err := s.AddActivity(ctx, &crm.Activity{ContactID: id, Kind: crm.ActivityNote, Body: string(make([]byte, crm.MaxActivityBody+1)), At: base}); !errors.As(err, &fe) {
		t.Fatalf("oversized body: %v", err)
	}
	if got, _ := s.RecentActivities(ctx, id, 100); len(got) != 3 {
		t.Fatalf("a rejected write left %d activities", len(got))
	}
}

func testTasks(t *testing.T, s RecordStore) {
	defer s.Close()
	ctx := context.Background()
	id := newContact(t, s)
	due := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var ids []int64
	for _, d := range []time.Duration{48 * time.Hour, 0, 24 * time.Hour} {
		tk := crm.Task{ContactID: id, Title: "call back", DueAt: due.Add(d), Assignee: "sara"}
		if err := s.AddTask(ctx, &tk); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.ID)
	}
	if err := s.CompleteTask(ctx, ids[1], time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteTask(ctx, ids[1], time.Now()); !errors.Is(err, crm.ErrNotFound) {
		t.Fatalf("completing twice: %v", err)
	}
	open, err := s.OpenTasks(ctx, id, 10)
	if err != nil || len(open) != 2 || open[0].ID != ids[2] || open[1].ID != ids[0] || !open[0].DueAt.Equal(due.Add(24*time.Hour)) {
		t.Fatalf("open tasks = %+v %v", open, err)
	}
	var fe *crm.FieldError
	if err := s.AddTask(ctx, &crm.Task{ContactID: id, DueAt: due}); !errors.As(err, &fe) {
		t.Fatalf("untitled task: %v", err)
	}
	if err := s.AddTask(ctx, &crm.Task{ContactID: 424242, Title: "x", DueAt: due}); !errors.Is(err, crm.ErrNotFound) {
		t.Fatalf("task for unknown contact: %v", err)
	}
}

func testUsers(t *testing.T, s RecordStore) {
	defer s.Close()
	ctx := context.Background()
	u := &account.User{Username: "ali", DisplayName: "علی رضایی", Role: account.RoleAgent, Lang: "fa",
		Endpoint: "PJSIP/1001", PasswordHash: []byte("hash")}
	if err := s.CreateUser(ctx, u); err != nil || u.ID == 0 {
		t.Fatalf("create: %v", err)
	}
	if err := s.CreateUser(ctx, &account.User{Username: "ALI", Role: account.RoleAgent, PasswordHash: []byte("h")}); !errors.Is(err, account.ErrExists) {
		t.Fatalf("duplicate username in other case: %v", err)
	}
	if err := s.CreateUser(ctx, &account.User{Username: "sara", Role: account.RoleSupervisor, PasswordHash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserByName(ctx, "Ali")
	if err != nil || got.ID != u.ID || got.DisplayName != "علی رضایی" || got.Endpoint != "PJSIP/1001" || string(got.PasswordHash) != "hash" {
		t.Fatalf("by name = %+v %v", got, err)
	}
	got.Lang, got.Disabled = "en", true
	if err := s.UpdateUser(ctx, got); err != nil {
		t.Fatal(err)
	}
	if again, err := s.UserByID(ctx, u.ID); err != nil || again.Lang != "en" || !again.Disabled {
		t.Fatalf("by id after update = %+v %v", again, err)
	}
	if _, err := s.UserByName(ctx, "nobody"); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	if err := s.UpdateUser(ctx, &account.User{ID: 9999, Role: account.RoleAgent}); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}
	list, err := s.ListUsers(ctx)
	if err != nil || len(list) != 2 || list[0].Username != "ali" || list[1].Role != account.RoleSupervisor {
		t.Fatalf("list = %+v %v", list, err)
	}
}

func testSessions(t *testing.T, s RecordStore) {
	defer s.Close()
	ctx := context.Background()
	u := &account.User{Username: "omid", Role: account.RoleAgent, PasswordHash: []byte("h")}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	live := account.Session{TokenHash: []byte("live-hash"), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	old := account.Session{TokenHash: []byte("old-hash"), UserID: u.ID, CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}
	for _, ss := range []account.Session{live, old} {
		if err := s.CreateSession(ctx, ss); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.SessionByHash(ctx, live.TokenHash, now)
	if err != nil || got.UserID != u.ID || !got.ExpiresAt.Equal(live.ExpiresAt) {
		t.Fatalf("live session = %+v %v", got, err)
	}
	if _, err := s.SessionByHash(ctx, old.TokenHash, now); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("expired session returned: %v", err)
	}
	if n, err := s.DeleteExpiredSessions(ctx, now); err != nil || n != 1 {
		t.Fatalf("deleted %d expired, %v; want 1", n, err)
	}
	if err := s.DeleteSession(ctx, live.TokenHash); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByHash(ctx, live.TokenHash, now); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("logged-out session returned: %v", err)
	}
}
