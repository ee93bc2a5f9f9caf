package web_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
)

type wrapUpState struct {
	WrapUp struct {
		CallID string `json:"call_id"`
		Agent  string `json:"agent"`
		Step   string `json:"step"`
		Score  int    `json:"score"`
	} `json:"wrapup"`
	Run *struct {
		Steps []struct {
			ID   string `json:"id"`
			Text string `json:"text"`
		} `json:"steps"`
		Ended bool `json:"ended"`
	} `json:"run"`
	Dispositions []struct {
		Code string `json:"code"`
	} `json:"dispositions"`
}

func TestWrapUpAPI(t *testing.T) {
	h := newConsoleHarness(t)
	ctx := context.Background()
	c := &crm.Contact{FirstName: "<img src=x onerror=alert(1)>", Phones: []crm.Phone{{Label: crm.LabelMobile, Raw: "09121234567"}}}
	if err := crm.NewDirectory(h.store, mustNorm(t)).Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	ali := h.client()
	ali.login("ali", "ali-password")
	var st wrapUpState
	body := `{"call_id":"call-9","contact_id":` + itoa(c.ID) + `,"script":"support-triage","line":"Support","queue":"support"}`
	if r := ali.do("POST", "/api/v1/wrapups", body, nil, nil); r.StatusCode != 403 {
		t.Fatalf("open without the CSRF header: %d", r.StatusCode)
	}
	if r := ali.do("POST", "/api/v1/wrapups", body, csrf, &st); r.StatusCode != 200 || st.Run == nil || st.WrapUp.Agent != "ali" ||
		len(st.Dispositions) == 0 {
		t.Fatalf("open: %d %+v", r.StatusCode, st)
	}
	first := st.Run.Steps[0].ID
	// Another agent may not walk ali's call.
	nima := h.client()
	nima.login("nima", "nima-password")
	if r := nima.do("POST", "/api/v1/wrapups/call-9/step", `{"from":"`+first+`","go":"next"}`, csrf, nil); r.StatusCode != 403 {
		t.Fatalf("another agent's step: %d", r.StatusCode)
	}
	var eb errBody
	if r := ali.do("POST", "/api/v1/wrapups/call-9/step", `{"from":"`+first+`","go":"sideways"}`, csrf, &eb); r.StatusCode != 422 || eb.Error.Field != "go" {
		t.Fatalf("a bad move: %d %+v", r.StatusCode, eb)
	}
	if r := ali.do("POST", "/api/v1/wrapups/call-9/step", `{"from":"nowhere","go":"next"}`, csrf, &eb); r.StatusCode != 409 {
		t.Fatalf("a move from the wrong step: %d %+v", r.StatusCode, eb)
	}
	if r := ali.do("POST", "/api/v1/wrapups/call-9/step", `{"from":"`+first+`","answer":7,"go":"next"}`, csrf, &eb); r.StatusCode != 400 {
		t.Fatalf("an answer of the wrong JSON type: %d %+v", r.StatusCode, eb)
	}
	if r := ali.do("PUT", "/api/v1/wrapups/call-9/notes", `{"notes":"<script>alert(1)</script>"}`, csrf, nil); r.StatusCode != 204 {
		t.Fatalf("notes: %d", r.StatusCode)
	}
	if r := ali.do("POST", "/api/v1/wrapups/call-9/finish", `{"disposition":"sold-a-car"}`, csrf, &eb); r.StatusCode != 422 || eb.Error.Field != "disposition" {
		t.Fatalf("a disposition not in the list: %d %+v", r.StatusCode, eb)
	}
	if r := ali.do("POST", "/api/v1/wrapups/call-9/finish", `{"disposition":"solved"}`, csrf, &eb); r.StatusCode != 422 || eb.Error.Field != "step" {
		t.Fatalf("finish before the script's end: %d %+v", r.StatusCode, eb)
	}
	// The page reloads: opening again gives the same run, not a new one.
	var again wrapUpState
	ali.do("POST", "/api/v1/wrapups", `{"call_id":"call-9"}`, csrf, &again)
	if again.Run == nil || again.Run.Steps[0].ID != first || again.WrapUp.Agent != "ali" {
		t.Fatalf("reopened = %+v", again)
	}
	if _, err := h.store.CallActivity(ctx, "call-9"); err == nil {
		t.Fatal("an unfinished wrap-up wrote the activity")
	}
	w, err := h.store.WrapUp(ctx, "call-9")
	if err != nil || w.Notes != "<script>alert(1)</script>" {
		t.Fatalf("stored notes = %+v (%v)", w, err)
	}
	// Walk to the end and finish: the notes come back JSON-escaped.
	for i := 0; i < 20; i++ {
		var cur wrapUpState
		ali.do("POST", "/api/v1/wrapups", `{"call_id":"call-9"}`, csrf, &cur)
		if cur.Run.Ended {
			break
		}
		from := cur.Run.Steps[len(cur.Run.Steps)-1].ID
		ans := answerFor(from)
		if r := ali.do("POST", "/api/v1/wrapups/call-9/step", `{"from":"`+from+`",`+ans+`"go":"next"}`, csrf, &eb); r.StatusCode != 200 {
			t.Fatalf("step %s: %d %+v", from, r.StatusCode, eb)
		}
	}
	raw := ali.raw("POST", "/api/v1/wrapups/call-9/finish", `{"disposition":"solved","notes":"<script>alert(1)</script>"}`, csrf)
	if !strings.Contains(raw, `\u003cscript\u003e`) || strings.Contains(raw, "<script>") {
		t.Fatalf("finish answered %s", raw)
	}
	a, err := h.store.CallActivity(ctx, "call-9")
	if err != nil || a.Disposition != "solved" || a.WrapUp == nil || a.ContactID != c.ID {
		t.Fatalf("activity = %+v (%v)", a, err)
	}
}

// answerFor answers the support-triage questions.
func answerFor(step string) string {
	switch step {
	case "product":
		return `"answer":["web"],`
	case "severity":
		return `"answer":["degraded"],`
	case "describe":
		return `"answer":["pages <b>time out</b>"],`
	case "solved-now":
		return `"answer":["yes"],`
	}
	return ""
}

func mustNorm(t *testing.T) *phone.Normalizer {
	t.Helper()
	n, err := phone.New("IR")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// raw returns a response body as text.
func (b *browserClient) raw(method, path, body string, hdr map[string]string) string {
	b.h.t.Helper()
	req, _ := http.NewRequest(method, b.h.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return string(data)
}
