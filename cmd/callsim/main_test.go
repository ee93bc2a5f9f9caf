package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tamas-cc/tamas/telephony"
	"github.com/tamas-cc/tamas/telephony/sip"
	"github.com/tamas-cc/tamas/telephony/sip/callgen"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func endpoint(t *testing.T) (string, chan telephony.Event) {
	t.Helper()
	cfg := sip.DefaultConfig()
	cfg.Listen = []sip.Listener{{Network: "udp", Addr: "127.0.0.1:0"}}
	cfg.ShutdownTimeout = 2 * time.Second
	e, err := sip.NewEndpoint(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan telephony.Event, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, func(_ context.Context, ev telephony.Event) { events <- ev }) }()
	<-e.Ready()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return e.Addrs()[0].String(), events
}

func TestCallsWithCallersFile(t *testing.T) {
	addr, events := endpoint(t)
	file := filepath.Join(t.TempDir(), "callers.csv")
	if err := os.WriteFile(file, []byte("+14155550123,Alice Smith\n09121234567,علی رضایی\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	code := run(context.Background(), []string{"-target", "sip:18005550100@" + addr, "-callers", file,
		"-total", "2", "-rate", "20", "-hold", "200ms", "-json"}, func(string) string { return "" }, &out, &errs)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	var s callgen.Summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if s.Placed != 2 || s.Ringing != 2 || s.Cancelled != 2 {
		t.Fatalf("summary %+v", s)
	}
	names := map[string]bool{}
	for range 4 {
		select {
		case ev := <-events:
			if ev.Type == telephony.CallStarted {
				names[ev.Call.Caller.Name+"|"+ev.Call.Caller.Number] = true
			}
		case <-time.After(5 * time.Second):
			t.Fatal("missing events")
		}
	}
	if !names["Alice Smith|+14155550123"] || !names["علی رضایی|09121234567"] {
		t.Errorf("callers seen: %v", names)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-rate", "x", "-target", "sip:1@127.0.0.1"},
		{"-target", "sip:1@127.0.0.1", "-callers", "/nonexistent/file"},
		{"-target", "tel:+1"},
	} {
		var out, errs bytes.Buffer
		if code := run(context.Background(), args, func(string) string { return "" }, &out, &errs); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if errs.Len() == 0 {
			t.Errorf("%q: nothing said", args)
		}
	}
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, func(string) string { return "" }, &out, &errs); code != 0 || !strings.Contains(errs.String(), "-target") {
		t.Errorf("-h: exit %d, %s", code, errs.String())
	}
}
