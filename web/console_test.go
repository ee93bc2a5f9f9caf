package web_test

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tamas-cc/tamas/account"
	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/script"
	"github.com/tamas-cc/tamas/crm/sqlite"
	"github.com/tamas-cc/tamas/crm/sqlite/sqlitetest"
	"github.com/tamas-cc/tamas/screenpop"
	"github.com/tamas-cc/tamas/web"
	"github.com/tamas-cc/tamas/web/console"
	"github.com/tamas-cc/tamas/web/push"
	"github.com/tamas-cc/tamas/wrapup"
)

// recordingHub stands in for the websocket hub: web's job ends at handing
// it an authenticated console, which is what this records.
type recordingHub struct {
	mu      sync.Mutex
	clients []push.Client
}

func (h *recordingHub) ServeConsole(w http.ResponseWriter, r *http.Request, c push.Client) {
	h.mu.Lock()
	h.clients = append(h.clients, c)
	h.mu.Unlock()
	w.WriteHeader(http.StatusSwitchingProtocols)
}

type dialed struct{ endpoint, number string }

type recordingDialer struct {
	mu    sync.Mutex
	calls []dialed
}

func (d *recordingDialer) Originate(ctx context.Context, endpoint, callerID string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, dialed{endpoint, callerID})
	return "call-1", nil
}

type published struct {
	channel string
	data    []byte
}

type consoleHarness struct {
	t         *testing.T
	srv       *httptest.Server
	store     *sqlite.Store
	hub       *recordingHub
	dialer    *recordingDialer
	roster    *screenpop.Roster
	mu        sync.Mutex
	published []published
}

// Publish records what the console server publishes (agent states).
func (h *consoleHarness) Publish(ctx context.Context, ch string, data []byte) (screenpop.Message, error) {
	h.mu.Lock()
	h.published = append(h.published, published{ch, data})
	h.mu.Unlock()
	return screenpop.Message{}, nil
}

func newConsoleHarness(t *testing.T) *consoleHarness { return newConsoleHarnessTLS(t, false) }

// newConsoleHarnessTLS serves the console over TLS when tls is set.
func newConsoleHarnessTLS(t *testing.T, tls bool) *consoleHarness {
	t.Helper()
	ctx := context.Background()
	st := sqlitetest.New(t)
	accounts := account.NewService(st, account.Options{BcryptCost: 4})
	for _, u := range []account.User{
		{Username: "ali", Role: account.RoleAgent, Endpoint: "PJSIP/1001"},
		{Username: "sara", Role: account.RoleSupervisor},
		{Username: "nima", Role: account.RoleAgent},
	} {
		if err := accounts.CreateUser(ctx, &u, u.Username+"-password"); err != nil {
			t.Fatal(err)
		}
	}
	h := &consoleHarness{t: t, store: st, hub: &recordingHub{}, dialer: &recordingDialer{}, roster: screenpop.NewRoster()}
	norm, _ := phone.New("IR")
	scripts, err := script.LoadDir("../configs/scripts")
	if err != nil {
		t.Fatal(err)
	}
	wu, err := wrapup.New(wrapup.Options{Store: st, Contacts: st, History: st, Scripts: scripts,
		Dispositions: wrapup.DefaultDispositions(), Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	s := web.New(web.Options{
		WrapUps: wu, Dispositions: wrapup.DefaultDispositions(),
		Directory: crm.NewDirectory(st, norm), Registry: prometheus.NewRegistry(), MaxBodyBytes: 1 << 20,
		APITokens: []string{token}, Accounts: accounts, Activities: st, Roster: h.roster,
		Publisher: h,
		Console:   h.hub, Dialer: h.dialer, AllowedOrigins: []string{"https://console.example"},
	})
	if tls {
		h.srv = httptest.NewTLSServer(s.Handler())
	} else {
		h.srv = httptest.NewServer(s.Handler())
	}
	t.Cleanup(func() { h.srv.Close(); st.Close() })
	return h
}

// browser is a cookie-keeping client, as a browser tab is.
type browserClient struct {
	h *consoleHarness
	c *http.Client
}

func (h *consoleHarness) client() *browserClient {
	jar, _ := cookiejar.New(nil)
	c := *h.srv.Client() // a copy: each tab keeps its own cookies
	c.Jar = jar
	return &browserClient{h: h, c: &c}
}

func (b *browserClient) do(method, path, body string, hdr map[string]string, out any) *http.Response {
	b.h.t.Helper()
	req, _ := http.NewRequest(method, b.h.srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			b.h.t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
	return resp
}

var csrf = map[string]string{"X-Tamas-Request": "1"}

func (b *browserClient) login(user, pw string) *http.Response {
	return b.do("POST", "/api/v1/session", `{"username":"`+user+`","password":"`+pw+`"}`, nil, nil)
}

func TestLoginCookieAndLogout(t *testing.T) {
	h := newConsoleHarness(t)
	b := h.client()
	if r := b.do("GET", "/api/v1/me", "", nil, nil); r.StatusCode != 401 {
		t.Fatalf("me before login: %d", r.StatusCode)
	}
	var eb errBody
	r := b.do("POST", "/api/v1/session", `{"username":"ali","password":"nope"}`, nil, &eb)
	if r.StatusCode != 401 || eb.Error.Code != "bad_credentials" {
		t.Fatalf("bad password: %d %+v", r.StatusCode, eb)
	}
	r = b.login("ali", "ali-password")
	if r.StatusCode != 200 {
		t.Fatalf("login: %d", r.StatusCode)
	}
	var cookie *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == "tamas_session" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" || cookie.MaxAge <= 0 || len(cookie.Value) != 43 {
		t.Fatalf("session cookie = %+v", cookie)
	}
	var me struct {
		User struct {
			Username string `json:"username"`
			Role     string `json:"role"`
		} `json:"user"`
	}
	if r := b.do("GET", "/api/v1/me", "", nil, &me); r.StatusCode != 200 || me.User.Username != "ali" || me.User.Role != "agent" {
		t.Fatalf("me: %d %+v", r.StatusCode, me)
	}
	// The session opens the existing API too.
	if r := b.do("GET", "/api/v1/contacts", "", nil, nil); r.StatusCode != 200 {
		t.Fatalf("contacts with a session: %d", r.StatusCode)
	}
	if r := b.do("DELETE", "/api/v1/session", "", csrf, nil); r.StatusCode != 204 {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	// The old cookie is dead even if replayed.
	replay := h.client()
	u, _ := http.NewRequest("GET", h.srv.URL, nil)
	replay.c.Jar.SetCookies(u.URL, []*http.Cookie{cookie})
	if r := replay.do("GET", "/api/v1/me", "", nil, nil); r.StatusCode != 401 {
		t.Fatalf("replayed cookie after logout: %d", r.StatusCode)
	}
}

func sessionCookieOf(r *http.Response) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == "tamas_session" {
			return c
		}
	}
	return nil
}

func TestSessionCookieIsSecureUnderTLS(t *testing.T) {
	h := newConsoleHarnessTLS(t, true)
	b := h.client()
	r := b.login("ali", "ali-password")
	if c := sessionCookieOf(r); r.StatusCode != 200 || c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login over TLS: %d, cookie %+v", r.StatusCode, c)
	}
	if r := b.do("GET", "/api/v1/me", "", nil, nil); r.StatusCode != 200 {
		t.Fatalf("me over TLS: %d", r.StatusCode)
	}
	// Over TLS the page's origin is https; the http one is another origin.
	hdr := map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
		"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": strings.Replace(h.srv.URL, "https:", "http:", 1)}
	if r := b.do("GET", "/api/v1/console/ws", "", hdr, nil); r.StatusCode != 403 {
		t.Fatalf("http origin for an https page: %d", r.StatusCode)
	}
	hdr["Origin"] = h.srv.URL
	if r := b.do("GET", "/api/v1/console/ws", "", hdr, nil); r.StatusCode != 101 {
		t.Fatalf("https origin: %d", r.StatusCode)
	}
}

// A cross-site page can send a body without a Content-Type; the login must
// not accept it, or another site could sign a browser in to its account.
func TestLoginNeedsJSON(t *testing.T) {
	h := newConsoleHarness(t)
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded"} {
		req, _ := http.NewRequest("POST", h.srv.URL+"/api/v1/session", strings.NewReader(`{"username":"ali","password":"ali-password"}`))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType || sessionCookieOf(resp) != nil {
			t.Fatalf("login with Content-Type %q: %d, cookie %v", ct, resp.StatusCode, sessionCookieOf(resp))
		}
	}
}

func TestLanguageIsKept(t *testing.T) {
	h := newConsoleHarness(t)
	b := h.client()
	b.login("ali", "ali-password")
	var eb errBody
	if r := b.do("PUT", "/api/v1/me/lang", `{"lang":"de"}`, csrf, &eb); r.StatusCode != 422 || eb.Error.Field != "lang" {
		t.Fatalf("unknown language: %d %+v", r.StatusCode, eb)
	}
	if r := b.do("PUT", "/api/v1/me/lang", `{"lang":"fa"}`, csrf, nil); r.StatusCode != 200 {
		t.Fatalf("set lang: %d", r.StatusCode)
	}
	u, err := h.store.UserByName(context.Background(), "ali")
	if err != nil || u.Lang != "fa" || u.Endpoint != "PJSIP/1001" || len(u.PasswordHash) == 0 {
		t.Fatalf("stored user = %+v, %v", u, err)
	}
	// The next login brings the language back, and never the hash.
	var out map[string]map[string]any
	r := h.client().do("POST", "/api/v1/session", `{"username":"ali","password":"ali-password"}`, nil, &out)
	if r.StatusCode != 200 || out["user"]["lang"] != "fa" || out["user"]["password_hash"] != nil || out["user"]["PasswordHash"] != nil {
		t.Fatalf("login after the change: %d %v", r.StatusCode, out)
	}
}

func TestLoginIsRateLimited(t *testing.T) {
	h := newConsoleHarness(t)
	b := h.client()
	for range 5 {
		b.login("ali", "wrong-guess")
	}
	r := b.login("ali", "ali-password")
	if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" || sessionCookieOf(r) != nil {
		t.Fatalf("6th attempt: %d, Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
}

func TestCookieRequestsNeedTheCSRFHeader(t *testing.T) {
	h := newConsoleHarness(t)
	b := h.client()
	b.login("ali", "ali-password")
	body := `{"kind":"person","status":"lead","first_name":"Parisa","phones":[{"label":"mobile","number":"09351234567"}]}`
	var eb errBody
	if r := b.do("POST", "/api/v1/contacts", body, nil, &eb); r.StatusCode != 403 || eb.Error.Code != "csrf" {
		t.Fatalf("POST without the header: %d %+v", r.StatusCode, eb)
	}
	var c crm.Contact
	if r := b.do("POST", "/api/v1/contacts", body, csrf, &c); r.StatusCode != 201 || c.ID == 0 {
		t.Fatalf("POST with the header: %d", r.StatusCode)
	}
	for _, req := range []struct{ method, path, body string }{
		{"PUT", "/api/v1/contacts/" + itoa(c.ID), body},
		{"DELETE", "/api/v1/contacts/" + itoa(c.ID), ""},
		{"PUT", "/api/v1/me/state", `{"state":"available"}`},
		{"PUT", "/api/v1/me/lang", `{"lang":"fa"}`},
		{"POST", "/api/v1/contacts/" + itoa(c.ID) + "/notes", `{"body":"x"}`},
		{"POST", "/api/v1/calls", `{"number":"09120001122"}`},
		{"DELETE", "/api/v1/session", ""},
	} {
		eb = errBody{}
		if r := b.do(req.method, req.path, req.body, nil, &eb); r.StatusCode != 403 || eb.Error.Code != "csrf" {
			t.Errorf("%s %s without the header: %d %+v", req.method, req.path, r.StatusCode, eb)
		}
	}
	if len(h.dialer.calls) != 0 || h.roster.Get("ali").State != screenpop.Offline {
		t.Fatalf("a refused request had an effect: dialed %v, state %+v", h.dialer.calls, h.roster.Get("ali"))
	}
	// Bearer-token clients are not browsers and need no header.
	if r := b.do("GET", "/api/v1/contacts/"+itoa(c.ID), "", nil, nil); r.StatusCode != 200 {
		t.Fatalf("the session was lost: %d", r.StatusCode)
	}
	api := &http.Client{}
	req, _ := http.NewRequest("POST", h.srv.URL+"/api/v1/contacts", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := api.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("bearer POST: %d", resp.StatusCode)
	}
}

func TestAgentStateIsPublishedAndRolesChecked(t *testing.T) {
	h := newConsoleHarness(t)
	ali := h.client()
	ali.login("ali", "ali-password")
	var eb errBody
	if r := ali.do("PUT", "/api/v1/me/state", `{"state":"break"}`, csrf, &eb); r.StatusCode != 422 || eb.Error.Field != "reason" {
		t.Fatalf("break without a reason: %d %+v", r.StatusCode, eb)
	}
	if r := ali.do("PUT", "/api/v1/me/state", `{"state":"break","reason":"prayer"}`, csrf, nil); r.StatusCode != 200 {
		t.Fatalf("set state: %d", r.StatusCode)
	}
	if st := h.roster.Get("ali"); st.State != screenpop.OnBreak || st.Reason != "prayer" {
		t.Fatalf("roster = %+v", st)
	}
	h.mu.Lock()
	pubs := append([]published(nil), h.published...)
	h.mu.Unlock()
	if len(pubs) != 2 || pubs[0].channel != screenpop.SupervisorChannel || pubs[1].channel != "user:ali" {
		t.Fatalf("published = %+v", pubs)
	}
	var env screenpop.Envelope
	if err := json.Unmarshal(pubs[0].data, &env); err != nil || env.Kind != "agent_state" || env.Agent.Username != "ali" || env.Agent.State != "break" {
		t.Fatalf("envelope = %s", pubs[0].data)
	}
	// Agents cannot see the team; supervisors can.
	if r := ali.do("GET", "/api/v1/agents", "", nil, nil); r.StatusCode != 403 {
		t.Fatalf("agent listing agents: %d", r.StatusCode)
	}
	sara := h.client()
	sara.login("sara", "sara-password")
	var team struct {
		Agents []screenpop.AgentState `json:"agents"`
	}
	if r := sara.do("GET", "/api/v1/agents", "", nil, &team); r.StatusCode != 200 || len(team.Agents) != 1 || team.Agents[0].Username != "ali" {
		t.Fatalf("supervisor listing agents: %d %+v", r.StatusCode, team)
	}
}

func TestNotesAndClickToCall(t *testing.T) {
	h := newConsoleHarness(t)
	b := h.client()
	b.login("ali", "ali-password")
	var c crm.Contact
	b.do("POST", "/api/v1/contacts", `{"kind":"person","status":"lead","first_name":"Omid","phones":[{"label":"mobile","number":"09120001122"}]}`, csrf, &c)
	evil := `<script>alert(1)</script>`
	if r := b.do("POST", "/api/v1/contacts/"+itoa(c.ID)+"/notes", `{"body":`+jsonString(evil)+`}`, csrf, nil); r.StatusCode != 201 {
		t.Fatalf("note: %d", r.StatusCode)
	}
	resp, err := b.c.Get(h.srv.URL + "/api/v1/contacts/" + itoa(c.ID) + "/activities")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(raw), "<script>") || !strings.Contains(string(raw), `\u003cscript\u003e`) {
		t.Fatalf("activities JSON does not escape markup: %s", raw)
	}
	acts, _ := h.store.RecentActivities(context.Background(), c.ID, 5)
	if len(acts) != 1 || acts[0].Body != evil || acts[0].Agent != "ali" || acts[0].Kind != crm.ActivityNote {
		t.Fatalf("stored = %+v", acts)
	}
	if r := b.do("POST", "/api/v1/contacts/999/notes", `{"body":"x"}`, csrf, nil); r.StatusCode != 404 {
		t.Fatalf("note on a missing contact: %d", r.StatusCode)
	}
	if r := b.do("POST", "/api/v1/calls", `{"number":"0912 000 1122"}`, csrf, nil); r.StatusCode != 202 {
		t.Fatalf("click-to-call: %d", r.StatusCode)
	}
	if len(h.dialer.calls) != 1 || h.dialer.calls[0] != (dialed{"PJSIP/1001", "+989120001122"}) {
		t.Fatalf("dialed %+v", h.dialer.calls)
	}
	if r := b.do("POST", "/api/v1/calls", `{"number":"<b>"}`, csrf, nil); r.StatusCode != 422 {
		t.Fatalf("click-to-call to garbage: %d", r.StatusCode)
	}
	// A supervisor without a phone is told so.
	s := h.client()
	s.login("sara", "sara-password")
	var eb errBody
	if r := s.do("POST", "/api/v1/calls", `{"number":"09120001122"}`, csrf, &eb); r.StatusCode != 409 || eb.Error.Code != "no_endpoint" {
		t.Fatalf("no endpoint: %d %+v", r.StatusCode, eb)
	}
}

func TestConsoleSocketChecksSessionAndOrigin(t *testing.T) {
	h := newConsoleHarness(t)
	b := h.client()
	ws := func(origin string) int {
		hdr := map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
		if origin != "" {
			hdr["Origin"] = origin
		}
		return b.do("GET", "/api/v1/console/ws", "", hdr, nil).StatusCode
	}
	if code := ws(h.srv.URL); code != 401 {
		t.Fatalf("no session: %d", code)
	}
	b.login("sara", "sara-password")
	for _, bad := range []string{"", "https://evil.example", "null", "http://" + strings.TrimPrefix(h.srv.URL, "http://") + ".evil.example"} {
		if code := ws(bad); code != 403 {
			t.Fatalf("origin %q: %d", bad, code)
		}
	}
	if len(h.hub.clients) != 0 {
		t.Fatal("the hub got a refused console")
	}
	if code := ws(h.srv.URL); code != 101 {
		t.Fatalf("same origin: %d", code)
	}
	if code := ws("https://console.example"); code != 101 {
		t.Fatalf("allowed origin: %d", code)
	}
	c := h.hub.clients[0]
	if c.Username != "sara" || strings.Join(c.Channels, ",") != "user:sara,role:supervisor" || c.Check(context.Background()) != nil {
		t.Fatalf("console client = %+v", c)
	}
	b.do("DELETE", "/api/v1/session", "", csrf, nil)
	if c.Check(context.Background()) == nil {
		t.Fatal("the session check passes after logout")
	}
}

func TestConsolePageIsLockedDown(t *testing.T) {
	h := newConsoleHarness(t)
	scripts, err := fs.Glob(console.Files, "*.js")
	if err != nil || len(scripts) < 5 {
		t.Fatalf("embedded scripts %v: %v", scripts, err)
	}
	paths := []string{"/", "/console/app.css"}
	for _, s := range scripts {
		paths = append(paths, "/console/"+s)
	}
	for _, path := range paths {
		resp, err := http.Get(h.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		hd := resp.Header
		if resp.StatusCode != 200 || len(body) == 0 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		csp := hd.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self';", "style-src 'self';", "frame-ancestors 'none'", "base-uri 'none'", "connect-src 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-") || hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: CSP %q, nosniff %q, referrer %q", path, csp, hd.Get("X-Content-Type-Options"), hd.Get("Referrer-Policy"))
		}
		// Under nosniff a browser runs a module only when it is served as
		// JavaScript.
		if strings.HasSuffix(path, ".js") && !strings.Contains(hd.Get("Content-Type"), "javascript") {
			t.Errorf("%s: served as %q", path, hd.Get("Content-Type"))
		}
	}
	if r, _ := http.Get(h.srv.URL + "/console/missing.js"); r == nil || r.StatusCode != 404 {
		t.Fatalf("a missing asset: %v", r)
	}
}

// htmlTag is one start tag of index.html with its attributes.
type htmlTag struct {
	name  string
	attrs map[string]string
	// text is what follows the tag up to the next tag.
	text string
}

var (
	tagRE  = regexp.MustCompile(`(?s)<([a-zA-Z][a-zA-Z0-9-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>([^<]*)`)
	attrRE = regexp.MustCompile(`([^\s=/"'>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?`)
)

func parseTags(page string) []htmlTag {
	var tags []htmlTag
	for _, m := range tagRE.FindAllStringSubmatch(page, -1) {
		tg := htmlTag{name: strings.ToLower(m[1]), attrs: map[string]string{}, text: m[3]}
		for _, a := range attrRE.FindAllStringSubmatch(m[2], -1) {
			tg.attrs[strings.ToLower(a[1])] = a[2] + a[3] + a[4]
		}
		tags = append(tags, tg)
	}
	return tags
}

// The page runs nothing inline: every script is a file of its own, there
// are no style elements or attributes and no event-handler attributes,
// which the CSP would block anyway.
func TestConsolePageHasNothingInline(t *testing.T) {
	page, err := os.ReadFile("console/index.html")
	if err != nil {
		t.Fatal(err)
	}
	tags := parseTags(string(page))
	var scripts []htmlTag
	testids := map[string]bool{}
	for _, tg := range tags {
		switch tg.name {
		case "script":
			scripts = append(scripts, tg)
			if !strings.HasPrefix(tg.attrs["src"], "/console/") || strings.TrimSpace(tg.text) != "" {
				t.Errorf("inline or foreign script: %+v", tg)
			}
		case "style":
			t.Errorf("a <style> element")
		case "link":
			if tg.attrs["rel"] == "stylesheet" && !strings.HasPrefix(tg.attrs["href"], "/console/") {
				t.Errorf("foreign stylesheet %q", tg.attrs["href"])
			}
		}
		for a, v := range tg.attrs {
			if a == "style" || strings.HasPrefix(a, "on") || strings.HasPrefix(strings.TrimSpace(strings.ToLower(v)), "javascript:") {
				t.Errorf("<%s %s=%q>", tg.name, a, v)
			}
		}
		if id := tg.attrs["data-testid"]; id != "" {
			testids[id] = true
		}
	}
	if len(scripts) != 1 || len(tags) < 50 {
		t.Fatalf("parsed %d tags and %d scripts: the check is not reading the page", len(tags), len(scripts))
	}
	if scripts[0].attrs["type"] != "module" {
		t.Errorf("the page's script is not a module: %+v", scripts[0])
	}
	for _, id := range []string{"pop", "pop-number", "pop-caller-name", "pop-state", "contact-name", "create-lead",
		"note-input", "note-save", "lang-switch", "status-select", "conn-indicator", "login-username",
		"login-password", "login-submit", "call-back", "start-script", "wrapup", "due-tasks"} {
		if !testids[id] {
			t.Errorf("no element has data-testid=%q", id)
		}
	}
	app := consoleScripts(t)
	if !strings.Contains(string(app), `testid: "match"`) {
		t.Error(`the match buttons lose data-testid="match"`)
	}
	// The CSP forbids inline style, which setAttribute("style") would be.
	if regexp.MustCompile(`setAttribute\(\s*["'](style|on)|\.on[a-z]+\s*=\s*["']|javascript:`).Match(app) {
		t.Error("the console sets inline style or handler attributes")
	}
}

// consoleScripts is the console's code, every script but the strings.
func consoleScripts(t *testing.T) []byte {
	t.Helper()
	files, err := filepath.Glob("console/*.js")
	if err != nil || len(files) < 5 {
		t.Fatalf("console scripts %v: %v", files, err)
	}
	var app []byte
	for _, f := range files {
		if f == filepath.Join("console", "i18n.js") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		app = append(app, b...)
	}
	return app
}

var importRE = regexp.MustCompile(`(?m)^(?:import|export)\s[^;"']*?\bfrom\s+["']([^"']+)["']|^import\s+["']([^"']+)["']`)

// The page loads one module; from it, every import names an embedded file
// beside it, and every embedded script is reached: nothing is fetched from
// elsewhere and nothing embedded is dead.
func TestConsoleModulesResolve(t *testing.T) {
	page, err := fs.ReadFile(console.Files, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	var todo []string
	for _, tg := range parseTags(string(page)) {
		if tg.name == "script" {
			todo = append(todo, strings.TrimPrefix(tg.attrs["src"], "/console/"))
		}
	}
	reached := map[string]bool{}
	for len(todo) > 0 {
		f := todo[0]
		todo = todo[1:]
		if reached[f] {
			continue
		}
		reached[f] = true
		src, err := fs.ReadFile(console.Files, f)
		if err != nil {
			t.Errorf("%s is loaded but not embedded: %v", f, err)
			continue
		}
		for _, m := range importRE.FindAllStringSubmatch(string(src), -1) {
			spec := m[1] + m[2]
			if !strings.HasPrefix(spec, "./") || strings.Contains(spec[2:], "/") || !strings.HasSuffix(spec, ".js") {
				t.Errorf("%s imports %q, not a console file", f, spec)
				continue
			}
			todo = append(todo, spec[2:])
		}
	}
	all, _ := fs.Glob(console.Files, "*.js")
	for _, f := range all {
		if !reached[f] {
			t.Errorf("%s is embedded but nothing imports it", f)
		}
	}
	if len(reached) < 5 {
		t.Fatalf("reached only %v: the check is not reading the imports", reached)
	}
}

// The console builds the page from data with textContent only, and every
// string it looks up exists in both languages.
func TestConsoleScriptRules(t *testing.T) {
	app := consoleScripts(t)
	for _, banned := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
		if strings.Contains(string(app), banned) {
			t.Errorf("the console uses %s", banned)
		}
	}
	i18n, err := os.ReadFile("console/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	en, fa, ok := strings.Cut(string(i18n), "\n  fa: {")
	if !ok {
		t.Fatal("i18n.js has no fa block")
	}
	keys := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, k := range regexp.MustCompile(`(?m)(?:^|[\s{,])([a-z_0-9]+):`).FindAllStringSubmatch(s, -1) {
			m[k[1]] = true
		}
		return m
	}
	enKeys, faKeys := keys(en), keys(fa)
	for k := range enKeys {
		if k != "en" && !faKeys[k] {
			t.Errorf("%q has no Persian text", k)
		}
	}
	html, _ := os.ReadFile("console/index.html")
	used := regexp.MustCompile(`\bt\("([a-z_0-9]+)"[,)]|data-i18n(?:-placeholder)?="([a-z_0-9]+)"`).FindAllStringSubmatch(string(app)+string(html), -1)
	for _, u := range used {
		k := u[1] + u[2]
		if !enKeys[k] {
			t.Errorf("key %q is used but not translated", k)
		}
	}
	// Keys chosen in expressions, t(ok ? "a_b" : "c_d"): every snake_case
	// literal is a key, apart from the server's own words.
	protocol := map[string]bool{"agent_state": true, "no_endpoint": true, "no_pbx": true, "task_due": true,
		"call_id": true, "contact_id": true, "started_at": true, "due_at": true, "done_at": true, "due_seconds": true,
		"answered_at": true, "ended_at": true, "wrapup_seconds": true, "answered_by": true}
	for _, m := range regexp.MustCompile(`"([a-z][a-z0-9]*_[a-z0-9_]*[a-z0-9])"`).FindAllStringSubmatch(string(app), -1) {
		if !protocol[m[1]] && !enKeys[m[1]] {
			t.Errorf("the console uses %q, which is not translated", m[1])
		}
	}
	// Keys built from data: every value the server may send has its text.
	for _, k := range []string{"pop_ringing", "pop_queued", "pop_offered", "pop_answered", "pop_held", "pop_ended",
		"how_exact", "how_national", "how_suffix", "status_lead", "status_qualified", "status_customer",
		"status_inactive", "kind_call", "kind_note", "state_available", "state_break", "state_wrapup",
		"state_offline", "reason_lunch", "reason_prayer", "reason_meeting", "reason_training", "reason_other",
		"outcome_answered", "outcome_abandoned_ivr", "outcome_abandoned_queue", "outcome_missed", "outcome_failed"} {
		if !enKeys[k] || !faKeys[k] {
			t.Errorf("key %q is built at run time but missing", k)
		}
	}
	if len(used) < 30 {
		t.Fatalf("found only %d translated strings: the check is not reading the files", len(used))
	}
}

func itoa(v int64) string { b, _ := json.Marshal(v); return string(b) }

func jsonString(s string) string { b, _ := json.Marshal(s); return string(b) }
