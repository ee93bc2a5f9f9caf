package crmtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
)

// RunActivitySuite runs the activity and task conformance tests. newStore
// returns a fresh, migrated, empty store as its contact side and its
// activity side (usually one value); the suite closes it.
func RunActivitySuite(t *testing.T, newStore func(t *testing.T) (crm.Store, crm.ActivityStore)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, d *crm.Directory, as crm.ActivityStore)
	}{
		{"ActivityRoundTrip", testActivityRoundTrip},
		{"ActivityOrder", testActivityOrder},
		{"DuplicateCall", testDuplicateCall},
		{"ConcurrentDuplicateCall", testConcurrentDuplicateCall},
		{"ActivityLimits", testActivityLimits},
		{"Tasks", testTasks},
		{"TaskLimits", testTaskLimits},
		{"UnknownContact", testUnknownContact},
		{"ActivityValidation", testActivityValidation},
		{"TaskValidation", testTaskValidation},
		{"CallWithoutContact", testCallWithoutContact},
		{"ListActivities", testListActivities},
		{"WrapUpAfterCall", testWrapUpAfterCall},
		{"WrapUpBeforeCallRecord", testWrapUpBeforeCallRecord},
		{"WrapUpRefused", testWrapUpRefused},
		{"ConcurrentFinish", testConcurrentFinish},
		{"ClaimDueTasks", testClaimDueTasks},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, as := newStore(t)
			t.Cleanup(func() { s.Close() })
			norm, err := phone.New("IR")
			if err != nil {
				t.Fatal(err)
			}
			tc.fn(t, crm.NewDirectory(s, norm), as)
		})
	}
}

// tehran is a zone other than UTC, so that a store keeping local times
// shows.
var tehran = time.FixedZone("IRST", 3*3600+1800)

func addActivity(t *testing.T, as crm.ActivityStore, a crm.Activity) crm.Activity {
	t.Helper()
	if err := as.AddActivity(ctx(t), &a); err != nil {
		t.Fatalf("add %s activity %q: %v", a.Kind, a.CallID+a.Body, err)
	}
	if a.ID == 0 {
		t.Fatalf("add %s activity: no id assigned", a.Kind)
	}
	return a
}

func recent(t *testing.T, as crm.ActivityStore, contactID int64, limit int) []crm.Activity {
	t.Helper()
	got, err := as.RecentActivities(ctx(t), contactID, limit)
	if err != nil {
		t.Fatalf("recent activities of %d: %v", contactID, err)
	}
	return got
}

func activityIDs(as []crm.Activity) []int64 {
	out := make([]int64, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

func taskIDs(ts []crm.Task) []int64 {
	out := make([]int64, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

func testActivityRoundTrip(t *testing.T, d *crm.Directory, as crm.ActivityStore) {
	c := create(t, d, person("Leila", "Moradi", "09120000001"))
	at := time.Date(2026, 11, 1, 13, 30, 0, 123_000_000, tehran)
	before := time.Now()
	in := addActivity(t, as, crm.Activity{ContactID: c.ID, Kind: crm.ActivityCall, CallID: "1730000000.42",
		Direction: "inbound", Number: "۰۹۱۲۰۰۰۰۰۰۱", NumberE164: "+989120000001", Agent: "ali", Subject: "pricing",
		Body: "asked about prices — قیمت", Disposition: "answered", At: at, Duration: 95*time.Second + 499*time.Microsecond})
	after := time.Now()
	if in.CreatedAt.Before(before.Add(-time.Second)) || in.CreatedAt.After(after.Add(time.Second)) {
		t.Errorf("CreatedAt = %v, want about %v", in.CreatedAt, before)
	}
	got := recent(t, as, c.ID, 10)
	if len(got) != 1 {
		t.Fatalf("recent = %d activities, want 1", len(got))
	}
	a := got[0]
	if a.ID != in.ID || a.ContactID != c.ID || a.Kind != crm.ActivityCall || a.CallID != "1730000000.42" ||
		a.Direction != "inbound" || a.Number != "۰۹۱۲۰۰۰۰۰۰۱" || a.NumberE164 != "+989120000001" || a.Agent != "ali" || a.Subject != "pricing" ||
		a.Body != "asked about prices — قیمت" || a.Disposition != "answered" {
		t.Errorf("fields differ: %+v", a)
	}
	if !a.At.Equal(at) || a.At.Location() != time.UTC {
		t.Errorf("At = %v, want %v in UTC", a.At, at.UTC())
	}
	// Durations are kept in whole milliseconds.
	if a.Duration != 95*time.Second {
		t.Errorf("Duration = %v, want 1m35s", a.Duration)
	}
	if a.CreatedAt.Location() != time.UTC || a.CreatedAt.Sub(in.CreatedAt).Abs() >= time.Millisecond {
		t.Errorf("CreatedAt read %v, written %v", a.CreatedAt, in.CreatedAt)
	}
}

func testActivityOrder(t *testing.T, d *crm.Directory, as crm.ActivityStore) {
	c := create(t, d, person("Leila", "Moradi", "09120000001"))
	other := create(t, d, person("Reza", "Karimi", "09120000002"))
	base := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	note := func(id int64, at time.Time, body string) crm.Activity {
		return addActivity(t, as, crm.Activity{ContactID: id, Kind: crm.ActivityNote, Body: body, At: at})
	}
	h1 := note(c.ID, base.Add(time.Hour), "h1")
	h0 := note(c.ID, base, "h0")
	h3 := note(c.ID, base.Add(3*time.Hour), "h3")
	h2a := note(c.ID, base.Add(2*time.Hour), "h2a")
	h2b := note(c.ID, base.Add(2*time.Hour), "h2b")
	note(other.ID, base.Add(5*time.Hour), "someone else")
	// Newest first; of two at the same moment, the later written first.
	want := fmt.Sprint([]int64{h3.ID, h2b.ID, h2a.ID, h1.ID, h0.ID})
	if got := recent(t, as, c.ID, 10); fmt.Sprint(activityIDs(got)) != want {
		t.Errorf("order = %v, want %s", activityIDs(got), want)
	}
	if got := recent(t, as, other.ID, 10); len(got) != 1 || got[0].Body != "someone else" {
		t.Errorf("other contact's activities = %+v", got)
	}
}

func testDuplicateCall(t *testing.T, d *crm.Directory, as crm.ActivityStore) {
	c := create(t, d, person("Leila", "Moradi", "09120000001"))
	other := create(t, d, person("Reza", "Karimi", "09120000002"))
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	first := addActivity(t, as, crm.Activity{ContactID: c.ID, Kind: crm.ActivityCall, CallID: "call-1", At: at,
		Duration: time.Minute})
	for _, cid := range []int64{c.ID, other.ID} {
		dup := crm.Activity{ContactID: cid, Kind: crm.ActivityCall, CallID: "call-1", At: at.Add(time.Second),
			Duration: 2 * time.Minute}
		err := as.AddActivity(ctx(t), &dup)
		if !errors.Is(err, crm.ErrConflict) || dup.ID != first.ID {
			t.Errorf("call-1 again for contact %d: id %d err %v, want id %d and ErrConflict", cid, dup.ID, err, first.ID)
		}
	}
	// Notes are never deduplicated, not even when they name the call; calls
	// without an id cannot be, and are not.
	for range 2 {
		addActivity(t, as, crm.Activity{ContactID: c.ID, Kind: crm.ActivityNote, CallID: "call-1", Body: "callback", At: at})
		addActivity(t, as, crm.Activity{ContactID: c.ID, Kind: crm.ActivityCall, At: at})
	}
	got := recent(t, as, c.ID, 100)
	calls := 0
	for _, a := range got {
		if a.CallID == "call-1" && a.Kind == crm.ActivityCall {
			calls++
			if a.Duration != time.Minute {
				t.Errorf("the duplicate overwrote the call: %+v", a)
			}
		}
	}
	if len(got) != 5 || calls != 1 {
		t.Errorf("%d activities with %d rows for call-1, want 5 and 1: %+v", len(got), calls, got)
	}
	if got := recent(t, as, other.ID, 100); len(got) != 0 {
		t.Errorf("the duplicate was stored for the other contact: %+v", got)
	}
}

func testConcurrentDuplicateCall(t *testing.T, d *crm.Directory, as crm.ActivityStore) {
	c := create(t, d, person("Leila", "Moradi", "09120000001"))
	const n = 8
	ids := make([]int64, n)
	errs := make([]error, n)
	cx := ctx(t)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			a := crm.Activity{ContactID: c.ID, Kind: crm.ActivityCall, CallID: "racing", At: time.Now()}
			errs[i] = as.AddActivity(cx, &a)
			ids[i] = a.ID
		})
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, crm.ErrConflict):
			t.Errorf("writer %d: %v", i, err)
		}
		if ids[i] != ids[0] || ids[i] == 0 {
			t.Errorf("writers got ids %v, want one id for all", ids)
			break
		}
	}
	if ok != 1 {
		t.Errorf("%d writers inserted the call, want 1", ok)
	}
	if got := recent(t, as, c.ID, 100); len(got) != 1 {
		t.Errorf("%d rows for one call", len(got))
	}
}

func testActivityLimits(t *testing.T, d *crm.Directory, as crm.ActivityStore) {
	c := create(t, d, person("Leila", "Moradi", "09120000001"))
	base := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	const total = crm.MaxRecords + 5
	for i := range total {
		addActivity(t, as, crm.Activity{ContactID: c.ID, Kind: crm.ActivityNote, Body: fmt.Sprint("note ", i),
			At: base.Add(time.Duration(i) * time.Minute)})
	}
	for _, tc := range []struct{ limit, want int }{
		{0, crm.DefaultRecords}, {-3, crm.DefaultRecords}, {1, 1}, {7, 7}, {crm.MaxRecords, crm.MaxRecords},
		{1000, crm.MaxRecords},
	} {
		got := recent(t, as, c.ID, tc.limit)
		if len(got) != tc.want {
			t.Errorf("limit %d gave %d activities, want %d", tc.limit, len(got), tc.want)
			continue
		}
		if got[0].Body != fmt.Sprint("note ", total-1) {
			t.Errorf("limit %d starts at %q, want the newest", tc.limit, got[0].Body)
		}
	}
}

func addTask(t *testing.T, as crm.ActivityStore, tk crm.Task) crm.Task {
	t.Helper()
	if err := as.AddTask(ctx(t), &tk); err != nil {
		t.Fatalf("add task %q: %v", tk.Title, err)
	}
	if tk.ID == 0 || tk.CreatedAt.IsZero() {
		t.Fatalf("add task %q: id %d created %v", tk.Title, tk.ID, tk.CreatedAt)
	}
	return tk
}

func openTasks(t *testing.T, as crm.ActivityStore, contactID int64, limit int) []crm.Task {
	t.Helper()
	got, err := as.OpenTasks(ctx(t), contactID, limit)
	if err != nil {
		t.Fatalf("open tasks of %d: %v", contactID, err)
	}
	return got
}

func testTasks(t *testing.T, d *crm.Directory, as crm.ActivityStore) {
	c := create(t, d, person("Leila", "Moradi", "09120000001"))
	other := create(t, d, person("Reza", "Karimi", "09120000002"))
	due := time.Date(2026, 12, 1, 9, 0, 0, 0, tehran)
	in48 := addTask(t, as, crm.Task{ContactID: c.ID, Title: "send the contract — قرارداد", DueAt: due.Add(48 * time.Hour), Assignee: "sara"})
	now := addTask(t, as, crm.Task{ContactID: c.ID, Title: "call back", DueAt: due})
	in24a := addTask(t, as, crm.Task{ContactID: c.ID, Title: "quote", DueAt: due.Add(24 * time.Hour)})
	in24b := addTask(t, as, crm.Task{ContactID: c.ID, Title: "visit", DueAt: due.Add(24 * time.Hour)})
	addTask(t, as, crm.Task{ContactID: other.ID, Title: "not theirs", DueAt: due.Add(-time.Hour)})

	want := fmt.Sprint([]int64{now.ID, in24a.ID, in24b.ID, in48.ID})
	if got := openTasks(t, as, c.ID, 10); fmt.Sprint(taskIDs(got)) != want {
		t.Fatalf("open tasks = %v, want %s (soonest due first, then oldest)", taskIDs(got), want)
	}
	if err := as.CompleteTask(ctx(t), now.ID, time.Now()); err != nil {
		t.Fatalf("complete: %v", err)
	}
	if err := as.CompleteTask(ctx(t), now.ID, time.Now()); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("completing twice: %v, want ErrNotFound", err)
	}
	if err := as.CompleteTask(ctx(t), in48.ID+1000, time.Now()); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("completing an unknown task: %v, want ErrNotFound", err)
	}
	got := openTasks(t, as, c.ID, 10)
	if fmt.Sprint(taskIDs(got)) != fmt.Sprint([]int64{in24a.ID, in24b.ID, in48.ID}) {
		t.Fatalf("open tasks after completing one = %v", taskIDs(got))
	}
	last := got[2]
	if last.Title != "send the contract — قرارداد" || last.Assignee != "sara" || last.ContactID != c.ID ||
		last.DoneAt != nil || !last.DueAt.Equal(due.Add(48*time.Hour)) || last.DueAt.Location() != time.UTC ||
		last.CreatedAt.Location() != time.UTC || last.CreatedAt.Sub(in48.CreatedAt).Abs() >= time.Millisecond {
		t.Errorf("task read back as %+v, written %+v", last, in48)
	}
	if got := openTasks(t, as, other.ID, 10); len(got) != 1 || got[0].Title != "not theirs" {
		t.Errorf("other contact's tasks = %+v", got)
	}
}

func testTaskLimits(t *testing.T, d *crm.Directory, as crm.ActivityStore) {
	c := create(t, d, person("Leila", "Moradi", "09120000001"))
	due := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	const total = crm.MaxRecords + 5
	for i := range total {
		addTask(t, as, crm.Task{ContactID: c.ID, Title: fmt.Sprint("task ", i), DueAt: due.Add(time.Duration(i) * time.Hour)})
	}
	for _, tc := range []struct{ limit, want int }{
		{0, crm.DefaultRecords}, {-1, crm.DefaultRecords}, {3, 3}, {1000, crm.MaxRecords},
	} {
		got := openTasks(t, as, c.ID, tc.limit)
		if len(got) != tc.want || got[0].Title != "task 0" {
			t.Errorf("limit %d gave %d tasks, want %d starting with the soonest", tc.limit, len(got), tc.want)
		}
	}
}

func testUnknownContact(t *testing.T, d *crm.Directory, as crm.ActivityStore) {
	gone := create(t, d, person("Leila", "Moradi", "09120000001"))
	if err := d.Store().DeleteContact(ctx(t), gone.ID); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	for _, id := range []int64{gone.ID, gone.ID + 1000} {
		err := as.AddActivity(ctx(t), &crm.Activity{ContactID: id, Kind: crm.ActivityCall, CallID: fmt.Sprint("c", id), At: at})
		if !errors.Is(err, crm.ErrNotFound) {
			t.Errorf("activity for contact %d: %v, want ErrNotFound", id, err)
		}
		err = as.AddActivity(ctx(t), &crm.Activity{ContactID: id, Kind: crm.ActivityNote, Body: "x", At: at})
		if !errors.Is(err, crm.ErrNotFound) {
			t.Errorf("note for contact %d: %v, want ErrNotFound", id, err)
		}
		if err := as.AddTask(ctx(t), &crm.Task{ContactID: id, Title: "x", DueAt: at}); !errors.Is(err, crm.ErrNotFound) {
			t.Errorf("task for contact %d: %v, want ErrNotFound", id, err)
		}
		if got := recent(t, as, id, 10); len(got) != 0 {
			t.Errorf("contact %d has activities %+v", id, got)
		}
		if got := openTasks(t, as, id, 10); len(got) != 0 {
			t.Errorf("contact %d has tasks %+v", id, got)
		}
	}
}

func testActivityValidation(t *testing.T, d *crm.Directory, as crm.ActivityStore) {
	c := create(t, d, person("Leila", "Moradi", "09120000001"))
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		field string
		a     crm.Activity
	}{
		{"kind", crm.Activity{ContactID: c.ID, Kind: "fax", Body: "x", At: at}},
		{"kind", crm.Activity{ContactID: c.ID, Body: "x", At: at}},
		{"contact_id", crm.Activity{Kind: crm.ActivityNote, Body: "x", At: at}},
		{"contact_id", crm.Activity{ContactID: -1, Kind: crm.ActivityNote, Body: "x", At: at}},
		{"body", crm.Activity{ContactID: c.ID, Kind: crm.ActivityNote, Body: strings.Repeat("x", crm.MaxActivityBody+1), At: at}},
		{"body", crm.Activity{ContactID: c.ID, Kind: crm.ActivityNote, Body: " \n", At: at}},
		{"body", crm.Activity{ContactID: c.ID, Kind: crm.ActivityNote, Body: "\xff\xfe", At: at}},
		{"call_id", crm.Activity{ContactID: c.ID, Kind: crm.ActivityCall, CallID: strings.Repeat("1", 201), At: at}},
		{"duration", crm.Activity{ContactID: c.ID, Kind: crm.ActivityCall, CallID: "neg", Duration: -time.Second, At: at}},
		{"details", crm.Activity{ContactID: c.ID, Kind: crm.ActivityCall, CallID: "arr", Details: []byte(`[1]`), At: at}},
		{"details", crm.Activity{ContactID: c.ID, Kind: crm.ActivityCall, CallID: "bad", Details: []byte(`{"a":`), At: at}},
		{"outcome", crm.Activity{ContactID: c.ID, Kind: crm.ActivityCall, CallID: "out", Outcome: strings.Repeat("x", 51), At: at}},
		{"number_e164", crm.Activity{ContactID: c.ID, Kind: crm.ActivityCall, CallID: "e1", NumberE164: "09120000001", At: at}},
		{"number_e164", crm.Activity{ContactID: c.ID, Kind: crm.ActivityCall, CallID: "e2", NumberE164: "+۹۸۹۱۲۰۰۰۰۰۰۱", At: at}},
		{"number_e164", crm.Activity{ContactID: c.ID, Kind: crm.ActivityCall, CallID: "e3", NumberE164: "+" + strings.Repeat("9", 21), At: at}},
	} {
		var fe *crm.FieldError
		err := as.AddActivity(ctx(t), &tc.a)
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: %v, want a FieldError on %s", tc.field, err, tc.field)
		}
	}
	if got := recent(t, as, c.ID, 100); len(got) != 0 {
		t.Fatalf("rejected writes left %d activities", len(got))
	}
	// The limit itself is allowed.
	addActivity(t, as, crm.Activity{ContactID: c.ID, Kind: crm.ActivityNote, Body: strings.Repeat("x", crm.MaxActivityBody), At: at})
	if got := recent(t, as, c.ID, 1); len(got) != 1 || len(got[0].Body) != crm.MaxActivityBody {
		t.Fatalf("a body of exactly %d bytes did not round-trip", crm.MaxActivityBody)
	}
}

func testTaskValidation(t *testing.T, d *crm.Directory, as crm.ActivityStore) {
	c := create(t, d, person("Leila", "Moradi", "09120000001"))
	due := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		field string
		tk    crm.Task
	}{
		{"contact_id", crm.Task{Title: "x", DueAt: due}},
		{"title", crm.Task{ContactID: c.ID, DueAt: due}},
		{"title", crm.Task{ContactID: c.ID, Title: "  ", DueAt: due}},
		{"title", crm.Task{ContactID: c.ID, Title: strings.Repeat("س", crm.MaxTaskTitle+1), DueAt: due}},
		{"title", crm.Task{ContactID: c.ID, Title: "\xc3", DueAt: due}},
		{"due_at", crm.Task{ContactID: c.ID, Title: "x"}},
	} {
		var fe *crm.FieldError
		err := as.AddTask(ctx(t), &tc.tk)
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: %v, want a FieldError on %s", tc.field, err, tc.field)
		}
	}
	if got := openTasks(t, as, c.ID, 100); len(got) != 0 {
		t.Fatalf("rejected writes left %d tasks", len(got))
	}
	// The limit counts characters, not bytes: 500 Persian letters are 1000.
	title := strings.Repeat("س", crm.MaxTaskTitle)
	addTask(t, as, crm.Task{ContactID: c.ID, Title: title, DueAt: due})
	if got := openTasks(t, as, c.ID, 1); len(got) != 1 || got[0].Title != title {
		t.Fatalf("a title of %d characters did not round-trip", crm.MaxTaskTitle)
	}
}

// Every call is logged, known caller or not, with its record kept whole.
func testCallWithoutContact(t *testing.T, d *crm.Directory, as crm.ActivityStore) {
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, tehran)
	a := addActivity(t, as, crm.Activity{Kind: crm.ActivityCall, CallID: "anon-1", Direction: "inbound",
		Number: "anonymous", At: at, Duration: 42 * time.Second, Outcome: "abandoned_queue", Queue: "sales",
		Line: "Sales line", Details: []byte(`{"wait":30000000000,"digits":"12"}`)})
	got, err := as.CallActivity(ctx(t), "anon-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != a.ID || got.ContactID != 0 || got.Outcome != "abandoned_queue" || got.Queue != "sales" ||
		got.Line != "Sales line" || got.Duration != 42*time.Second || !got.At.Equal(at) || got.At.Location() != time.UTC {
		t.Fatalf("call activity = %+v", got)
	}
	var details map[string]any
	if err := json.Unmarshal(got.Details, &details); err != nil || details["digits"] != "12" {
		t.Fatalf("details = %s (%v)", got.Details, err)
	}
	dup := crm.Activity{Kind: crm.ActivityCall, CallID: "anon-1", At: at}
	if err := as.AddActivity(ctx(t), &dup); !errors.Is(err, crm.ErrConflict) || dup.ID != a.ID {
		t.Fatalf("the same call again: %v, id %d", err, dup.ID)
	}
	if _, err := as.CallActivity(ctx(t), "nope"); !errors.Is(err, crm.ErrNotFound) {
		t.Fatalf("unknown call: %v", err)
	}
	if _, err := as.CallActivity(ctx(t), ""); !errors.Is(err, crm.ErrNotFound) {
		t.Fatalf("empty call id: %v", err)
	}
	// A note still needs a contact.
	var fe *crm.FieldError
	if err := as.AddActivity(ctx(t), &crm.Activity{Kind: crm.ActivityNote, Body: "x", At: at}); !errors.As(err, &fe) {
		t.Fatalf("a note without a contact: %v", err)
	}
}

func testListActivities(t *testing.T, d *crm.Directory, as crm.ActivityStore) {
	c := create(t, d, person("Leila", "Moradi", "09120000001"))
	base := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	var ids []int64
	for _, a := range []crm.Activity{
		{ContactID: c.ID, Kind: crm.ActivityCall, CallID: "l1", Agent: "ali", Queue: "sales", Outcome: "answered", At: base},
		{Kind: crm.ActivityCall, CallID: "l2", Number: "٠٩١٢٣٤٥٦٧٨٩", NumberE164: "+989123456789", Agent: "sara", Queue: "sales",
			Outcome: "abandoned_queue", At: base.Add(time.Hour)},
		{ContactID: c.ID, Kind: crm.ActivityNote, Agent: "ali", Body: "note", At: base.Add(2 * time.Hour)},
		{Kind: crm.ActivityCall, CallID: "l3", Agent: "ali", Queue: "support", Outcome: "answered", At: base.Add(25 * time.Hour)},
	} {
		ids = append(ids, addActivity(t, as, a).ID)
	}
	list := func(q crm.ActivityQuery) []int64 {
		t.Helper()
		got, err := as.ListActivities(ctx(t), q)
		if err != nil {
			t.Fatal(err)
		}
		return activityIDs(got)
	}
	for _, tc := range []struct {
		name string
		q    crm.ActivityQuery
		want []int64
	}{
		{"all", crm.ActivityQuery{}, ids},
		{"agent", crm.ActivityQuery{Agent: "ali"}, []int64{ids[0], ids[2], ids[3]}},
		{"queue and outcome", crm.ActivityQuery{Queue: "sales", Outcome: "answered"}, []int64{ids[0]}},
		{"contact", crm.ActivityQuery{ContactID: c.ID}, []int64{ids[0], ids[2]}},
		{"kind", crm.ActivityQuery{Kind: crm.ActivityCall}, []int64{ids[0], ids[1], ids[3]}},
		{"period", crm.ActivityQuery{From: base.Add(time.Hour), To: base.Add(24 * time.Hour)}, []int64{ids[1], ids[2]}},
		{"page", crm.ActivityQuery{AfterID: ids[1], Limit: 1}, []int64{ids[2]}},
	} {
		if got := list(tc.q); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	got, err := as.ListActivities(ctx(t), crm.ActivityQuery{Queue: "sales", Outcome: "abandoned_queue"})
	if err != nil || len(got) != 1 || got[0].Number != "٠٩١٢٣٤٥٦٧٨٩" || got[0].NumberE164 != "+989123456789" {
		t.Errorf("listed call = %+v (%v), want its number and E.164", got, err)
	}
	call, err := as.CallActivity(ctx(t), "l2")
	if err != nil || call.NumberE164 != "+989123456789" {
		t.Errorf("call l2 = %+v (%v), want its E.164", call, err)
	}
}
