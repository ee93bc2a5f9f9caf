package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type result struct {
	code           int
	stdout, stderr string
}

// tamas runs the command in a fresh data directory given by dataDir.
func tamas(t *testing.T, ctx context.Context, dataDir, stdin string, args ...string) result {
	t.Helper()
	var out, errb syncBuffer
	code := run(ctx, args, env{stdout: &out, stderr: &errb, stdin: strings.NewReader(stdin),
		environ: []string{"TAMAS_DATA_DIR=" + dataDir, "TAMAS_HTTP_LISTEN=127.0.0.1:0"}})
	return result{code, out.String(), errb.String()}
}

func TestVersionAndUsage(t *testing.T) {
	ctx := context.Background()
	if r := tamas(t, ctx, t.TempDir(), "", "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "tamas ") {
		t.Errorf("version: %+v", r)
	}
	if r := tamas(t, ctx, t.TempDir(), ""); r.code != 2 || !strings.Contains(r.stderr, "Commands:") {
		t.Errorf("no command: %+v", r)
	}
	if r := tamas(t, ctx, t.TempDir(), "", "frobnicate"); r.code != 2 || !strings.Contains(r.stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %+v", r)
	}
	if r := tamas(t, ctx, t.TempDir(), "", "seed", "-contacts", "-5"); r.code != 2 {
		t.Errorf("bad flag value: %+v", r)
	}
	if r := tamas(t, ctx, t.TempDir(), "", "contacts", "import"); r.code != 2 {
		t.Errorf("import without a file: %+v", r)
	}
}

func TestBadConfigNamesTheKey(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "tamas.yaml")
	os.WriteFile(cfg, []byte("phone:\n  default_region: XX\n"), 0o600)
	r := tamas(t, context.Background(), t.TempDir(), "", "-config", cfg, "migrate")
	if r.code != 1 || !strings.Contains(r.stderr, "phone.default_region") {
		t.Errorf("%+v", r)
	}
}

func TestSeedImportExport(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	if r := tamas(t, ctx, data, "", "seed", "-contacts", "500"); r.code != 0 || !strings.Contains(r.stdout, "seeded") {
		t.Fatalf("seed: %+v", r)
	}
	export := filepath.Join(t.TempDir(), "out.csv")
	r := tamas(t, ctx, data, "", "contacts", "export", export)
	if r.code != 0 || !strings.Contains(r.stderr, "exported 500 contacts") {
		t.Fatalf("export: %+v", r)
	}
	// Importing the export into a fresh database gives the same 500.
	fresh := t.TempDir()
	r = tamas(t, ctx, fresh, "", "contacts", "import", export)
	if r.code != 0 || !strings.Contains(r.stdout, "created 500") {
		t.Fatalf("re-import: %+v", r)
	}
	// A second import finds every row already there.
	r = tamas(t, ctx, fresh, "", "contacts", "import", export)
	if r.code != 0 || !strings.Contains(r.stdout, "created 0") || !strings.Contains(r.stdout, "duplicates 500") {
		t.Fatalf("duplicate import: %+v", r)
	}
}

func TestImportAllOrNothing(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	csv := "first name,last name,mobile\nSara,Ahmadi,09121234567\nBad,Number,anonymous\nAli,Karimi,09351234567\n"
	r := tamas(t, ctx, data, csv, "contacts", "import", "-")
	if r.code != 1 || !strings.Contains(r.stdout, "line 3") || !strings.Contains(r.stdout, "mobile") {
		t.Fatalf("bad row: %+v", r)
	}
	out := filepath.Join(t.TempDir(), "x.csv")
	if r := tamas(t, ctx, data, "", "contacts", "export", out); !strings.Contains(r.stderr, "exported 0 contacts") {
		t.Fatalf("all-or-nothing import left rows: %+v", r)
	}
	r = tamas(t, ctx, data, csv, "contacts", "import", "-partial", "-")
	if r.code != 1 || !strings.Contains(r.stdout, "created 2") {
		t.Fatalf("partial: %+v", r)
	}
	if r := tamas(t, ctx, data, "", "contacts", "export", out); !strings.Contains(r.stderr, "exported 2 contacts") {
		t.Fatalf("partial import: %+v", r)
	}
	if r := tamas(t, ctx, data, "", "contacts", "import", filepath.Join(data, "missing.csv")); r.code != 1 {
		t.Fatalf("missing file: %+v", r)
	}
}

func TestServeAndShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	data := t.TempDir()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, env{stdout: &out, stderr: &errb,
			environ: []string{"TAMAS_DATA_DIR=" + data, "TAMAS_HTTP_LISTEN=127.0.0.1:0", "TAMAS_LOG_FORMAT=json"}})
	}()
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		sc := bufio.NewScanner(strings.NewReader(errb.String()))
		for sc.Scan() {
			var line struct{ Msg, URL string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "tamas serving" {
				url = line.URL
			}
		}
	}
	if url == "" {
		t.Fatalf("server did not start: %s", errb.String())
	}
	token, err := os.ReadFile(filepath.Join(data, "api-token"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(data, "api-token")); fi.Mode().Perm() != 0o600 {
		t.Errorf("api-token mode %v", fi.Mode().Perm())
	}
	if strings.Contains(errb.String(), strings.TrimSpace(string(token))) {
		t.Error("the API token was logged")
	}
	get := func(path string, auth bool) int {
		req, _ := http.NewRequest("GET", url+path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200} {
		if got := get(path, false); got != want {
			t.Errorf("%s: %d", path, got)
		}
	}
	if got := get("/api/v1/lookup?number=09121234567", false); got != 401 {
		t.Errorf("lookup without token: %d", got)
	}
	if got := get("/api/v1/lookup?number=09121234567", true); got != 200 {
		t.Errorf("lookup with token: %d", got)
	}
	cancel() // what SIGTERM does
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d: %s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop")
	}
	if !strings.Contains(errb.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop logged: %s", errb.String())
	}
}
