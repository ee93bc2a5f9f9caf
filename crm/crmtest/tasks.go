package crmtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
)

// RunTaskListSuite runs the task listing conformance tests. newStore is as
// for [RunActivitySuite]; its activity side must also be a
// [crm.TaskLister].
func RunTaskListSuite(t *testing.T, newStore func(t *testing.T) (crm.Store, crm.ActivityStore)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, d *crm.Directory, as crm.ActivityStore, tl crm.TaskLister)
	}{
		{"Empty", testListTasksEmpty},
		{"Filters", testListTasksFilters},
		{"Order", testListTasksOrder},
		{"DoneTasks", testListTasksDone},
		{"Paging", testListTasksPaging},
		{"Limits", testListTasksLimits},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, as := newStore(t)
			t.Cleanup(func() { s.Close() })
			tl, ok := as.(crm.TaskLister)
			if !ok {
				t.Fatalf("%T lists no tasks", as)
			}
			norm, err := phone.New("IR")
			if err != nil {
				t.Fatal(err)
			}
			tc.fn(t, crm.NewDirectory(s, norm), as, tl)
		})
	}
}

func listTasks(t *testing.T, tl crm.TaskLister, q crm.TaskQuery) []crm.Task {
	t.Helper()
	got, err := tl.ListTasks(ctx(t), q)
	if err != nil {
		t.Fatalf("list tasks %+v: %v", q, err)
	}
	return got
}

func testListTasksEmpty(t *testing.T, d *crm.Directory, as crm.ActivityStore, tl crm.TaskLister) {
	got := listTasks(t, tl, crm.TaskQuery{})
	if got == nil || len(got) != 0 {
		t.Fatalf("tasks of an empty store = %#v, want an empty list", got)
	}
}

func testListTasksFilters(t *testing.T, d *crm.Directory, as crm.ActivityStore, tl crm.TaskLister) {
	c := create(t, d, person("Leila", "Moradi", "09120000001"))
	other := create(t, d, person("Reza", "Karimi", "09120000002"))
	due := time.Date(2026, 12, 1, 9, 0, 0, 0, tehran)
	a1 := addTask(t, as, crm.Task{ContactID: c.ID, Title: "quote", DueAt: due, Assignee: "ali"})
	a2 := addTask(t, as, crm.Task{ContactID: c.ID, Title: "contract", DueAt: due.Add(2 * time.Hour), Assignee: "sara"})
	a3 := addTask(t, as, crm.Task{ContactID: c.ID, Title: "visit", DueAt: due.Add(4 * time.Hour), Assignee: "ali"})
	b1 := addTask(t, as, crm.Task{ContactID: other.ID, Title: "call back", DueAt: due.Add(time.Hour), Assignee: "ali"})
	b2 := addTask(t, as, crm.Task{ContactID: other.ID, Title: "invoice", DueAt: due.Add(3 * time.Hour)})
	if err := as.CompleteTask(ctx(t), a1.ID, due.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		q    crm.TaskQuery
		want []int64
	}{
		{"all", crm.TaskQuery{}, []int64{a1.ID, b1.ID, a2.ID, b2.ID, a3.ID}},
		{"one", crm.TaskQuery{ID: a2.ID}, []int64{a2.ID}},
		{"unknown one", crm.TaskQuery{ID: b2.ID + 1000}, []int64{}},
		{"contact", crm.TaskQuery{ContactID: c.ID}, []int64{a1.ID, a2.ID, a3.ID}},
		{"other contact", crm.TaskQuery{ContactID: other.ID}, []int64{b1.ID, b2.ID}},
		{"unknown contact", crm.TaskQuery{ContactID: other.ID + 1000}, []int64{}},
		{"assignee", crm.TaskQuery{Assignee: "ali"}, []int64{a1.ID, b1.ID, a3.ID}},
		{"unknown assignee", crm.TaskQuery{Assignee: "nobody"}, []int64{}},
		{"open", crm.TaskQuery{Open: true}, []int64{b1.ID, a2.ID, b2.ID, a3.ID}},
		{"due before", crm.TaskQuery{DueBefore: due.Add(2 * time.Hour)}, []int64{a1.ID, b1.ID}},
		{"due before the first", crm.TaskQuery{DueBefore: due}, []int64{}},
		{"open of contact for ali", crm.TaskQuery{ContactID: c.ID, Assignee: "ali", Open: true}, []int64{a3.ID}},
		{"open due before", crm.TaskQuery{Open: true, DueBefore: due.Add(3*time.Hour + time.Second)},
			[]int64{b1.ID, a2.ID, b2.ID}},
	} {
		if got := listTasks(t, tl, tc.q); fmt.Sprint(taskIDs(got)) != fmt.Sprint(tc.want) {
			t.Errorf("%s: tasks %v, want %v", tc.name, taskIDs(got), tc.want)
		}
	}
	got := listTasks(t, tl, crm.TaskQuery{ContactID: c.ID, Open: true})
	if len(got) != 2 {
		t.Fatalf("open tasks of %d = %+v", c.ID, got)
	}
	tk := got[0]
	if tk.ID != a2.ID || tk.Title != "contract" || tk.Assignee != "sara" || tk.ContactID != c.ID ||
		tk.DoneAt != nil || !tk.DueAt.Equal(a2.DueAt) || tk.DueAt.Location() != time.UTC ||
		tk.CreatedAt.Location() != time.UTC || tk.CreatedAt.Sub(a2.CreatedAt).Abs() >= time.Millisecond {
		t.Errorf("task read back as %+v, written %+v", tk, a2)
	}
}

func testListTasksOrder(t *testing.T, d *crm.Directory, as crm.ActivityStore, tl crm.TaskLister) {
	c := create(t, d, person("Leila", "Moradi", "09120000001"))
	due := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	late := addTask(t, as, crm.Task{ContactID: c.ID, Title: "late", DueAt: due.Add(48 * time.Hour)})
	tieA := addTask(t, as, crm.Task{ContactID: c.ID, Title: "tie a", DueAt: due.Add(time.Hour)})
	soon := addTask(t, as, crm.Task{ContactID: c.ID, Title: "soon", DueAt: due})
	tieB := addTask(t, as, crm.Task{ContactID: c.ID, Title: "tie b", DueAt: due.Add(time.Hour)})
	// Milliseconds apart still sort apart.
	ms := addTask(t, as, crm.Task{ContactID: c.ID, Title: "a millisecond later", DueAt: due.Add(time.Millisecond)})
	want := fmt.Sprint([]int64{soon.ID, ms.ID, tieA.ID, tieB.ID, late.ID})
	if got := listTasks(t, tl, crm.TaskQuery{ContactID: c.ID}); fmt.Sprint(taskIDs(got)) != want {
		t.Fatalf("order = %v, want %s (soonest due first, then oldest)", taskIDs(got), want)
	}
}

func testListTasksDone(t *testing.T, d *crm.Directory, as crm.ActivityStore, tl crm.TaskLister) {
	c := create(t, d, person("Leila", "Moradi", "09120000001"))
	due := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	done := addTask(t, as, crm.Task{ContactID: c.ID, Title: "done", DueAt: due, CallID: "call-7"})
	open := addTask(t, as, crm.Task{ContactID: c.ID, Title: "open", DueAt: due.Add(time.Hour)})
	doneAt := time.Date(2026, 12, 1, 10, 30, 0, 250_000_000, tehran)
	if err := as.CompleteTask(ctx(t), done.ID, doneAt); err != nil {
		t.Fatal(err)
	}
	got := listTasks(t, tl, crm.TaskQuery{ContactID: c.ID})
	if len(got) != 2 || got[0].ID != done.ID || got[1].ID != open.ID {
		t.Fatalf("tasks = %v, want [%d %d]", taskIDs(got), done.ID, open.ID)
	}
	if got[0].DoneAt == nil || !got[0].DoneAt.Equal(doneAt) || got[0].DoneAt.Location() != time.UTC ||
		got[0].CallID != "call-7" || got[0].Title != "done" {
		t.Errorf("done task = %+v (done at %v), want done at %v in UTC", got[0], got[0].DoneAt, doneAt.UTC())
	}
	if got[1].DoneAt != nil {
		t.Errorf("open task has DoneAt %v", got[1].DoneAt)
	}
	if open := listTasks(t, tl, crm.TaskQuery{ContactID: c.ID, Open: true}); len(open) != 1 || open[0].Title != "open" {
		t.Errorf("open tasks = %+v", open)
	}
}

func testListTasksPaging(t *testing.T, d *crm.Directory, as crm.ActivityStore, tl crm.TaskLister) {
	c := create(t, d, person("Leila", "Moradi", "09120000001"))
	due := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	// Added in an order unlike the due order, with ties, so that paging by
	// ID alone would skip or repeat tasks.
	var tasks []crm.Task
	for i, h := range []int{5, 1, 3, 1, 0, 4, 3, 2, 6} {
		tasks = append(tasks, addTask(t, as, crm.Task{ContactID: c.ID, Title: fmt.Sprint("task ", i),
			DueAt: due.Add(time.Duration(h) * time.Hour)}))
	}
	all := listTasks(t, tl, crm.TaskQuery{ContactID: c.ID})
	if len(all) != len(tasks) {
		t.Fatalf("%d tasks, want %d", len(all), len(tasks))
	}
	for _, size := range []int{1, 2, 4} {
		var paged []crm.Task
		q := crm.TaskQuery{ContactID: c.ID, Limit: size}
		for range len(tasks) + 1 {
			page := listTasks(t, tl, q)
			if len(page) > size {
				t.Fatalf("page of %d tasks with limit %d", len(page), size)
			}
			paged = append(paged, page...)
			if len(page) < size {
				break
			}
			q.AfterID = page[len(page)-1].ID
		}
		if fmt.Sprint(taskIDs(paged)) != fmt.Sprint(taskIDs(all)) {
			t.Errorf("pages of %d = %v, want %v", size, taskIDs(paged), taskIDs(all))
		}
	}

	// The cursor task may be done between pages: the open listing still
	// carries on from where it stood.
	open := crm.TaskQuery{ContactID: c.ID, Open: true, Limit: 3}
	first := listTasks(t, tl, open)
	if err := as.CompleteTask(ctx(t), first[2].ID, due); err != nil {
		t.Fatal(err)
	}
	open.AfterID = first[2].ID
	open.Limit = 0
	if rest := listTasks(t, tl, open); fmt.Sprint(taskIDs(rest)) != fmt.Sprint(taskIDs(all[3:])) {
		t.Errorf("open tasks after a done cursor = %v, want %v", taskIDs(rest), taskIDs(all[3:]))
	}
	last := all[len(all)-1].ID
	if rest := listTasks(t, tl, crm.TaskQuery{ContactID: c.ID, AfterID: last}); len(rest) != 0 {
		t.Errorf("tasks after the last = %v", taskIDs(rest))
	}
}

func testListTasksLimits(t *testing.T, d *crm.Directory, as crm.ActivityStore, tl crm.TaskLister) {
	c := create(t, d, person("Leila", "Moradi", "09120000001"))
	due := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	const total = crm.MaxListLimit + 3
	for i := range total {
		addTask(t, as, crm.Task{ContactID: c.ID, Title: fmt.Sprint("task ", i), DueAt: due.Add(time.Duration(i) * time.Minute)})
	}
	for _, tc := range []struct{ limit, want int }{
		{0, crm.MaxListLimit}, {-1, crm.MaxListLimit}, {1, 1}, {3, 3},
		{crm.MaxListLimit, crm.MaxListLimit}, {crm.MaxListLimit + 1, crm.MaxListLimit}, {1 << 30, crm.MaxListLimit},
	} {
		got := listTasks(t, tl, crm.TaskQuery{Limit: tc.limit})
		if len(got) != tc.want || got[0].Title != "task 0" {
			t.Errorf("limit %d gave %d tasks, want %d starting with the soonest", tc.limit, len(got), tc.want)
		}
	}
	rest := listTasks(t, tl, crm.TaskQuery{AfterID: listTasks(t, tl, crm.TaskQuery{})[crm.MaxListLimit-1].ID})
	if len(rest) != 3 || rest[2].Title != fmt.Sprint("task ", total-1) {
		t.Errorf("the page after the first full one has %d tasks, want 3", len(rest))
	}
}
