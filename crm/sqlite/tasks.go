package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/internal/listsql"
)

var _ crm.TaskLister = (*Store)(nil)

// ListTasks implements crm.TaskLister.
func (s *Store) ListTasks(ctx context.Context, q crm.TaskQuery) ([]crm.Task, error) {
	w := listsql.Tasks(dialect, q)
	rows, err := s.r.QueryContext(ctx, `SELECT id, contact_id, title, due_at, assignee, created_at, call_id, done_at
		FROM tasks`+w.String()+` ORDER BY due_at, id LIMIT `+strconv.Itoa(crm.ListLimit(q.Limit)), w.Args...)
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
