package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestCallQueriesUseIndexes checks the statements a call's writes run by
// call id: each must find its row through an index. The unique index on a
// call's id is partial (calls only), and SQLite uses a partial index only
// when the query repeats its condition, which is easy to lose.
func TestCallQueriesUseIndexes(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`SELECT id, ` + earlyWrapUp + ` FROM activities WHERE kind='call' AND call_id=? AND call_id <> ''`,
		`SELECT ` + activityCols + ` FROM activities WHERE kind='call' AND call_id=? AND call_id <> ''`,
		`UPDATE activities SET disposition=? WHERE kind='call' AND call_id=? AND call_id <> ''`,
		`SELECT data FROM wrapups WHERE call_id=?`,
		`SELECT disposition FROM activities WHERE contact_id=? AND kind='call' AND disposition <> ''
			ORDER BY at DESC, id DESC LIMIT 1`,
		`UPDATE tasks SET notified_at=? WHERE id IN (SELECT id FROM tasks WHERE done_at IS NULL AND notified_at IS NULL
			AND due_at <= ? ORDER BY due_at, id LIMIT 5)`,
	} {
		rows, err := s.w.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, "x", "y")
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		all := strings.Join(plan, "; ")
		for _, p := range plan {
			if strings.HasPrefix(p, "SCAN ") && !strings.Contains(p, "USING") {
				t.Errorf("%s\n  reads a whole table: %s", q, all)
			}
		}
	}
}
