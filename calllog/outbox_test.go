package calllog_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/calllog"
	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/sqlite/sqlitetest"
)

func TestOutboxKeepsCallsThroughAnOutage(t *testing.T) {
	dir := t.TempDir()
	db, box := filepath.Join(dir, "crm.db"), filepath.Join(dir, "outbox")
	ctx := context.Background()
	st := sqlitetest.Open(t, db)
	st.Close() // the database is down

	o, err := calllog.OpenOutbox(box)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	for i, id := range []string{"c1", "c2", "c3", "c2"} { // c2 twice: a replay
		a := crm.Activity{Kind: crm.ActivityCall, CallID: id, Number: "+989120000001", At: at.Add(time.Duration(i) * time.Minute), Outcome: "answered"}
		if err := st.AddActivity(ctx, &a); err == nil {
			t.Fatal("a closed database took a write")
		}
		if err := o.Append(a); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := o.Flush(ctx, st, calllog.FlushHooks{}); n != 0 || err == nil {
		t.Fatalf("flush while down: %d, %v", n, err)
	}
	o.Close()

	// The node restarts; the outbox is read back; the database is back.
	o, err = calllog.OpenOutbox(box)
	if err != nil || o.Len() != 4 {
		t.Fatalf("reopened outbox holds %d (%v), want 4", o.Len(), err)
	}
	st = sqlitetest.Open(t, db)
	var written []string
	if n, err := o.Flush(ctx, st, calllog.FlushHooks{Written: func(a crm.Activity) { written = append(written, a.CallID) }}); n != 4 || err != nil || o.Len() != 0 {
		t.Fatalf("flush: %d %v, %d left", n, err, o.Len())
	}
	// Each call is announced once, as stored: the replayed one is not.
	if strings.Join(written, ",") != "c1,c2,c3" {
		t.Fatalf("announced %v", written)
	}
	for _, id := range []string{"c1", "c2", "c3"} {
		a, err := st.CallActivity(ctx, id)
		if err != nil || a.Outcome != "answered" {
			t.Fatalf("%s: %+v %v", id, a, err)
		}
	}
	first, _ := st.CallActivity(ctx, "c1")
	third, _ := st.CallActivity(ctx, "c3")
	if first.ID >= third.ID {
		t.Fatal("activities were written out of order")
	}
	if fi, err := os.Stat(box); err != nil || fi.Size() != 0 {
		t.Fatalf("the outbox file was not emptied: %v %v", fi, err)
	}
	o.Close()
}

func TestOutboxSurvivesATornLine(t *testing.T) {
	box := filepath.Join(t.TempDir(), "outbox")
	line := `{"kind":"call","call_id":"c1","at":"2026-11-22T09:00:00Z"}`
	if err := os.WriteFile(box, []byte(line+"\n"+`{"kind":"call","call_`), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := calllog.OpenOutbox(box)
	if err != nil || o.Len() != 1 {
		t.Fatalf("outbox with a torn last line: %d %v", o.Len(), err)
	}
	if err := o.Append(crm.Activity{Kind: crm.ActivityCall, CallID: "c2", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	o.Close()
	o, err = calllog.OpenOutbox(box)
	if err != nil || o.Len() != 2 {
		t.Fatalf("after appending past a torn line: %d %v, want 2", o.Len(), err)
	}
	o.Close()
}
