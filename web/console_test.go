package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tamas-cc/tamas/account"
	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/sqlite"
	"github.com/tamas-cc/tamas/screenpop"
	"github.com/tamas-cc/tamas/web"
)

// recordingHub stands in for the websocket hub: web's job ends at handing
// it an authenticated console, which is what this records.
type recordingHub struct {
	mu      sync.Mutex
	clients []web.ConsoleClient
}

func (h *recordingHub) ServeConsole(w http.ResponseWriter, r *http.Request, c web.ConsoleClient) {
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

func newConsoleHarness(t *testing.T) *consoleHarness {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	accounts := account.NewService(st, account.Options{BcryptCost: 4})
	for _, u := range []account.User{
		{Username: "ali", Role: account.RoleAgent, Endpoint: "PJSIP/1001"},
		{Username: "sara", Role: account.RoleSupervisor},
	} {
		if err := accounts.CreateUser(ctx, &u, u.Username+"-password"); err != nil {
			t.Fatal(err)
		}
	}
	h := &consoleHarness{t: t, store: st, hub: &recordingHub{}, dialer: &recordingDialer{}, roster: screenpop.NewRoster()}
	norm, _ := phone.New("IR")
	s := web.New(web.Options{
		Directory: crm.NewDirectory(st, norm), Registry: prometheus.NewRegistry(), MaxBodyBytes: 1 << 20,
		APITokens: []string{token}, Accounts: accounts, Activities: st, Roster: h.roster,
		Publish: func(ctx context.Context, ch string, data []byte) error {
			h.mu.Lock()
			h.published = append(h.published, published{ch, data})
			h.mu.Unlock()
			return nil
		},
		Console: h.hub, Dialer: h.dialer, AllowedOrigins: []string{"https://console.example"},
	})
	h.srv = httptest.NewServer(s.Handler())
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
	return &browserClient{h: h, c: &http.Client{Jar: jar}}
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

func TestLoginIsRateLimited(t *testing.T) {
	h := newConsoleHarness(t)
	b := h.client()
	for range 5 {
		b.login("ali", "wrong-guess")
	}
	r := b.login("ali", "ali-password")
	if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
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
	resp, err := http.Get(h.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != 200 || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("page %d, CSP %q", resp.StatusCode, csp)
	}
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]|<style|\sstyle=|\son[a-z]+=`).Match(page) {
		t.Fatal("index.html has inline script, style or event handlers")
	}
	for _, asset := range []string{"/console/app.js", "/console/app.css", "/console/i18n.js"} {
		r, err := http.Get(h.srv.URL + asset)
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("%s: %v %d", asset, err, r.StatusCode)
		}
		r.Body.Close()
	}
}

// The console builds the page from data with textContent only, and every
// string it looks up exists in both languages.
func TestConsoleScriptRules(t *testing.T) {
	app, err := os.ReadFile("console/app.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, banned := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
		if strings.Contains(string(app), banned) {
			t.Errorf("app.js uses %s", banned)
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
	used := regexp.MustCompile(`\bt\("([a-z_0-9]+)"[,)]|data-i18n="([a-z_0-9]+)"`).FindAllStringSubmatch(string(app)+string(html), -1)
	for _, u := range used {
		k := u[1] + u[2]
		if !enKeys[k] {
			t.Errorf("key %q is used but not translated", k)
		}
	}
	// Keys built from data: every value the server may send has its text.
	for _, k := range []string{"pop_ringing", "pop_queued", "pop_offered", "pop_answered", "pop_held", "pop_ended",
		"how_exact", "how_national", "how_suffix", "status_lead", "status_qualified", "status_customer",
		"status_inactive", "kind_call", "kind_note", "state_available", "state_break", "state_wrapup",
		"state_offline", "reason_lunch", "reason_prayer", "reason_meeting", "reason_training", "reason_other"} {
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
