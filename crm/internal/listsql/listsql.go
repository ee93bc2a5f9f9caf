// Package listsql builds the WHERE clauses of the listings — contacts,
// activities, follow-up tasks — that both stores run over the same tables
// and columns. Each store brings what differs: its placeholders and how it
// binds a time.
package listsql

import (
	"strings"
	"time"

	"github.com/tamas-cc/tamas/crm"
)

// Dialect is what differs between the stores' SQL here.
type Dialect struct {
	// Param is the placeholder of the n-th argument, counted from 1.
	Param func(n int) string
	// Time binds a timestamp as the store keeps it.
	Time func(time.Time) any
}

// Where is a WHERE clause and its arguments.
type Where struct {
	d     Dialect
	conds []string
	Args  []any
}

// Add appends a condition in which each '?' stands for the next of args.
func (w *Where) Add(cond string, args ...any) {
	var b strings.Builder
	for _, v := range args {
		i := strings.IndexByte(cond, '?')
		b.WriteString(cond[:i])
		b.WriteString(w.Param(v))
		cond = cond[i+1:]
	}
	b.WriteString(cond)
	w.conds = append(w.conds, b.String())
}

// Param binds one more argument and returns its placeholder, for a clause
// after the WHERE (a LIMIT).
func (w *Where) Param(v any) string {
	w.Args = append(w.Args, v)
	return w.d.Param(len(w.Args))
}

// String is " WHERE " and the conditions joined by AND, or "" when there is
// none.
func (w *Where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// Contacts is the clause of ListContacts over contacts c: live contacts
// after q.AfterID, filtered by q. tagged is the store's condition that c
// holds a tag, with one '?' for it.
func Contacts(d Dialect, q crm.ContactQuery, tagged string) *Where {
	w := &Where{d: d}
	w.Add("c.deleted_at IS NULL")
	w.Add("c.id > ?", q.AfterID)
	if p := crm.SearchKey(q.NamePrefix); p != "" {
		ub := crm.PrefixUpperBound(p)
		w.Add("((c.search_name >= ? AND c.search_name < ?) OR (c.search_last >= ? AND c.search_last < ?))", p, ub, p, ub)
	}
	if q.Kind != "" {
		w.Add("c.kind = ?", string(q.Kind))
	}
	if q.Status != "" {
		w.Add("c.status = ?", string(q.Status))
	}
	if q.Tag != "" {
		w.Add(tagged, crm.TagKey(q.Tag))
	}
	if q.OrganizationID != 0 {
		w.Add("c.id IN (SELECT person_id FROM memberships WHERE org_id = ?)", q.OrganizationID)
	}
	return w
}

// Activities is the clause of ListActivities: activities after q.AfterID,
// filtered by q.
func Activities(d Dialect, q crm.ActivityQuery) *Where {
	w := &Where{d: d}
	w.Add("id > ?", q.AfterID)
	if q.ContactID > 0 {
		w.Add("contact_id = ?", q.ContactID)
	}
	for _, f := range []struct{ col, v string }{{"kind", string(q.Kind)}, {"agent", q.Agent}, {"queue", q.Queue},
		{"outcome", q.Outcome}, {"disposition", q.Disposition}} {
		if f.v != "" {
			w.Add(f.col+" = ?", f.v)
		}
	}
	if !q.From.IsZero() {
		w.Add("at >= ?", d.Time(q.From))
	}
	if !q.To.IsZero() {
		w.Add("at < ?", d.Time(q.To))
	}
	return w
}

// Tasks is the clause of ListTasks, filtered by q; a page continues after
// task q.AfterID in the listing's order (due_at, id).
func Tasks(d Dialect, q crm.TaskQuery) *Where {
	w := &Where{d: d}
	if q.ID > 0 {
		w.Add("id = ?", q.ID)
	}
	if q.ContactID > 0 {
		w.Add("contact_id = ?", q.ContactID)
	}
	if q.Assignee != "" {
		w.Add("assignee = ?", q.Assignee)
	}
	if q.Open {
		w.Add("done_at IS NULL")
	}
	if !q.DueBefore.IsZero() {
		w.Add("due_at < ?", d.Time(q.DueBefore))
	}
	if q.AfterID > 0 {
		w.Add("(due_at, id) > (SELECT due_at, id FROM tasks WHERE id = ?)", q.AfterID)
	}
	return w
}
