package aritest

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Options configures a Server.
type Options struct {
	// Username and Password are the ARI credentials the server accepts
	// (HTTP basic auth, or api_key=user:pass as Asterisk also allows).
	// Defaults: "tamas" and "secret".
	Username, Password string
	// Apps are the Stasis application names accepted besides RecordedApp.
	// Default: "tamas".
	Apps []string
	// EntityID is Asterisk's entity id in /asterisk/info and in events.
	// Default: the recorded one.
	EntityID string
}

// Request is a REST request the server received.
type Request struct {
	Method string
	Path   string // with the /ari prefix
	Query  url.Values
	Body   []byte
}

// ErrNotConnected is returned by Send when no client holds the websocket.
var ErrNotConnected = errors.New("aritest: no websocket client connected")

// Server is a test ARI server. Its methods are safe for concurrent use.
//
// What it imitates, and why each matters to a client:
//   - Events go out over /ari/events exactly as recorded, byte for byte,
//     honouring the event filter the client set with
//     PUT /applications/{app}/eventFilter, as Asterisk does.
//   - One websocket per application: a second connection takes over and the
//     first receives ApplicationReplaced, then nothing.
//   - The channels that exist follow from the events sent, so
//     GET /channels and GET /applications/{app} show what a resync would
//     find, and a request on a channel the server does not know gets 404
//     "Channel not found" (400 from bridges/addChannel), as from Asterisk.
//   - Faults on demand: Drop cuts the websocket, Mute leaves it open but
//     answers no more pings (a network that went silent), Restart forgets
//     every channel and changes the start time, SetLatency slows every REST
//     answer, SendRaw and SendBinary write any bytes at all.
//
// REST routes whose answer depends on the request (originate, snoop,
// bridges, playbacks) are emulated with bodies shaped like the recorded
// ones; other routes answer with the recorded response for the same method
// and path from a loaded transcript. The recordings use the application
// name RecordedApp; the server accepts it and the configured names.
type Server struct {
	opts Options
	hs   *httptest.Server

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change waited for
	latency  time.Duration
	entityID string
	startup  time.Time
	// channels maps live channel ids to their latest JSON; stasis marks
	// those inside the application.
	channels map[string]json.RawMessage
	stasis   map[string]bool
	bridges  map[string]*bridge
	recorded map[string][]Exchange // "METHOD /ari/path" → responses in order
	served   map[string]int
	allowed  map[string]bool // event filter; empty: all
	denied   map[string]bool
	requests []Request
	current  *conn
	conns    []*conn
	accepted int
	seq      int
}

type bridge struct {
	ID         string   `json:"id"`
	Technology string   `json:"technology"`
	BridgeType string   `json:"bridge_type"`
	Class      string   `json:"bridge_class"`
	Creator    string   `json:"creator"`
	Name       string   `json:"name"`
	Channels   []string `json:"channels"`
	Created    string   `json:"creationtime"`
	VideoMode  string   `json:"video_mode"`
}

type conn struct {
	ws       *websocket.Conn
	app      string
	wmu      sync.Mutex
	replaced bool
	muted    atomic.Bool
}

// RecordedEntityID is the entity id of the Asterisk the transcripts came
// from.
const RecordedEntityID = "02:fc:00:00:00:01"

// TimeLayout is how Asterisk writes times in ARI.
const TimeLayout = "2006-01-02T15:04:05.000-0700"

// NewServer starts a server on a loopback port. Close it when done.
func NewServer(opts Options) *Server {
	if opts.Username == "" {
		opts.Username = "tamas"
	}
	if opts.Password == "" {
		opts.Password = "secret"
	}
	if len(opts.Apps) == 0 {
		opts.Apps = []string{"tamas"}
	}
	if opts.EntityID == "" {
		opts.EntityID = RecordedEntityID
	}
	s := &Server{
		opts:     opts,
		changed:  make(chan struct{}),
		entityID: opts.EntityID,
		startup:  time.Now().Truncate(time.Millisecond),
		channels: map[string]json.RawMessage{},
		stasis:   map[string]bool{},
		bridges:  map[string]*bridge{},
		recorded: map[string][]Exchange{},
		served:   map[string]int{},
	}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// URL is the ARI base URL, http://127.0.0.1:port/ari.
func (s *Server) URL() string { return s.hs.URL + "/ari" }

// Close cuts every connection and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.current = nil
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.ws.NetConn().Close()
	}
	s.hs.CloseClientConnections()
	s.hs.Close()
}

// notify wakes everyone waiting for a change. Call with s.mu held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor blocks until cond (called with s.mu held) is true or ctx ends.
func (s *Server) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// Load adds a transcript's recorded REST answers. A request the server
// does not emulate is answered with the next recorded response for the same
// method and path (the last one repeats).
func (s *Server) Load(t *Transcript) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range t.Exchanges() {
		k := x.Method + " " + x.Path
		s.recorded[k] = append(s.recorded[k], x)
	}
}

// SetLatency delays every REST answer by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.latency = d
	s.mu.Unlock()
}

// Accepted returns how many websocket connections the server has accepted.
func (s *Server) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// WaitConnected waits until the server has accepted at least n websocket
// connections and one is current.
func (s *Server) WaitConnected(ctx context.Context, n int) error {
	return s.waitFor(ctx, func() bool { return s.accepted >= n && s.current != nil })
}

// Requests returns the REST requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// WaitRequest waits for a request with the given method whose path starts
// with prefix (the /ari prefix included), received at index from or later,
// and returns it with its index.
func (s *Server) WaitRequest(ctx context.Context, from int, method, prefix string) (Request, int, error) {
	var found Request
	idx := -1
	err := s.waitFor(ctx, func() bool {
		for i := from; i < len(s.requests); i++ {
			r := s.requests[i]
			if r.Method == method && strings.HasPrefix(r.Path, prefix) {
				found, idx = r, i
				return true
			}
		}
		return false
	})
	return found, idx, err
}

// EventFilter returns the event types the client allowed, sorted; empty
// when it set no filter.
func (s *Server) EventFilter() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.allowed))
	for t := range s.allowed {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// HasChannel reports whether a channel is live, in the application or not
// (an originated channel exists before it enters).
func (s *Server) HasChannel(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.channels[id]
	return ok
}

// Channels returns the ids of the live channels inside the application,
// sorted.
func (s *Server) Channels() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id := range s.channels {
		if s.stasis[id] {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// PutChannel makes a channel exist, inside the application when inStasis,
// as if it had arrived while no client was listening. raw is the channel
// JSON; its "id" is the channel id.
func (s *Server) PutChannel(raw json.RawMessage, inStasis bool) error {
	var c struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &c); err != nil || c.ID == "" {
		return fmt.Errorf("aritest: channel without id: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels[c.ID] = slices.Clone(raw)
	s.stasis[c.ID] = inStasis
	return nil
}

// RemoveChannel forgets a channel, as if it hung up unseen.
func (s *Server) RemoveChannel(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.channels, id)
	delete(s.stasis, id)
}

// Drop cuts the current websocket without a closing handshake, as a network
// failure would.
func (s *Server) Drop() {
	s.mu.Lock()
	c := s.current
	s.current = nil
	s.notify()
	s.mu.Unlock()
	if c != nil {
		_ = c.ws.NetConn().Close()
	}
}

// Mute makes the current websocket go silent, as a network path that stops
// carrying packets: it stays open, but pings go unanswered, so the client
// has to notice the silence.
func (s *Server) Mute() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current != nil {
		s.current.muted.Store(true)
	}
}

// Restart imitates an Asterisk restart: every channel and bridge is gone,
// the start time (and the entity id, when newEntityID is not empty)
// changes, the event filter resets and the websocket is cut.
func (s *Server) Restart(newEntityID string) {
	s.mu.Lock()
	s.channels = map[string]json.RawMessage{}
	s.stasis = map[string]bool{}
	s.bridges = map[string]*bridge{}
	s.allowed, s.denied = nil, nil
	s.startup = s.startup.Add(time.Minute)
	if newEntityID != "" {
		s.entityID = newEntityID
	}
	s.mu.Unlock()
	s.Drop()
}

// Replay sends every event of the transcript, in order, as fast as the
// client reads them.
func (s *Server) Replay(t *Transcript) error {
	return s.Send(t.Frames()...)
}

// Send writes frames to the current websocket client, skipping those its
// event filter excludes (as Asterisk does), and updates the channels the
// server knows from them.
func (s *Server) Send(frames ...Frame) error {
	for _, f := range frames {
		typ := f.Type
		if typ == "" {
			typ = frameType(f.Data)
		}
		s.mu.Lock()
		c := s.current
		pass := s.passes(typ)
		if c != nil {
			s.track(typ, f.Data)
		}
		s.mu.Unlock()
		if c == nil {
			return ErrNotConnected
		}
		if !pass {
			continue
		}
		if err := c.write(websocket.TextMessage, f.Data); err != nil {
			return fmt.Errorf("aritest: send %s: %w", typ, err)
		}
	}
	return nil
}

// SendRaw writes data as one text frame to the current client, bypassing
// the event filter and channel tracking: for garbage and fault tests.
func (s *Server) SendRaw(data []byte) error {
	return s.sendMessage(websocket.TextMessage, data)
}

// SendBinary writes data as one binary frame, which Asterisk never sends.
func (s *Server) SendBinary(data []byte) error {
	return s.sendMessage(websocket.BinaryMessage, data)
}

func (s *Server) sendMessage(kind int, data []byte) error {
	s.mu.Lock()
	c := s.current
	s.mu.Unlock()
	if c == nil {
		return ErrNotConnected
	}
	return c.write(kind, data)
}

func (c *conn) write(kind int, data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.replaced {
		return nil // Asterisk sends a replaced socket nothing more
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteMessage(kind, data)
}

// passes applies the client's event filter. Call with s.mu held.
func (s *Server) passes(typ string) bool {
	if s.denied[typ] {
		return false
	}
	return len(s.allowed) == 0 || s.allowed[typ]
}

func frameType(data []byte) string {
	var m struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(data, &m)
	return m.Type
}

// track updates the live channels from an event. Call with s.mu held.
func (s *Server) track(typ string, data []byte) {
	var ev struct {
		Channel json.RawMessage `json:"channel"`
	}
	if json.Unmarshal(data, &ev) != nil || len(ev.Channel) == 0 {
		return
	}
	var ch struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(ev.Channel, &ch) != nil || ch.ID == "" {
		return
	}
	switch typ {
	case "StasisEnd", "ChannelDestroyed":
		delete(s.channels, ch.ID)
		delete(s.stasis, ch.ID)
	case "StasisStart":
		s.channels[ch.ID] = slices.Clone([]byte(ev.Channel))
		s.stasis[ch.ID] = true
	default:
		s.channels[ch.ID] = slices.Clone([]byte(ev.Channel))
	}
}

func (s *Server) acceptsApp(app string) bool {
	return app == RecordedApp || slices.Contains(s.opts.Apps, app)
}

func (s *Server) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		key := r.URL.Query().Get("api_key")
		user, pass, ok = strings.Cut(key, ":")
	}
	if !ok {
		return false
	}
	u := subtle.ConstantTimeCompare([]byte(user), []byte(s.opts.Username))
	p := subtle.ConstantTimeCompare([]byte(pass), []byte(s.opts.Password))
	return u&p == 1
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/ari/") {
		writeError(w, http.StatusNotFound, "Resource not found")
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Asterisk REST Interface"`)
		writeError(w, http.StatusUnauthorized, "Authentication required")
		return
	}
	if r.URL.Path == "/ari/events" {
		s.serveEvents(w, r)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: body})
	s.notify()
	delay := s.latency
	s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	s.serveREST(w, r, body)
}

// serveEvents upgrades to the event websocket.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	app := r.URL.Query().Get("app")
	if app == "" || strings.Contains(app, ",") || !s.acceptsApp(app) {
		writeError(w, http.StatusBadRequest, "Invalid application provided in param [app].")
		return
	}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &conn{ws: ws, app: app}
	ws.SetPingHandler(func(data string) error {
		if c.muted.Load() {
			return nil
		}
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		if err != nil && !errors.Is(err, websocket.ErrCloseSent) {
			return err
		}
		return nil
	})
	s.mu.Lock()
	old := s.current
	s.current = c
	s.conns = append(s.conns, c)
	s.accepted++
	s.notify()
	s.mu.Unlock()
	if old != nil {
		// Asterisk tells the old socket it lost the application, then
		// sends it nothing more.
		msg := fmt.Sprintf(`{"type":"ApplicationReplaced","timestamp":%q,"application":%q,"asterisk_id":%q}`,
			time.Now().Format(TimeLayout), old.app, s.entityIDNow())
		_ = old.write(websocket.TextMessage, []byte(msg))
		old.wmu.Lock()
		old.replaced = true
		old.wmu.Unlock()
	}
	// Read until the client goes away, so that pings get their pongs and
	// closes are noticed.
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			break
		}
	}
	_ = ws.Close()
	s.mu.Lock()
	if s.current == c {
		s.current = nil
	}
	if i := slices.Index(s.conns, c); i >= 0 {
		s.conns = slices.Delete(s.conns, i, i+1)
	}
	s.notify()
	s.mu.Unlock()
}

func (s *Server) entityIDNow() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.entityID
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

func writeRaw(w http.ResponseWriter, status int, body json.RawMessage) {
	if status == http.StatusNoContent || len(body) == 0 || string(body) == "null" {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

// serveREST answers one REST request.
func (s *Server) serveREST(w http.ResponseWriter, r *http.Request, body []byte) {
	var seg []string
	for _, p := range strings.Split(strings.TrimPrefix(r.URL.Path, "/ari/"), "/") {
		u, err := url.PathUnescape(p)
		if err != nil {
			writeError(w, http.StatusBadRequest, "Bad path")
			return
		}
		seg = append(seg, u)
	}
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	m := r.Method
	switch {
	case len(seg) == 2 && seg[0] == "asterisk" && seg[1] == "info" && m == http.MethodGet:
		writeJSON(w, http.StatusOK, s.info())
	case len(seg) == 2 && seg[0] == "asterisk" && seg[1] == "ping" && m == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]string{
			"ping": "pong", "timestamp": time.Now().Format(TimeLayout), "asterisk_id": s.entityID,
		})
	case len(seg) == 1 && seg[0] == "applications" && m == http.MethodGet:
		app := "tamas"
		if s.current != nil {
			app = s.current.app
		}
		writeJSON(w, http.StatusOK, []any{s.application(app)})
	case len(seg) >= 2 && seg[0] == "applications":
		s.serveApplication(w, m, seg, body)
	case seg[0] == "channels":
		s.serveChannels(w, r, m, seg, q)
	case seg[0] == "bridges":
		s.serveBridges(w, m, seg, q)
	case len(seg) == 2 && seg[0] == "playbacks" && m == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	default:
		s.serveRecorded(w, r)
	}
}

func (s *Server) info() map[string]any {
	return map[string]any{
		"build":  map[string]string{"os": "Linux", "machine": "x86_64"},
		"system": map[string]string{"version": "22.10.1", "entity_id": s.entityID},
		"config": map[string]any{"name": "", "default_language": "en"},
		"status": map[string]string{
			"startup_time":     s.startup.Format(TimeLayout),
			"last_reload_time": s.startup.Format(TimeLayout),
		},
	}
}

type filterEntry struct {
	Type string `json:"type"`
}

func (s *Server) application(app string) map[string]any {
	ids := []string{}
	for id := range s.channels {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	bids := []string{}
	for id := range s.bridges {
		bids = append(bids, id)
	}
	sort.Strings(bids)
	list := func(set map[string]bool) []filterEntry {
		out := []filterEntry{}
		for t := range set {
			out = append(out, filterEntry{Type: t})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
		return out
	}
	return map[string]any{
		"name": app, "channel_ids": ids, "bridge_ids": bids,
		"endpoint_ids": []string{}, "device_names": []string{},
		"events_allowed": list(s.allowed), "events_disallowed": list(s.denied),
	}
}

func (s *Server) serveApplication(w http.ResponseWriter, m string, seg []string, body []byte) {
	app := seg[1]
	if !s.acceptsApp(app) {
		writeError(w, http.StatusNotFound, "Application not found")
		return
	}
	switch {
	case len(seg) == 2 && m == http.MethodGet:
		writeJSON(w, http.StatusOK, s.application(app))
	case len(seg) == 3 && seg[2] == "eventFilter" && m == http.MethodPut:
		var f struct {
			Allowed    []filterEntry `json:"allowed"`
			Disallowed []filterEntry `json:"disallowed"`
		}
		if len(body) > 0 {
			if err := json.Unmarshal(body, &f); err != nil {
				writeError(w, http.StatusBadRequest, "Invalid filter")
				return
			}
		}
		allowed, denied := map[string]bool{}, map[string]bool{}
		for _, e := range f.Allowed {
			if e.Type == "" {
				writeError(w, http.StatusBadRequest, "Filter event must have a type")
				return
			}
			allowed[e.Type] = true
		}
		for _, e := range f.Disallowed {
			if e.Type == "" {
				writeError(w, http.StatusBadRequest, "Filter event must have a type")
				return
			}
			denied[e.Type] = true
		}
		s.allowed, s.denied = allowed, denied
		s.notify()
		writeJSON(w, http.StatusOK, s.application(app))
	case len(seg) == 3 && seg[2] == "subscription" && (m == http.MethodPost || m == http.MethodDelete):
		writeJSON(w, http.StatusOK, s.application(app))
	default:
		writeError(w, http.StatusNotFound, "Resource not found")
	}
}

func (s *Server) serveChannels(w http.ResponseWriter, r *http.Request, m string, seg []string, q url.Values) {
	switch {
	case len(seg) == 1 && m == http.MethodGet:
		ids := make([]string, 0, len(s.channels))
		for id := range s.channels {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		list := make([]json.RawMessage, 0, len(ids))
		for _, id := range ids {
			list = append(list, s.channels[id])
		}
		writeJSON(w, http.StatusOK, list)
		return
	case len(seg) == 1 && m == http.MethodPost, len(seg) == 2 && seg[1] == "create" && m == http.MethodPost:
		s.originate(w, q, q.Get("channelId"))
		return
	case len(seg) == 2 && m == http.MethodPost:
		s.originate(w, q, seg[1])
		return
	case len(seg) == 1:
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	id := seg[1]
	if _, ok := s.channels[id]; !ok {
		writeError(w, http.StatusNotFound, "Channel not found")
		return
	}
	switch {
	case len(seg) == 2 && m == http.MethodGet:
		writeRaw(w, http.StatusOK, s.channels[id])
	case len(seg) == 2 && m == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	case len(seg) == 3 && seg[2] == "snoop" && m == http.MethodPost:
		s.snoop(w, q, id)
	case len(seg) == 3 && seg[2] == "play" && m == http.MethodPost:
		pid := q.Get("playbackId")
		if pid == "" {
			s.seq++
			pid = fmt.Sprintf("pb-%d", s.seq)
		}
		writeJSON(w, http.StatusCreated, map[string]string{
			"id": pid, "media_uri": q.Get("media"), "target_uri": "channel:" + id,
			"language": "en", "state": "queued",
		})
	default:
		if !s.serveRecordedLocked(w, r) {
			w.WriteHeader(http.StatusNoContent)
		}
	}
}

// originate emulates POST /channels: the new channel exists (outside the
// application until an event says otherwise).
func (s *Server) originate(w http.ResponseWriter, q url.Values, id string) {
	if q.Get("endpoint") == "" {
		writeError(w, http.StatusBadRequest, "Endpoint must be specified")
		return
	}
	if id == "" {
		s.seq++
		id = fmt.Sprintf("%d.%d", s.startup.Unix(), s.seq)
	}
	if _, dup := s.channels[id]; dup {
		writeError(w, http.StatusConflict, "Channel with given unique ID already exists")
		return
	}
	name, number := parseCallerID(q.Get("callerId"))
	s.seq++
	raw := channelJSON(id, fmt.Sprintf("%s-%08x", q.Get("endpoint"), s.seq), "Down", name, number, "AppDial2", "(Outgoing Line)")
	s.channels[id] = raw
	s.stasis[id] = false
	writeRaw(w, http.StatusOK, raw)
}

func (s *Server) snoop(w http.ResponseWriter, q url.Values, target string) {
	id := q.Get("snoopId")
	if id == "" {
		s.seq++
		id = fmt.Sprintf("%d.%d", s.startup.Unix(), s.seq)
	}
	if q.Get("app") == "" {
		writeError(w, http.StatusBadRequest, "app is required")
		return
	}
	s.seq++
	raw := channelJSON(id, fmt.Sprintf("Snoop/%s-%08x", target, s.seq), "Up", "", "", "Stasis", q.Get("app")+","+q.Get("appArgs"))
	s.channels[id] = raw
	s.stasis[id] = true
	writeRaw(w, http.StatusOK, raw)
}

func channelJSON(id, name, state, callerName, callerNumber, app, appData string) json.RawMessage {
	now := time.Now().Format(TimeLayout)
	b, _ := json.Marshal(map[string]any{
		"id": id, "name": name, "state": state, "protocol_id": "",
		"caller":       map[string]string{"name": callerName, "number": callerNumber},
		"connected":    map[string]string{"name": "", "number": ""},
		"accountcode":  "",
		"dialplan":     map[string]any{"context": "default", "exten": "s", "priority": 1, "app_name": app, "app_data": appData},
		"creationtime": now, "language": "en",
	})
	return b
}

// parseCallerID reads `"Name" <number>` or a bare number.
func parseCallerID(s string) (name, number string) {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '<'); i >= 0 && strings.HasSuffix(s, ">") {
		return strings.Trim(strings.TrimSpace(s[:i]), `"`), s[i+1 : len(s)-1]
	}
	return "", s
}

func (s *Server) serveBridges(w http.ResponseWriter, m string, seg []string, q url.Values) {
	switch {
	case len(seg) == 1 && m == http.MethodGet:
		list := []*bridge{}
		for _, b := range s.bridges {
			list = append(list, b)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
		writeJSON(w, http.StatusOK, list)
		return
	case len(seg) == 1 && m == http.MethodPost, len(seg) == 2 && m == http.MethodPost:
		id := q.Get("bridgeId")
		if len(seg) == 2 {
			id = seg[1]
		}
		if id == "" {
			s.seq++
			id = fmt.Sprintf("bridge-%d", s.seq)
		}
		typ := q.Get("type")
		if typ == "" {
			typ = "mixing"
		}
		tech := "simple_bridge"
		if typ == "holding" {
			tech = "holding_bridge"
		}
		b := &bridge{ID: id, Technology: tech, BridgeType: typ, Class: "stasis", Creator: "Stasis",
			Name: q.Get("name"), Channels: []string{}, Created: time.Now().Format(TimeLayout), VideoMode: "talker"}
		s.bridges[id] = b
		writeJSON(w, http.StatusOK, b)
		return
	case len(seg) == 1:
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	b, ok := s.bridges[seg[1]]
	if !ok {
		writeError(w, http.StatusNotFound, "Bridge not found")
		return
	}
	switch {
	case len(seg) == 2 && m == http.MethodGet:
		writeJSON(w, http.StatusOK, b)
	case len(seg) == 2 && m == http.MethodDelete:
		delete(s.bridges, b.ID)
		w.WriteHeader(http.StatusNoContent)
	case len(seg) == 3 && (seg[2] == "addChannel" || seg[2] == "removeChannel") && m == http.MethodPost:
		ids := strings.Split(q.Get("channel"), ",")
		if q.Get("channel") == "" {
			writeError(w, http.StatusBadRequest, "Missing parameter channel")
			return
		}
		for _, id := range ids {
			if _, ok := s.channels[id]; !ok {
				writeError(w, http.StatusBadRequest, "Channel not found")
				return
			}
			if !s.stasis[id] {
				writeError(w, http.StatusUnprocessableEntity, "Channel not in Stasis application")
				return
			}
		}
		for _, id := range ids {
			if seg[2] == "addChannel" && !slices.Contains(b.Channels, id) {
				b.Channels = append(b.Channels, id)
			}
			if seg[2] == "removeChannel" {
				if i := slices.Index(b.Channels, id); i >= 0 {
					b.Channels = slices.Delete(b.Channels, i, i+1)
				}
			}
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) serveRecorded(w http.ResponseWriter, r *http.Request) {
	if !s.serveRecordedLocked(w, r) {
		writeError(w, http.StatusNotFound, "Resource not found")
	}
}

// serveRecordedLocked answers with a recorded response for the request's
// method and path, if any. Call with s.mu held.
func (s *Server) serveRecordedLocked(w http.ResponseWriter, r *http.Request) bool {
	k := r.Method + " " + recordedPath(r.URL.Path, s.opts.Apps)
	list := s.recorded[k]
	if len(list) == 0 {
		return false
	}
	i := min(s.served[k], len(list)-1)
	s.served[k]++
	writeRaw(w, list[i].Status, list[i].Body)
	return true
}

// recordedPath rewrites the configured application names in a path to the
// recorded one.
func recordedPath(p string, apps []string) string {
	for _, a := range apps {
		p = strings.Replace(p, "/applications/"+a+"/", "/applications/"+RecordedApp+"/", 1)
		if strings.HasSuffix(p, "/applications/"+a) {
			p = strings.TrimSuffix(p, a) + RecordedApp
		}
	}
	return p
}
