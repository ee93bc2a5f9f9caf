package crm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm"
)

var (
	started = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	stamp   = time.Date(2026, 11, 22, 9, 5, 0, 0, time.UTC)
)

func draft() *crm.WrapUp {
	return &crm.WrapUp{CallID: "c1", ContactID: 7, Agent: "ali", Script: "inbound-sales", Step: "need",
		Answers: json.RawMessage(`{"need":{"text":"a fleet"}}`), StartedAt: started}
}

func TestBeginSaveRaisesTheRevision(t *testing.T) {
	w := draft()
	w.Rev = 3
	save, err := w.BeginSave(stamp)
	if err != nil {
		t.Fatal(err)
	}
	if save.PrevRev() != 3 || w.Rev != 4 || !w.UpdatedAt.Equal(stamp) {
		t.Fatalf("prev %d, rev %d, updated %v", save.PrevRev(), w.Rev, w.UpdatedAt)
	}
	var stored crm.WrapUp
	if err := json.Unmarshal(save.Data, &stored); err != nil {
		t.Fatal(err)
	}
	if stored.Rev != 4 || stored.Step != "need" || !stored.UpdatedAt.Equal(stamp) {
		t.Fatalf("stored %+v", stored)
	}
	if err := save.End(true, nil); err != nil || w.Rev != 4 {
		t.Fatalf("a written save: %v, rev %d", err, w.Rev)
	}
}

func TestDraftSaveEndPutsTheCopyBack(t *testing.T) {
	before := started.Add(time.Minute)
	for _, c := range []struct {
		name     string
		err      error
		conflict bool
	}{{"refused", nil, true}, {"failed", errors.New("disk full"), false}} {
		t.Run(c.name, func(t *testing.T) {
			w := draft()
			w.Rev, w.UpdatedAt = 2, before
			save, err := w.BeginSave(stamp)
			if err != nil {
				t.Fatal(err)
			}
			err = save.End(false, c.err)
			if err == nil || errors.Is(err, crm.ErrConflict) != c.conflict || (c.err != nil && !errors.Is(err, c.err)) {
				t.Fatalf("End: %v", err)
			}
			if w.Rev != 2 || !w.UpdatedAt.Equal(before) {
				t.Fatalf("the copy kept rev %d, updated %v", w.Rev, w.UpdatedAt)
			}
		})
	}
}

func TestBeginSaveRefuses(t *testing.T) {
	done := draft()
	done.DoneAt, done.Disposition = stamp, "sale"
	bad := draft()
	bad.Answers = json.RawMessage(`[1]`)
	for name, w := range map[string]*crm.WrapUp{"done_at": done, "answers": bad} {
		if _, err := w.BeginSave(stamp); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
		if w.Rev != 0 || !w.UpdatedAt.IsZero() {
			t.Errorf("%s: a refused save changed the copy: rev %d", name, w.Rev)
		}
	}
}

func TestDecodeWrapUp(t *testing.T) {
	w, err := crm.DecodeWrapUp("c1", []byte(`{"call_id":"c1","step":"need","rev":1}`), 5)
	if err != nil || w.Step != "need" || w.Rev != 5 {
		t.Fatalf("%+v %v", w, err)
	}
	if _, err := crm.DecodeWrapUp("c1", []byte(`{`), 5); err == nil || !strings.Contains(err.Error(), "c1") {
		t.Fatalf("broken JSON: %v", err)
	}
}

// fakeFinish records the statements a finish runs; fail names one to fail.
type fakeFinish struct {
	stored    crm.StoredWrapUp
	live      bool
	fail      string
	calls     []string
	tasks     []crm.Task
	wrapUp    *crm.WrapUp
	data      []byte
	moved     []crm.Status
	committed bool
}

func (f *fakeFinish) step(name string) error {
	f.calls = append(f.calls, name)
	if f.fail == name {
		return fmt.Errorf("%s failed", name)
	}
	return nil
}

func (f *fakeFinish) LockWrapUp(_ context.Context, callID, agent string, now time.Time) (crm.StoredWrapUp, error) {
	if callID != "c1" || agent != "ali" || !now.Equal(stamp) {
		return crm.StoredWrapUp{}, fmt.Errorf("lock %s %s %v", callID, agent, now)
	}
	return f.stored, f.step("lock")
}

func (f *fakeFinish) LiveContact(_ context.Context, id int64) error {
	if err := f.step("contact"); err != nil {
		return err
	}
	if !f.live {
		return crm.ContactNotFound(id)
	}
	return nil
}

func (f *fakeFinish) AddTask(_ context.Context, t *crm.Task) error {
	if err := f.step("task"); err != nil {
		return err
	}
	t.ID = int64(100 + len(f.tasks))
	f.tasks = append(f.tasks, *t)
	return nil
}

func (f *fakeFinish) PutWrapUp(_ context.Context, fin *crm.WrapUp, data []byte) error {
	f.wrapUp, f.data = fin, data
	return f.step("wrapup")
}

func (f *fakeFinish) PutCallActivity(_ context.Context, fin *crm.WrapUp, data []byte) error {
	if string(data) != string(f.data) {
		return errors.New("the activity gets other data than the wrap-up")
	}
	return f.step("activity")
}

func (f *fakeFinish) MoveStatus(_ context.Context, id int64, to crm.Status, from []crm.Status, at time.Time) error {
	if id != 7 || !at.Equal(stamp) {
		return fmt.Errorf("move %d at %v", id, at)
	}
	f.moved = append([]crm.Status{to}, from...)
	return f.step("status")
}

func (f *fakeFinish) Commit(context.Context) error {
	if err := f.step("commit"); err != nil {
		return err
	}
	f.committed = true
	return nil
}

func (f *fakeFinish) Rollback(context.Context) error {
	f.calls = append(f.calls, "rollback")
	return nil
}

func (f *fakeFinish) finish(w *crm.WrapUp) error {
	return crm.FinishWrapUp(context.Background(), w, stamp, func(context.Context) (crm.FinishTx, error) {
		f.calls = append(f.calls, "begin")
		return f, nil
	})
}

func finished() *crm.WrapUp {
	w := draft()
	w.Rev, w.DoneAt, w.Disposition, w.Notes, w.Status = 2, stamp, "callback", "wants a demo", crm.StatusQualified
	w.Tasks = []crm.Task{{Title: "Call back", DueAt: stamp.Add(48 * time.Hour)}}
	return w
}

func TestFinishWrapUp(t *testing.T) {
	f := &fakeFinish{stored: crm.StoredWrapUp{Found: true, Rev: 2}, live: true}
	w := finished()
	if err := f.finish(w); err != nil {
		t.Fatal(err)
	}
	want := "begin lock contact task wrapup activity status commit rollback"
	if got := strings.Join(f.calls, " "); got != want {
		t.Fatalf("statements %q, want %q", got, want)
	}
	if len(f.tasks) != 1 || f.tasks[0].ContactID != 7 || f.tasks[0].CallID != "c1" || !f.tasks[0].CreatedAt.Equal(stamp) {
		t.Fatalf("follow-up written %+v", f.tasks)
	}
	if f.wrapUp.Rev != 3 || !f.wrapUp.UpdatedAt.Equal(stamp) || f.wrapUp.Tasks[0].ID != 100 {
		t.Fatalf("wrap-up written %+v", f.wrapUp)
	}
	var stored crm.WrapUp
	if err := json.Unmarshal(f.data, &stored); err != nil || stored.Rev != 3 || len(stored.Tasks) != 1 ||
		stored.Tasks[0].ID != 100 || stored.Disposition != "callback" {
		t.Fatalf("stored JSON %s (%v)", f.data, err)
	}
	if fmt.Sprint(f.moved) != "[qualified lead inactive]" {
		t.Fatalf("status move %v", f.moved)
	}
	if w.Rev != 3 || !w.UpdatedAt.Equal(stamp) || w.Tasks[0].ID != 100 || w.Tasks[0].CallID != "c1" {
		t.Fatalf("the copy after the finish: %+v", w)
	}
}

func TestFinishWrapUpWithoutContact(t *testing.T) {
	f := &fakeFinish{}
	w := finished()
	w.ContactID, w.Tasks = 0, nil
	if err := f.finish(w); err != nil {
		t.Fatal(err)
	}
	// No contact to check, no status to move.
	if got := strings.Join(f.calls, " "); got != "begin lock wrapup activity commit rollback" {
		t.Fatalf("statements %q", got)
	}
}

func TestFinishWrapUpRefuses(t *testing.T) {
	for _, c := range []struct {
		name     string
		f        fakeFinish
		edit     func(*crm.WrapUp)
		conflict bool
		notFound bool
		field    string
		calls    string
	}{
		{name: "not done", edit: func(w *crm.WrapUp) { w.DoneAt = time.Time{} }, field: "done_at"},
		{name: "invalid", edit: func(w *crm.WrapUp) { w.Disposition = "" }, field: "disposition"},
		{name: "finished already", f: fakeFinish{stored: crm.StoredWrapUp{Found: true, Done: true, Rev: 2}},
			conflict: true, calls: "begin lock rollback"},
		{name: "stale copy", f: fakeFinish{stored: crm.StoredWrapUp{Found: true, Rev: 5}}, conflict: true,
			calls: "begin lock rollback"},
		{name: "contact gone", f: fakeFinish{stored: crm.StoredWrapUp{Found: true, Rev: 2}}, notFound: true,
			calls: "begin lock contact rollback"},
		{name: "task fails", f: fakeFinish{stored: crm.StoredWrapUp{Found: true, Rev: 2}, live: true, fail: "task"},
			calls: "begin lock contact task rollback"},
		{name: "activity fails", f: fakeFinish{stored: crm.StoredWrapUp{Found: true, Rev: 2}, live: true, fail: "activity"},
			calls: "begin lock contact task wrapup activity rollback"},
		{name: "commit fails", f: fakeFinish{stored: crm.StoredWrapUp{Found: true, Rev: 2}, live: true, fail: "commit"},
			calls: "begin lock contact task wrapup activity status commit rollback"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := finished()
			if c.edit != nil {
				c.edit(w)
			}
			before := *w
			before.Tasks = slices.Clone(w.Tasks)
			f := c.f
			err := f.finish(w)
			if err == nil {
				t.Fatal("finished")
			}
			if errors.Is(err, crm.ErrConflict) != c.conflict || errors.Is(err, crm.ErrNotFound) != c.notFound {
				t.Fatalf("error %v", err)
			}
			if fe, ok := errors.AsType[*crm.FieldError](err); (c.field != "") != ok || (ok && fe.Field != c.field) {
				t.Fatalf("error %v, want a field error on %q", err, c.field)
			}
			if got := strings.Join(f.calls, " "); got != c.calls {
				t.Fatalf("statements %q, want %q", got, c.calls)
			}
			if f.committed || w.Rev != before.Rev || !w.UpdatedAt.Equal(before.UpdatedAt) || w.Tasks[0].ID != 0 ||
				w.Tasks[0].CallID != "" {
				t.Fatalf("a refused finish changed the copy: %+v", w)
			}
		})
	}
}

// A copy never saved (revision 0) finishes whatever the draft holds; a
// saved one only when nothing is stored or the draft is at its revision.
func TestFinishWrapUpRevisions(t *testing.T) {
	for _, c := range []struct {
		rev    int64
		stored crm.StoredWrapUp
		ok     bool
	}{
		{0, crm.StoredWrapUp{}, true},
		{0, crm.StoredWrapUp{Found: true, Rev: 4}, true},
		{4, crm.StoredWrapUp{Found: true, Rev: 4}, true},
		{3, crm.StoredWrapUp{Found: true, Rev: 4}, false},
		{3, crm.StoredWrapUp{}, true},
		{0, crm.StoredWrapUp{Found: true, Done: true}, false},
	} {
		f := &fakeFinish{stored: c.stored, live: true}
		w := finished()
		w.Rev = c.rev
		err := f.finish(w)
		if (err == nil) != c.ok {
			t.Errorf("copy at %d, stored %+v: %v", c.rev, c.stored, err)
		}
		if err == nil && w.Rev != c.stored.Rev+1 {
			t.Errorf("copy at %d, stored %+v: finished at rev %d", c.rev, c.stored, w.Rev)
		}
	}
}

func TestStatusesBeforeMoveForwardOnly(t *testing.T) {
	for to, want := range map[crm.Status]string{
		crm.StatusLead:      "[inactive]",
		crm.StatusQualified: "[lead inactive]",
		crm.StatusCustomer:  "[lead qualified inactive]",
		crm.StatusInactive:  "[lead qualified customer]",
	} {
		if got := fmt.Sprint(crm.StatusesBefore(to)); got != want {
			t.Errorf("to %s from %s, want %s", to, got, want)
		}
	}
}
