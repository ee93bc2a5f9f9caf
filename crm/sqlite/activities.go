package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/internal/listsql"
)

var _ crm.ActivityStore = (*Store)(nil)

const (
	activityCols = `id, coalesce(contact_id, 0), kind, call_id, direction, number, number_e164, agent, subject, body,
		disposition, at, duration_ms, created_at, outcome, queue, line, details, wrapup`
	taskCols = `id, contact_id, title, due_at, assignee, created_at, call_id`
)

// AddActivity implements crm.ActivityStore.
func (s *Store) AddActivity(ctx context.Context, a *crm.Activity) error {
	if err := a.Validate(); err != nil {
		return err
	}
	now := now()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("add activity: %w", err)
	}
	defer tx.Rollback()
	var contact any // NULL: a call from nobody in the CRM
	if a.ContactID > 0 {
		if err := liveContact(ctx, tx, a.ContactID); err != nil {
			return err
		}
		contact = a.ContactID
	}
	var details any
	if len(a.Details) > 0 {
		details = string(a.Details)
	}
	if a.Kind == crm.ActivityCall && a.CallID != "" {
		var id int64
		var early bool
		err := tx.QueryRowContext(ctx, `SELECT id, `+earlyWrapUp+` FROM activities WHERE kind='call' AND call_id=? AND call_id <> ''`,
			a.CallID).Scan(&id, &early)
		if err == nil && early {
			// The agent finished the wrap-up before the call's record came:
			// the record fills the row in.
			if _, err := tx.ExecContext(ctx, `UPDATE activities SET contact_id=coalesce(contact_id, ?), direction=?,
				number=?, number_e164=?, agent=CASE WHEN ? <> '' THEN ? ELSE agent END, at=?, duration_ms=?, outcome=?,
				queue=?, line=?, details=? WHERE id=?`, contact, a.Direction, a.Number, a.NumberE164, a.Agent, a.Agent, ms(a.At),
				a.Duration.Milliseconds(), a.Outcome, a.Queue, a.Line, details, id); err != nil {
				return fmt.Errorf("add activity: %w", err)
			}
			merged, err := scanActivity(tx.QueryRowContext(ctx, `SELECT `+activityCols+` FROM activities WHERE id=?`, id))
			if err != nil {
				return fmt.Errorf("add activity: %w", err)
			}
			if err := tx.Commit(); err != nil {
				return fmt.Errorf("add activity: %w", err)
			}
			*a = *merged
			return nil
		}
		if err == nil {
			return crm.DuplicateCall(a, id)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("add activity: %w", err)
		}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO activities (contact_id, kind, call_id, direction, number, number_e164,
		agent, subject, body, disposition, at, duration_ms, created_at, outcome, queue, line, details)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		contact, a.Kind, a.CallID, a.Direction, a.Number, a.NumberE164, a.Agent, a.Subject, a.Body, a.Disposition,
		ms(a.At), a.Duration.Milliseconds(), ms(now), a.Outcome, a.Queue, a.Line, details)
	if err != nil {
		return fmt.Errorf("add activity: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("add activity: %w", err)
	}
	a.ID, _ = res.LastInsertId()
	a.CreatedAt = now
	return nil
}

func liveContact(ctx context.Context, tx *sql.Tx, id int64) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM contacts WHERE id=? AND deleted_at IS NULL`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return crm.ContactNotFound(id)
	}
	if err != nil {
		return fmt.Errorf("contact %d: %w", id, err)
	}
	return nil
}

// RecentActivities implements crm.ActivityStore.
func (s *Store) RecentActivities(ctx context.Context, contactID int64, limit int) ([]crm.Activity, error) {
	q, err := s.stmts(ctx)
	if err != nil {
		return nil, fmt.Errorf("activities: %w", err)
	}
	limit = crm.ClampLimit(limit)
	var rows *sql.Rows
	if limit == crm.DefaultRecords {
		rows, err = q.recent.QueryContext(ctx, contactID)
	} else {
		rows, err = s.r.QueryContext(ctx, `SELECT `+activityCols+` FROM activities WHERE contact_id=?
			ORDER BY at DESC, id DESC LIMIT `+strconv.Itoa(limit), contactID)
	}
	if err != nil {
		return nil, fmt.Errorf("activities: %w", err)
	}
	return collectActivities(rows)
}

func scanActivity(row interface{ Scan(...any) error }) (*crm.Activity, error) {
	var a crm.Activity
	var at, dur, created int64
	var details, wrapup sql.NullString
	if err := row.Scan(&a.ID, &a.ContactID, &a.Kind, &a.CallID, &a.Direction, &a.Number, &a.NumberE164, &a.Agent, &a.Subject,
		&a.Body, &a.Disposition, &at, &dur, &created, &a.Outcome, &a.Queue, &a.Line, &details, &wrapup); err != nil {
		return nil, err
	}
	if details.Valid {
		a.Details = json.RawMessage(details.String)
	}
	if wrapup.Valid {
		a.WrapUp = new(crm.WrapUp)
		if err := json.Unmarshal([]byte(wrapup.String), a.WrapUp); err != nil {
			return nil, fmt.Errorf("activity %d wrap-up: %w", a.ID, err)
		}
	}
	a.At, a.CreatedAt = time.UnixMilli(at).UTC(), time.UnixMilli(created).UTC()
	a.Duration = time.Duration(dur) * time.Millisecond
	return &a, nil
}

// ListActivities implements crm.ActivityStore.
func (s *Store) ListActivities(ctx context.Context, q crm.ActivityQuery) ([]crm.Activity, error) {
	w := listsql.Activities(dialect, q)
	rows, err := s.r.QueryContext(ctx, `SELECT `+activityCols+` FROM activities`+w.String()+
		` ORDER BY id LIMIT `+strconv.Itoa(crm.ListLimit(q.Limit)), w.Args...)
	if err != nil {
		return nil, fmt.Errorf("activities: %w", err)
	}
	return collectActivities(rows)
}

// collectActivities reads and closes a result of activityCols rows.
func collectActivities(rows *sql.Rows) ([]crm.Activity, error) {
	defer rows.Close()
	out := []crm.Activity{}
	for rows.Next() {
		a, err := scanActivity(rows)
		if err != nil {
			return nil, fmt.Errorf("activities: %w", err)
		}
		out = append(out, *a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("activities: %w", err)
	}
	return out, nil
}

// CallActivity implements crm.ActivityStore.
func (s *Store) CallActivity(ctx context.Context, callID string) (*crm.Activity, error) {
	a, err := scanActivity(s.r.QueryRowContext(ctx, `SELECT `+activityCols+` FROM activities
		WHERE kind='call' AND call_id=? AND call_id <> ''`, callID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("call %s: %w", callID, crm.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("call activity: %w", err)
	}
	return a, nil
}

// AddTask implements crm.ActivityStore.
func (s *Store) AddTask(ctx context.Context, t *crm.Task) error {
	if err := t.Validate(); err != nil {
		return err
	}
	now := now()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("add task: %w", err)
	}
	defer tx.Rollback()
	if err := liveContact(ctx, tx, t.ContactID); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO tasks (contact_id, title, due_at, assignee, created_at, call_id)
		VALUES (?,?,?,?,?,?)`, t.ContactID, t.Title, ms(t.DueAt), t.Assignee, ms(now), t.CallID)
	if err != nil {
		return fmt.Errorf("add task: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("add task: %w", err)
	}
	t.ID, _ = res.LastInsertId()
	t.CreatedAt = now
	return nil
}

// CompleteTask implements crm.ActivityStore.
func (s *Store) CompleteTask(ctx context.Context, id int64, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE tasks SET done_at=? WHERE id=? AND done_at IS NULL`, ms(at), id)
	if err != nil {
		return fmt.Errorf("complete task: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("task %d: %w", id, crm.ErrNotFound)
	}
	return nil
}

// OpenTasks implements crm.ActivityStore.
func (s *Store) OpenTasks(ctx context.Context, contactID int64, limit int) ([]crm.Task, error) {
	q, err := s.stmts(ctx)
	if err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	limit = crm.ClampLimit(limit)
	var rows *sql.Rows
	if limit == crm.DefaultRecords {
		rows, err = q.open.QueryContext(ctx, contactID)
	} else {
		rows, err = s.r.QueryContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE contact_id=? AND done_at IS NULL
			ORDER BY due_at, id LIMIT `+strconv.Itoa(limit), contactID)
	}
	if err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	return collectTasks(rows)
}

func collectTasks(rows *sql.Rows) ([]crm.Task, error) {
	defer rows.Close()
	out := []crm.Task{}
	for rows.Next() {
		var t crm.Task
		var due, created int64
		if err := rows.Scan(&t.ID, &t.ContactID, &t.Title, &due, &t.Assignee, &created, &t.CallID); err != nil {
			return nil, fmt.Errorf("tasks: %w", err)
		}
		t.DueAt, t.CreatedAt = time.UnixMilli(due).UTC(), time.UnixMilli(created).UTC()
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	return out, nil
}
