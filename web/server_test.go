package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/sqlite"
	"github.com/tamas-cc/tamas/crm/sqlite/sqlitetest"
	"github.com/tamas-cc/tamas/web"
)

const token = "test-token-123"

type harness struct {
	t     *testing.T
	srv   *httptest.Server
	store *sqlite.Store
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	st := sqlitetest.New(t)
	norm, _ := phone.New("IR")
	s := web.New(web.Options{
		Directory: crm.NewDirectory(st, norm), Registry: prometheus.NewRegistry(), MaxBodyBytes: 4096,
		APITokens: []string{token}, Ready: st.Ping,
	})
	h := &harness{t: t, srv: httptest.NewServer(s.Handler()), store: st}
	t.Cleanup(func() { h.srv.Close(); st.Close() })
	return h
}

// do sends a request with the API token and decodes a JSON answer into out.
func (h *harness) do(method, path, body string, out any) (int, http.Header) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			h.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode, resp.Header
}

type errBody struct {
	Error struct{ Code, Message, Field string } `json:"error"`
}

func TestAuthRequired(t *testing.T) {
	h := newHarness(t)
	for _, auth := range []string{"", "Bearer wrong", "Basic " + token, "Bearer "} {
		req, _ := http.NewRequest("GET", h.srv.URL+"/api/v1/contacts", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e errBody
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 401 || e.Error.Code != "unauthorized" {
			t.Errorf("auth %q: %d %+v", auth, resp.StatusCode, e)
		}
	}
}

func TestContactLifecycle(t *testing.T) {
	h := newHarness(t)
	var c crm.Contact
	code, hdr := h.do("POST", "/api/v1/contacts", `{"first_name":"Sara","last_name":"Ahmadi",
		"phones":[{"label":"mobile","number":"۰۹۱۲ ۱۲۳ ۴۵۶۷"}],"tags":["VIP"],"custom":{"segment":"gold"}}`, &c)
	if code != 201 || c.ID == 0 || hdr.Get("Location") != fmt.Sprintf("/api/v1/contacts/%d", c.ID) {
		t.Fatalf("create: %d %v %+v", code, hdr, c)
	}
	if c.Phones[0].E164 != "+989121234567" || c.Kind != crm.KindPerson || c.Status != crm.StatusLead {
		t.Errorf("created: %+v", c)
	}
	var got crm.Contact
	if code, _ := h.do("GET", fmt.Sprintf("/api/v1/contacts/%d", c.ID), "", &got); code != 200 || got.FirstName != "Sara" {
		t.Errorf("get: %d %+v", code, got)
	}
	code, _ = h.do("PUT", fmt.Sprintf("/api/v1/contacts/%d", c.ID), `{"first_name":"Sara","last_name":"Ahmadi-Rad",
		"status":"customer","phones":[{"label":"work","number":"+1 415 555 0123"}]}`, &got)
	if code != 200 || got.LastName != "Ahmadi-Rad" || got.Status != crm.StatusCustomer || got.Phones[0].E164 != "+14155550123" {
		t.Errorf("update: %d %+v", code, got)
	}
	var list struct{ Contacts []crm.Contact }
	if code, _ := h.do("GET", "/api/v1/contacts?q=sa", "", &list); code != 200 || len(list.Contacts) != 1 {
		t.Errorf("search by name: %d %+v", code, list)
	}
	if code, _ := h.do("GET", "/api/v1/contacts?phone=%2B14155550123", "", &list); code != 200 || len(list.Contacts) != 1 ||
		list.Contacts[0].ID != c.ID {
		t.Errorf("search by phone: %d %+v", code, list)
	}
	if code, _ := h.do("DELETE", fmt.Sprintf("/api/v1/contacts/%d", c.ID), "", nil); code != 204 {
		t.Errorf("delete: %d", code)
	}
	var e errBody
	if code, _ := h.do("GET", fmt.Sprintf("/api/v1/contacts/%d", c.ID), "", &e); code != 404 || e.Error.Code != "not_found" {
		t.Errorf("get deleted: %d %+v", code, e)
	}
}

func TestOrganizations(t *testing.T) {
	h := newHarness(t)
	var o crm.Contact
	if code, _ := h.do("POST", "/api/v1/organizations", `{"name":"Acme","phones":[{"label":"main","number":"021 8888 1234"}]}`, &o); code != 201 ||
		o.Kind != crm.KindOrganization {
		t.Fatalf("create org: %d %+v", code, o)
	}
	var p crm.Contact
	h.do("POST", "/api/v1/contacts", fmt.Sprintf(`{"first_name":"Ali","organization_ids":[%d]}`, o.ID), &p)
	var list struct{ Contacts []crm.Contact }
	if code, _ := h.do("GET", fmt.Sprintf("/api/v1/organizations/%d/members", o.ID), "", &list); code != 200 ||
		len(list.Contacts) != 1 || list.Contacts[0].ID != p.ID {
		t.Errorf("members: %d %+v", code, list)
	}
	if code, _ := h.do("GET", "/api/v1/organizations", "", &list); code != 200 || len(list.Contacts) != 1 || list.Contacts[0].ID != o.ID {
		t.Errorf("list orgs: %d %+v", code, list)
	}
	var e errBody
	if code, _ := h.do("GET", fmt.Sprintf("/api/v1/organizations/%d", p.ID), "", &e); code != 404 {
		t.Errorf("a person served as an organization: %d", code)
	}
	if code, _ := h.do("POST", "/api/v1/organizations", `{"kind":"person","name":"X"}`, &e); code != 422 || e.Error.Field != "kind" {
		t.Errorf("org with kind person: %d %+v", code, e)
	}
}

func TestBadInput(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name, method, path, body string
		status                   int
		code, field              string
	}{
		{"unknown field", "POST", "/api/v1/contacts", `{"first_name":"A","frist":"x"}`, 400, "unknown_field", "frist"},
		{"malformed", "POST", "/api/v1/contacts", `{"first_name":`, 400, "bad_json", ""},
		{"wrong type", "POST", "/api/v1/contacts", `{"first_name":5}`, 400, "bad_json", "first_name"},
		{"trailing data", "POST", "/api/v1/contacts", `{"first_name":"A"} {"x":1}`, 400, "bad_json", ""},
		{"too large", "POST", "/api/v1/contacts", `{"notes":"` + strings.Repeat("x", 5000) + `"}`, 413, "too_large", ""},
		{"no name", "POST", "/api/v1/contacts", `{"phones":[{"number":"09121234567"}]}`, 422, "invalid", "first_name"},
		{"bad status", "POST", "/api/v1/contacts", `{"first_name":"A","status":"hot"}`, 422, "invalid", "status"},
		{"bad phone", "POST", "/api/v1/contacts", `{"first_name":"A","phones":[{"number":"anonymous"}]}`, 422, "invalid", "phones[0]"},
		{"bad email", "POST", "/api/v1/contacts", `{"first_name":"A","emails":[{"address":"nope"}]}`, 422, "invalid", "emails[0]"},
		{"custom not object", "POST", "/api/v1/contacts", `{"first_name":"A","custom":[1]}`, 422, "invalid", "custom"},
		{"bad id", "GET", "/api/v1/contacts/abc", ``, 400, "invalid", "id"},
		{"missing", "GET", "/api/v1/contacts/999", ``, 404, "not_found", ""},
		{"bad limit", "GET", "/api/v1/contacts?limit=100000", ``, 400, "invalid", "limit"},
		{"bad kind", "GET", "/api/v1/contacts?kind=robot", ``, 400, "invalid", "kind"},
		{"long number", "GET", "/api/v1/lookup?number=" + strings.Repeat("9", 2048), ``, 400, "invalid", "number"},
		{"no endpoint", "GET", "/api/v1/nothing", ``, 404, "not_found", ""},
	}
	for _, c := range cases {
		var e errBody
		code, hdr := h.do(c.method, c.path, c.body, &e)
		if code != c.status || e.Error.Code != c.code || e.Error.Field != c.field || e.Error.Message == "" {
			t.Errorf("%s: %d %+v, want %d %s field %q", c.name, code, e.Error, c.status, c.code, c.field)
		}
		if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: content type %q", c.name, ct)
		}
	}
	// Nothing half-written by any of the failures.
	var list struct{ Contacts []crm.Contact }
	if h.do("GET", "/api/v1/contacts", "", &list); len(list.Contacts) != 0 {
		t.Errorf("failed requests left contacts: %+v", list.Contacts)
	}
}

func TestLookupEscapesAndRanks(t *testing.T) {
	h := newHarness(t)
	h.do("POST", "/api/v1/organizations", `{"name":"<script>alert(1)</script> Co","phones":[{"label":"main","number":"021 2222 3333"}]}`, nil)
	h.do("POST", "/api/v1/contacts", `{"first_name":"Reza","phones":[{"label":"work","number":"+98 21 2222 3333"}]}`, nil)
	req, _ := http.NewRequest("GET", h.srv.URL+"/api/v1/lookup?number=02122223333", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(raw), "<script>") {
		t.Errorf("raw HTML in JSON output: %s", raw)
	}
	var out struct {
		Number  struct{ Class, E164, National, International string }
		Matches []crm.Match
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	if out.Number.Class != "valid" || out.Number.E164 != "+982122223333" || out.Number.National == "" {
		t.Errorf("number: %+v", out.Number)
	}
	if len(out.Matches) != 2 || out.Matches[0].Contact.DisplayName != "Reza" ||
		out.Matches[1].Contact.DisplayName != "<script>alert(1)</script> Co" || out.Matches[0].How != crm.MatchExact {
		t.Errorf("matches: %+v", out.Matches)
	}
	var w struct {
		Number  struct{ Class string }
		Matches []crm.Match
	}
	if code, _ := h.do("GET", "/api/v1/lookup?number=anonymous", "", &w); code != 200 || w.Number.Class != "withheld" ||
		w.Matches == nil || len(w.Matches) != 0 {
		t.Errorf("withheld: %d %+v", code, w)
	}
}

// A caller ID arrives in any of the ways a number enters Tamas: Persian or
// Arabic-Indic digits, a zero-width space inside, a SIP URI whose user is
// percent-encoded. Each finds the contact stored with ASCII digits.
func TestLookupEasternDigits(t *testing.T) {
	h := newHarness(t)
	var c crm.Contact
	if code, _ := h.do("POST", "/api/v1/contacts", `{"first_name":"Sara","phones":[{"label":"mobile","number":"09121234567"}]}`, &c); code != 201 {
		t.Fatalf("create: %d", code)
	}
	for _, number := range []string{
		"۰۹۱۲۱۲۳۴۵۶۷",
		"٠٩١٢١٢٣٤٥٦٧",
		"۰۹۱۲\u200b۱۲۳۴۵۶۷",
		"sip:%DB%B0%DB%B9%DB%B1%DB%B2%DB%B1%DB%B2%DB%B3%DB%B4%DB%B5%DB%B6%DB%B7@pbx",
	} {
		var out struct {
			Number  struct{ Class, E164 string }
			Matches []crm.Match
		}
		code, _ := h.do("GET", "/api/v1/lookup?number="+url.QueryEscape(number), "", &out)
		if code != 200 || out.Number.E164 != "+989121234567" || len(out.Matches) != 1 || out.Matches[0].Contact.ID != c.ID {
			t.Errorf("%q: %d %+v", number, code, out)
		}
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	h := newHarness(t)
	get := func(path string) (int, string) {
		resp, err := http.Get(h.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	h.do("GET", "/api/v1/lookup?number=09121234567", "", nil)
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("healthz %d", code)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("readyz %d", code)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, `tamas_crm_lookup_duration_seconds_count{outcome="unmatched"} 1`) ||
		!strings.Contains(body, `tamas_http_request_duration_seconds_count{code="2xx",route="/api/v1/lookup"} 1`) {
		t.Errorf("metrics %d:\n%s", code, body)
	}
	h.store.Close() // a dead database: not ready, and said so
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "unavailable") {
		t.Errorf("readyz with a closed store: %d %s", code, body)
	}
}
