package web_test

import (
	"context"
	"encoding/csv"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm"
)

func TestActivitiesAPIAndExport(t *testing.T) {
	h := newConsoleHarness(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	for i, a := range []crm.Activity{
		{Kind: crm.ActivityCall, CallID: "x1", Agent: "ali", Queue: "sales", Outcome: "answered", Number: "۰۹۱۲۰۰۰۰۰۰۱", NumberE164: "+989120000001", At: at, Duration: 90 * time.Second},
		{Kind: crm.ActivityCall, CallID: "x2", Agent: "sara", Queue: "sales", Outcome: "abandoned_queue", Number: "=HYPERLINK(\"http://evil\")", At: at.Add(time.Hour)},
		{Kind: crm.ActivityCall, CallID: "x3", Agent: "ali", Queue: "support", Outcome: "answered", At: at.Add(48 * time.Hour)},
	} {
		if err := h.store.AddActivity(ctx, &a); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
	}
	b := h.client()
	b.login("ali", "ali-password")
	var page struct {
		Activities []crm.Activity `json:"activities"`
		Next       int64          `json:"next"`
	}
	if r := b.do("GET", "/api/v1/activities?agent=ali&from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z", "", nil, &page); r.StatusCode != 200 ||
		len(page.Activities) != 1 || page.Activities[0].CallID != "x1" || page.Next != 0 ||
		page.Activities[0].Number != "۰۹۱۲۰۰۰۰۰۰۱" || page.Activities[0].NumberE164 != "+989120000001" {
		t.Fatalf("filtered: %d %+v", r.StatusCode, page)
	}
	page.Activities = nil
	if r := b.do("GET", "/api/v1/activities?limit=2", "", nil, &page); r.StatusCode != 200 || len(page.Activities) != 2 || page.Next == 0 {
		t.Fatalf("first page: %+v", page)
	}
	var eb errBody
	if r := b.do("GET", "/api/v1/activities?from=yesterday", "", nil, &eb); r.StatusCode != 400 || eb.Error.Field != "from" {
		t.Fatalf("bad from: %d %+v", r.StatusCode, eb)
	}
	resp, err := b.c.Get(h.srv.URL + "/api/v1/activities/export.csv?queue=sales")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][0] != "id" || rows[1][3] != "x1" || rows[1][11] != "90" {
		t.Fatalf("export: %v %q", err, body)
	}
	if rows[2][5] != `'=HYPERLINK("http://evil")` {
		t.Fatalf("a formula in a number was exported as %q", rows[2][5])
	}
	if rows[0][19] != "number_e164" || rows[1][5] != "۰۹۱۲۰۰۰۰۰۰۱" || rows[1][19] != "+989120000001" || rows[2][19] != "" {
		t.Fatalf("export of the E.164 number: %q", rows)
	}
}

// A finished wrap-up shows in the export (script, score, answers) and in
// the disposition filter; follow-ups are listed by assignee and due time.
func TestWrapUpInExportAndTasks(t *testing.T) {
	h := newConsoleHarness(t)
	ctx := context.Background()
	c := &crm.Contact{FirstName: "Sara", Phones: []crm.Phone{{Label: crm.LabelMobile, Raw: "09121234567"}}}
	if err := crm.NewDirectory(h.store, mustNorm(t)).Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Hour).UTC()
	w := crm.WrapUp{CallID: "w1", ContactID: c.ID, Agent: "ali", Script: "inbound-sales", Version: 2, Score: 75,
		Answers: []byte(`{"need":{"text":"=cmd|' /C calc'!A0"}}`), Disposition: "qualified", StartedAt: at, DoneAt: at,
		Tasks: []crm.Task{{Title: "Send the proposal", DueAt: at.Add(time.Minute), Assignee: "ali"},
			{Title: "Later", DueAt: at.Add(72 * time.Hour), Assignee: "sara"}}}
	if err := h.store.FinishWrapUp(ctx, &w); err != nil {
		t.Fatal(err)
	}
	// The call's record arrives: it ended 90 s before the wrap-up was done.
	rec := crm.Activity{Kind: crm.ActivityCall, CallID: "w1", At: at.Add(-5 * time.Minute), Outcome: "answered",
		Details: []byte(`{"ended_at":"` + at.Add(-90*time.Second).Format(time.RFC3339Nano) + `"}`)}
	if err := h.store.AddActivity(ctx, &rec); err != nil {
		t.Fatal(err)
	}
	b := h.client()
	b.login("ali", "ali-password")
	var page struct {
		Activities []crm.Activity `json:"activities"`
	}
	if r := b.do("GET", "/api/v1/activities?disposition=qualified", "", nil, &page); r.StatusCode != 200 || len(page.Activities) != 1 {
		t.Fatalf("by disposition: %d %+v", r.StatusCode, page)
	}
	resp, err := b.c.Get(h.srv.URL + "/api/v1/activities/export.csv?disposition=qualified")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || len(rows) != 2 || rows[0][15] != "script" || rows[1][15] != "inbound-sales@2" || rows[1][16] != "75" ||
		!strings.HasPrefix(rows[1][17], "{") || rows[0][18] != "wrapup_s" || rows[1][18] != "90" {
		t.Fatalf("export: %v %q", err, rows)
	}
	var tasks struct {
		Tasks []crm.Task `json:"tasks"`
	}
	due := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if r := b.do("GET", "/api/v1/tasks?assignee=ali&open=1&due_before="+due, "", nil, &tasks); r.StatusCode != 200 ||
		len(tasks.Tasks) != 1 || tasks.Tasks[0].Title != "Send the proposal" || tasks.Tasks[0].CallID != "w1" {
		t.Fatalf("tasks: %d %+v", r.StatusCode, tasks)
	}
	var eb errBody
	if r := b.do("GET", "/api/v1/tasks?due_before=soon", "", nil, &eb); r.StatusCode != 400 || eb.Error.Field != "due_before" {
		t.Fatalf("bad due_before: %d %+v", r.StatusCode, eb)
	}
	// Another agent may not close ali's follow-up.
	nima := h.client()
	nima.login("nima", "nima-password")
	if r := nima.do("POST", "/api/v1/tasks/"+itoa(tasks.Tasks[0].ID)+"/done", "", csrf, nil); r.StatusCode != 403 {
		t.Fatalf("another agent's follow-up: %d", r.StatusCode)
	}
	if r := b.do("POST", "/api/v1/tasks/"+itoa(tasks.Tasks[0].ID)+"/done", "", csrf, nil); r.StatusCode != 204 {
		t.Fatalf("done: %d", r.StatusCode)
	}
	if r := b.do("POST", "/api/v1/tasks/"+itoa(tasks.Tasks[0].ID)+"/done", "", csrf, nil); r.StatusCode != 404 {
		t.Fatalf("done twice: %d", r.StatusCode)
	}
}
