package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tamas-cc/tamas/internal/config"
	"github.com/tamas-cc/tamas/internal/testkit"
	"github.com/tamas-cc/tamas/node"
	"github.com/tamas-cc/tamas/telephony/sip/callgen"
)

// PostgreSQL stops during live calls and comes back: every call still ends
// as exactly one activity, the ones from the outage through the outbox; an
// agent who wraps a call up during the outage keeps working, and the
// disposition reaches the activity when the database returns.
func TestDatabaseOutageLosesNoCall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	pg := testkit.PrivatePostgres(t)
	data := t.TempDir()
	dbEnv := []string{"TAMAS_DATABASE_DRIVER=postgres", "TAMAS_DATABASE_URL=" + pg.URL(), "TAMAS_NEW_PASSWORD=agent-password"}
	if r := tamasEnv(t, context.Background(), data, "", dbEnv, "users", "add", "-username", "neda", "-role", "agent"); r.code != 0 {
		t.Fatalf("users add: %+v", r)
	}
	cfg, err := config.Load("", []string{"TAMAS_DATA_DIR=" + data, "TAMAS_LOG_FORMAT=json",
		"TAMAS_DATABASE_DRIVER=postgres", "TAMAS_DATABASE_URL=" + pg.URL()})
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.SIP.Enabled, cfg.SIP.Listen = true, []string{"udp:127.0.0.1:0"}
	cfg.Console.Routes = []config.Route{{Line: "*", Agents: []string{"neda"}}} // her calls, so her wrap-ups
	logs := &testkit.SyncBuffer{}
	l := loaded{cfg: cfg, log: newLogger(cfg.Log, logs, false)}
	ctx, cancel := context.WithCancel(context.Background())
	readyc, done := make(chan node.Ready, 1), make(chan error, 1)
	go func() { done <- serve(ctx, l, func(r node.Ready) { readyc <- r }) }()
	var sipAddr, base string
	select {
	case r := <-readyc:
		sipAddr, base = r.SIP[0].String(), "http://"+r.HTTP
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not start")
	}
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	}()

	var wg sync.WaitGroup
	call := func(n int) {
		wg.Go(func() {
			_, err := callgen.Run(context.Background(), callgen.Options{Target: "sip:02191000000@" + sipAddr,
				Total: 1, Hold: 500 * time.Millisecond, Callers: []callgen.Caller{{Number: fmt.Sprintf("+98912000%04d", n)}}})
			if err != nil {
				t.Errorf("call %d: %v", n, err)
			}
		})
	}
	count := func() (int, error) {
		cctx, ccancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer ccancel()
		conn, err := pgx.Connect(cctx, pg.URL())
		if err != nil {
			return 0, err
		}
		defer conn.Close(cctx)
		var calls, dups int
		err = conn.QueryRow(cctx, `SELECT count(*), count(*) - count(DISTINCT call_id) FROM activities WHERE kind='call'`).Scan(&calls, &dups)
		if dups != 0 {
			t.Fatalf("%d calls have two activities", dups)
		}
		return calls, err
	}
	waitFor := func(want int) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			n, err := count()
			if err == nil && n == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d call activities (%v), want %d", n, err, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	for i := range 3 {
		call(i)
	}
	wg.Wait()
	waitFor(3)
	// The agent signs in and opens the wrap-up of a call before the outage.
	jar, _ := cookiejar.New(nil)
	agent := &agentClient{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	if code := agent.call("POST", "/api/v1/session", map[string]string{"username": "neda", "password": "agent-password"}, nil); code != 200 {
		t.Fatalf("login: %d", code)
	}
	var callID string
	{
		cctx, ccancel := context.WithTimeout(context.Background(), 3*time.Second)
		conn, err := pgx.Connect(cctx, pg.URL())
		if err != nil {
			t.Fatal(err)
		}
		err = conn.QueryRow(cctx, `SELECT call_id FROM activities WHERE kind='call' ORDER BY id LIMIT 1`).Scan(&callID)
		conn.Close(cctx)
		ccancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	if code := agent.call("POST", "/api/v1/wrapups", map[string]any{"call_id": callID}, nil); code != 200 {
		t.Fatalf("open the wrap-up: %d", code)
	}

	pg.Stop()
	// The agent writes notes and finishes during the outage: kept, not lost.
	if code := agent.call("PUT", "/api/v1/wrapups/"+callID+"/notes", map[string]string{"notes": "wants a callback"}, nil); code != 204 {
		t.Fatalf("notes during the outage: %d", code)
	}
	var finished struct {
		Pending bool `json:"pending"`
	}
	if code := agent.call("POST", "/api/v1/wrapups/"+callID+"/finish", map[string]any{"disposition": "callback"}, &finished); code != 200 || !finished.Pending {
		t.Fatalf("finish during the outage: %d %+v", code, finished)
	}
	for i := 3; i < 6; i++ {
		call(i)
	}
	wg.Wait()
	outbox := filepath.Join(data, "call-outbox.jsonl")
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(outbox)
		if strings.Count(string(b), "\n") == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outbox holds %q, want 3 calls", b)
		}
		time.Sleep(50 * time.Millisecond)
	}

	pg.Start()
	waitFor(6)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		cctx, ccancel := context.WithTimeout(context.Background(), 3*time.Second)
		conn, err := pgx.Connect(cctx, pg.URL())
		var disp, body string
		if err == nil {
			err = conn.QueryRow(cctx, `SELECT disposition, body FROM activities WHERE call_id=$1`, callID).Scan(&disp, &body)
			conn.Close(cctx)
		}
		ccancel()
		if err == nil && disp == "callback" && body == "wants a callback" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the wrap-up from the outage: %q %q (%v)", disp, body, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(data, "wrapup-outbox.jsonl")); len(b) != 0 {
		t.Fatalf("the wrap-up outbox still holds %q", b)
	}
	if b, _ := os.ReadFile(outbox); len(b) != 0 {
		t.Fatalf("the outbox still holds %q", b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	stopped = true
}
