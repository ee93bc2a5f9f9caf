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
	"github.com/tamas-cc/tamas/crm/script"
	"github.com/tamas-cc/tamas/crm/sqlite"
	"github.com/tamas-cc/tamas/crm/sqlite/sqlitetest"
	"github.com/tamas-cc/tamas/internal/outbox"
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

func TestWalkAndFinish(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	st, err := f.svc.Open(ctx, sara, wrapup.Call{ID: "call-1", ContactID: f.contact.ID, Script: "inbound-sales",
		Queue: "sales", StartedAt: time.Now().Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if st.Run == nil || st.Run.Steps[0].ID != "greet" || !strings.Contains(st.Run.Steps[0].Text, "this is Sara") ||
		len(st.Dispositions) != len(dispositions) || st.WrapUpSeconds != 3600 {
		t.Fatalf("opened = %+v", st)
	}
	// Another agent may not touch it; a supervisor may.
	if _, err := f.svc.Step(ctx, wrapup.Agent{Username: "nima"}, "call-1", wrapup.Move{From: "greet", Go: "next"}); !errors.Is(err, wrapup.ErrForbidden) {
		t.Fatalf("another agent: %v", err)
	}
	if _, err := f.svc.Open(ctx, wrapup.Agent{Username: "boss", Supervisor: true}, wrapup.Call{ID: "call-1"}); err != nil {
		t.Fatalf("a supervisor: %v", err)
	}
	step(t, f, "greet", nil, "next")
	// A double click: the second "next from greet" is refused.
	if _, err := f.svc.Step(ctx, sara, "call-1", wrapup.Move{From: "greet", Go: "next"}); !errors.Is(err, crm.ErrConflict) {
		t.Fatalf("a stale move: %v", err)
	}
	var fe *crm.FieldError
	if _, err := f.svc.Step(ctx, sara, "call-1", wrapup.Move{From: "need", Go: "next"}); !errors.As(err, &fe) || fe.Field != "step" {
		t.Fatalf("a required question skipped: %v", err)
	}
	step(t, f, "need", []string{"a fleet plan"}, "stay") // autosave as typed
	// The console reloads: a new service on the same database resumes.
	again, err := wrapup.New(f.opts)
	if err != nil {
		t.Fatal(err)
	}
	st, err = again.Open(ctx, sara, wrapup.Call{ID: "call-1"})
	if err != nil || st.Run.Steps[len(st.Run.Steps)-1].ID != "need" || st.Run.Answers["need"].Text != "a fleet plan" {
		t.Fatalf("resumed = %+v (%v)", st.Run, err)
	}
	step(t, f, "need", nil, "next")
	if _, err := f.svc.Step(ctx, sara, "call-1", wrapup.Move{From: "need-size", Answer: []string{"lots"}, Go: "next"}); !errors.As(err, &fe) || fe.Field != "answer" {
		t.Fatalf("a word for a number: %v", err)
	}
	if w, _ := f.store.WrapUp(ctx, "call-1"); w.Step != "need-size" || strings.Contains(string(w.Answers), "lots") {
		t.Fatalf("a refused answer changed the draft: %+v", w)
	}
	if _, err := f.svc.Finish(ctx, sara, "call-1", wrapup.Finish{Disposition: "qualified"}); !errors.As(err, &fe) || fe.Field != "step" {
		t.Fatalf("finish before the outcome: %v", err)
	}
	step(t, f, "need-size", []string{"12"}, "next")
	step(t, f, "authority", []string{"caller"}, "next")
	step(t, f, "budget", []string{"yes"}, "next")
	step(t, f, "timeline", []string{"this-month"}, "next")
	st = step(t, f, "close", nil, "next")
	if !st.Run.Ended || st.Run.Score != 75 || st.WrapUp.Score != 75 {
		t.Fatalf("end = ended %v score %d", st.Run.Ended, st.Run.Score)
	}
	if _, err := f.svc.Finish(ctx, sara, "call-1", wrapup.Finish{Disposition: "sold-a-car"}); !errors.As(err, &fe) || fe.Field != "disposition" {
		t.Fatalf("a disposition not configured: %v", err)
	}
	f.states.set(ctx, "sara", "wrapup")
	due := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Millisecond)
	checked := f.opts
	checked.KnownUser = func(_ context.Context, name string) bool { return name == "sara" || name == "nima" }
	strict, _ := wrapup.New(checked)
	if _, err := strict.Finish(ctx, sara, "call-1", wrapup.Finish{Disposition: "qualified",
		Tasks: []wrapup.FollowUp{{Title: "x", DueAt: due, Assignee: "nmia"}}}); !errors.As(err, &fe) || fe.Field != "tasks" {
		t.Fatalf("a follow-up for a user who does not exist: %v", err)
	}
	done, err := f.svc.Finish(ctx, sara, "call-1", wrapup.Finish{Disposition: "qualified", Notes: ptr(" wants 12 lines "),
		Tasks: []wrapup.FollowUp{{Title: "Send the proposal", DueAt: due}}})
	if err != nil || done.Pending {
		t.Fatal(err, done)
	}
	w := done.WrapUp
	if w.Status != crm.StatusQualified || w.Notes != "wants 12 lines" || len(w.Tasks) != 1 || w.Tasks[0].Assignee != "sara" {
		t.Fatalf("finished = %+v", w)
	}
	if got := <-f.finished; got.CallID != "call-1" {
		t.Fatalf("finished hook got %+v", got)
	}
	if f.states.get("sara") != "available" {
		t.Fatalf("after finishing the agent is %q", f.states.get("sara"))
	}
	a, err := f.store.CallActivity(ctx, "call-1")
	if err != nil || a.Disposition != "qualified" || a.WrapUp == nil || a.WrapUp.Score != 75 || a.ContactID != f.contact.ID {
		t.Fatalf("activity = %+v (%v)", a, err)
	}
	if c, _ := f.store.GetContact(ctx, f.contact.ID); c.Status != crm.StatusQualified {
		t.Fatalf("contact status = %s", c.Status)
	}
	if _, err := f.svc.Finish(ctx, sara, "call-1", wrapup.Finish{Disposition: "qualified"}); !errors.Is(err, crm.ErrConflict) {
		t.Fatalf("a second finish: %v", err)
	}
	if _, err := f.svc.Step(ctx, sara, "call-1", wrapup.Move{From: "qualified", Go: "back"}); !errors.Is(err, crm.ErrConflict) {
		t.Fatalf("a move after finishing: %v", err)
	}
}

func TestNoScript(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.svc.Open(ctx, sara, wrapup.Call{ID: "c2", Script: "no-such"}); err == nil {
		t.Fatal("an unknown script was opened")
	}
	st, err := f.svc.Open(ctx, sara, wrapup.Call{ID: "c2"})
	if err != nil || st.Run != nil {
		t.Fatalf("no script: %+v (%v)", st, err)
	}
	if err := f.svc.Notes(ctx, sara, "c2", "asked about prices"); err != nil {
		t.Fatal(err)
	}
	// A follow-up needs a contact: the unknown caller has none yet.
	var fe *crm.FieldError
	_, err = f.svc.Finish(ctx, sara, "c2", wrapup.Finish{Disposition: "callback",
		Tasks: []wrapup.FollowUp{{Title: "call back", DueAt: time.Now().Add(time.Hour)}}})
	if !errors.As(err, &fe) {
		t.Fatalf("a follow-up with no contact: %v", err)
	}
	if _, err := f.store.CallActivity(ctx, "c2"); !errors.Is(err, crm.ErrNotFound) {
		t.Fatalf("a refused finish wrote the activity: %v", err)
	}
	// The agent creates the lead, reopens with it, and finishes.
	if _, err := f.svc.Open(ctx, sara, wrapup.Call{ID: "c2", ContactID: f.contact.ID}); err != nil {
		t.Fatal(err)
	}
	done, err := f.svc.Finish(ctx, sara, "c2", wrapup.Finish{Disposition: "callback",
		Tasks: []wrapup.FollowUp{{Title: "call back", DueAt: time.Now().Add(time.Hour)}}})
	if err != nil || done.WrapUp.Notes != "asked about prices" || len(done.WrapUp.Tasks) != 1 {
		t.Fatalf("finish = %+v (%v)", done, err)
	}
}

func TestWrapUpTimer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.states.set(ctx, "sara", "available")
	f.svc.CallEnded(ctx, "sara", "fast")
	if got := f.states.get("sara"); got != "wrapup" {
		t.Fatalf("after the call: %q", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.states.get("sara") != "available" {
		if time.Now().After(deadline) {
			t.Fatal("the agent never became available again")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// An agent who went on break is left there.
	f.states.set(ctx, "nima", "break")
	f.svc.CallEnded(ctx, "nima", "fast")
	if got := f.states.get("nima"); got != "break" {
		t.Fatalf("an agent on break became %q", got)
	}
}

func TestUnconfiguredDisposition(t *testing.T) {
	f := newFixture(t)
	o := f.opts
	o.Dispositions = []wrapup.Disposition{{Code: "qualified"}}
	if _, err := wrapup.New(o); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Fatalf("scripts whose outcomes are not configured: %v", err)
	}
}

// Two nodes (or a node and a stale tab) on one call: a move from a copy
// another has overtaken is refused, and goes through once reopened.
func TestTwoNodesOneCall(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other, err := wrapup.New(f.opts)
	if err != nil {
		t.Fatal(err)
	}
	call := wrapup.Call{ID: "c3", ContactID: f.contact.ID, Script: "inbound-sales"}
	if _, err := f.svc.Open(ctx, sara, call); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Open(ctx, sara, wrapup.Call{ID: "c3"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Step(ctx, sara, "c3", wrapup.Move{From: "greet", Go: "next"}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Step(ctx, sara, "c3", wrapup.Move{From: "greet", Go: "next"}); !errors.Is(err, crm.ErrConflict) {
		t.Fatalf("a move from an overtaken copy: %v", err)
	}
	st, err := other.Open(ctx, sara, wrapup.Call{ID: "c3"})
	if err != nil || st.Run.Steps[len(st.Run.Steps)-1].ID != "need" {
		t.Fatalf("reopened on the other node: %+v (%v)", st, err)
	}
	if _, err := other.Step(ctx, sara, "c3", wrapup.Move{From: "need", Answer: []string{"x"}, Go: "stay"}); err != nil {
		t.Fatalf("after reopening: %v", err)
	}
	// The first node's copy is now the stale one; its answer is refused,
	// and the stored answer is the other node's.
	if _, err := f.svc.Step(ctx, sara, "c3", wrapup.Move{From: "need", Answer: []string{"y"}, Go: "stay"}); !errors.Is(err, crm.ErrConflict) {
		t.Fatalf("the first node's stale copy: %v", err)
	}
	if w, _ := f.store.WrapUp(ctx, "c3"); !strings.Contains(string(w.Answers), `"x"`) {
		t.Fatalf("stored answers = %s", w.Answers)
	}
}

func ptr[T any](v T) *T { return &v }

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
