// Package popbench measures the screen-pop path — call event in, pop frame
// read by a console — on this machine: `tamas bench` runs it, and
// docs/benchmarks.md keeps its figures.
package popbench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/seed"
	"github.com/tamas-cc/tamas/crm/sqlite"
	"github.com/tamas-cc/tamas/screenpop"
	"github.com/tamas-cc/tamas/screenpop/membus"
	"github.com/tamas-cc/tamas/screenpop/redisbus"
	"github.com/tamas-cc/tamas/telephony"
	"github.com/tamas-cc/tamas/web/push"
)

// Usage lists the modes Run takes.
const Usage = `tamas bench pop     call event in → pop frame read by the console (lookup and history included)
tamas bench deliver  pop published → frame read by the console (delivery alone)
tamas bench idle     memory per idle console connection
tamas bench storm    every console reconnects at once and catches up`

// ErrUsage marks options or a mode that make no sense.
var ErrUsage = errors.New("usage")

// Options are a run's settings; the flags of `tamas bench` set them.
type Options struct {
	Consoles, Contacts, Nodes int
	Warmup                    int
	Rate                      float64
	Duration                  time.Duration
	Bus, Redis, DB, URL       string
	Out                       io.Writer
	// Stdin is read by the idle-clients mode, which idle runs as a
	// separate process.
	Stdin io.Reader
}

// Run measures the screen-pop path on this machine in one mode. Consoles
// are real websocket clients on loopback; nodes are in this process, each
// with its own bus client, hub and HTTP server, so "two nodes" crosses
// Redis for real.
func Run(ctx context.Context, mode string, o Options) error {
	if o.Nodes != 1 && (o.Nodes != 2 || o.Bus != "redis") {
		return fmt.Errorf("%w: -nodes 2 needs -bus redis", ErrUsage)
	}
	if o.Consoles < 1 || o.Rate <= 0 {
		return fmt.Errorf("%w: -consoles and -rate must be positive", ErrUsage)
	}
	switch mode {
	case "pop":
		return benchPop(ctx, o)
	case "deliver":
		return benchDeliver(ctx, o)
	case "idle":
		return benchIdle(ctx, o)
	case "idle-clients":
		return benchIdleClients(ctx, o, o.Stdin)
	case "storm":
		return benchStorm(ctx, o)
	}
	return fmt.Errorf("%w: unknown bench mode %q:\n%s", ErrUsage, mode, Usage)
}

// node is one Tamas node's delivery side: a bus, a hub and its HTTP server.
type benchNode struct {
	bus   screenpop.Bus
	index *screenpop.CallIndex
	hub   *push.Hub
	srv   *httptest.Server
	redis *redis.Client
}

func newBenchNode(ctx context.Context, o Options, prefix string) (*benchNode, error) {
	n := &benchNode{}
	ret := screenpop.Retention{Messages: 500, Age: 15 * time.Minute}
	if o.Bus == "redis" {
		n.redis = redis.NewClient(&redis.Options{Addr: o.Redis, PoolSize: 64})
		b, err := redisbus.New(ctx, n.redis, redisbus.Options{Prefix: prefix, Retention: ret})
		if err != nil {
			return nil, err
		}
		n.bus = b
	} else {
		n.bus = membus.New(ret)
	}
	// Every node follows the supervisors' channel for its call index, as
	// tamas serve does: its cost is part of a node's.
	idx, err := screenpop.WatchCalls(ctx, n.bus)
	if err != nil {
		return nil, err
	}
	n.index = idx
	n.hub = push.New(push.Options{Bus: n.bus})
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := r.URL.Query().Get("u")
		n.hub.ServeConsole(w, r, push.Client{Username: u, Role: "agent", Channels: []string{screenpop.UserChannel(u)}})
	}))
	return n, nil
}

func (n *benchNode) close() {
	n.index.Close()
	n.hub.Close()
	n.srv.Close()
	n.bus.Close()
	if n.redis != nil {
		n.redis.Close()
	}
}

func (n *benchNode) wsURL(user string) string {
	return "ws" + strings.TrimPrefix(n.srv.URL, "http") + "/?u=" + user
}

// nodes returns where calls are caught and where consoles connect.
func benchNodes(ctx context.Context, o Options) (catch, serve *benchNode, closeAll func(), err error) {
	prefix := fmt.Sprintf("tamas-bench:%d:", time.Now().UnixNano())
	a, err := newBenchNode(ctx, o, prefix)
	if err != nil {
		return nil, nil, nil, err
	}
	if o.Nodes == 1 {
		return a, a, a.close, nil
	}
	b, err := newBenchNode(ctx, o, prefix)
	if err != nil {
		a.close()
		return nil, nil, nil, err
	}
	return a, b, func() { a.close(); b.close() }, nil
}

// recorder keeps latency samples.
type recorder struct {
	mu      sync.Mutex
	samples []time.Duration
	got     atomic.Int64
}

func (r *recorder) add(d time.Duration) {
	r.mu.Lock()
	r.samples = append(r.samples, d)
	r.mu.Unlock()
	r.got.Add(1)
}

func (r *recorder) report(w io.Writer, label string, sent int64) {
	r.mu.Lock()
	s := slices.Clone(r.samples)
	r.mu.Unlock()
	slices.Sort(s)
	q := func(p float64) time.Duration {
		if len(s) == 0 {
			return 0
		}
		return s[min(len(s)-1, int(p*float64(len(s))))]
	}
	var maxd time.Duration
	if len(s) > 0 {
		maxd = s[len(s)-1]
	}
	fmt.Fprintf(w, "%s: sent %d, received %d, lost %d; p50 %s  p90 %s  p99 %s  max %s\n", label, sent, len(s),
		sent-int64(len(s)), round(q(0.50)), round(q(0.90)), round(q(0.99)), round(maxd))
}

func round(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/1e6, 'f', 3, 64) + "ms"
}

// connectConsoles opens one console per agent a0…aN-1 and calls onFrame
// with every message frame's body.
func connectConsoles(ctx context.Context, n *benchNode, count int, onFrame func(agent int, frame []byte)) (func(), error) {
	conns := make([]*websocket.Conn, count)
	var wg sync.WaitGroup
	dialer := *websocket.DefaultDialer
	dialer.HandshakeTimeout = 30 * time.Second
	for i := range count {
		ws, _, err := dialer.DialContext(ctx, n.wsURL("a"+strconv.Itoa(i)), nil)
		if err != nil {
			for _, c := range conns[:i] {
				c.Close()
			}
			return nil, fmt.Errorf("console %d: %w", i, err)
		}
		if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello"}`)); err != nil {
			return nil, err
		}
		conns[i] = ws
		wg.Go(func() {
			for {
				_, data, err := ws.ReadMessage()
				if err != nil {
					return
				}
				if bytes.HasPrefix(data, []byte(`{"type":"message"`)) {
					onFrame(i, data)
				}
			}
		})
	}
	// Every console has its welcome once its subscription exists; a short
	// settle lets the last subscriptions reach Redis.
	time.Sleep(500 * time.Millisecond)
	return func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}, nil
}

// popIDOf finds the pop id in a frame without decoding all of it: the
// consoles share the machine with the server, and a full decode per frame
// would be measured as delivery time.
func popIDOf(frame []byte) (string, int) {
	i := bytes.Index(frame, []byte(`"pop":{"id":"`))
	if i < 0 {
		return "", 0
	}
	rest := frame[i+len(`"pop":{"id":"`):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return "", 0
	}
	id := string(rest[:j])
	v := 0
	if k := bytes.Index(rest, []byte(`"version":`)); k >= 0 {
		num := rest[k+len(`"version":`):]
		end := bytes.IndexAny(num, ",}")
		v, _ = strconv.Atoi(string(num[:end]))
	}
	return id, v
}

// agentTargets sends each call's pop to the agent named by its DNIS.
type agentTargets struct{}

func (agentTargets) Targets(ev telephony.Event, p *screenpop.Pop) []string {
	if ev.Type == telephony.CallStarted {
		return []string{ev.Call.DNIS}
	}
	return nil
}

// benchStore opens (seeding on first use) an SQLite CRM with n contacts.
func benchStore(ctx context.Context, o Options) (*sqlite.Store, *crm.Directory, error) {
	if err := os.MkdirAll(o.DB, 0o750); err != nil {
		return nil, nil, err
	}
	path := filepath.Join(o.DB, fmt.Sprintf("pop-%d.db", o.Contacts))
	_, statErr := os.Stat(path + ".done")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, nil, err
	}
	norm, _ := phone.New("IR")
	dir := crm.NewDirectory(st, norm)
	if statErr != nil {
		fmt.Fprintf(o.Out, "seeding %d contacts into %s (once; later runs reuse it)…\n", o.Contacts, path)
		if _, err := seed.Seed(ctx, dir, seed.New(1), o.Contacts, 20_000, nil); err != nil {
			st.Close()
			return nil, nil, err
		}
		if err := os.WriteFile(path+".done", nil, 0o640); err != nil {
			st.Close()
			return nil, nil, err
		}
	}
	return st, dir, nil
}

// pace calls fn(i) at the given rate for the duration.
func pace(ctx context.Context, rate float64, d time.Duration, fn func(i int)) int64 {
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	var i int64
	for ; ; i++ {
		at := start.Add(time.Duration(i) * interval)
		if at.Sub(start) >= d || ctx.Err() != nil {
			return i
		}
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		}
		fn(int(i))
	}
}

func benchPop(ctx context.Context, o Options) error {
	st, dir, err := benchStore(ctx, o)
	if err != nil {
		return err
	}
	defer st.Close()
	catch, serve, closeAll, err := benchNodes(ctx, o)
	if err != nil {
		return err
	}
	defer closeAll()
	if o.Warmup > 0 {
		fmt.Fprintf(o.Out, "warming up with %d lookups…\n", o.Warmup)
		g := seed.New(1)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), 9))
				for range o.Warmup / 4 {
					if res, err := dir.Lookup(ctx, g.MobileNumber(r.IntN(o.Contacts))); err == nil && len(res.Matches) > 0 {
						_, _ = st.RecentActivities(ctx, res.Matches[0].Contact.ID, 5)
					}
				}
			})
		}
		wg.Wait()
	}
	svc := screenpop.NewService(screenpop.Options{Lookup: dir, Records: st, Publisher: catch.bus,
		Targets: agentTargets{}, Node: "bench", Logger: slog.New(slog.DiscardHandler)})
	var sentAt sync.Map // pop id → time the call event arrived
	rec, build := &recorder{}, &recorder{}
	closeConsoles, err := connectConsoles(ctx, serve, o.Consoles, func(_ int, f []byte) {
		now := time.Now()
		id, v := popIDOf(f)
		if v != 1 {
			return
		}
		if t0, ok := sentAt.Load(id); ok {
			rec.add(now.Sub(t0.(time.Time)))
		}
		if i := bytes.Index(f, []byte(`"build_us":`)); i >= 0 {
			rest := f[i+len(`"build_us":`):]
			if us, err := strconv.ParseInt(string(rest[:bytes.IndexAny(rest, ",}")]), 10, 64); err == nil {
				build.add(time.Duration(us) * time.Microsecond)
			}
		}
	})
	if err != nil {
		return err
	}
	g := seed.New(1)
	r := rand.New(rand.NewPCG(1, 2))
	var enders sync.WaitGroup
	sent := pace(ctx, o.Rate, o.Duration, func(i int) {
		number := fmt.Sprintf("+98935%07d", r.IntN(10_000_000)) // unknown
		if r.IntN(10) < 8 {
			number = g.MobileNumber(r.IntN(o.Contacts)) // known
		}
		c := telephony.Call{ID: "bench-" + strconv.Itoa(i), Direction: telephony.Inbound, PBX: "bench",
			Caller: telephony.Party{Number: number}, DNIS: "a" + strconv.Itoa(i%o.Consoles), StartedAt: time.Now()}
		c.LinkedID = c.ID
		sentAt.Store(c.ID, time.Now())
		svc.Handle(ctx, telephony.Event{Type: telephony.CallStarted, At: time.Now(), Call: c})
		enders.Go(func() {
			time.Sleep(2 * time.Second)
			svc.Handle(ctx, telephony.Event{Type: telephony.Ended, At: time.Now(), Call: c, Cause: telephony.CauseNormalClearing})
		})
	})
	enders.Wait()
	svc.Wait()
	time.Sleep(500 * time.Millisecond)
	closeConsoles()
	rec.report(o.Out, fmt.Sprintf("pop: %d contacts, %d consoles, %.0f calls/s, %d node(s), %s bus", o.Contacts, o.Consoles, o.Rate, o.Nodes, o.Bus), sent)
	build.report(o.Out, "  of which building the pop (lookup, history, tasks)", sent)
	return nil
}

// benchDeliver publishes pop-sized messages straight to consoles' channels:
// the delivery path alone, comparable with a general real-time server.
func benchDeliver(ctx context.Context, o Options) error {
	catch, serve, closeAll, err := benchNodes(ctx, o)
	if err != nil {
		return err
	}
	defer closeAll()
	rec := &recorder{}
	closeConsoles, err := connectConsoles(ctx, serve, o.Consoles, func(_ int, f []byte) {
		now := time.Now()
		i := bytes.Index(f, []byte(`"t":`))
		if i < 0 {
			return
		}
		rest := f[i+4:]
		ns, err := strconv.ParseInt(string(rest[:bytes.IndexAny(rest, ",}")]), 10, 64)
		if err == nil {
			rec.add(now.Sub(time.Unix(0, ns)))
		}
	})
	if err != nil {
		return err
	}
	pad := strings.Repeat("x", 1500) // about a pop's size
	var errs atomic.Int64
	sent := pace(ctx, o.Rate, o.Duration, func(i int) {
		data := fmt.Appendf(nil, `{"kind":"pop","pad":%q,"t":%d}`, pad, time.Now().UnixNano())
		if _, err := catch.bus.Publish(ctx, screenpop.UserChannel("a"+strconv.Itoa(i%o.Consoles)), data); err != nil {
			errs.Add(1)
		}
	})
	time.Sleep(500 * time.Millisecond)
	closeConsoles()
	rec.report(o.Out, fmt.Sprintf("deliver: %d consoles, %.0f msg/s, %d node(s), %s bus", o.Consoles, o.Rate, o.Nodes, o.Bus), sent)
	if errs.Load() > 0 {
		return fmt.Errorf("%d publishes failed", errs.Load())
	}
	return nil
}

// benchIdle measures what idle consoles cost the server. The consoles run
// in a child process so that only the server's memory is counted.
func benchIdle(ctx context.Context, o Options) error {
	n, err := newBenchNode(ctx, o, "tamas-bench-idle:")
	if err != nil {
		return err
	}
	defer n.close()
	before := memNow()
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, exe, "bench", "idle-clients", "-consoles", strconv.Itoa(o.Consoles), "-url", n.wsURL(""))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready") {
		return fmt.Errorf("clients: %q %v", line, err)
	}
	for n.hub.Connections() < o.Consoles {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	after := memNow()
	per := func(a, b uint64) float64 { return float64(int64(b)-int64(a)) / float64(o.Consoles) / 1024 }
	fmt.Fprintf(o.Out, "idle: %d consoles: heap %.1f KiB + stacks %.1f KiB = %.1f KiB per connection (Go runtime, after GC); RSS %.1f KiB per connection; goroutines %d\n",
		o.Consoles, per(before.heap, after.heap), per(before.stack, after.stack),
		per(before.heap+before.stack, after.heap+after.stack), per(before.rss, after.rss), runtime.NumGoroutine())
	return nil
}

type mem struct{ heap, stack, rss uint64 }

func memNow() mem {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := mem{heap: ms.HeapInuse, stack: ms.StackInuse}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				m.rss = kb * 1024
			}
		}
	}
	return m
}

func benchIdleClients(ctx context.Context, o Options, stdin io.Reader) error {
	if o.URL == "" {
		return errors.New("idle-clients needs -url")
	}
	conns := make([]*websocket.Conn, 0, o.Consoles)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range o.Consoles {
		ws, _, err := websocket.DefaultDialer.DialContext(ctx, o.URL+"a"+strconv.Itoa(i), nil)
		if err != nil {
			return fmt.Errorf("console %d: %w", i, err)
		}
		if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello"}`)); err != nil {
			return err
		}
		conns = append(conns, ws)
		go func() {
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
			}
		}()
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, stdin)
	return nil
}

// benchStorm: every console saw message 1, then was away while more were
// published; all reconnect at once resuming from 1, and each must get
// exactly the ones it missed.
func benchStorm(ctx context.Context, o Options) error {
	catch, serve, closeAll, err := benchNodes(ctx, o)
	if err != nil {
		return err
	}
	defer closeAll()
	const missed = 5
	epochs := make([]string, o.Consoles)
	for i := range o.Consoles {
		for k := 0; k <= missed; k++ {
			m, err := catch.bus.Publish(ctx, screenpop.UserChannel("a"+strconv.Itoa(i)), fmt.Appendf(nil, `{"k":%d}`, k+1))
			if err != nil {
				return err
			}
			epochs[i] = m.Epoch
		}
	}
	var lost, doubled, wrong atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	var slowest atomic.Int64
	for i := range o.Consoles {
		wg.Go(func() {
			ws, _, err := websocket.DefaultDialer.DialContext(ctx, serve.wsURL("a"+strconv.Itoa(i)), nil)
			if err != nil {
				lost.Add(missed)
				return
			}
			defer ws.Close()
			hello, _ := json.Marshal(map[string]any{"type": "hello", "resume": []map[string]any{
				{"channel": screenpop.UserChannel("a" + strconv.Itoa(i)), "epoch": epochs[i], "seq": 1}}})
			_ = ws.WriteMessage(websocket.TextMessage, hello)
			_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
			seen := map[uint64]int{}
			for len(seen) < missed {
				var f struct {
					Type string `json:"type"`
					Seq  uint64 `json:"seq"`
				}
				if err := ws.ReadJSON(&f); err != nil {
					break
				}
				if f.Type == "message" {
					seen[f.Seq]++
				}
			}
			for k := uint64(2); k <= missed+1; k++ {
				switch seen[k] {
				case 0:
					lost.Add(1)
				case 1:
				default:
					doubled.Add(1)
				}
			}
			for s := range seen {
				if s < 2 || s > missed+1 {
					wrong.Add(1)
				}
			}
			if el := time.Since(start); int64(el) > slowest.Load() {
				slowest.Store(int64(el))
			}
		})
	}
	wg.Wait()
	fmt.Fprintf(o.Out, "storm: %d consoles reconnected at once, %d missed messages each: lost %d, doubled %d, unexpected %d; all caught up in %s (%s bus, %d node(s))\n",
		o.Consoles, missed, lost.Load(), doubled.Load(), wrong.Load(), round(time.Duration(slowest.Load())), o.Bus, o.Nodes)
	if lost.Load()+doubled.Load()+wrong.Load() > 0 {
		return errors.New("storm: messages lost or doubled")
	}
	return nil
}
