package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/calllog"
	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/sqlite"
)

// agentClient is the agent's console as HTTP: a session cookie and the
// header every change needs.
type agentClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (a *agentClient) call(method, path string, in, out any) int {
	a.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path, body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Tamas-Request", "1")
	resp, err := a.c.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			a.t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
	if resp.StatusCode >= 300 {
		a.t.Logf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	return resp.StatusCode
}

// A call from a recording of a real Asterisk goes through the pop, the
// agent's script answers, the hang-up and the disposition, and ends as
// exactly one activity holding every field; the event stream replayed
// again changes nothing.
func TestRecordedCallThroughWrapUp(t *testing.T) {
	data, pbx, tr := recordedCallSetup(t)
	cfg := filepath.Join(data, "tamas.yaml")
	scripts, _ := filepath.Abs("../../configs/scripts")
	if err := os.WriteFile(cfg, []byte("lines:\n  \"18005550100\": Sales line\nconsole:\n  scripts_dir: "+scripts+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServeConfig(t, data, cfg, "TAMAS_ASTERISK_URL="+pbx.URL(), "TAMAS_ASTERISK_USERNAME=tamas",
		"TAMAS_ASTERISK_PASSWORD=pbx-s3cret")
	base := srv.logField(t, "tamas serving", "url")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := pbx.WaitConnected(ctx, 1); err != nil {
		t.Fatalf("no ARI connection: %v\n%s", err, srv.logs.String())
	}
	srv.logField(t, "ari: connected", "pbx")

	jar, _ := cookiejar.New(nil)
	agent := &agentClient{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	if code := agent.call("POST", "/api/v1/session", map[string]string{"username": "neda", "password": "agent-password"}, nil); code != 200 {
		t.Fatalf("login: %d", code)
	}
	pbx.Load(tr)
	if err := pbx.Replay(tr); err != nil {
		t.Fatal(err)
	}
	srv.logField(t, "call from a known caller", "dnis")
	// The call's activity is written at its end; the console learns the
	// call's id and contact from the pop, as the test does from the list.
	var list struct {
		Activities []crm.Activity `json:"activities"`
	}
	for deadline := time.Now().Add(10 * time.Second); len(list.Activities) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no call activity\n%s", srv.logs.String())
		}
		agent.call("GET", "/api/v1/activities?kind=call", nil, &list)
	}
	callID, contact := list.Activities[0].CallID, list.Activities[0].ContactID
	if contact == 0 {
		t.Fatalf("the call found no contact: %+v", list.Activities[0])
	}

	var st struct {
		Run struct {
			Steps []struct{ ID string } `json:"steps"`
			Ended bool                  `json:"ended"`
		} `json:"run"`
	}
	if code := agent.call("POST", "/api/v1/wrapups", map[string]any{"call_id": callID, "contact_id": contact,
		"script": "inbound-sales", "line": "Sales line"}, &st); code != 200 {
		t.Fatalf("open wrap-up: %d", code)
	}
	answers := map[string][]string{"need": {"a <b>fleet</b> plan"}, "need-size": {"12"}, "authority": {"caller"},
		"budget": {"yes"}, "timeline": {"this-month"}}
	for !st.Run.Ended {
		from := st.Run.Steps[len(st.Run.Steps)-1].ID
		if code := agent.call("POST", "/api/v1/wrapups/"+callID+"/step", map[string]any{"from": from, "answer": answers[from],
			"go": "next"}, &st); code != 200 {
			t.Fatalf("step %s: %d", from, code)
		}
	}
	// A disposition not in the list, then the right one.
	if code := agent.call("POST", "/api/v1/wrapups/"+callID+"/finish", map[string]any{"disposition": "sold-a-yacht"}, nil); code != 422 {
		t.Fatalf("an unknown disposition: %d", code)
	}
	due := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	if code := agent.call("POST", "/api/v1/wrapups/"+callID+"/finish", map[string]any{"disposition": "qualified",
		"notes": "Ready to order", "tasks": []map[string]any{{"title": "Send the proposal", "due_at": due}}}, nil); code != 200 {
		t.Fatalf("finish: %d", code)
	}
	// The same stream again, after the wrap-up: still one activity, whole.
	if err := pbx.Replay(tr); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	srv.stop(t)

	db, err := sqlite.Open(context.Background(), filepath.Join(data, "tamas.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, err := db.ListActivities(context.Background(), crm.ActivityQuery{Kind: crm.ActivityCall})
	if err != nil || len(all) != 1 {
		t.Fatalf("call activities = %+v (%v), want exactly one", all, err)
	}
	a := all[0]
	var rec calllog.Record
	if err := json.Unmarshal(a.Details, &rec); err != nil {
		t.Fatal(err)
	}
	w := a.WrapUp
	switch {
	case a.CallID != callID || a.ContactID != contact || a.Direction != "inbound" || a.Number != "+14155550123" ||
		a.Agent != "neda" || a.Outcome != "answered" || a.Duration <= 0 || a.Disposition != "qualified" ||
		a.Body != "Ready to order":
		t.Fatalf("activity = %+v", a)
	case rec.DNIS == "" || rec.Line == "" || rec.AnsweredBy != "PJSIP/agent1000" || rec.AnsweredAt == nil ||
		rec.OfferedAt == nil || !rec.EndedAt.After(rec.ArrivedAt) || rec.Talk <= 0 || rec.Cause != "normal_clearing" ||
		len(rec.Agents) != 1 || len(rec.Recordings) != 1 || rec.PopMicros <= 0:
		t.Fatalf("call record = %+v", rec)
	case w == nil || w.Script != "inbound-sales" || w.Version < 1 || w.Score != 75 || !w.Done() || len(w.Tasks) != 1 ||
		w.Tasks[0].ID == 0 || !w.Tasks[0].DueAt.Equal(due) || w.Agent != "neda":
		t.Fatalf("wrap-up = %+v", w)
	}
	var got map[string]map[string]any
	if err := json.Unmarshal(w.Answers, &got); err != nil || len(got) != 5 || got["need"]["text"] != "a <b>fleet</b> plan" {
		t.Fatalf("answers = %s (%v)", w.Answers, err)
	}
	if c, _ := db.GetContact(context.Background(), contact); c.Status != crm.StatusQualified {
		t.Fatalf("the contact is %s, want qualified", c.Status)
	}
	tasks, _ := db.OpenTasks(context.Background(), contact, 10)
	if len(tasks) != 1 || tasks[0].CallID != callID || tasks[0].Assignee != "neda" {
		t.Fatalf("follow-ups = %+v", tasks)
	}
}
