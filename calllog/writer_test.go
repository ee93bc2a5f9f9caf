package calllog_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tamas-cc/tamas/calllog"
	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/sqlite"
	"github.com/tamas-cc/tamas/crm/sqlite/sqlitetest"
	"github.com/tamas-cc/tamas/telephony"
	"github.com/tamas-cc/tamas/telephony/ari"
	"github.com/tamas-cc/tamas/telephony/ari/aritest"
)

type quiet struct{}

func (quiet) Send(string, any) {}

type noUsers struct{}

func (noUsers) User(string) string { return "" }

// writerOn returns a writer over st, with its outbox in dir.
func writerOn(t *testing.T, st *sqlite.Store, dir string) (*calllog.Writer, *calllog.Outbox) {
	t.Helper()
	norm, err := phone.New("IR")
	if err != nil {
		t.Fatal(err)
	}
	box, err := calllog.OpenOutbox(filepath.Join(dir, "outbox"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { box.Close() })
	w := calllog.NewWriter(calllog.WriterOptions{Lookup: crm.NewDirectory(st, norm), Store: st, Outbox: box,
		Notify: quiet{}, Users: noUsers{}})
	return w, box
}

// call feeds the writer one inbound call from number, from start to end,
// and waits until its activity is written.
func call(w *calllog.Writer, id, number string, start, end time.Time) {
	c := telephony.Call{ID: id, LinkedID: id, Direction: telephony.Inbound, Caller: telephony.Party{Number: number},
		StartedAt: start}
	ctx := context.Background()
	w.Handle(ctx, telephony.Event{Type: telephony.CallStarted, At: start, Call: c})
	w.Handle(ctx, telephony.Event{Type: telephony.Ended, At: end, Call: c, Cause: "normal_clearing", CauseCode: 16})
	w.Wait()
}

// The activity keeps the caller's number as the network gave it and, beside
// it, the E.164 number the lookup read, matched contact or not.
func TestWriterKeepsE164(t *testing.T) {
	dir := t.TempDir()
	st := sqlitetest.Open(t, filepath.Join(dir, "crm.db"))
	ctx := context.Background()
	norm, _ := phone.New("IR")
	sara := &crm.Contact{FirstName: "Sara", Phones: []crm.Phone{{Raw: "09121234567"}}}
	if err := crm.NewDirectory(st, norm).Create(ctx, sara); err != nil {
		t.Fatal(err)
	}
	w, _ := writerOn(t, st, dir)
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		id, number, e164 string
		contact          int64
	}{
		{"persian", "۰۹۱۲۱۲۳۴۵۶۷", "+989121234567", sara.ID},
		{"stranger", "+1 415 555 0123", "+14155550123", 0},
		{"withheld", "anonymous", "", 0},
		{"internal", "1001", "", 0},
	} {
		call(w, tc.id, tc.number, at, at.Add(time.Minute))
		a, err := st.CallActivity(ctx, tc.id)
		if err != nil {
			t.Fatalf("%s: %v", tc.id, err)
		}
		if a.Number != tc.number || a.NumberE164 != tc.e164 || a.ContactID != tc.contact {
			t.Errorf("%s: number %q e164 %q contact %d, want %q %q %d", tc.id, a.Number, a.NumberE164, a.ContactID,
				tc.number, tc.e164, tc.contact)
		}
	}
}

// A call ended while the database is down goes to the outbox with its
// E.164 number: reading the number needs no database.
func TestWriterKeepsE164ThroughAnOutage(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "crm.db")
	st := sqlitetest.Open(t, db)
	w, box := writerOn(t, st, dir)
	st.Close()
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	call(w, "down", "٠٩١٢١٢٣٤٥٦٧", at, at.Add(time.Minute))
	if box.Len() != 1 {
		t.Fatalf("outbox holds %d, want the call", box.Len())
	}
	st = sqlitetest.Open(t, db)
	ctx := context.Background()
	if n, err := box.Flush(ctx, st, calllog.FlushHooks{}); n != 1 || err != nil {
		t.Fatalf("flush: %d %v", n, err)
	}
	a, err := st.CallActivity(ctx, "down")
	if err != nil || a.Number != "٠٩١٢١٢٣٤٥٦٧" || a.NumberE164 != "+989121234567" {
		t.Fatalf("activity from the outbox = %+v (%v)", a, err)
	}
}

// The caller hangs up while Tamas is away from Asterisk: the activity ends
// when the connection dropped — the call's Ended event's time — not when
// Tamas came back and found the call gone.
func TestWriterEndsALostCallWhenTheConnectionDropped(t *testing.T) {
	dir := t.TempDir()
	st := sqlitetest.Open(t, filepath.Join(dir, "crm.db"))
	w, _ := writerOn(t, st, dir)

	srv := aritest.NewServer(aritest.Options{Password: "pw"})
	defer srv.Close()
	tr, err := aritest.Load("inbound_sip_call")
	if err != nil {
		t.Fatal(err)
	}
	cfg := ari.DefaultConfig()
	cfg.Name, cfg.Node, cfg.URL, cfg.Username, cfg.Password = "lab", "node-1", srv.URL(), "tamas", "pw"
	// Away at least 1 s: the backoff draws from the upper half.
	cfg.ReconnectMin, cfg.ReconnectMax = 2*time.Second, 2*time.Second
	ad, err := ari.New(cfg, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	answered, ended := make(chan struct{}, 1), make(chan telephony.Event, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ad.Run(ctx, func(ctx context.Context, ev telephony.Event) {
			w.Handle(ctx, ev)
			switch ev.Type {
			case telephony.Answered:
				answered <- struct{}{}
			case telephony.Ended:
				ended <- ev
			}
		})
	}()
	defer func() { cancel(); <-done }()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := srv.WaitConnected(wctx, 1); err != nil {
		t.Fatal(err)
	}
	const id = "1795328539.0"
	if err := srv.Send(tr.FramesUntil(9)...); err != nil { // StasisStart, answered
		t.Fatal(err)
	}
	select {
	case <-answered:
	case <-wctx.Done():
		t.Fatal("the call was not answered")
	}
	srv.RemoveChannel(id)
	dropped := time.Now()
	srv.Drop()
	var ev telephony.Event
	select {
	case ev = <-ended:
	case <-wctx.Done():
		t.Fatal("the lost call did not end")
	}
	back := time.Now()
	w.Wait()
	a, err := st.CallActivity(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var rec calllog.Record
	if err := json.Unmarshal(a.Details, &rec); err != nil {
		t.Fatal(err)
	}
	if ev.Cause != telephony.CauseLost || !rec.EndedAt.Equal(ev.At) || a.Duration != ev.At.Sub(a.At).Truncate(time.Millisecond) {
		t.Fatalf("activity ends %v after %v, event %s at %v", rec.EndedAt, a.Duration, ev.Cause, ev.At)
	}
	if ev.At.Sub(dropped).Abs() > 200*time.Millisecond || back.Sub(ev.At) < 800*time.Millisecond {
		t.Fatalf("lost call ended at %v; dropped at %v, back at %v", ev.At, dropped, back)
	}
}
