package wrapup_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/script"
	"github.com/tamas-cc/tamas/crm/sqlite"
	"github.com/tamas-cc/tamas/wrapup"
)

var dispositions = wrapup.DefaultDispositions()

type states struct {
	mu sync.Mutex
	m  map[string]string
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

type fixture struct {
	dbPath   string
	store    *sqlite.Store
	contact  *crm.Contact
	svc      *wrapup.Service
	states   *states
	finished chan *crm.WrapUp
	opts     wrapup.Options
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "crm.db")
	st, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
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
	f := &fixture{dbPath: dbPath, store: st, contact: c, states: &states{m: map[string]string{}}, finished: make(chan *crm.WrapUp, 4)}
	f.opts = wrapup.Options{Store: st, Contacts: st, History: st, Scripts: set, Dispositions: dispositions,
		WrapUpTime: time.Hour, QueueWrapUp: map[string]time.Duration{"fast": 20 * time.Millisecond},
		SetState: f.states.set, StateOf: f.states.get,
		Finished: func(_ context.Context, w *crm.WrapUp) { f.finished <- w }}
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

// An agent may start the wrap-up only of a call they had; a supervisor of
// any.
func TestOnlyTheAgentsCall(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	o := f.opts
	o.MayOpen = func(_ context.Context, callID, user string) bool { return callID == "mine" && user == "sara" }
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
	// Offered to two agents; one opens the script before the answer, the
	// other answers: the one who answered takes the wrap-up over.
	answered := ""
	o.MayOpen = func(_ context.Context, callID, user string) bool { return user == "bob" || user == "sara" }
	o.AnsweredBy = func(string) string { return answered }
	svc2, _ := wrapup.New(o)
	if _, err := svc2.Open(ctx, bob, wrapup.Call{ID: "offered"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc2.Open(ctx, sara, wrapup.Call{ID: "offered"}); !errors.Is(err, wrapup.ErrForbidden) {
		t.Fatalf("before the answer, the other agent: %v", err)
	}
	answered = "sara"
	if st, err := svc2.Open(ctx, sara, wrapup.Call{ID: "offered"}); err != nil || st.WrapUp.Agent != "sara" {
		t.Fatalf("the agent who answered: %+v (%v)", st, err)
	}
	if err := svc2.Notes(ctx, bob, "offered", "mine?"); !errors.Is(err, wrapup.ErrForbidden) {
		t.Fatalf("the agent who did not answer, after: %v", err)
	}
}
