package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/tamas-cc/tamas/internal/testkit"
	"github.com/tamas-cc/tamas/telephony/sip/callgen"
)

// TestMain lets the test binary stand in for the tamas binary, so that
// tests can start real separate Tamas processes.
func TestMain(m *testing.M) {
	if os.Getenv("TAMAS_TEST_AS_MAIN") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin, environ: os.Environ()})
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// process is a tamas process started by a test.
type process struct {
	cmd   *exec.Cmd
	lines chan map[string]any
}

func startProcess(t *testing.T, environ []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), append(environ, "TAMAS_TEST_AS_MAIN=1", "TAMAS_LOG_FORMAT=json")...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, lines: make(chan map[string]any, 1000)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil {
				select {
				case p.lines <- line:
				default:
				}
			} else {
				t.Logf("%s", sc.Text())
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
		}
	})
	return p
}

// await waits for a log line with the message and returns it.
func (p *process) await(t *testing.T, msg string) map[string]any {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case l := <-p.lines:
			if l["msg"] == msg {
				return l
			}
		case <-deadline:
			t.Fatalf("no %q logged", msg)
		}
	}
}

// freshSchema returns a PostgreSQL URL whose tables live in a new schema.
func freshSchema(t *testing.T) string {
	t.Helper()
	url := testkit.PostgresURL(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	schema := "tamas_twonode_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), url)
		if err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "search_path=" + schema
}

// Two Tamas processes share PostgreSQL and Redis. Node A catches a call on
// its SIP endpoint; the agent's console is connected to node B, and gets
// the pop.
func TestTwoNodesThroughRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	redisAddr := testkit.RedisAddr(t)
	common := []string{"TAMAS_DATABASE_DRIVER=postgres", "TAMAS_DATABASE_URL=" + freshSchema(t),
		"TAMAS_CONSOLE_BUS=redis", "TAMAS_REDIS_ADDR=" + redisAddr, "TAMAS_HTTP_LISTEN=127.0.0.1:0",
		"TAMAS_API_TOKEN=two-node-token"}
	mig := startProcess(t, common, "migrate")
	if err := mig.cmd.Wait(); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	add := exec.Command(os.Args[0], "users", "add", "-username", "ali", "-role", "agent")
	add.Env = append(os.Environ(), append(common, "TAMAS_TEST_AS_MAIN=1", "TAMAS_NEW_PASSWORD=ali-password")...)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("users add: %v %s", err, out)
	}

	a := startProcess(t, append(common, "TAMAS_NODE=node-a", "TAMAS_DATA_DIR="+t.TempDir(), "TAMAS_SIP_ENABLED=true",
		"TAMAS_SIP_LISTEN=udp:127.0.0.1:0"), "-config", writeConfig(t, "console:\n  routes:\n    - line: \"*\"\n      agents: [ali]\n"), "serve")
	b := startProcess(t, append(common, "TAMAS_NODE=node-b", "TAMAS_DATA_DIR="+t.TempDir()), "serve")
	sipAddr := strings.TrimPrefix(a.await(t, "SIP endpoint listening")["addrs"].(string), "udp:")
	a.await(t, "tamas serving")
	bURL := b.await(t, "tamas serving")["url"].(string)

	// The agent logs in to node B and opens the console websocket there.
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	resp, err := hc.Post(bURL+"/api/v1/session", "application/json", strings.NewReader(`{"username":"ali","password":"ali-password"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login on node B: %v %v", err, resp)
	}
	resp.Body.Close()
	u, _ := http.NewRequest("GET", bURL, nil)
	hdr := http.Header{"Origin": {bURL}}
	for _, c := range jar.Cookies(u.URL) {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(bURL, "http")+"/api/v1/console/ws", hdr)
	if err != nil {
		t.Fatalf("websocket on node B: %v", err)
	}
	defer ws.Close()
	if err := ws.WriteJSON(map[string]any{"type": "hello"}); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	var welcome struct{ Type, User string }
	if err := ws.ReadJSON(&welcome); err != nil || welcome.Type != "welcome" || welcome.User != "ali" {
		t.Fatalf("welcome: %+v %v", welcome, err)
	}
	time.Sleep(200 * time.Millisecond) // node B's Redis subscription settles

	// The call reaches node A.
	go callgen.Run(context.Background(), callgen.Options{Target: "sip:02191000000@" + sipAddr, Total: 1,
		Hold: 3 * time.Second, Callers: []callgen.Caller{{Number: "+989127654321", Name: "Two Node"}}})
	a.await(t, "call from an unknown caller")
	for {
		var f struct {
			Type    string `json:"type"`
			Channel string `json:"channel"`
			Seq     uint64 `json:"seq"`
			Data    struct {
				Kind string `json:"kind"`
				Pop  struct {
					ID   string `json:"id"`
					Call struct {
						Number     string `json:"number"`
						CallerName string `json:"caller_name"`
						Node       string `json:"node"`
					} `json:"call"`
				} `json:"pop"`
			} `json:"data"`
		}
		if err := ws.ReadJSON(&f); err != nil {
			t.Fatalf("no pop on node B: %v", err)
		}
		if f.Type != "message" || f.Data.Kind != "pop" {
			continue
		}
		if f.Channel != "user:ali" || f.Data.Pop.Call.Number != "+989127654321" || f.Data.Pop.Call.CallerName != "Two Node" || f.Data.Pop.Call.Node != "node-a" {
			t.Fatalf("pop on node B = %+v", f)
		}
		return
	}
}

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := t.TempDir() + "/tamas.yaml"
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
