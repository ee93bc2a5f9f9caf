package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/internal/listsql"
)

var _ crm.ActivityStore = (*Store)(nil)

// AddActivity implements crm.ActivityStore. A call already recorded is
// found by the unique index, so two nodes racing on one call still make one
// row.
func (s *Store) AddActivity(ctx context.Context, a *crm.Activity) error {
	if err := a.Validate(); err != nil {
		return err
	}
	now := now()
	var id int64
	var merged bool
	var details any // NULL unless set
	if len(a.Details) > 0 {
		details = string(a.Details)
	}
	// A call from nobody in the CRM (contact 0) is kept with no contact.
	err := s.pool.QueryRow(ctx, `WITH live AS (
			SELECT id FROM contacts WHERE id=$1 AND deleted_at IS NULL
			UNION ALL SELECT NULL::bigint WHERE $1::bigint = 0)
		INSERT INTO activities (contact_id, kind, call_id, direction, number, agent, subject, body, disposition,
			at, duration_ms, created_at, outcome, queue, line, details, number_e164)
		SELECT live.id, $2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16::jsonb,$17 FROM live
		ON CONFLICT (call_id) WHERE kind = 'call' AND call_id <> '' DO UPDATE
			-- The agent finished the wrap-up before the call's record came:
			-- the record fills the row in.
			SET contact_id=coalesce(activities.contact_id, excluded.contact_id), direction=excluded.direction,
				number=excluded.number, number_e164=excluded.number_e164, agent=CASE WHEN excluded.agent <> '' THEN excluded.agent ELSE activities.agent END,
				at=excluded.at, duration_ms=excluded.duration_ms, outcome=excluded.outcome, queue=excluded.queue,
				line=excluded.line, details=excluded.details
			WHERE `+earlyWrapUp+`
		RETURNING id, (xmax <> 0)`, a.ContactID, a.Kind, a.CallID, a.Direction, a.Number, a.Agent, a.Subject, a.Body,
		a.Disposition, a.At.UTC(), a.Duration.Milliseconds(), now, a.Outcome, a.Queue, a.Line, details,
		a.NumberE164).Scan(&id, &merged)
	if err == nil && merged {
		m, err := scanActivity(s.pool.QueryRow(ctx, `SELECT `+activityCols+` FROM activities WHERE id=$1`, id))
		if err != nil {
			return fmt.Errorf("add activity: %w", err)
		}
		*a = *m
		return nil
	}
	if err == nil {
		a.ID, a.CreatedAt = id, now
		return nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("add activity: %w", err)
	}
	// Nothing inserted: a dead contact, or the call is already recorded.
	if a.Kind == crm.ActivityCall && a.CallID != "" {
		var early bool
		err := s.pool.QueryRow(ctx, `SELECT id, `+earlyWrapUp+` FROM activities WHERE kind='call' AND call_id=$1
			AND call_id <> ''`, a.CallID).Scan(&id, &early)
		if err == nil && !early {
			return crm.DuplicateCall(a, id)
		}
		// An early row the record could not fill: its contact is gone.
	}
	return crm.ContactNotFound(a.ContactID)
}

// RecentActivities implements crm.ActivityStore.
func (s *Store) RecentActivities(ctx context.Context, contactID int64, limit int) ([]crm.Activity, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+activityCols+`
		FROM activities WHERE contact_id=$1 ORDER BY at DESC, id DESC LIMIT $2`,
		contactID, crm.ClampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("activities: %w", err)
	}
	return collectActivities(rows)
}

const activityCols = `id, coalesce(contact_id, 0), kind, call_id, direction, number, number_e164, agent,
		subject, body, disposition, at, duration_ms, created_at, outcome, queue, line, details::text, wrapup::text`

func scanActivity(row pgx.Row) (*crm.Activity, error) {
	var a crm.Activity
	var dur int64
	var details, wrapup *string
	if err := row.Scan(&a.ID, &a.ContactID, &a.Kind, &a.CallID, &a.Direction, &a.Number, &a.NumberE164, &a.Agent, &a.Subject,
		&a.Body, &a.Disposition, &a.At, &dur, &a.CreatedAt, &a.Outcome, &a.Queue, &a.Line, &details, &wrapup); err != nil {
		return nil, err
	}
	if details != nil {
		a.Details = json.RawMessage(*details)
	}
	if wrapup != nil {
		a.WrapUp = new(crm.WrapUp)
		if err := json.Unmarshal([]byte(*wrapup), a.WrapUp); err != nil {
			return nil, fmt.Errorf("activity %d wrap-up: %w", a.ID, err)
		}
	}
	a.At, a.CreatedAt = a.At.UTC(), a.CreatedAt.UTC()
	a.Duration = time.Duration(dur) * time.Millisecond
	return &a, nil
}

// ListActivities implements crm.ActivityStore.
func (s *Store) ListActivities(ctx context.Context, q crm.ActivityQuery) ([]crm.Activity, error) {
	w := listsql.Activities(dialect, q)
	rows, err := s.pool.Query(ctx, `SELECT `+activityCols+` FROM activities`+w.String()+
		` ORDER BY id LIMIT `+strconv.Itoa(crm.ListLimit(q.Limit)), w.Args...)
	if err != nil {
		return nil, fmt.Errorf("activities: %w", err)
	}
	return collectActivities(rows)
}

// collectActivities reads and closes a result of activityCols rows.
func collectActivities(rows pgx.Rows) ([]crm.Activity, error) {
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
	a, err := scanActivity(s.pool.QueryRow(ctx, `SELECT `+activityCols+` FROM activities
		WHERE kind='call' AND call_id=$1 AND call_id <> ''`, callID))
	if errors.Is(err, pgx.ErrNoRows) {
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
	err := s.pool.QueryRow(ctx, `INSERT INTO tasks (contact_id, title, due_at, assignee, created_at, call_id)
		SELECT id, $2, $3, $4, $5, $6 FROM contacts WHERE id=$1 AND deleted_at IS NULL RETURNING id`,
		t.ContactID, t.Title, t.DueAt.UTC(), t.Assignee, now, t.CallID).Scan(&t.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return crm.ContactNotFound(t.ContactID)
	}
	if err != nil {
		return fmt.Errorf("add task: %w", err)
	}
	t.CreatedAt = now
	return nil
}

// CompleteTask implements crm.ActivityStore.
func (s *Store) CompleteTask(ctx context.Context, id int64, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE tasks SET done_at=$2 WHERE id=$1 AND done_at IS NULL`, id, at.UTC())
	if err != nil {
		return fmt.Errorf("complete task: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("task %d: %w", id, crm.ErrNotFound)
	}
	return nil
}

// OpenTasks implements crm.ActivityStore.
func (s *Store) OpenTasks(ctx context.Context, contactID int64, limit int) ([]crm.Task, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+taskCols+` FROM tasks
		WHERE contact_id=$1 AND done_at IS NULL ORDER BY due_at, id LIMIT $2`, contactID, crm.ClampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	return collectTasks(rows)
}

const taskCols = `id, contact_id, title, due_at, assignee, created_at, call_id`

func collectTasks(rows pgx.Rows) ([]crm.Task, error) {
	defer rows.Close()
	out := []crm.Task{}
	for rows.Next() {
		var t crm.Task
		if err := rows.Scan(&t.ID, &t.ContactID, &t.Title, &t.DueAt, &t.Assignee, &t.CreatedAt, &t.CallID); err != nil {
			return nil, fmt.Errorf("tasks: %w", err)
		}
		t.DueAt, t.CreatedAt = t.DueAt.UTC(), t.CreatedAt.UTC()
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	return out, nil
}
