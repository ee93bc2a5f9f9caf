// Package webhook tells other systems (a HubSpot- or vtiger-style CRM, a
// data warehouse) what happened, by signed HTTP POSTs. Delivery runs on one
// goroutine per endpoint with a bounded queue and retries with backoff: a
// slow or failing endpoint delays only its own deliveries, never a call.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tamas-cc/tamas/calllog"
	"github.com/tamas-cc/tamas/screenpop"
)

// Event types Tamas sends: named where each is raised.
const (
	CallStarted       = calllog.EventCallStarted
	CallEnded         = calllog.EventCallEnded
	ActivityCompleted = calllog.EventActivityCompleted
	TaskDue           = screenpop.EventTaskDue
)

// Endpoint is one receiver.
type Endpoint struct {
	Name string
	URL  string
	// Secret signs every delivery (HMAC-SHA256).
	Secret []byte
	// Events the endpoint wants; empty means all.
	Events []string
}

// Options tune a Dispatcher. Zero values take the defaults shown.
type Options struct {
	Client *http.Client // a 10 s timeout
	// Queue bounds deliveries waiting per endpoint (10,000); beyond it the
	// oldest is dropped and counted, so memory stays bounded while an
	// endpoint is down for long.
	Queue int
	// Attempts per delivery (6), the first retry after Backoff (1 s),
	// doubling up to MaxBackoff (5 min).
	Attempts   int
	Backoff    time.Duration
	MaxBackoff time.Duration
	Logger     *slog.Logger
	Registry   prometheus.Registerer
	Now        func() time.Time
}

// Dispatcher delivers events to endpoints.
type Dispatcher struct {
	o       Options
	targets []*target
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	sent    *prometheus.CounterVec
}

type target struct {
	ep   Endpoint
	mu   sync.Mutex
	q    []delivery
	wake chan struct{}
}

type delivery struct {
	id, event string
	body      []byte
}

// New starts a dispatcher for the endpoints; Close stops it.
func New(endpoints []Endpoint, o Options) *Dispatcher {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Queue <= 0 {
		o.Queue = 10_000
	}
	if o.Attempts <= 0 {
		o.Attempts = 6
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{o: o, ctx: ctx, cancel: cancel, sent: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tamas_webhooks_total", Help: "Webhook deliveries, by endpoint and result.",
	}, []string{"endpoint", "result"})}
	if o.Registry != nil {
		o.Registry.MustRegister(d.sent)
	}
	for _, ep := range endpoints {
		t := &target{ep: ep, wake: make(chan struct{}, 1)}
		d.targets = append(d.targets, t)
		d.wg.Go(func() { d.run(t) })
	}
	return d
}

// Send queues an event for every endpoint that wants it and returns at
// once.
func (d *Dispatcher) Send(event string, data any) {
	var id [12]byte
	_, _ = rand.Read(id[:])
	body, err := json.Marshal(struct {
		ID        string    `json:"id"`
		Type      string    `json:"type"`
		CreatedAt time.Time `json:"created_at"`
		Data      any       `json:"data"`
	}{hex.EncodeToString(id[:]), event, d.o.Now().UTC(), data})
	if err != nil {
		d.o.Logger.Error("webhook: event not encodable", "event", event, "err", err)
		return
	}
	for _, t := range d.targets {
		if len(t.ep.Events) > 0 && !slices.Contains(t.ep.Events, event) {
			continue
		}
		t.mu.Lock()
		if len(t.q) >= d.o.Queue {
			t.q = t.q[1:]
			d.sent.WithLabelValues(t.ep.Name, "dropped").Inc()
		}
		t.q = append(t.q, delivery{hex.EncodeToString(id[:]), event, body})
		t.mu.Unlock()
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

// Close stops delivering; what is still queued is dropped.
func (d *Dispatcher) Close() {
	d.cancel()
	d.wg.Wait()
}

func (d *Dispatcher) run(t *target) {
	for {
		t.mu.Lock()
		var next *delivery
		if len(t.q) > 0 {
			n := t.q[0]
			t.q = t.q[1:]
			next = &n
		}
		t.mu.Unlock()
		if next == nil {
			select {
			case <-d.ctx.Done():
				return
			case <-t.wake:
				continue
			}
		}
		d.deliver(t, *next)
		if d.ctx.Err() != nil {
			return
		}
	}
}

// deliver tries one delivery until it succeeds, is refused for good, or
// runs out of attempts. Deliveries to one endpoint stay in order.
func (d *Dispatcher) deliver(t *target, dl delivery) {
	wait := d.o.Backoff
	for attempt := 1; ; attempt++ {
		code, err := d.post(t, dl)
		switch {
		case err == nil && code >= 200 && code < 300:
			d.sent.WithLabelValues(t.ep.Name, "delivered").Inc()
			return
		case err == nil && code >= 400 && code < 500 && code != 408 && code != 429:
			d.sent.WithLabelValues(t.ep.Name, "refused").Inc()
			d.o.Logger.Warn("webhook refused", "endpoint", t.ep.Name, "event", dl.event, "status", code)
			return
		}
		if attempt >= d.o.Attempts {
			d.sent.WithLabelValues(t.ep.Name, "failed").Inc()
			d.o.Logger.Error("webhook given up", "endpoint", t.ep.Name, "event", dl.event, "attempts", attempt, "status", code, "err", err)
			return
		}
		d.sent.WithLabelValues(t.ep.Name, "retried").Inc()
		select {
		case <-d.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, d.o.MaxBackoff)
	}
}

func (d *Dispatcher) post(t *target, dl delivery) (int, error) {
	ts := strconv.FormatInt(d.o.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(d.ctx, http.MethodPost, t.ep.URL, bytes.NewReader(dl.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Tamas-Webhook/1")
	req.Header.Set("X-Tamas-Event", dl.event)
	req.Header.Set("X-Tamas-Delivery", dl.id)
	req.Header.Set("X-Tamas-Timestamp", ts)
	req.Header.Set("X-Tamas-Signature", "sha256="+Sign(t.ep.Secret, ts, dl.body))
	resp, err := d.o.Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("webhook %s: %w", t.ep.Name, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Sign is the signature a receiver checks: hex HMAC-SHA256 of the
// timestamp, a dot, and the body. Signing the timestamp lets a receiver
// refuse old deliveries replayed by someone who captured one.
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
