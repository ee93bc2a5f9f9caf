package webhook_test

import (
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tamas-cc/tamas/webhook"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type received struct {
	mu   sync.Mutex
	evs  []map[string]any
	sigs []bool
}

func receiver(t *testing.T, secret []byte, status func(n int64) int) (*httptest.Server, *received) {
	r := &received{}
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		code := status(n.Add(1))
		if code == 200 {
			want := "sha256=" + webhook.Sign(secret, req.Header.Get("X-Tamas-Timestamp"), body)
			var ev map[string]any
			json.Unmarshal(body, &ev)
			r.mu.Lock()
			r.evs = append(r.evs, ev)
			r.sigs = append(r.sigs, hmac.Equal([]byte(want), []byte(req.Header.Get("X-Tamas-Signature"))) &&
				req.Header.Get("X-Tamas-Event") == ev["type"])
			r.mu.Unlock()
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	return srv, r
}

func (r *received) wait(t *testing.T, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		got := append([]map[string]any(nil), r.evs...)
		sigs := append([]bool(nil), r.sigs...)
		r.mu.Unlock()
		if len(got) >= n {
			for i, ok := range sigs {
				if !ok {
					t.Fatalf("delivery %d: bad signature or event header", i)
				}
			}
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries, want %d", len(got), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSignedInOrderRetriedAfter500(t *testing.T) {
	secret := []byte("s3cret")
	srv, got := receiver(t, secret, func(n int64) int {
		if n == 2 {
			return 500 // the second delivery fails once
		}
		return 200
	})
	d := webhook.New([]webhook.Endpoint{{Name: "crm", URL: srv.URL, Secret: secret}}, webhook.Options{Backoff: 10 * time.Millisecond})
	defer d.Close()
	for i := range 3 {
		d.Send(webhook.CallEnded, map[string]int{"n": i})
	}
	evs := got.wait(t, 3)
	for i, ev := range evs {
		data := ev["data"].(map[string]any)
		if ev["type"] != webhook.CallEnded || data["n"] != float64(i) || ev["id"] == "" {
			t.Fatalf("delivery %d = %v (out of order or wrong)", i, ev)
		}
	}
}

func TestEventFilterAndRefusal(t *testing.T) {
	secret := []byte("k")
	srv, got := receiver(t, secret, func(int64) int { return 200 })
	bad, _ := receiver(t, secret, func(int64) int { return 400 })
	d := webhook.New([]webhook.Endpoint{
		{Name: "ended-only", URL: srv.URL, Secret: secret, Events: []string{webhook.ActivityCompleted}},
		{Name: "refuses", URL: bad.URL, Secret: secret},
	}, webhook.Options{Backoff: time.Millisecond})
	defer d.Close()
	d.Send(webhook.CallStarted, "x")
	d.Send(webhook.ActivityCompleted, "y")
	evs := got.wait(t, 1)
	time.Sleep(50 * time.Millisecond)
	if len(evs) != 1 || evs[0]["type"] != webhook.ActivityCompleted {
		t.Fatalf("filtered deliveries = %v", evs)
	}
}

// An endpoint that hangs holds up neither Send nor another endpoint.
func TestHangingEndpointBlocksNothing(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	secret := []byte("k")
	srv, got := receiver(t, secret, func(int64) int { return 200 })
	d := webhook.New([]webhook.Endpoint{{Name: "hangs", URL: hang.URL, Secret: secret}, {Name: "ok", URL: srv.URL, Secret: secret}},
		webhook.Options{Client: &http.Client{Timeout: 200 * time.Millisecond}, Backoff: time.Millisecond, Attempts: 2})
	defer d.Close()
	start := time.Now()
	for range 100 {
		d.Send(webhook.CallStarted, "x")
	}
	if el := time.Since(start); el > 50*time.Millisecond {
		t.Fatalf("Send took %s with a hanging endpoint", el)
	}
	got.wait(t, 100)
}
