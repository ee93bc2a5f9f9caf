package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/calllog"
	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/sqlite"
	"github.com/tamas-cc/tamas/internal/testkit"
	"github.com/tamas-cc/tamas/telephony/ari/aritest"
	"github.com/tamas-cc/tamas/webhook"
)

// A call from a recording of a real Asterisk, replayed twice, becomes
// exactly one activity on the caller's contact, answered by the agent whose
// phone it was.
func TestRecordedCallBecomesOneActivity(t *testing.T) {
	data, pbx, tr := recordedCallSetup(t)
	srv := startServe(t, data, "TAMAS_ASTERISK_URL="+pbx.URL(), "TAMAS_ASTERISK_USERNAME=tamas",
		"TAMAS_ASTERISK_PASSWORD=pbx-s3cret")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := pbx.WaitConnected(ctx, 1); err != nil {
		t.Fatalf("no ARI connection: %v\n%s", err, srv.logs.String())
	}
	// The calls arrive after Tamas connected, as live calls do.
	srv.logField(t, "ari: connected", "pbx")
	pbx.Load(tr)
	for range 2 {
		if err := pbx.Replay(tr); err != nil {
			t.Fatal(err)
		}
	}
	srv.logField(t, "call from a known caller", "dnis")
	waitCallActivities(t, filepath.Join(data, "tamas.db"), 1)
	srv.stop(t)

	st, err := sqlite.Open(context.Background(), filepath.Join(data, "tamas.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	users, _ := st.ListUsers(context.Background())
	if len(users) != 1 || users[0].Endpoint != "PJSIP/agent1000" {
		t.Fatalf("users = %+v", users)
	}
	list, _ := st.ListContacts(context.Background(), crm.ContactQuery{Limit: 10})
	if len(list) != 1 {
		t.Fatalf("contacts = %+v", list)
	}
	contact := list[0].ID
	acts, err := st.RecentActivities(context.Background(), contact, 10)
	if err != nil || len(acts) != 1 {
		t.Fatalf("activities of the caller = %+v (%v), want exactly one", acts, err)
	}
	a := acts[0]
	if a.Kind != crm.ActivityCall || a.Outcome != "answered" || a.Agent != "neda" || a.Direction != "inbound" ||
		a.Number != "+14155550123" || a.Duration <= 0 || a.CallID == "" {
		t.Fatalf("activity = %+v", a)
	}
	byCall, err := st.CallActivity(context.Background(), a.CallID)
	if err != nil || byCall.ID != a.ID {
		t.Fatalf("by call id: %+v %v", byCall, err)
	}
	var rec calllog.Record
	if err := json.Unmarshal(a.Details, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.AnsweredBy != "PJSIP/agent1000" || rec.AnsweredAt == nil || rec.Talk <= 0 || rec.Cause != "normal_clearing" ||
		!rec.EndedAt.After(rec.ArrivedAt) {
		t.Fatalf("record = %+v", rec)
	}
	if c, _ := st.GetContact(context.Background(), contact); c.LastInteractionAt == nil {
		t.Fatal("the contact's last interaction was not updated")
	}
}

// Webhooks tell another system about the call: started, ended, logged —
// signed with the configured secret.
func TestRecordedCallIsAnnouncedByWebhooks(t *testing.T) {
	data := t.TempDir()
	secret := "webhook-secret-0123456789"
	var mu sync.Mutex
	var got []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Tamas-Signature") != "sha256="+webhook.Sign([]byte(secret), r.Header.Get("X-Tamas-Timestamp"), body) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		got = append(got, r.Header.Get("X-Tamas-Event"))
		mu.Unlock()
	}))
	defer hook.Close()
	secretFile := filepath.Join(data, "hook.secret")
	os.WriteFile(secretFile, []byte(secret), 0o600)
	cfg := filepath.Join(data, "tamas.yaml")
	os.WriteFile(cfg, []byte("webhooks:\n  - name: crm\n    url: "+hook.URL+"\n    secret_file: "+secretFile+"\n"), 0o600)

	pbx := aritest.NewServer(aritest.Options{Username: "tamas", Password: "pbx-s3cret"})
	defer pbx.Close()
	tr, err := aritest.Load("agent_call")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testkit.SyncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-config", cfg, "serve"}, env{stdout: io.Discard, stderr: logs, environ: []string{
			"TAMAS_DATA_DIR=" + data, "TAMAS_HTTP_LISTEN=127.0.0.1:0", "TAMAS_LOG_FORMAT=json",
			"TAMAS_ASTERISK_URL=" + pbx.URL(), "TAMAS_ASTERISK_USERNAME=tamas", "TAMAS_ASTERISK_PASSWORD=pbx-s3cret"}})
	}()
	defer func() { cancel(); <-done }()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := pbx.WaitConnected(wctx, 1); err != nil {
		t.Fatalf("no ARI connection: %v\n%s", err, logs.String())
	}
	for !strings.Contains(logs.String(), `"msg":"ari: connected"`) {
		if wctx.Err() != nil {
			t.Fatal("the ARI adapter never finished connecting")
		}
		time.Sleep(10 * time.Millisecond)
	}
	pbx.Load(tr) // the calls arrive after Tamas connected, as live calls do
	if err := pbx.Replay(tr); err != nil {
		t.Fatal(err)
	}
	want := []string{"call.started", "call.ended", "activity.completed"}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		g := append([]string(nil), got...)
		mu.Unlock()
		if slices.Equal(g, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhooks received %v, want %v\n%s", g, want, logs.String())
		}
	}
	if strings.Contains(logs.String(), secret) {
		t.Fatal("the webhook secret was logged")
	}
}

// waitCallActivities waits until the database holds n call activities:
// the recording's events are handled after the replay returns.
func waitCallActivities(t *testing.T, db string, n int) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		list, err := st.ListActivities(context.Background(), crm.ActivityQuery{Kind: crm.ActivityCall})
		if err == nil && len(list) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d call activities (%v), want %d", len(list), err, n)
		}
	}
}

// recordedCallSetup makes what the recorded agent call needs: the caller as
// a contact, the agent whose phone it rang (neda, PJSIP/agent1000), and a
// test ARI server holding the recording.
func recordedCallSetup(t *testing.T) (string, *aritest.Server, *aritest.Transcript) {
	t.Helper()
	data := t.TempDir()
	csv := "first name,last name,mobile\nLab,Customer,+1 415 555 0123\n"
	if r := tamas(t, context.Background(), data, csv, "contacts", "import", "-"); r.code != 0 {
		t.Fatalf("import: %+v", r)
	}
	if r := tamasEnv(t, context.Background(), data, "", []string{"TAMAS_NEW_PASSWORD=agent-password"},
		"users", "add", "-username", "neda", "-role", "agent", "-endpoint", "PJSIP/agent1000"); r.code != 0 {
		t.Fatalf("users add: %+v", r)
	}
	pbx := aritest.NewServer(aritest.Options{Username: "tamas", Password: "pbx-s3cret"})
	t.Cleanup(pbx.Close)
	tr, err := aritest.Load("agent_call")
	if err != nil {
		t.Fatal(err)
	}
	return data, pbx, tr
}
