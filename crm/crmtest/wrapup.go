package crmtest

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm"
)

func wrapups(t *testing.T, as crm.ActivityStore) (crm.WrapUpStore, crm.TaskQueue) {
	t.Helper()
	ws, ok := as.(crm.WrapUpStore)
	tq, ok2 := as.(crm.TaskQueue)
	if !ok || !ok2 {
		t.Fatalf("%T keeps no wrap-ups or due tasks", as)
	}
	return ws, tq
}

func newLead(t *testing.T, d *crm.Directory, first string, status crm.Status) *crm.Contact {
	t.Helper()
	c := &crm.Contact{FirstName: first, LastName: "Test", Status: status,
		Phones: []crm.Phone{{Label: crm.LabelMobile, Raw: "0912 000 0000"}}}
	if err := d.Create(ctx(t), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func testWrapUpAfterCall(t *testing.T, d *crm.Directory, as crm.ActivityStore) {
	ws, _ := wrapups(t, as)
	c := newLead(t, d, "Sara", crm.StatusLead)
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, tehran)
	call := addActivity(t, as, crm.Activity{Kind: crm.ActivityCall, CallID: "w-1", Direction: "inbound",
		Number: "09120000000", At: at, Duration: time.Minute, Outcome: "answered", ContactID: c.ID,
		Details: []byte(`{"agents":["agent1"]}`)})

	w := crm.WrapUp{CallID: "w-1", ContactID: c.ID, Agent: "agent1", Script: "inbound-sales", Version: 2, Lang: "fa",
		Step: "need", Path: []string{"greet", "budget"}, Answers: json.RawMessage(`{"budget":{"choices":["yes"]}}`),
		Score: 25, StartedAt: at}
	if err := ws.SaveWrapUp(ctx(t), &w); err != nil {
		t.Fatal(err)
	}
	w.Step, w.Path = "close", append(w.Path, "need")
	w.Answers = json.RawMessage(`{"budget":{"choices":["yes"]},"need":{"text":"a <b>fleet</b> plan"}}`)
	if err := ws.SaveWrapUp(ctx(t), &w); err != nil {
		t.Fatal(err)
	}
	got, err := ws.WrapUp(ctx(t), "w-1")
	if err != nil {
		t.Fatal(err)
	}
	// A second copy (another tab, another node) saved meanwhile: a save or
	// finish from the older copy is refused, not merged.
	if got.Rev != w.Rev || got.Rev < 2 {
		t.Fatalf("rev read %d, saved %d", got.Rev, w.Rev)
	}
	stale := *got
	other := *got
	other.Notes = "from the other tab"
	if err := ws.SaveWrapUp(ctx(t), &other); err != nil {
		t.Fatal(err)
	}
	stale.Notes = "stale"
	if err := ws.SaveWrapUp(ctx(t), &stale); !errors.Is(err, crm.ErrConflict) || stale.Rev != got.Rev {
		t.Fatalf("a save from a stale copy: %v (rev %d)", err, stale.Rev)
	}
	stale.Disposition, stale.DoneAt = "qualified", at
	if err := ws.FinishWrapUp(ctx(t), &stale); !errors.Is(err, crm.ErrConflict) {
		t.Fatalf("a finish from a stale copy: %v", err)
	}
	if _, err := as.CallActivity(ctx(t), "w-1"); err != nil {
		t.Fatal(err)
	}
	if a, _ := as.CallActivity(ctx(t), "w-1"); a.Disposition != "" {
		t.Fatalf("a refused finish wrote the activity: %+v", a)
	}
	w = other
	got = &other
	if got.Step != "close" || len(got.Path) != 3 || got.Score != 25 || got.Done() || got.Lang != "fa" || got.Notes != "from the other tab" {
		t.Fatalf("draft read back = %+v", got)
	}
	var answers map[string]map[string]any
	if err := json.Unmarshal(got.Answers, &answers); err != nil || answers["need"]["text"] != "a <b>fleet</b> plan" {
		t.Fatalf("answers = %s (%v)", got.Answers, err)
	}
	if a, _ := as.CallActivity(ctx(t), "w-1"); a.Disposition != "" || a.WrapUp != nil {
		t.Fatalf("a draft changed the activity: %+v", a)
	}

	w.Disposition, w.Notes, w.Status = "qualified", "wants 12 lines", crm.StatusQualified
	w.DoneAt = at.Add(2 * time.Minute)
	due := at.Add(48 * time.Hour)
	w.Tasks = []crm.Task{{Title: "Send the quote", DueAt: due, Assignee: "agent1"}, {Title: "Call back", DueAt: due.Add(time.Hour)}}
	if err := ws.FinishWrapUp(ctx(t), &w); err != nil {
		t.Fatal(err)
	}
	if w.Tasks[0].ID == 0 || w.Tasks[1].ID == 0 || w.Tasks[0].CallID != "w-1" {
		t.Fatalf("tasks after finish = %+v", w.Tasks)
	}
	a, err := as.CallActivity(ctx(t), "w-1")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != call.ID || a.Disposition != "qualified" || a.Body != "wants 12 lines" || a.Outcome != "answered" ||
		a.ContactID != c.ID || a.Agent != "agent1" || a.WrapUp == nil || a.WrapUp.Score != 25 || !a.WrapUp.Done() ||
		len(a.WrapUp.Tasks) != 2 || a.WrapUp.Script != "inbound-sales" || a.WrapUp.Version != 2 {
		t.Fatalf("activity after finish = %+v / %+v", a, a.WrapUp)
	}
	tasks := openTasks(t, as, c.ID, 10)
	if len(tasks) != 2 || tasks[0].Title != "Send the quote" || tasks[0].CallID != "w-1" || !tasks[0].DueAt.Equal(due) {
		t.Fatalf("open tasks = %+v", tasks)
	}
	if cc, _ := d.Store().GetContact(ctx(t), c.ID); cc.Status != crm.StatusQualified {
		t.Fatalf("status = %s, want qualified", cc.Status)
	}
	if ld, ok := as.(crm.LastDispositioner); !ok {
		t.Fatalf("%T reads no last disposition", as)
	} else if d, err := ld.LastDisposition(ctx(t), c.ID); err != nil || d != "qualified" {
		t.Fatalf("last disposition = %q (%v)", d, err)
	} else if d, err := ld.LastDisposition(ctx(t), c.ID+1000); err != nil || d != "" {
		t.Fatalf("last disposition of nobody = %q (%v)", d, err)
	}
	for disp, want := range map[string]int{"qualified": 1, "lost": 0} {
		got, err := as.ListActivities(ctx(t), crm.ActivityQuery{Disposition: disp})
		if err != nil || len(got) != want {
			t.Fatalf("activities with disposition %s: %d (%v), want %d", disp, len(got), err, want)
		}
	}

	again := w
	again.Disposition, again.Tasks = "lost", []crm.Task{{Title: "x", DueAt: due}}
	if err := ws.FinishWrapUp(ctx(t), &again); !errors.Is(err, crm.ErrConflict) {
		t.Fatalf("second finish: %v", err)
	}
	late := w
	late.DoneAt, late.Disposition = time.Time{}, ""
	if err := ws.SaveWrapUp(ctx(t), &late); !errors.Is(err, crm.ErrConflict) {
		t.Fatalf("autosave after finish: %v", err)
	}
	if got, _ := ws.WrapUp(ctx(t), "w-1"); !got.Done() || got.Disposition != "qualified" {
		t.Fatalf("wrap-up after refused writes = %+v", got)
	}
	if n := len(openTasks(t, as, c.ID, 10)); n != 2 {
		t.Fatalf("%d open tasks after a refused finish, want 2", n)
	}
}

// The agent can finish before the call's record is written (the call is
// still on, or its record waits in an outbox): the record then fills the
// same activity in.
func testWrapUpBeforeCallRecord(t *testing.T, d *crm.Directory, as crm.ActivityStore) {
	ws, _ := wrapups(t, as)
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	lead := newLead(t, d, "Nima", crm.StatusLead)
	w := crm.WrapUp{CallID: "w-2", ContactID: lead.ID, Agent: "agent2", Script: "support-triage", Version: 1,
		Lang: "en", Disposition: "resolved", Notes: "reset the router", StartedAt: at, DoneAt: at.Add(time.Minute)}
	if err := ws.FinishWrapUp(ctx(t), &w); err != nil {
		t.Fatal(err)
	}
	early, err := as.CallActivity(ctx(t), "w-2")
	if err != nil || early.Disposition != "resolved" || early.ContactID != lead.ID {
		t.Fatalf("activity from the wrap-up = %+v (%v)", early, err)
	}
	// The call's record knows no contact (the caller was unknown when the
	// call came; the agent created the lead).
	rec := crm.Activity{Kind: crm.ActivityCall, CallID: "w-2", Direction: "inbound", Number: "09120000000",
		NumberE164: "+989120000000", At: at.Add(-time.Minute), Duration: 3 * time.Minute, Outcome: "answered", Queue: "support", Agent: "agent2",
		Details: []byte(`{"talk":120}`)}
	if err := as.AddActivity(ctx(t), &rec); err != nil {
		t.Fatalf("the call's record after the wrap-up: %v", err)
	}
	if rec.ID != early.ID || rec.Disposition != "resolved" || rec.WrapUp == nil || rec.ContactID != lead.ID {
		t.Fatalf("merged activity returned = %+v", rec)
	}
	a, _ := as.CallActivity(ctx(t), "w-2")
	if a.ID != early.ID || a.Outcome != "answered" || a.Queue != "support" || a.Duration != 3*time.Minute ||
		!a.At.Equal(at.Add(-time.Minute)) || a.Disposition != "resolved" || a.Body != "reset the router" ||
		a.ContactID != lead.ID || a.WrapUp == nil || len(a.Details) == 0 || a.Number != "09120000000" ||
		a.NumberE164 != "+989120000000" {
		t.Fatalf("merged activity = %+v", a)
	}
	dup := rec
	if err := as.AddActivity(ctx(t), &dup); !errors.Is(err, crm.ErrConflict) {
		t.Fatalf("the record replayed: %v", err)
	}
	list, err := as.ListActivities(ctx(t), crm.ActivityQuery{Kind: crm.ActivityCall})
	if err != nil || len(list) != 1 {
		t.Fatalf("%d call activities (%v), want 1", len(list), err)
	}

	// The contact is deleted between the finish and the call's record:
	// the record names a dead contact (refused), then none (merged).
	gone := newLead(t, d, "Gone", crm.StatusLead)
	w3 := crm.WrapUp{CallID: "w-3", ContactID: gone.ID, Agent: "agent2", Disposition: "resolved", StartedAt: at, DoneAt: at}
	if err := ws.FinishWrapUp(ctx(t), &w3); err != nil {
		t.Fatal(err)
	}
	if err := d.Store().DeleteContact(ctx(t), gone.ID); err != nil {
		t.Fatal(err)
	}
	rec3 := crm.Activity{Kind: crm.ActivityCall, CallID: "w-3", ContactID: gone.ID, At: at, Outcome: "answered",
		Details: []byte(`{"talk":1}`)}
	if err := as.AddActivity(ctx(t), &rec3); !errors.Is(err, crm.ErrNotFound) {
		t.Fatalf("a record for a deleted contact: %v", err)
	}
	rec3.ContactID = 0
	if err := as.AddActivity(ctx(t), &rec3); err != nil || rec3.Outcome != "answered" || rec3.Disposition != "resolved" {
		t.Fatalf("the record without its contact: %+v (%v)", rec3, err)
	}
}

func testWrapUpRefused(t *testing.T, d *crm.Directory, as crm.ActivityStore) {
	ws, _ := wrapups(t, as)
	c := newLead(t, d, "Reza", crm.StatusCustomer)
	at := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	var fe *crm.FieldError
	cases := []crm.WrapUp{
		{CallID: "", Agent: "a", StartedAt: at},
		{CallID: "r", Agent: "a", Answers: json.RawMessage(`[1,2]`), StartedAt: at},
		{CallID: "r", Agent: "a", Status: "hot", StartedAt: at},
		{CallID: "r", Agent: "a", Notes: "nul \x00 inside", StartedAt: at},
		{CallID: "r", Agent: "a", Answers: json.RawMessage(`{"a":{"text":"x\u0000y"}}`), StartedAt: at},
		{CallID: "r", Agent: "a", DoneAt: at, StartedAt: at}, // no disposition
		{CallID: "r", Agent: "a", Disposition: "x", DoneAt: at, StartedAt: at,
			Tasks: []crm.Task{{Title: "call", DueAt: at}}}, // follow-up with no contact
		{CallID: "r", Agent: "a", ContactID: c.ID, Disposition: "x", DoneAt: at, StartedAt: at,
			Tasks: []crm.Task{{Title: " ", DueAt: at}}},
	}
	for i, w := range cases {
		var err error
		if w.Done() {
			err = ws.FinishWrapUp(ctx(t), &w)
		} else {
			err = ws.SaveWrapUp(ctx(t), &w)
		}
		if !errors.As(err, &fe) {
			t.Errorf("case %d: %v, want a field error", i, err)
		}
	}
	// A contact deleted meanwhile: nothing is half-saved.
	gone := newLead(t, d, "Gone", crm.StatusLead)
	if err := d.Store().DeleteContact(ctx(t), gone.ID); err != nil {
		t.Fatal(err)
	}
	w := crm.WrapUp{CallID: "r", Agent: "a", ContactID: gone.ID, Disposition: "x", StartedAt: at, DoneAt: at,
		Tasks: []crm.Task{{Title: "call", DueAt: at}}}
	if err := ws.FinishWrapUp(ctx(t), &w); !errors.Is(err, crm.ErrNotFound) {
		t.Fatalf("finish for a deleted contact: %v", err)
	}
	if _, err := as.CallActivity(ctx(t), "r"); !errors.Is(err, crm.ErrNotFound) {
		t.Fatalf("a refused finish left an activity: %v", err)
	}
	if got, err := ws.WrapUp(ctx(t), "r"); err == nil && got.Done() {
		t.Fatalf("a refused finish was stored: %+v", got)
	}
	// The status only moves forward: a customer stays one.
	ok := crm.WrapUp{CallID: "r2", Agent: "a", ContactID: c.ID, Disposition: "qualified", Status: crm.StatusQualified,
		StartedAt: at, DoneAt: at}
	if err := ws.FinishWrapUp(ctx(t), &ok); err != nil {
		t.Fatal(err)
	}
	if cc, _ := d.Store().GetContact(ctx(t), c.ID); cc.Status != crm.StatusCustomer {
		t.Fatalf("a customer became %s", cc.Status)
	}
}

func testConcurrentFinish(t *testing.T, d *crm.Directory, as crm.ActivityStore) {
	ws, _ := wrapups(t, as)
	c := newLead(t, d, "Mina", crm.StatusLead)
	at := time.Date(2026, 11, 4, 9, 0, 0, 0, time.UTC)
	const n = 4
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			w := crm.WrapUp{CallID: "c-1", Agent: "a", ContactID: c.ID, Disposition: "callback", StartedAt: at,
				DoneAt: at, Tasks: []crm.Task{{Title: "call back", DueAt: at.Add(time.Hour)}}}
			errs[i] = ws.FinishWrapUp(ctx(t), &w)
		})
	}
	wg.Wait()
	okN := 0
	for _, err := range errs {
		switch {
		case err == nil:
			okN++
		case !errors.Is(err, crm.ErrConflict):
			t.Errorf("finish: %v", err)
		}
	}
	if okN != 1 {
		t.Fatalf("%d finishes succeeded, want 1", okN)
	}
	if tasks := openTasks(t, as, c.ID, 10); len(tasks) != 1 {
		t.Fatalf("%d follow-ups, want 1", len(tasks))
	}
}

func testClaimDueTasks(t *testing.T, d *crm.Directory, as crm.ActivityStore) {
	_, tq := wrapups(t, as)
	c := newLead(t, d, "Ali", crm.StatusLead)
	now := time.Now().UTC().Truncate(time.Second)
	var due []int64
	for i, off := range []time.Duration{-2 * time.Hour, -time.Minute, time.Hour} {
		tk := addTask(t, as, crm.Task{ContactID: c.ID, Title: "t", DueAt: now.Add(off), CallID: "call-x"})
		if i < 2 {
			due = append(due, tk.ID)
		}
	}
	done := addTask(t, as, crm.Task{ContactID: c.ID, Title: "done", DueAt: now.Add(-time.Hour)})
	if err := as.CompleteTask(ctx(t), done.ID, now); err != nil {
		t.Fatal(err)
	}
	// Four claimers at once: each due task goes to exactly one.
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			got, err := tq.ClaimDueTasks(ctx(t), now, 10)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, tk := range got {
				seen[tk.ID]++
				if tk.CallID != "call-x" || tk.ContactID != c.ID {
					t.Errorf("claimed task = %+v", tk)
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != 2 || seen[due[0]] != 1 || seen[due[1]] != 1 {
		t.Fatalf("claimed %v, want each of %v once", seen, due)
	}
	if got, err := tq.ClaimDueTasks(ctx(t), now.Add(2*time.Hour), 10); err != nil || len(got) != 1 {
		t.Fatalf("later claim = %+v (%v), want the task due in an hour", got, err)
	}
}
