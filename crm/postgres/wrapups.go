package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tamas-cc/tamas/crm"
)

var (
	_ crm.WrapUpStore = (*Store)(nil)
	_ crm.TaskQueue   = (*Store)(nil)
)

// earlyWrapUp is true of a call activity made by a wrap-up finished before
// the call's own record arrived.
const earlyWrapUp = `(activities.details IS NULL AND activities.wrapup IS NOT NULL AND activities.outcome = '')`

// SaveWrapUp implements crm.WrapUpStore.
func (s *Store) SaveWrapUp(ctx context.Context, w *crm.WrapUp) error {
	if w.Done() {
		return fmt.Errorf("save wrap-up: %w", &crm.FieldError{Field: "done_at", Reason: "a draft is not done: finish it instead"})
	}
	if err := w.Validate(); err != nil {
		return err
	}
	prev, prevAt := w.Rev, w.UpdatedAt
	w.Rev, w.UpdatedAt = prev+1, time.Now().UTC().Truncate(time.Microsecond)
	data, err := json.Marshal(w)
	if err != nil {
		w.Rev, w.UpdatedAt = prev, prevAt
		return fmt.Errorf("save wrap-up: %w", err)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO wrapups (call_id, agent, data, updated_at, rev) VALUES ($1,$2,$3,$4,1)
		ON CONFLICT (call_id) DO UPDATE SET agent=excluded.agent, data=excluded.data, updated_at=excluded.updated_at,
		rev=wrapups.rev+1 WHERE wrapups.done_at IS NULL AND wrapups.rev = $5`,
		w.CallID, w.Agent, string(data), w.UpdatedAt, prev)
	if err != nil || tag.RowsAffected() == 0 {
		w.Rev, w.UpdatedAt = prev, prevAt
	}
	if err != nil {
		return fmt.Errorf("save wrap-up: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("call %s: wrap-up finished or saved meanwhile: %w", w.CallID, crm.ErrConflict)
	}
	return nil
}

// WrapUp implements crm.WrapUpStore.
func (s *Store) WrapUp(ctx context.Context, callID string) (*crm.WrapUp, error) {
	var data []byte
	var rev int64
	err := s.pool.QueryRow(ctx, `SELECT data::text, rev FROM wrapups WHERE call_id=$1`, callID).Scan(&data, &rev)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("wrap-up of call %s: %w", callID, crm.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("wrap-up: %w", err)
	}
	var w crm.WrapUp
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("wrap-up of call %s: %w", callID, err)
	}
	w.Rev = rev
	return &w, nil
}

// FinishWrapUp implements crm.WrapUpStore. The wrap-up row is locked first,
// so two finishes of one call (two tabs, two nodes) serialise and the
// second sees the first.
func (s *Store) FinishWrapUp(ctx context.Context, w *crm.WrapUp) error {
	if !w.Done() {
		return &crm.FieldError{Field: "done_at", Reason: "is required to finish"}
	}
	if err := w.Validate(); err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("finish wrap-up: %w", err)
	}
	defer tx.Rollback(ctx)
	var done *time.Time
	var rev int64
	if _, err := tx.Exec(ctx, `INSERT INTO wrapups (call_id, agent, data, updated_at) VALUES ($1,$2,'{}',$3)
		ON CONFLICT (call_id) DO NOTHING`, w.CallID, w.Agent, now); err != nil {
		return fmt.Errorf("finish wrap-up: %w", err)
	}
	if err := tx.QueryRow(ctx, `SELECT done_at, rev FROM wrapups WHERE call_id=$1 FOR UPDATE`, w.CallID).Scan(&done, &rev); err != nil {
		return fmt.Errorf("finish wrap-up: %w", err)
	}
	if done != nil {
		return fmt.Errorf("call %s: wrap-up already finished: %w", w.CallID, crm.ErrConflict)
	}
	if w.Rev != 0 && rev != w.Rev {
		return fmt.Errorf("call %s: wrap-up saved meanwhile: %w", w.CallID, crm.ErrConflict)
	}
	var contact *int64
	if w.ContactID > 0 {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM contacts WHERE id=$1 AND deleted_at IS NULL`, w.ContactID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("contact %d: %w", w.ContactID, crm.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("finish wrap-up: %w", err)
		}
		contact = &w.ContactID
	}
	tasks := slices.Clone(w.Tasks)
	for i := range tasks {
		t := &tasks[i]
		t.ContactID, t.CallID, t.CreatedAt = w.ContactID, w.CallID, now
		if err := tx.QueryRow(ctx, `INSERT INTO tasks (contact_id, title, due_at, assignee, created_at, call_id)
			VALUES ($1,$2,$3,$4,$5,$6) RETURNING id`, t.ContactID, t.Title, t.DueAt.UTC(), t.Assignee, now,
			t.CallID).Scan(&t.ID); err != nil {
			return fmt.Errorf("finish wrap-up: task: %w", err)
		}
	}
	fin := *w
	fin.Tasks, fin.UpdatedAt, fin.Rev = tasks, now, rev+1
	data, err := json.Marshal(&fin)
	if err != nil {
		return fmt.Errorf("finish wrap-up: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE wrapups SET agent=$2, data=$3, updated_at=$4, done_at=$5, rev=$6 WHERE call_id=$1`,
		w.CallID, w.Agent, string(data), now, w.DoneAt.UTC(), rev+1); err != nil {
		return fmt.Errorf("finish wrap-up: %w", err)
	}
	// One statement, so a call record arriving at the same moment either
	// finds this row or makes the one this updates.
	if _, err := tx.Exec(ctx, `INSERT INTO activities (contact_id, kind, call_id, agent, disposition, body, at,
			created_at, wrapup) VALUES ($1,'call',$2,$3,$4,$5,$6,$7,$8::jsonb)
		ON CONFLICT (call_id) WHERE kind = 'call' AND call_id <> '' DO UPDATE
		SET contact_id=coalesce(excluded.contact_id, activities.contact_id),
			agent=CASE WHEN activities.agent = '' THEN excluded.agent ELSE activities.agent END,
			disposition=excluded.disposition, body=excluded.body, wrapup=excluded.wrapup`,
		contact, w.CallID, w.Agent, w.Disposition, w.Notes, w.StartedAt.UTC(), now, string(data)); err != nil {
		return fmt.Errorf("finish wrap-up: activity: %w", err)
	}
	if w.Status != "" && w.ContactID > 0 {
		before := make([]string, 0, 3)
		for _, b := range crm.StatusesBefore(w.Status) {
			before = append(before, string(b))
		}
		if _, err := tx.Exec(ctx, `UPDATE contacts SET status=$1, updated_at=$2 WHERE id=$3 AND deleted_at IS NULL
			AND status = ANY($4)`, string(w.Status), now, w.ContactID, before); err != nil {
			return fmt.Errorf("finish wrap-up: status: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("finish wrap-up: %w", err)
	}
	w.Tasks, w.UpdatedAt, w.Rev = tasks, now, rev+1
	return nil
}

// ClaimDueTasks implements crm.TaskQueue. SKIP LOCKED lets several nodes
// claim at once without waiting on each other or taking the same task.
func (s *Store) ClaimDueTasks(ctx context.Context, now time.Time, limit int) ([]crm.Task, error) {
	rows, err := s.pool.Query(ctx, `UPDATE tasks SET notified_at=$1 WHERE id IN (SELECT id FROM tasks
		WHERE done_at IS NULL AND notified_at IS NULL AND due_at <= $1 ORDER BY due_at, id LIMIT $2
		FOR UPDATE SKIP LOCKED) RETURNING `+taskCols, now.UTC(), crm.ClampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("due tasks: %w", err)
	}
	out, err := collectTasks(rows)
	slices.SortFunc(out, func(a, b crm.Task) int {
		if c := a.DueAt.Compare(b.DueAt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	return out, err
}

// LastDisposition implements crm.LastDispositioner.
func (s *Store) LastDisposition(ctx context.Context, contactID int64) (string, error) {
	var d string
	err := s.pool.QueryRow(ctx, `SELECT disposition FROM activities WHERE contact_id=$1 AND kind='call'
		AND disposition <> '' ORDER BY at DESC, id DESC LIMIT 1`, contactID).Scan(&d)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("last disposition: %w", err)
	}
	return d, nil
}
