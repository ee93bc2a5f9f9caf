package wrapup_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/sqlite"
	"github.com/tamas-cc/tamas/crm/sqlite/sqlitetest"
	"github.com/tamas-cc/tamas/internal/outbox"
	"github.com/tamas-cc/tamas/wrapup"
)

// swappable stands between the service and a real SQLite store, so a test
// can take the database away and bring it back as a new connection.
type swappable struct {
	mu sync.Mutex
	st *sqlite.Store
}

func (s *swappable) get() *sqlite.Store { s.mu.Lock(); defer s.mu.Unlock(); return s.st }
func (s *swappable) SaveWrapUp(ctx context.Context, w *crm.WrapUp) error {
	return s.get().SaveWrapUp(ctx, w)
}
func (s *swappable) WrapUp(ctx context.Context, id string) (*crm.WrapUp, error) {
	return s.get().WrapUp(ctx, id)
}
func (s *swappable) FinishWrapUp(ctx context.Context, w *crm.WrapUp) error {
	return s.get().FinishWrapUp(ctx, w)
}

// The database goes away mid-script: the agent goes on answering and
// finishes; the answers stay with the node, the finish in the outbox, and
// both are written when the database returns.
func TestDatabaseOutage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "wrapup-outbox.jsonl")
	box, err := outbox.Open[crm.WrapUp](path)
	if err != nil {
		t.Fatal(err)
	}
	defer box.Close()
	dbPath := f.dbPath
	sw := &swappable{st: f.store}
	o := f.opts
	o.Store, o.Outbox = sw, box
	svc, err := wrapup.New(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"o1", "o2"} {
		if _, err := svc.Open(ctx, sara, wrapup.Call{ID: id, ContactID: f.contact.ID, Script: "support-triage"}); err != nil {
			t.Fatal(err)
		}
	}
	f.store.Close() // the database is gone
	f.states.set(ctx, "sara", "wrapup")
	moves := []wrapup.Move{{From: "greet", Go: "next"}, {From: "product", Answer: []string{"web"}, Go: "next"},
		{From: "severity", Answer: []string{"degraded"}, Go: "next"}, {From: "describe", Answer: []string{"slow pages"}, Go: "next"},
		{From: "solved-now", Answer: []string{"yes"}, Go: "next"}}
	for _, m := range moves {
		st, err := svc.Step(ctx, sara, "o1", m)
		if err != nil || !st.Unsaved {
			t.Fatalf("step %s during the outage: %+v (%v)", m.From, st, err)
		}
	}
	if st, err := svc.Step(ctx, sara, "o2", moves[0]); err != nil || !st.Unsaved {
		t.Fatalf("another call during the outage: %v", err)
	}
	done, err := svc.Finish(ctx, sara, "o1", wrapup.Finish{Disposition: "solved", Notes: ptr("fixed by a cache reset")})
	if err != nil || !done.Pending {
		t.Fatalf("finish during the outage: %+v (%v)", done, err)
	}
	if f.states.get("sara") != "available" {
		t.Fatalf("the agent is %q after finishing", f.states.get("sara"))
	}
	if box.Len() != 1 {
		t.Fatalf("%d finishes in the outbox", box.Len())
	}
	if _, err := svc.Step(ctx, sara, "o1", wrapup.Move{From: "solved", Go: "back"}); !errors.Is(err, crm.ErrConflict) {
		t.Fatalf("a move after a kept finish: %v", err)
	}
	if err := svc.Retry(ctx); err == nil {
		t.Fatal("a retry while the database is gone succeeded")
	}

	back := sqlitetest.Open(t, dbPath) // the database returns
	sw.mu.Lock()
	sw.st = back
	sw.mu.Unlock()
	if err := svc.Retry(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := back.CallActivity(ctx, "o1")
	if err != nil || a.Disposition != "solved" || a.Body != "fixed by a cache reset" || a.WrapUp == nil ||
		!strings.Contains(string(a.WrapUp.Answers), "slow pages") {
		t.Fatalf("the finish from the outbox: %+v (%v)", a, err)
	}
	if got := <-f.finished; got.CallID != "o1" {
		t.Fatalf("finished hook: %+v", got)
	}
	w, err := back.WrapUp(ctx, "o2")
	if err != nil || w.Step != "product" {
		t.Fatalf("the answers kept for o2: %+v (%v)", w, err)
	}
	if box.Len() != 0 {
		t.Fatal("the outbox still holds the finish")
	}
}

// A finish kept through an outage by a node whose copy another node had
// overtaken is still written: the agent's finish is their last word.
func TestKeptFinishOverALaterDraft(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	box, err := outbox.Open[crm.WrapUp](filepath.Join(t.TempDir(), "box.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer box.Close()
	sw := &swappable{st: f.store}
	o := f.opts
	o.Store, o.Outbox = sw, box
	nodeA, _ := wrapup.New(o)
	nodeB, _ := wrapup.New(f.opts) // straight on the database
	if _, err := nodeA.Open(ctx, sara, wrapup.Call{ID: "k1", ContactID: f.contact.ID}); err != nil {
		t.Fatal(err)
	}
	if err := nodeB.Notes(ctx, sara, "k1", "from the other node"); err != nil {
		t.Fatal(err)
	}
	down := sqlitetest.New(t)
	down.Close()
	sw.mu.Lock()
	sw.st = down // node A loses the database
	sw.mu.Unlock()
	done, err := nodeA.Finish(ctx, sara, "k1", wrapup.Finish{Disposition: "solved"})
	if err != nil || !done.Pending {
		t.Fatalf("finish during the outage: %+v (%v)", done, err)
	}
	sw.mu.Lock()
	sw.st = f.store
	sw.mu.Unlock()
	if err := nodeA.Retry(ctx); err != nil {
		t.Fatal(err)
	}
	w, err := f.store.WrapUp(ctx, "k1")
	if err != nil || !w.Done() || w.Disposition != "solved" || w.Notes != "from the other node" || box.Len() != 0 {
		t.Fatalf("after the outage: %+v (%v), %d waiting", w, err, box.Len())
	}
}

// A kept finish the database refuses goes to the refused file; those
// after it are still written, and one whose contact was deleted is
// written without it.
func TestRefusedKeptFinishHoldsNothingUp(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	dir := t.TempDir()
	box, _ := outbox.Open[crm.WrapUp](filepath.Join(dir, "box.jsonl"))
	refused, _ := outbox.Open[crm.WrapUp](filepath.Join(dir, "refused.jsonl"))
	defer box.Close()
	defer refused.Close()
	o := f.opts
	o.Outbox, o.Refused = box, refused
	svc, _ := wrapup.New(o)
	gone := &crm.Contact{FirstName: "Gone", Phones: []crm.Phone{{Label: crm.LabelMobile, Raw: "09125550000"}}}
	norm, _ := phone.New("IR")
	if err := crm.NewDirectory(f.store, norm).Create(ctx, gone); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for _, w := range []crm.WrapUp{
		{CallID: "d1", Agent: "sara", ContactID: gone.ID, Disposition: "callback", StartedAt: now, DoneAt: now,
			Tasks: []crm.Task{{Title: "call back", DueAt: now.Add(time.Hour)}}},
		{CallID: "d2", Agent: "sara", Disposition: "solved", Status: "hot", StartedAt: now, DoneAt: now},
		{CallID: "d3", Agent: "sara", ContactID: f.contact.ID, Disposition: "solved", StartedAt: now, DoneAt: now},
	} {
		if err := box.Append(w); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.store.DeleteContact(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.Retry(ctx); err != nil {
		t.Fatal(err)
	}
	if box.Len() != 0 || refused.Len() != 2 {
		t.Fatalf("outbox %d, refused %d; want 0 and 2 (d1's follow-up, d2)", box.Len(), refused.Len())
	}
	for _, id := range []string{"d1", "d3"} {
		if a, err := f.store.CallActivity(ctx, id); err != nil || a.Disposition == "" {
			t.Fatalf("%s: %+v (%v)", id, a, err)
		}
	}
}
