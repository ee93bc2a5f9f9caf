package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tamas-cc/tamas/crm"
)

var _ crm.TaskLister = (*Store)(nil)

// ListTasks implements crm.TaskLister.
func (s *Store) ListTasks(ctx context.Context, q crm.TaskQuery) ([]crm.Task, error) {
	var where []string
	var args []any
	add := func(cond string, v ...any) { where, args = append(where, cond), append(args, v...) }
	if q.ID > 0 {
		add("id = ?", q.ID)
	}
	if q.ContactID > 0 {
		add("contact_id = ?", q.ContactID)
	}
	if q.Assignee != "" {
		add("assignee = ?", q.Assignee)
	}
	if q.Open {
		add("done_at IS NULL")
	}
	if !q.DueBefore.IsZero() {
		add("due_at < ?", ms(q.DueBefore))
	}
	if q.AfterID > 0 {
		add("(due_at, id) > (SELECT due_at, id FROM tasks WHERE id = ?)", q.AfterID)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, contact_id, title, due_at, assignee, created_at, call_id, done_at
		FROM tasks`+cond+` ORDER BY due_at, id LIMIT `+strconv.Itoa(crm.ListLimit(q.Limit)), args...)
	if err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	defer rows.Close()
	out := []crm.Task{}
	for rows.Next() {
		var t crm.Task
		var due, created int64
		var done sql.NullInt64
		if err := rows.Scan(&t.ID, &t.ContactID, &t.Title, &due, &t.Assignee, &created, &t.CallID, &done); err != nil {
			return nil, fmt.Errorf("tasks: %w", err)
		}
		t.DueAt, t.CreatedAt = time.UnixMilli(due).UTC(), time.UnixMilli(created).UTC()
		t.DoneAt = fromMS(done)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	return out, nil
}
