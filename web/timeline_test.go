package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm"
)

type timelineBody struct {
	Contact struct {
		ID        int64  `json:"id"`
		FirstName string `json:"first_name"`
		Name      string `json:"name"`
	} `json:"contact"`
	Items []struct {
		Type     string    `json:"type"`
		At       time.Time `json:"at"`
		Activity *struct {
			ID          int64  `json:"id"`
			Kind        string `json:"kind"`
			CallID      string `json:"call_id"`
			Body        string `json:"body"`
			Disposition string `json:"disposition"`
			WrapUp      *struct {
				Score   int             `json:"score"`
				Answers json.RawMessage `json:"answers"`
			} `json:"wrapup"`
		} `json:"activity"`
		Task *struct {
			ID     int64      `json:"id"`
			Title  string     `json:"title"`
			DoneAt *time.Time `json:"done_at"`
		} `json:"task"`
		Member *struct {
			ID          int64  `json:"id"`
			DisplayName string `json:"display_name"`
		} `json:"member"`
	} `json:"items"`
	Next string `json:"next"`
}

func (tb *timelineBody) kinds() string {
	var out []string
	for _, it := range tb.Items {
		switch {
		case it.Activity != nil:
			out = append(out, it.Type+":"+it.Activity.Kind)
		case it.Task != nil:
			out = append(out, it.Type+":"+it.Task.Title)
		default:
			out = append(out, it.Type+":?")
		}
	}
	return strings.Join(out, ",")
}

// getRaw fetches path with b's cookies and returns the status and body as
// sent.
func (b *browserClient) getRaw(path string) (int, string) {
	b.h.t.Helper()
	resp, err := b.c.Get(b.h.srv.URL + path)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func TestContactTimeline(t *testing.T) {
	h := newConsoleHarness(t)
	ctx := context.Background()
	dir := crm.NewDirectory(h.store, mustNorm(t))
	p := &crm.Contact{FirstName: "<b>Leila</b>", LastName: "Moradi", Phones: []crm.Phone{{Label: crm.LabelMobile, Raw: "09121234567"}}}
	if err := dir.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	call := crm.Activity{ContactID: p.ID, Kind: crm.ActivityCall, CallID: "tl-1", Direction: "inbound",
		Number: "+989121234567", Agent: "ali", At: t0, Duration: time.Minute, Outcome: "answered"}
	if err := h.store.AddActivity(ctx, &call); err != nil {
		t.Fatal(err)
	}
	w := crm.WrapUp{CallID: "tl-1", ContactID: p.ID, Agent: "ali", Script: "support-triage", Version: 1,
		Answers: json.RawMessage(`{"issue":{"text":"<script>x</script>"}}`), Score: 40, Disposition: "resolved",
		Notes: "router reset", StartedAt: t0, DoneAt: t0.Add(2 * time.Minute)}
	if err := h.store.FinishWrapUp(ctx, &w); err != nil {
		t.Fatal(err)
	}
	note := crm.Activity{ContactID: p.ID, Kind: crm.ActivityNote, Body: "prefers mornings", Agent: "ali", At: t0.Add(10 * time.Minute)}
	if err := h.store.AddActivity(ctx, &note); err != nil {
		t.Fatal(err)
	}
	open := crm.Task{ContactID: p.ID, Title: "call back", DueAt: t0.Add(48 * time.Hour), Assignee: "ali"}
	done := crm.Task{ContactID: p.ID, Title: "send manual", DueAt: t0.Add(-time.Hour)}
	for _, tk := range []*crm.Task{&open, &done} {
		if err := h.store.AddTask(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.store.CompleteTask(ctx, done.ID, t0.Add(20*time.Minute)); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/contacts/" + itoa(p.ID) + "/timeline"

	anon := h.client()
	if r := anon.do("GET", path, "", nil, nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("timeline without a session: %d", r.StatusCode)
	}
	ali := h.client()
	ali.login("ali", "ali-password")
	status, raw := ali.getRaw(path)
	if status != http.StatusOK {
		t.Fatalf("timeline: %d %s", status, raw)
	}
	if strings.Contains(raw, "<") || !strings.Contains(raw, `\u003cb\u003eLeila\u003c/b\u003e`) ||
		!strings.Contains(raw, `\u003cscript\u003e`) {
		t.Fatalf("markup not escaped in %s", raw)
	}
	var tb timelineBody
	if err := json.Unmarshal([]byte(raw), &tb); err != nil {
		t.Fatal(err)
	}
	if tb.Contact.ID != p.ID || tb.Contact.FirstName != "<b>Leila</b>" {
		t.Fatalf("contact = %+v", tb.Contact)
	}
	// Open follow-ups sit at their due time, done ones when done.
	if got, want := tb.kinds(), "task:call back,task:send manual,activity:note,activity:call"; got != want {
		t.Fatalf("items = %s, want %s", got, want)
	}
	it := tb.Items
	if !it[0].At.Equal(open.DueAt) || it[0].Task.DoneAt != nil || it[0].Task.ID != open.ID ||
		!it[1].At.Equal(t0.Add(20*time.Minute)) || it[1].Task.DoneAt == nil || it[1].Task.ID != done.ID ||
		!it[2].At.Equal(note.At) || it[2].Activity.Body != "prefers mornings" || !it[3].At.Equal(t0) {
		t.Fatalf("items = %+v", it)
	}
	c := it[3].Activity
	if c.ID != call.ID || c.CallID != "tl-1" || c.Disposition != "resolved" || c.Body != "router reset" ||
		c.WrapUp == nil || c.WrapUp.Score != 40 || !strings.Contains(string(c.WrapUp.Answers), "issue") {
		t.Fatalf("call item = %+v / %+v", c, c.WrapUp)
	}
	for _, item := range it {
		if item.Member != nil {
			t.Fatalf("a person's own item names a member: %+v", item)
		}
	}

	// Paging back from a time.
	var older timelineBody
	if r := ali.do("GET", path+"?before="+t0.Add(15*time.Minute).Format(time.RFC3339), "", nil, &older); r.StatusCode != 200 ||
		older.kinds() != "activity:note,activity:call" || older.Next != "" {
		t.Fatalf("before 10:15: %d %s next %q", r.StatusCode, older.kinds(), older.Next)
	}
	var eb errBody
	if r := ali.do("GET", path+"?before=yesterday", "", nil, &eb); r.StatusCode != 400 || eb.Error.Field != "before" {
		t.Fatalf("a bad before: %d %+v", r.StatusCode, eb)
	}

	// Unknown and deleted contacts are not found.
	if r := ali.do("GET", "/api/v1/contacts/999999/timeline", "", nil, &eb); r.StatusCode != 404 || eb.Error.Code != "not_found" {
		t.Fatalf("unknown contact: %d %+v", r.StatusCode, eb)
	}
	gone := &crm.Contact{FirstName: "Gone", Phones: []crm.Phone{{Label: crm.LabelMobile, Raw: "09121110000"}}}
	if err := dir.Create(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if err := h.store.DeleteContact(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	if r := ali.do("GET", "/api/v1/contacts/"+itoa(gone.ID)+"/timeline", "", nil, nil); r.StatusCode != 404 {
		t.Fatalf("deleted contact: %d", r.StatusCode)
	}
	if r := ali.do("GET", "/api/v1/contacts/x/timeline", "", nil, nil); r.StatusCode != 400 {
		t.Fatalf("a bad id: %d", r.StatusCode)
	}
}

func TestOrganizationTimeline(t *testing.T) {
	h := newConsoleHarness(t)
	ctx := context.Background()
	dir := crm.NewDirectory(h.store, mustNorm(t))
	org := &crm.Contact{Kind: crm.KindOrganization, Name: "Acme & Sons", Phones: []crm.Phone{{Label: crm.LabelMain, Raw: "02188880000"}}}
	if err := dir.Create(ctx, org); err != nil {
		t.Fatal(err)
	}
	m := &crm.Contact{FirstName: "Reza", LastName: "<i>Karimi</i>", Organizations: []crm.OrgRef{{ID: org.ID}},
		Phones: []crm.Phone{{Label: crm.LabelMobile, Raw: "09127654321"}}}
	if err := dir.Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	outsider := &crm.Contact{FirstName: "Mina", Phones: []crm.Phone{{Label: crm.LabelMobile, Raw: "09120001111"}}}
	if err := dir.Create(ctx, outsider); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	for _, a := range []crm.Activity{
		{ContactID: m.ID, Kind: crm.ActivityCall, CallID: "org-1", Agent: "nima", At: t0, Outcome: "answered"},
		{ContactID: org.ID, Kind: crm.ActivityNote, Body: "annual contract", At: t0.Add(time.Hour)},
		{ContactID: outsider.ID, Kind: crm.ActivityNote, Body: "not theirs", At: t0.Add(30 * time.Minute)},
	} {
		if err := h.store.AddActivity(ctx, &a); err != nil {
			t.Fatal(err)
		}
	}
	tk := crm.Task{ContactID: m.ID, Title: "renewal", DueAt: t0.Add(24 * time.Hour)}
	if err := h.store.AddTask(ctx, &tk); err != nil {
		t.Fatal(err)
	}
	b := h.client()
	b.login("nima", "nima-password")
	status, raw := b.getRaw("/api/v1/contacts/" + itoa(org.ID) + "/timeline")
	if status != 200 || strings.Contains(raw, "<") || strings.Contains(raw, "&") ||
		!strings.Contains(raw, `Reza \u003ci\u003eKarimi\u003c/i\u003e`) {
		t.Fatalf("organization timeline: %d %s", status, raw)
	}
	var tb timelineBody
	if err := json.Unmarshal([]byte(raw), &tb); err != nil {
		t.Fatal(err)
	}
	if tb.Contact.ID != org.ID || tb.Contact.Name != "Acme & Sons" {
		t.Fatalf("contact = %+v", tb.Contact)
	}
	if got, want := tb.kinds(), "task:renewal,activity:note,activity:call"; got != want {
		t.Fatalf("items = %s, want %s", got, want)
	}
	call, own, task := tb.Items[2], tb.Items[1], tb.Items[0]
	if call.Activity.CallID != "org-1" || call.Member == nil || call.Member.ID != m.ID ||
		call.Member.DisplayName != "Reza <i>Karimi</i>" {
		t.Fatalf("member's call = %+v member %+v", call.Activity, call.Member)
	}
	if task.Member == nil || task.Member.ID != m.ID || own.Member != nil {
		t.Fatalf("member's task %+v, organization's own note %+v", task.Member, own.Member)
	}
}

func TestTimelinePages(t *testing.T) {
	h := newConsoleHarness(t)
	ctx := context.Background()
	p := &crm.Contact{FirstName: "Busy", Phones: []crm.Phone{{Label: crm.LabelMobile, Raw: "09121230000"}}}
	if err := crm.NewDirectory(h.store, mustNorm(t)).Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	const notes = 230
	for i := range notes {
		a := crm.Activity{ContactID: p.ID, Kind: crm.ActivityNote, Body: fmt.Sprint("note ", i), At: t0.Add(time.Duration(i) * time.Minute)}
		if err := h.store.AddActivity(ctx, &a); err != nil {
			t.Fatal(err)
		}
	}
	b := h.client()
	b.login("ali", "ali-password")
	path := "/api/v1/contacts/" + itoa(p.ID) + "/timeline"
	var first, second timelineBody
	if r := b.do("GET", path, "", nil, &first); r.StatusCode != 200 || len(first.Items) != 200 || first.Next == "" ||
		first.Items[0].Activity.Body != fmt.Sprint("note ", notes-1) {
		t.Fatalf("first page: %d, %d items, next %q", r.StatusCode, len(first.Items), first.Next)
	}
	if r := b.do("GET", path+"?before="+url.QueryEscape(first.Next), "", nil, &second); r.StatusCode != 200 || len(second.Items) != notes-200 ||
		second.Next != "" || second.Items[0].Activity.Body != fmt.Sprint("note ", notes-201) ||
		second.Items[len(second.Items)-1].Activity.Body != "note 0" {
		t.Fatalf("second page: %d, %d items, next %q", r.StatusCode, len(second.Items), second.Next)
	}
}

// Items at the same moment across a page boundary: none is lost or
// repeated.
func TestTimelinePagesWithTies(t *testing.T) {
	h := newConsoleHarness(t)
	ctx := context.Background()
	p := &crm.Contact{FirstName: "Tied", Phones: []crm.Phone{{Label: crm.LabelMobile, Raw: "09121230001"}}}
	if err := crm.NewDirectory(h.store, mustNorm(t)).Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	due := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	const n = 205
	for i := range n {
		tk := crm.Task{ContactID: p.ID, Title: fmt.Sprint("task ", i), DueAt: due}
		if err := h.store.AddTask(ctx, &tk); err != nil {
			t.Fatal(err)
		}
	}
	b := h.client()
	b.login("ali", "ali-password")
	path := "/api/v1/contacts/" + itoa(p.ID) + "/timeline"
	seen := map[int64]bool{}
	next := ""
	for range 3 {
		var page timelineBody
		q := path
		if next != "" {
			q += "?before=" + url.QueryEscape(next)
		}
		if r := b.do("GET", q, "", nil, &page); r.StatusCode != 200 {
			t.Fatalf("page: %d", r.StatusCode)
		}
		for _, it := range page.Items {
			if seen[it.Task.ID] {
				t.Fatalf("task %d on two pages", it.Task.ID)
			}
			seen[it.Task.ID] = true
		}
		if next = page.Next; next == "" {
			break
		}
	}
	if len(seen) != n {
		t.Fatalf("%d of %d tasks shown", len(seen), n)
	}
	var eb errBody
	if r := b.do("GET", path+"?before="+url.QueryEscape("2026-12-03T09:00:00Z~task~x"), "", nil, &eb); r.StatusCode != 400 || eb.Error.Field != "before" {
		t.Fatalf("a bad cursor: %d %+v", r.StatusCode, eb)
	}
}
