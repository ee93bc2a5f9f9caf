package listsql_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/internal/listsql"
)

var (
	question = listsql.Dialect{Param: func(int) string { return "?" }, Time: func(t time.Time) any { return t.UnixMilli() }}
	dollar   = listsql.Dialect{Param: func(n int) string { return "$" + strconv.Itoa(n) }, Time: func(t time.Time) any { return t }}
	day      = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
)

func TestNoFilterNoWhere(t *testing.T) {
	w := listsql.Tasks(dollar, crm.TaskQuery{})
	if w.String() != "" || len(w.Args) != 0 {
		t.Fatalf("%q %v", w.String(), w.Args)
	}
	if p := w.Param(5); p != "$1" || fmt.Sprint(w.Args) != "[5]" {
		t.Fatalf("the limit after no filter: %s %v", p, w.Args)
	}
}

func TestTasks(t *testing.T) {
	q := crm.TaskQuery{ID: 1, ContactID: 2, Assignee: "ali", Open: true, DueBefore: day, AfterID: 9}
	w := listsql.Tasks(dollar, q)
	want := " WHERE id = $1 AND contact_id = $2 AND assignee = $3 AND done_at IS NULL AND due_at < $4" +
		" AND (due_at, id) > (SELECT due_at, id FROM tasks WHERE id = $5)"
	if w.String() != want || fmt.Sprint(w.Args) != fmt.Sprint([]any{int64(1), int64(2), "ali", day, int64(9)}) {
		t.Fatalf("%s\n%v", w.String(), w.Args)
	}
	w = listsql.Tasks(question, crm.TaskQuery{Open: true, DueBefore: day})
	if w.String() != " WHERE done_at IS NULL AND due_at < ?" || fmt.Sprint(w.Args) != fmt.Sprint([]any{day.UnixMilli()}) {
		t.Fatalf("%s %v", w.String(), w.Args)
	}
}

func TestActivities(t *testing.T) {
	w := listsql.Activities(question, crm.ActivityQuery{})
	if w.String() != " WHERE id > ?" || fmt.Sprint(w.Args) != "[0]" {
		t.Fatalf("%s %v", w.String(), w.Args)
	}
	q := crm.ActivityQuery{ContactID: 3, Kind: crm.ActivityCall, Queue: "sales", Disposition: "sale", From: day,
		To: day.Add(24 * time.Hour), AfterID: 40}
	w = listsql.Activities(dollar, q)
	want := " WHERE id > $1 AND contact_id = $2 AND kind = $3 AND queue = $4 AND disposition = $5 AND at >= $6 AND at < $7"
	if w.String() != want || len(w.Args) != 7 || w.Args[5] != any(day) {
		t.Fatalf("%s\n%v", w.String(), w.Args)
	}
}

func TestContacts(t *testing.T) {
	q := crm.ContactQuery{NamePrefix: " Ali", Kind: crm.KindPerson, Status: crm.StatusLead, Tag: " VIP ",
		OrganizationID: 7, AfterID: 100}
	w := listsql.Contacts(dollar, q, "c.tags @> ARRAY[?::text]")
	want := " WHERE c.deleted_at IS NULL AND c.id > $1 AND ((c.search_name >= $2 AND c.search_name < $3) OR " +
		"(c.search_last >= $4 AND c.search_last < $5)) AND c.kind = $6 AND c.status = $7 AND c.tags @> ARRAY[$8::text]" +
		" AND c.id IN (SELECT person_id FROM memberships WHERE org_id = $9)"
	if w.String() != want {
		t.Fatalf("%s\nwant %s", w.String(), want)
	}
	ub := crm.PrefixUpperBound("ali")
	if fmt.Sprint(w.Args) != fmt.Sprint([]any{int64(100), "ali", ub, "ali", ub, "person", "lead", "vip", int64(7)}) {
		t.Fatalf("args %q", w.Args)
	}
	if p := w.Param(50); p != "$10" {
		t.Fatalf("limit placeholder %s", p)
	}
}
