package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
	save, err := w.BeginSave(now())
	if err != nil {
		return err
	}
	st, err := s.wrapUpStmts(ctx)
	if err != nil {
		return save.End(false, err)
	}
	res, err := st.save.ExecContext(ctx, w.CallID, w.Agent, string(save.Data), ms(w.UpdatedAt), save.PrevRev())
	n := int64(0)
	if err == nil {
		n, _ = res.RowsAffected()
	}
	return save.End(n > 0, err)
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
	return crm.DecodeWrapUp(callID, []byte(data), rev)
}

// FinishWrapUp implements crm.WrapUpStore. The single writer connection
// serialises finishes: the wrap-up row needs no lock.
func (s *Store) FinishWrapUp(ctx context.Context, w *crm.WrapUp) error {
	return crm.FinishWrapUp(ctx, w, now(), func(ctx context.Context) (crm.FinishTx, error) {
		tx, err := s.w.BeginTx(ctx, nil)
		return finishTx{tx}, err
	})
}

// finishTx is the statements of FinishWrapUp.
type finishTx struct{ tx *sql.Tx }

func (f finishTx) LockWrapUp(ctx context.Context, callID, _ string, _ time.Time) (crm.StoredWrapUp, error) {
	var done sql.NullInt64
	var rev int64
	err := f.tx.QueryRowContext(ctx, `SELECT done_at, rev FROM wrapups WHERE call_id=?`, callID).Scan(&done, &rev)
	if errors.Is(err, sql.ErrNoRows) {
		return crm.StoredWrapUp{}, nil
	}
	return crm.StoredWrapUp{Found: true, Done: done.Valid, Rev: rev}, err
}

func (f finishTx) LiveContact(ctx context.Context, id int64) error { return liveContact(ctx, f.tx, id) }

func (f finishTx) AddTask(ctx context.Context, t *crm.Task) error {
	res, err := f.tx.ExecContext(ctx, `INSERT INTO tasks (contact_id, title, due_at, assignee, created_at, call_id)
		VALUES (?,?,?,?,?,?)`, t.ContactID, t.Title, ms(t.DueAt), t.Assignee, ms(t.CreatedAt), t.CallID)
	if err == nil {
		t.ID, err = res.LastInsertId()
	}
	return err
}

func (f finishTx) PutWrapUp(ctx context.Context, fin *crm.WrapUp, data []byte) error {
	_, err := f.tx.ExecContext(ctx, `INSERT INTO wrapups (call_id, agent, data, updated_at, done_at, rev) VALUES (?,?,?,?,?,?)
		ON CONFLICT (call_id) DO UPDATE SET agent=excluded.agent, data=excluded.data, updated_at=excluded.updated_at,
		done_at=excluded.done_at, rev=excluded.rev`, fin.CallID, fin.Agent, string(data), ms(fin.UpdatedAt),
		ms(fin.DoneAt), fin.Rev)
	return err
}

func (f finishTx) PutCallActivity(ctx context.Context, fin *crm.WrapUp, data []byte) error {
	var contact any // NULL: a call from nobody in the CRM
	if fin.ContactID > 0 {
		contact = fin.ContactID
	}
	res, err := f.tx.ExecContext(ctx, `UPDATE activities SET contact_id=coalesce(?, contact_id),
		agent=CASE WHEN agent = '' THEN ? ELSE agent END, disposition=?, body=?, wrapup=?
		WHERE kind='call' AND call_id=? AND call_id <> ''`, contact, fin.Agent, fin.Disposition, fin.Notes,
		string(data), fin.CallID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	_, err = f.tx.ExecContext(ctx, `INSERT INTO activities (contact_id, kind, call_id, agent, disposition, body,
		at, created_at, wrapup) VALUES (?,'call',?,?,?,?,?,?,?)`, contact, fin.CallID, fin.Agent, fin.Disposition,
		fin.Notes, ms(fin.StartedAt), ms(fin.UpdatedAt), string(data))
	return err
}

func (f finishTx) MoveStatus(ctx context.Context, id int64, to crm.Status, from []crm.Status, at time.Time) error {
	args := []any{string(to), ms(at), id}
	for _, s := range from {
		args = append(args, string(s))
	}
	_, err := f.tx.ExecContext(ctx, `UPDATE contacts SET status=?, updated_at=? WHERE id=? AND deleted_at IS NULL
		AND status IN (?`+strings.Repeat(",?", len(from)-1)+`)`, args...)
	return err
}

func (f finishTx) Commit(context.Context) error   { return f.tx.Commit() }
func (f finishTx) Rollback(context.Context) error { return f.tx.Rollback() }

// ClaimDueTasks implements crm.TaskQueue.
func (s *Store) ClaimDueTasks(ctx context.Context, now time.Time, limit int) ([]crm.Task, error) {
	rows, err := s.w.QueryContext(ctx, `UPDATE tasks SET notified_at=? WHERE id IN (SELECT id FROM tasks
		WHERE done_at IS NULL AND notified_at IS NULL AND due_at <= ? ORDER BY due_at, id LIMIT ?)
		RETURNING `+taskCols, ms(now), ms(now), crm.ClampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("due tasks: %w", err)
	}
	out, err := collectTasks(rows)
	crm.SortByDue(out) // RETURNING follows no ORDER BY
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
