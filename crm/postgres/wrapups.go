package postgres

import (
	"context"
	"errors"
	"fmt"
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
	save, err := w.BeginSave(now())
	if err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO wrapups (call_id, agent, data, updated_at, rev) VALUES ($1,$2,$3,$4,1)
		ON CONFLICT (call_id) DO UPDATE SET agent=excluded.agent, data=excluded.data, updated_at=excluded.updated_at,
		rev=wrapups.rev+1 WHERE wrapups.done_at IS NULL AND wrapups.rev = $5`,
		w.CallID, w.Agent, string(save.Data), w.UpdatedAt, save.PrevRev())
	return save.End(err == nil && tag.RowsAffected() > 0, err)
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
	return crm.DecodeWrapUp(callID, data, rev)
}

// FinishWrapUp implements crm.WrapUpStore.
func (s *Store) FinishWrapUp(ctx context.Context, w *crm.WrapUp) error {
	return crm.FinishWrapUp(ctx, w, now(), func(ctx context.Context) (crm.FinishTx, error) {
		tx, err := s.pool.Begin(ctx)
		return finishTx{tx}, err
	})
}

// finishTx is the statements of FinishWrapUp.
type finishTx struct{ tx pgx.Tx }

// LockWrapUp makes the row if the call has none yet, so that there is a
// row to lock: two finishes of one call (two tabs, two nodes) serialise on
// it and the second sees the first.
func (f finishTx) LockWrapUp(ctx context.Context, callID, agent string, now time.Time) (crm.StoredWrapUp, error) {
	if _, err := f.tx.Exec(ctx, `INSERT INTO wrapups (call_id, agent, data, updated_at) VALUES ($1,$2,'{}',$3)
		ON CONFLICT (call_id) DO NOTHING`, callID, agent, now); err != nil {
		return crm.StoredWrapUp{}, err
	}
	var done *time.Time
	var rev int64
	err := f.tx.QueryRow(ctx, `SELECT done_at, rev FROM wrapups WHERE call_id=$1 FOR UPDATE`, callID).Scan(&done, &rev)
	return crm.StoredWrapUp{Found: true, Done: done != nil, Rev: rev}, err
}

func (f finishTx) LiveContact(ctx context.Context, id int64) error {
	var one int
	err := f.tx.QueryRow(ctx, `SELECT 1 FROM contacts WHERE id=$1 AND deleted_at IS NULL`, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return crm.ContactNotFound(id)
	}
	if err != nil {
		return fmt.Errorf("contact %d: %w", id, err)
	}
	return nil
}

func (f finishTx) AddTask(ctx context.Context, t *crm.Task) error {
	return f.tx.QueryRow(ctx, `INSERT INTO tasks (contact_id, title, due_at, assignee, created_at, call_id)
		VALUES ($1,$2,$3,$4,$5,$6) RETURNING id`, t.ContactID, t.Title, t.DueAt.UTC(), t.Assignee, t.CreatedAt,
		t.CallID).Scan(&t.ID)
}

func (f finishTx) PutWrapUp(ctx context.Context, fin *crm.WrapUp, data []byte) error {
	_, err := f.tx.Exec(ctx, `UPDATE wrapups SET agent=$2, data=$3, updated_at=$4, done_at=$5, rev=$6 WHERE call_id=$1`,
		fin.CallID, fin.Agent, string(data), fin.UpdatedAt, fin.DoneAt.UTC(), fin.Rev)
	return err
}

// PutCallActivity is one statement, so that a call record arriving at the
// same moment either finds this row or makes the one this updates.
func (f finishTx) PutCallActivity(ctx context.Context, fin *crm.WrapUp, data []byte) error {
	var contact *int64 // NULL: a call from nobody in the CRM
	if fin.ContactID > 0 {
		contact = &fin.ContactID
	}
	_, err := f.tx.Exec(ctx, `INSERT INTO activities (contact_id, kind, call_id, agent, disposition, body, at,
			created_at, wrapup) VALUES ($1,'call',$2,$3,$4,$5,$6,$7,$8::jsonb)
		ON CONFLICT (call_id) WHERE kind = 'call' AND call_id <> '' DO UPDATE
		SET contact_id=coalesce(excluded.contact_id, activities.contact_id),
			agent=CASE WHEN activities.agent = '' THEN excluded.agent ELSE activities.agent END,
			disposition=excluded.disposition, body=excluded.body, wrapup=excluded.wrapup`,
		contact, fin.CallID, fin.Agent, fin.Disposition, fin.Notes, fin.StartedAt.UTC(), fin.UpdatedAt, string(data))
	return err
}

func (f finishTx) MoveStatus(ctx context.Context, id int64, to crm.Status, from []crm.Status, at time.Time) error {
	_, err := f.tx.Exec(ctx, `UPDATE contacts SET status=$1, updated_at=$2 WHERE id=$3 AND deleted_at IS NULL
		AND status = ANY($4)`, string(to), at, id, from)
	return err
}

func (f finishTx) Commit(ctx context.Context) error   { return f.tx.Commit(ctx) }
func (f finishTx) Rollback(ctx context.Context) error { return f.tx.Rollback(ctx) }

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
	crm.SortByDue(out) // RETURNING follows no ORDER BY
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
