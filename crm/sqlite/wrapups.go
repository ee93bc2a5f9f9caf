package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tamas-cc/tamas/crm"
)

var (
	_ crm.WrapUpStore = (*Store)(nil)
	_ crm.TaskQueue   = (*Store)(nil)
)

// earlyWrapUp is true of a call activity made by a wrap-up finished before
// the call's own record arrived.
const earlyWrapUp = `(details IS NULL AND wrapup IS NOT NULL AND outcome = '')`

// wrapUpStatements are prepared once: an agent's every answer runs them,
// and parsing the SQL each time was a quarter of the work.
type wrapUpStatements struct {
	save, read *sql.Stmt
}

func (s *Store) wrapUpStmts(ctx context.Context) (*wrapUpStatements, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wst != nil {
		return s.wst, nil
	}
	save, err := s.w.PrepareContext(ctx, `INSERT INTO wrapups (call_id, agent, data, updated_at, rev) VALUES (?,?,?,?,1)
		ON CONFLICT (call_id) DO UPDATE SET agent=excluded.agent, data=excluded.data, updated_at=excluded.updated_at,
		rev=wrapups.rev+1 WHERE wrapups.done_at IS NULL AND wrapups.rev = ?`)
	if err != nil {
		return nil, err
	}
	read, err := s.r.PrepareContext(ctx, `SELECT data, rev FROM wrapups WHERE call_id=?`)
	if err != nil {
		save.Close()
		return nil, err
	}
	s.wst = &wrapUpStatements{save: save, read: read}
	return s.wst, nil
}

// SaveWrapUp implements crm.WrapUpStore.
func (s *Store) SaveWrapUp(ctx context.Context, w *crm.WrapUp) error {
	if w.Done() {
		return fmt.Errorf("save wrap-up: %w", &crm.FieldError{Field: "done_at", Reason: "a draft is not done: finish it instead"})
	}
	if err := w.Validate(); err != nil {
		return err
	}
	prev, prevAt := w.Rev, w.UpdatedAt
	w.Rev, w.UpdatedAt = prev+1, time.Now().UTC().Truncate(time.Millisecond)
	data, err := json.Marshal(w)
	if err != nil {
		w.Rev, w.UpdatedAt = prev, prevAt
		return fmt.Errorf("save wrap-up: %w", err)
	}
	st, err := s.wrapUpStmts(ctx)
	if err != nil {
		w.Rev, w.UpdatedAt = prev, prevAt
		return fmt.Errorf("save wrap-up: %w", err)
	}
	res, err := st.save.ExecContext(ctx, w.CallID, w.Agent, string(data), ms(w.UpdatedAt), prev)
	n := int64(0)
	if err == nil {
		n, _ = res.RowsAffected()
	}
	if err != nil || n == 0 {
		w.Rev, w.UpdatedAt = prev, prevAt
	}
	if err != nil {
		return fmt.Errorf("save wrap-up: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("call %s: wrap-up finished or saved meanwhile: %w", w.CallID, crm.ErrConflict)
	}
	return nil
}

// WrapUp implements crm.WrapUpStore.
func (s *Store) WrapUp(ctx context.Context, callID string) (*crm.WrapUp, error) {
	var data string
	var rev int64
	st, err := s.wrapUpStmts(ctx)
	if err != nil {
		return nil, fmt.Errorf("wrap-up: %w", err)
	}
	err = st.read.QueryRowContext(ctx, callID).Scan(&data, &rev)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("wrap-up of call %s: %w", callID, crm.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("wrap-up: %w", err)
	}
	var w crm.WrapUp
	if err := json.Unmarshal([]byte(data), &w); err != nil {
		return nil, fmt.Errorf("wrap-up of call %s: %w", callID, err)
	}
	w.Rev = rev
	return &w, nil
}

// FinishWrapUp implements crm.WrapUpStore.
func (s *Store) FinishWrapUp(ctx context.Context, w *crm.WrapUp) error {
	if !w.Done() {
		return &crm.FieldError{Field: "done_at", Reason: "is required to finish"}
	}
	if err := w.Validate(); err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("finish wrap-up: %w", err)
	}
	defer tx.Rollback()
	var done sql.NullInt64
	var rev int64
	err = tx.QueryRowContext(ctx, `SELECT done_at, rev FROM wrapups WHERE call_id=?`, w.CallID).Scan(&done, &rev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("finish wrap-up: %w", err)
	}
	if done.Valid {
		return fmt.Errorf("call %s: wrap-up already finished: %w", w.CallID, crm.ErrConflict)
	}
	if err == nil && w.Rev != 0 && rev != w.Rev {
		return fmt.Errorf("call %s: wrap-up saved meanwhile: %w", w.CallID, crm.ErrConflict)
	}
	var contact any
	if w.ContactID > 0 {
		if err := liveContact(ctx, tx, w.ContactID); err != nil {
			return err
		}
		contact = w.ContactID
	}
	tasks := slices.Clone(w.Tasks)
	for i := range tasks {
		t := &tasks[i]
		t.ContactID, t.CallID = w.ContactID, w.CallID
		res, err := tx.ExecContext(ctx, `INSERT INTO tasks (contact_id, title, due_at, assignee, created_at, call_id)
			VALUES (?,?,?,?,?,?)`, t.ContactID, t.Title, ms(t.DueAt), t.Assignee, ms(now), t.CallID)
		if err != nil {
			return fmt.Errorf("finish wrap-up: task: %w", err)
		}
		t.ID, _ = res.LastInsertId()
		t.CreatedAt = now
	}
	fin := *w
	fin.Tasks, fin.UpdatedAt, fin.Rev = tasks, now, rev+1
	data, err := json.Marshal(&fin)
	if err != nil {
		return fmt.Errorf("finish wrap-up: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO wrapups (call_id, agent, data, updated_at, done_at, rev) VALUES (?,?,?,?,?,?)
		ON CONFLICT (call_id) DO UPDATE SET agent=excluded.agent, data=excluded.data, updated_at=excluded.updated_at,
		done_at=excluded.done_at, rev=excluded.rev`, w.CallID, w.Agent, string(data), ms(now), ms(w.DoneAt), rev+1); err != nil {
		return fmt.Errorf("finish wrap-up: %w", err)
	}
	res, err := tx.ExecContext(ctx, `UPDATE activities SET contact_id=CASE WHEN ? > 0 THEN ? ELSE contact_id END,
		agent=CASE WHEN agent = '' THEN ? ELSE agent END, disposition=?, body=?, wrapup=?
		WHERE kind='call' AND call_id=? AND call_id <> ''`, w.ContactID, contact, w.Agent, w.Disposition, w.Notes, string(data), w.CallID)
	if err != nil {
		return fmt.Errorf("finish wrap-up: activity: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		// The call's record has not arrived (the call is still on, or its
		// record waits in an outbox): the row starts here.
		if _, err := tx.ExecContext(ctx, `INSERT INTO activities (contact_id, kind, call_id, agent, disposition, body,
			at, created_at, wrapup) VALUES (?,'call',?,?,?,?,?,?,?)`, contact, w.CallID, w.Agent, w.Disposition,
			w.Notes, ms(w.StartedAt), ms(now), string(data)); err != nil {
			return fmt.Errorf("finish wrap-up: activity: %w", err)
		}
	}
	if w.Status != "" && w.ContactID > 0 {
		before := crm.StatusesBefore(w.Status)
		args := []any{string(w.Status), ms(now), w.ContactID}
		for _, b := range before {
			args = append(args, string(b))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE contacts SET status=?, updated_at=? WHERE id=? AND deleted_at IS NULL
			AND status IN (?`+strings.Repeat(",?", len(before)-1)+`)`, args...); err != nil {
			return fmt.Errorf("finish wrap-up: status: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("finish wrap-up: %w", err)
	}
	w.Tasks, w.UpdatedAt, w.Rev = tasks, now, rev+1
	return nil
}

// ClaimDueTasks implements crm.TaskQueue.
func (s *Store) ClaimDueTasks(ctx context.Context, now time.Time, limit int) ([]crm.Task, error) {
	rows, err := s.w.QueryContext(ctx, `UPDATE tasks SET notified_at=? WHERE id IN (SELECT id FROM tasks
		WHERE done_at IS NULL AND notified_at IS NULL AND due_at <= ? ORDER BY due_at, id LIMIT ?)
		RETURNING `+taskCols, ms(now), ms(now), crm.ClampLimit(limit))
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
	err := s.r.QueryRowContext(ctx, `SELECT disposition FROM activities WHERE contact_id=? AND kind='call'
		AND disposition <> '' ORDER BY at DESC, id DESC LIMIT 1`, contactID).Scan(&d)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("last disposition: %w", err)
	}
	return d, nil
}
