package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/internal/testkit"
	"github.com/tamas-cc/tamas/telephony/ari/aritest"
	"github.com/tamas-cc/tamas/telephony/sip/callgen"
)

type result struct {
	code           int
	stdout, stderr string
}

// tamas runs the command in a fresh data directory given by dataDir.
func tamas(t *testing.T, ctx context.Context, dataDir, stdin string, args ...string) result {
	t.Helper()
	var out, errb testkit.SyncBuffer
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

// server is a running `tamas serve`.
type server struct {
	logs   *testkit.SyncBuffer
	done   chan int
	cancel context.CancelFunc
}

func startServe(t *testing.T, data string, environ ...string) *server {
	t.Helper()
	return startServeConfig(t, data, "", environ...)
}

// startServeConfig is startServe with a configuration file.
func startServeConfig(t *testing.T, data, config string, environ ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{logs: &testkit.SyncBuffer{}, done: make(chan int, 1), cancel: cancel}
	t.Cleanup(cancel)
	environ = append([]string{"TAMAS_DATA_DIR=" + data, "TAMAS_HTTP_LISTEN=127.0.0.1:0", "TAMAS_LOG_FORMAT=json"}, environ...)
	go func() {
		args := []string{"serve"}
		if config != "" {
			args = []string{"-config", config, "serve"}
		}
		s.done <- run(ctx, args, env{stdout: io.Discard, stderr: s.logs, environ: environ})
	}()
	return s
}

// logField waits for a log line with message msg and returns its field.
func (s *server) logField(t *testing.T, msg, field string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		sc := bufio.NewScanner(strings.NewReader(s.logs.String()))
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == msg {
				v, _ := line[field].(string)
				return v
			}
		}
	}
	t.Fatalf("no log line %q: %s", msg, s.logs.String())
	return ""
}

func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cancel() // what SIGTERM does
	select {
	case code := <-s.done:
		if code != 0 {
			t.Errorf("exit code %d: %s", code, s.logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop")
	}
	if !strings.Contains(s.logs.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop logged: %s", s.logs.String())
	}
}

func TestServeAndShutdown(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o022))
	// A data directory an earlier version made readable by others.
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, data)
	errb := srv.logs
	url := srv.logField(t, "tamas serving", "url")
	// The database (with its -wal and -shm files), the outboxes and the API
	// token hold password hashes and customers: the owner's alone.
	if fi, err := os.Stat(data); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory: %v %v", fi.Mode().Perm(), err)
	}
	files, _ := os.ReadDir(data)
	var names []string
	for _, f := range files {
		names = append(names, f.Name())
		if fi, err := f.Info(); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v %v", f.Name(), fi.Mode().Perm(), err)
		}
	}
	for _, want := range []string{"tamas.db", "tamas.db-wal", "tamas.db-shm", "call-outbox.jsonl", "wrapup-outbox.jsonl", "api-token"} {
		if !slices.Contains(names, want) {
			t.Errorf("no %s in the data directory: %v", want, names)
		}
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
	srv.stop(t)
}

// A call forked to the SIP endpoint is caught and its caller matched.
func TestServeCatchesSIPCalls(t *testing.T) {
	data := t.TempDir()
	csv := "first name,last name,mobile\nSara,Ahmadi,0912 345 6789\n"
	if r := tamas(t, context.Background(), data, csv, "contacts", "import", "-"); r.code != 0 {
		t.Fatalf("import: %+v", r)
	}
	srv := startServe(t, data, "TAMAS_SIP_ENABLED=true", "TAMAS_SIP_LISTEN=udp:127.0.0.1:0")
	addrs := srv.logField(t, "SIP endpoint listening", "addrs")
	addr := strings.TrimPrefix(strings.Split(addrs, ",")[0], "udp:")
	sum, err := callgen.Run(context.Background(), callgen.Options{
		Target: "sip:18005550100@" + addr, Total: 2, Hold: 300 * time.Millisecond, LocalIP: "127.0.0.1",
		Callers: []callgen.Caller{{Number: "+989123456789", Name: "Sara"}, {Number: "+14155550000", Name: "<b>x</b>"}},
	})
	if err != nil || sum.Placed != 2 || sum.Ringing != 2 {
		t.Fatalf("calls: %+v %v", sum, err)
	}
	if id := srv.logField(t, "call from a known caller", "dnis"); id != "18005550100" {
		t.Errorf("dnis = %q", id)
	}
	if name := srv.logField(t, "call from an unknown caller", "caller_name"); name != "<b>x</b>" {
		t.Errorf("unknown caller's name = %q", name)
	}
	srv.stop(t)
}

// An Asterisk that does not answer is not reported connected: the node
// says it is starting the connection, and the engine why it cannot.
func TestServeLogsAsteriskConnectedOnlyOnceConnected(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nobody := "http://" + ln.Addr().String() + "/ari"
	ln.Close()
	srv := startServe(t, t.TempDir(), "TAMAS_ASTERISK_URL="+nobody, "TAMAS_ASTERISK_USERNAME=tamas",
		"TAMAS_ASTERISK_PASSWORD=pbx-s3cret")
	if url := srv.logField(t, "Asterisk connection starting", "url"); url != nobody {
		t.Errorf("starting to connect to %q, want %q", url, nobody)
	}
	srv.logField(t, "ari: cannot connect to Asterisk; retrying", "pbx")
	srv.logField(t, "tamas serving", "url")
	for _, msg := range []string{"Asterisk connection started", "ari: connected"} {
		if strings.Contains(srv.logs.String(), `"msg":"`+msg+`"`) {
			t.Errorf("logged %q with no Asterisk to connect to:\n%s", msg, srv.logs.String())
		}
	}
	srv.stop(t)
}

// A call Asterisk hands over ARI — a real recording, replayed — is caught
// and its caller matched, and the node keeps serving.
func TestServeCatchesAsteriskCalls(t *testing.T) {
	data := t.TempDir()
	csv := "first name,last name,mobile\nLab,Customer,+1 415 555 0123\n"
	if r := tamas(t, context.Background(), data, csv, "contacts", "import", "-"); r.code != 0 {
		t.Fatalf("import: %+v", r)
	}
	pbx := aritest.NewServer(aritest.Options{Username: "tamas", Password: "pbx-s3cret"})
	defer pbx.Close()
	tr, err := aritest.Load("inbound_sip_call")
	if err != nil {
		t.Fatal(err)
	}
	pbx.Load(tr)
	srv := startServe(t, data, "TAMAS_ASTERISK_URL="+pbx.URL(), "TAMAS_ASTERISK_USERNAME=tamas",
		"TAMAS_ASTERISK_PASSWORD=pbx-s3cret")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := pbx.WaitConnected(ctx, 1); err != nil {
		t.Fatalf("no ARI connection: %v\n%s", err, srv.logs.String())
	}
	if err := pbx.Replay(tr); err != nil {
		t.Fatal(err)
	}
	if dnis := srv.logField(t, "call from a known caller", "dnis"); dnis != "18005550100" {
		t.Errorf("dnis = %q", dnis)
	}
	if strings.Contains(srv.logs.String(), "pbx-s3cret") {
		t.Error("the ARI password was logged")
	}
	srv.stop(t)
}
