package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/tamas-cc/tamas/crm"
)

var _ crm.TaskLister = (*Store)(nil)

// ListTasks implements crm.TaskLister.
func (s *Store) ListTasks(ctx context.Context, q crm.TaskQuery) ([]crm.Task, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if q.ID > 0 {
		add("id = $%d", q.ID)
	}
	if q.ContactID > 0 {
		add("contact_id = $%d", q.ContactID)
	}
	if q.Assignee != "" {
		add("assignee = $%d", q.Assignee)
	}
	if q.Open {
		where = append(where, "done_at IS NULL")
	}
	if !q.DueBefore.IsZero() {
		add("due_at < $%d", q.DueBefore.UTC())
	}
	if q.AfterID > 0 {
		add("(due_at, id) > (SELECT due_at, id FROM tasks WHERE id = $%d)", q.AfterID)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.pool.Query(ctx, `SELECT id, contact_id, title, due_at, assignee, created_at, call_id, done_at
		FROM tasks`+cond+` ORDER BY due_at, id LIMIT `+strconv.Itoa(crm.ListLimit(q.Limit)), args...)
	if err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	defer rows.Close()
	out := []crm.Task{}
	for rows.Next() {
		var t crm.Task
		if err := rows.Scan(&t.ID, &t.ContactID, &t.Title, &t.DueAt, &t.Assignee, &t.CreatedAt, &t.CallID, &t.DoneAt); err != nil {
			return nil, fmt.Errorf("tasks: %w", err)
		}
		t.DueAt, t.CreatedAt = t.DueAt.UTC(), t.CreatedAt.UTC()
		if t.DoneAt != nil {
			done := t.DoneAt.UTC()
			t.DoneAt = &done
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	return out, nil
}
