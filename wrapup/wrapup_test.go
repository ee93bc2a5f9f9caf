package wrapup_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/script"
	"github.com/tamas-cc/tamas/crm/sqlite"
	"github.com/tamas-cc/tamas/crm/sqlite/sqlitetest"
	"github.com/tamas-cc/tamas/wrapup"
)

var dispositions = wrapup.DefaultDispositions()

// states is agents' availability, as a wrapup.Presence.
type states struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *states) State(u string) string { return s.get(u) }

func (s *states) SetState(ctx context.Context, u, st string) error {
	s.set(ctx, u, st)
	return nil
}

func (s *states) set(_ context.Context, u, st string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[u] = st
}

func (s *states) get(u string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[u]
}

// notified hears of finished wrap-ups, as a wrapup.Notifier.
type notified chan *crm.WrapUp

func (n notified) Finished(_ context.Context, w *crm.WrapUp) { n <- w }

type fixture struct {
	dbPath   string
	store    *sqlite.Store
	contact  *crm.Contact
	svc      *wrapup.Service
	states   *states
	finished notified
	opts     wrapup.Options
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "crm.db")
	st := sqlitetest.Open(t, dbPath)
	norm, _ := phone.New("IR")
	dir := crm.NewDirectory(st, norm)
	c := &crm.Contact{FirstName: "Sara", LastName: "<b>Ahmadi</b>", Phones: []crm.Phone{{Label: crm.LabelMobile, Raw: "09121234567"}}}
	if err := dir.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	set, err := script.LoadDir("../configs/scripts")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{dbPath: dbPath, store: st, contact: c, states: &states{m: map[string]string{}}, finished: make(notified, 4)}
	f.opts = wrapup.Options{Store: st, Contacts: st, History: st, Scripts: set, Dispositions: dispositions,
		WrapUpTime: time.Hour, QueueWrapUp: map[string]time.Duration{"fast": 20 * time.Millisecond},
		Presence: f.states, Notify: f.finished}
	f.svc, err = wrapup.New(f.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.svc.Close)
	return f
}

var sara = wrapup.Agent{Username: "sara", Name: "Sara", Lang: "en"}

func step(t *testing.T, f *fixture, from string, answer []string, move string) *wrapup.State {
	t.Helper()
	st, err := f.svc.Step(context.Background(), sara, "call-1", wrapup.Move{From: from, Answer: answer, Go: move})
	if err != nil {
		t.Fatalf("step %s: %v", from, err)
	}
	return st
}

func ptr[T any](v T) *T { return &v }

// users are the enabled users, as a wrapup.Users.
type users []string

func (u users) Enabled(_ context.Context, name string) bool { return slices.Contains(u, name) }

// calls knows whom each call's pop went to and who answered it, as a
// wrapup.Calls.
type calls struct {
	mu       sync.Mutex
	agents   map[string][]string
	answered map[string]string
}

func (c *calls) Had(_ context.Context, callID, user string) (known, had bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	agents, ok := c.agents[callID]
	if !ok {
		return false, false
	}
	if a := c.answered[callID]; a != "" {
		return true, a == user
	}
	return true, slices.Contains(agents, user)
}

func (c *calls) AnsweredBy(callID string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.answered[callID]
}

func (c *calls) answer(callID, user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answered[callID] = user
}

// An agent may start the wrap-up only of a call they had; a supervisor of
// any.
func TestOnlyTheAgentsCall(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	known := &calls{agents: map[string][]string{"mine": {"sara"}, "offered": {"bob", "sara"}}, answered: map[string]string{}}
	o := f.opts
	o.Calls, o.Activities = known, f.store
	svc, _ := wrapup.New(o)
	bob := wrapup.Agent{Username: "bob"}
	if _, err := svc.Open(ctx, bob, wrapup.Call{ID: "mine", ContactID: f.contact.ID}); !errors.Is(err, wrapup.ErrForbidden) {
		t.Fatalf("another agent's call: %v", err)
	}
	if _, err := svc.Open(ctx, sara, wrapup.Call{ID: "made-up"}); !errors.Is(err, wrapup.ErrForbidden) {
		t.Fatalf("a call nobody had: %v", err)
	}
	if _, err := f.store.WrapUp(ctx, "mine"); !errors.Is(err, crm.ErrNotFound) {
		t.Fatalf("a refused open stored a draft: %v", err)
	}
	if _, err := svc.Open(ctx, sara, wrapup.Call{ID: "mine"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Open(ctx, wrapup.Agent{Username: "boss", Supervisor: true}, wrapup.Call{ID: "other"}); err != nil {
		t.Fatalf("a supervisor: %v", err)
	}
	// A call the index has forgotten: its activity names who had it.
	if err := f.store.AddActivity(ctx, &crm.Activity{Kind: crm.ActivityCall, CallID: "old", Agent: "sara",
		At: time.Now().Add(-24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Open(ctx, bob, wrapup.Call{ID: "old"}); !errors.Is(err, wrapup.ErrForbidden) {
		t.Fatalf("another agent's forgotten call: %v", err)
	}
	if _, err := svc.Open(ctx, sara, wrapup.Call{ID: "old"}); err != nil {
		t.Fatalf("the agent's forgotten call: %v", err)
	}
	// Offered to two agents; one opens the script before the answer, the
	// other answers: the one who answered takes the wrap-up over.
	if _, err := svc.Open(ctx, bob, wrapup.Call{ID: "offered"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Open(ctx, sara, wrapup.Call{ID: "offered"}); !errors.Is(err, wrapup.ErrForbidden) {
		t.Fatalf("before the answer, the other agent: %v", err)
	}
	known.answer("offered", "sara")
	if st, err := svc.Open(ctx, sara, wrapup.Call{ID: "offered"}); err != nil || st.WrapUp.Agent != "sara" {
		t.Fatalf("the agent who answered: %+v (%v)", st, err)
	}
	if err := svc.Notes(ctx, bob, "offered", "mine?"); !errors.Is(err, wrapup.ErrForbidden) {
		t.Fatalf("the agent who did not answer, after: %v", err)
	}
}
