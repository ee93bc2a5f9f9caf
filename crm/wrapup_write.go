package crm

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// The rules of writing a wrap-up live here, once; each store supplies only
// the statements (see [DraftSave] and [FinishTx]).

// DraftSave is one save of a wrap-up draft between [WrapUp.BeginSave] and
// [DraftSave.End]: the copy raised to its next revision and encoded.
type DraftSave struct {
	w      *WrapUp
	prev   int64
	prevAt time.Time
	// Data is the draft as the store keeps it: the copy at its new
	// revision, as JSON.
	Data []byte
}

// BeginSave checks w as a draft, raises it to its next revision stamped
// now (at the store's precision), and encodes it. The store then writes
// Data unless its stored draft is finished or at another revision than
// PrevRev, and reports what happened to End.
func (w *WrapUp) BeginSave(now time.Time) (*DraftSave, error) {
	if w.Done() {
		return nil, fmt.Errorf("save wrap-up: %w", &FieldError{Field: "done_at", Reason: "a draft is not done: finish it instead"})
	}
	if err := w.Validate(); err != nil {
		return nil, err
	}
	d := &DraftSave{w: w, prev: w.Rev, prevAt: w.UpdatedAt}
	w.Rev, w.UpdatedAt = d.prev+1, now
	data, err := json.Marshal(w)
	if err != nil {
		return nil, d.End(false, err)
	}
	d.Data = data
	return d, nil
}

// PrevRev is the revision the stored draft must be at for the save to
// apply (0: a new draft, which must not exist yet).
func (d *DraftSave) PrevRev() int64 { return d.prev }

// End settles the save: written reports whether the store wrote the row,
// err is the store's own error. Unless written, the copy gets its old
// revision back, and End returns the error for the caller: err, or one
// wrapping ErrConflict when the store refused the write.
func (d *DraftSave) End(written bool, err error) error {
	if written && err == nil {
		return nil
	}
	d.w.Rev, d.w.UpdatedAt = d.prev, d.prevAt
	if err != nil {
		return fmt.Errorf("save wrap-up: %w", err)
	}
	return fmt.Errorf("call %s: wrap-up finished or saved meanwhile: %w", d.w.CallID, ErrConflict)
}

// DecodeWrapUp reads a wrap-up as a store keeps it: data is its JSON, rev
// the stored revision (kept in its own column, as saves raise it there).
func DecodeWrapUp(callID string, data []byte, rev int64) (*WrapUp, error) {
	var w WrapUp
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("wrap-up of call %s: %w", callID, err)
	}
	w.Rev = rev
	return &w, nil
}

// StoredWrapUp is what a store holds of a call's wrap-up when it is
// finished.
type StoredWrapUp struct {
	// Found is false when nothing is stored for the call yet.
	Found bool
	Done  bool
	Rev   int64
}

// FinishTx is a store's side of [FinishWrapUp]: the statements of the one
// transaction a finish is, called in the order they are declared here.
type FinishTx interface {
	// LockWrapUp reads the call's stored wrap-up and holds it until the
	// transaction ends, so that two finishes of one call serialise and the
	// second sees the first. A store may create an empty row to lock (as
	// agent, at now); it then reports the row as found.
	LockWrapUp(ctx context.Context, callID, agent string, now time.Time) (StoredWrapUp, error)
	// LiveContact returns an error wrapping ErrNotFound (see
	// [ContactNotFound]) unless the contact exists and is not deleted.
	LiveContact(ctx context.Context, id int64) error
	// AddTask inserts a follow-up whose every field but ID is set, and
	// sets its ID.
	AddTask(ctx context.Context, t *Task) error
	// PutWrapUp stores fin as finished: data is its JSON, fin.Rev the new
	// revision, fin.UpdatedAt now.
	PutWrapUp(ctx context.Context, fin *WrapUp, data []byte) error
	// PutCallActivity writes the finished wrap-up onto the call's activity:
	// the contact (when fin has one), the agent (when the activity has
	// none), disposition, notes (the body) and data. When the call's
	// record has not arrived yet (the call is still on, or its record waits
	// in an outbox) it creates the activity, at fin.StartedAt and created
	// at fin.UpdatedAt; [ActivityStore.AddActivity] fills it in later.
	PutCallActivity(ctx context.Context, fin *WrapUp, data []byte) error
	// MoveStatus sets the status of a live contact to to, at at, if its
	// status is one of from; otherwise it leaves the contact alone.
	MoveStatus(ctx context.Context, contactID int64, to Status, from []Status, at time.Time) error
	Commit(ctx context.Context) error
	// Rollback ends the transaction unless it was committed; an error
	// after a commit is ignored.
	Rollback(ctx context.Context) error
}

// FinishWrapUp is [WrapUpStore.FinishWrapUp] for a store that supplies
// its statements: it checks w, begins a transaction, writes the wrap-up,
// its follow-ups, the call's activity and the contact's status, commits,
// and only then updates w (its follow-ups' IDs, UpdatedAt = now, Rev).
// now is the finish time at the store's precision.
func FinishWrapUp(ctx context.Context, w *WrapUp, now time.Time, begin func(context.Context) (FinishTx, error)) error {
	if !w.Done() {
		return &FieldError{Field: "done_at", Reason: "is required to finish"}
	}
	if err := w.Validate(); err != nil {
		return err
	}
	tx, err := begin(ctx)
	if err != nil {
		return fmt.Errorf("finish wrap-up: %w", err)
	}
	defer tx.Rollback(ctx)
	stored, err := tx.LockWrapUp(ctx, w.CallID, w.Agent, now)
	if err != nil {
		return fmt.Errorf("finish wrap-up: %w", err)
	}
	if err := finishable(w, stored); err != nil {
		return err
	}
	if w.ContactID > 0 {
		if err := tx.LiveContact(ctx, w.ContactID); err != nil {
			return err
		}
	}
	fin := *w
	fin.Tasks, fin.UpdatedAt, fin.Rev = slices.Clone(w.Tasks), now, stored.Rev+1
	for i := range fin.Tasks {
		t := &fin.Tasks[i]
		t.ContactID, t.CallID, t.CreatedAt = w.ContactID, w.CallID, now
		if err := tx.AddTask(ctx, t); err != nil {
			return fmt.Errorf("finish wrap-up: task: %w", err)
		}
	}
	data, err := json.Marshal(&fin)
	if err != nil {
		return fmt.Errorf("finish wrap-up: %w", err)
	}
	if err := tx.PutWrapUp(ctx, &fin, data); err != nil {
		return fmt.Errorf("finish wrap-up: %w", err)
	}
	if err := tx.PutCallActivity(ctx, &fin, data); err != nil {
		return fmt.Errorf("finish wrap-up: activity: %w", err)
	}
	if w.Status != "" && w.ContactID > 0 {
		if err := tx.MoveStatus(ctx, w.ContactID, w.Status, StatusesBefore(w.Status), now); err != nil {
			return fmt.Errorf("finish wrap-up: status: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("finish wrap-up: %w", err)
	}
	w.Tasks, w.UpdatedAt, w.Rev = fin.Tasks, now, fin.Rev
	return nil
}

// finishable refuses a second finish, and one from a copy older than the
// stored draft. A copy at revision 0 was never saved: it finishes whatever
// the draft holds.
func finishable(w *WrapUp, stored StoredWrapUp) error {
	if stored.Done {
		return fmt.Errorf("call %s: wrap-up already finished: %w", w.CallID, ErrConflict)
	}
	if stored.Found && w.Rev != 0 && stored.Rev != w.Rev {
		return fmt.Errorf("call %s: wrap-up saved meanwhile: %w", w.CallID, ErrConflict)
	}
	return nil
}
