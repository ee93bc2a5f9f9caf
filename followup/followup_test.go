package followup_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/sqlite"
	"github.com/tamas-cc/tamas/crm/sqlite/sqlitetest"
	"github.com/tamas-cc/tamas/followup"
	"github.com/tamas-cc/tamas/internal/testkit"
)

// TestMain checks that Run leaves no goroutine behind once stopped.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func newContact(t *testing.T, s *sqlite.Store) int64 {
	t.Helper()
	norm, err := phone.New("IR")
	if err != nil {
		t.Fatal(err)
	}
	c := &crm.Contact{FirstName: "Leila", LastName: "Moradi", Phones: []crm.Phone{{Label: crm.LabelMobile, Raw: "09120000001"}}}
	if err := crm.NewDirectory(s, norm).Create(testCtx(t), c); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func addTask(t *testing.T, s *sqlite.Store, contact int64, title string, due time.Time) crm.Task {
	t.Helper()
	tk := crm.Task{ContactID: contact, Title: title, DueAt: due, Assignee: "ali"}
	if err := s.AddTask(testCtx(t), &tk); err != nil {
		t.Fatal(err)
	}
	return tk
}

// recorder is a Notifier that keeps what it was told.
type recorder struct {
	mu    sync.Mutex
	tasks []crm.Task
}

func (r *recorder) TaskDue(ctx context.Context, t crm.Task) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tasks = append(r.tasks, t)
}

func (r *recorder) titles() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.tasks))
	for i, t := range r.tasks {
		out[i] = t.Title
	}
	return out
}

// clock is a settable Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func tick(t *testing.T, a *followup.Announcer) int {
	t.Helper()
	n, err := a.Tick(testCtx(t))
	if err != nil {
		t.Fatalf("tick: %v", err)
	}
	return n
}

func TestDueTasksAnnouncedOnceInOrder(t *testing.T) {
	s := sqlitetest.New(t)
	c := newContact(t, s)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clk := &clock{now: now}
	addTask(t, s, c, "half an hour ago", now.Add(-30*time.Minute))
	addTask(t, s, c, "in an hour", now.Add(time.Hour))
	addTask(t, s, c, "two hours ago", now.Add(-2*time.Hour))
	addTask(t, s, c, "just now", now)
	addTask(t, s, c, "tomorrow", now.Add(24*time.Hour))
	done := addTask(t, s, c, "done before due", now.Add(-3*time.Hour))
	if err := s.CompleteTask(testCtx(t), done.ID, now.Add(-4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	a := followup.New(followup.Options{Queue: s, Notify: rec, Now: clk.Now})

	if n := tick(t, a); n != 3 {
		t.Fatalf("first tick announced %d, want 3", n)
	}
	want := []string{"two hours ago", "half an hour ago", "just now"}
	if got := rec.titles(); !slices.Equal(got, want) {
		t.Fatalf("announced %q, want %q (soonest due first)", got, want)
	}
	for _, tk := range rec.tasks {
		if tk.ID == 0 || tk.ContactID != c || tk.Assignee != "ali" {
			t.Fatalf("announced task = %+v", tk)
		}
	}
	if n := tick(t, a); n != 0 {
		t.Fatalf("a second tick announced %d again", n)
	}

	// A task done before it falls due is never announced.
	later := addTask(t, s, c, "done later", now.Add(30*time.Minute))
	if err := s.CompleteTask(testCtx(t), later.ID, now); err != nil {
		t.Fatal(err)
	}
	clk.Set(now.Add(59 * time.Minute))
	if n := tick(t, a); n != 0 {
		t.Fatalf("announced %d before the next was due: %q", n, rec.titles())
	}
	clk.Set(now.Add(time.Hour))
	if n := tick(t, a); n != 1 || rec.titles()[3] != "in an hour" {
		t.Fatalf("at its due time: %d announced, %q", n, rec.titles())
	}
	clk.Set(now.Add(48 * time.Hour))
	if n := tick(t, a); n != 1 || rec.titles()[4] != "tomorrow" {
		t.Fatalf("two days on: %d announced, %q", n, rec.titles())
	}
	if got := rec.titles(); slices.Contains(got, "done before due") || slices.Contains(got, "done later") {
		t.Fatalf("a done task was announced: %q", got)
	}
}

func TestRunDrainsABacklogAtOnce(t *testing.T) {
	s := sqlitetest.New(t)
	c := newContact(t, s)
	now := time.Now().UTC()
	const backlog = 7
	for i := range backlog {
		addTask(t, s, c, fmt.Sprint("task ", i), now.Add(-time.Duration(backlog-i)*time.Minute))
	}
	rec := &recorder{}
	// Ticks an hour apart: only draining full batches at once announces all
	// seven within the test.
	a := followup.New(followup.Options{Queue: s, Notify: rec, Every: time.Hour, Batch: 2})
	ctx, cancel := context.WithCancel(testCtx(t))
	stopped := make(chan struct{})
	go func() { defer close(stopped); a.Run(ctx) }()
	defer func() { cancel(); <-stopped }()
	deadline := time.Now().Add(10 * time.Second)
	for len(rec.titles()) < backlog && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	got := rec.titles()
	for i := range backlog {
		if i >= len(got) || got[i] != fmt.Sprint("task ", i) {
			t.Fatalf("announced %q, want task 0 to task %d in order", got, backlog-1)
		}
	}
}

func TestTwoAnnouncersShareTheWork(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	s1 := sqlitetest.Open(t, path)
	s2 := sqlitetest.Open(t, path)
	c := newContact(t, s1)
	now := time.Now().UTC()
	const due = 40
	for i := range due {
		addTask(t, s1, c, fmt.Sprint("task ", i), now.Add(-time.Duration(i)*time.Second))
	}
	addTask(t, s2, c, "not yet", now.Add(time.Hour))
	recs := []*recorder{{}, {}}
	var wg sync.WaitGroup
	for i, s := range []*sqlite.Store{s1, s2} {
		a := followup.New(followup.Options{Queue: s, Notify: recs[i], Batch: 3})
		wg.Go(func() {
			for {
				n, err := a.Tick(testCtx(t))
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for _, r := range recs {
		for _, title := range r.titles() {
			seen[title]++
		}
	}
	if len(seen) != due {
		t.Errorf("%d distinct tasks announced, want %d", len(seen), due)
	}
	for title, n := range seen {
		if n != 1 || title == "not yet" {
			t.Errorf("%q announced %d times", title, n)
		}
	}
}

// swapQueue lets a test put a working database behind an announcer that
// has been failing.
type swapQueue struct {
	mu sync.Mutex
	q  crm.TaskQueue
}

func (s *swapQueue) set(q crm.TaskQueue) {
	s.mu.Lock()
	s.q = q
	s.mu.Unlock()
}

func (s *swapQueue) ClaimDueTasks(ctx context.Context, now time.Time, limit int) ([]crm.Task, error) {
	s.mu.Lock()
	q := s.q
	s.mu.Unlock()
	return q.ClaimDueTasks(ctx, now, limit)
}

func TestClosedDatabase(t *testing.T) {
	closed := sqlitetest.New(t)
	c := newContact(t, closed)
	addTask(t, closed, c, "lost with the database", time.Now().Add(-time.Minute))
	closed.Close()

	rec := &recorder{}
	a := followup.New(followup.Options{Queue: closed, Notify: rec})
	if n, err := a.Tick(testCtx(t)); err == nil || n != 0 {
		t.Fatalf("tick on a closed database: %d, %v", n, err)
	}

	var logs testkit.SyncBuffer
	q := &swapQueue{q: closed}
	a = followup.New(followup.Options{Queue: q, Notify: rec, Every: 10 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx, cancel := context.WithCancel(testCtx(t))
	stopped := make(chan struct{})
	go func() { defer close(stopped); a.Run(ctx) }()
	defer func() { cancel(); <-stopped }()

	waitFor(t, "three failed ticks logged", func() bool {
		return strings.Count(logs.String(), "announcing due follow-ups failed") >= 3
	})
	select {
	case <-stopped:
		t.Fatal("Run stopped on a database error")
	default:
	}
	open := sqlitetest.New(t)
	oc := newContact(t, open)
	addTask(t, open, oc, "after the outage", time.Now().Add(-time.Minute))
	q.set(open)
	waitFor(t, "the task announced once the database is back", func() bool {
		return slices.Equal(rec.titles(), []string{"after the outage"})
	})
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop when its context ended")
	}
}

func TestNotifierPanic(t *testing.T) {
	s := sqlitetest.New(t)
	c := newContact(t, s)
	now := time.Now().UTC()
	addTask(t, s, c, "first", now.Add(-2*time.Minute))
	addTask(t, s, c, "second", now.Add(-time.Minute))
	rec := &recorder{}
	calls := 0
	a := followup.New(followup.Options{Queue: s, Notify: notifyFunc(func(ctx context.Context, tk crm.Task) {
		if calls++; calls == 1 {
			panic("notifier bug")
		}
		rec.TaskDue(ctx, tk)
	})})
	if n := tick(t, a); n != 2 || !slices.Equal(rec.titles(), []string{"second"}) {
		t.Fatalf("after a panicking notifier: %d claimed, %q announced", n, rec.titles())
	}
}

type notifyFunc func(ctx context.Context, t crm.Task)

func (f notifyFunc) TaskDue(ctx context.Context, t crm.Task) { f(ctx, t) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
