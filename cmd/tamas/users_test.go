package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tamas-cc/tamas/account"
	"github.com/tamas-cc/tamas/crm/sqlite"
	"github.com/tamas-cc/tamas/internal/testkit"
)

// tamasEnv is tamas with extra environment variables.
func tamasEnv(t *testing.T, ctx context.Context, dataDir, stdin string, environ []string, args ...string) result {
	t.Helper()
	var out, errb testkit.SyncBuffer
	environ = append([]string{"TAMAS_DATA_DIR=" + dataDir, "TAMAS_HTTP_LISTEN=127.0.0.1:0"}, environ...)
	code := run(ctx, args, env{stdout: &out, stderr: &errb, stdin: strings.NewReader(stdin), environ: environ})
	return result{code, out.String(), errb.String()}
}

// login checks a password against the database the commands wrote.
func login(t *testing.T, dataDir, username, password string) error {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dataDir, "tamas.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, _, err = account.NewService(st, account.Options{}).Login(ctx, username, password, "127.0.0.1")
	return err
}

func TestUsersAddListPasswd(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	r := tamas(t, ctx, data, "correct horse\n", "users", "add", "--username", "Ali", "--role", "agent",
		"--name", "علی رضایی", "--endpoint", "PJSIP/1001", "--lang", "fa")
	if r.code != 0 || !strings.Contains(r.stdout, "created user ali (agent)") {
		t.Fatalf("add: %+v", r)
	}
	const envPassword = "from the environment"
	r = tamasEnv(t, ctx, data, "", []string{"TAMAS_NEW_PASSWORD=" + envPassword}, "users", "add",
		"-username", "sara", "-role", "supervisor")
	if r.code != 0 || strings.Contains(r.stdout+r.stderr, envPassword) {
		t.Fatalf("add with the password in the environment: %+v", r)
	}
	r = tamas(t, ctx, data, "", "users", "list")
	if r.code != 0 {
		t.Fatalf("list: %+v", r)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") {
		t.Fatalf("list printed %q, want a header and two users", r.stdout)
	}
	for _, want := range []string{"ali", "agent", "fa", "PJSIP/1001", "active", "علی رضایی"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("list line %q lacks %q", lines[1], want)
		}
	}
	if !strings.Contains(lines[2], "sara") || !strings.Contains(lines[2], "supervisor") {
		t.Errorf("list line %q, want sara the supervisor", lines[2])
	}
	if strings.Contains(r.stdout, "$2a$") {
		t.Errorf("list shows password hashes: %q", r.stdout)
	}
	if err := login(t, data, "ali", "correct horse"); err != nil {
		t.Fatalf("the password from stdin does not log in: %v", err)
	}
	if err := login(t, data, "sara", envPassword); err != nil {
		t.Fatalf("the password from the environment does not log in: %v", err)
	}

	// Only the first line of stdin is the password.
	r = tamas(t, ctx, data, "a new password\r\nsecond line\n", "users", "passwd", "--username", "ALI")
	if r.code != 0 || !strings.Contains(r.stdout, "password changed for ali") {
		t.Fatalf("passwd: %+v", r)
	}
	if err := login(t, data, "ali", "correct horse"); !errors.Is(err, account.ErrBadCredentials) {
		t.Fatalf("the old password still works: %v", err)
	}
	if err := login(t, data, "ali", "a new password"); err != nil {
		t.Fatalf("the new password does not: %v", err)
	}
}

func TestUsersRejects(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	if r := tamas(t, ctx, data, "correct horse\n", "users", "add", "--username", "ali", "--role", "admin"); r.code != 0 {
		t.Fatalf("add: %+v", r)
	}
	for _, tc := range []struct {
		name  string
		stdin string
		code  int
		want  string
		args  []string
	}{
		{"no subcommand", "", 2, "users add|list|passwd", nil},
		{"unknown subcommand", "", 2, "unknown users command", []string{"rm"}},
		{"duplicate in other case", "another one\n", 1, "already exists", []string{"add", "--username", "ALI", "--role", "agent"}},
		{"bad role", "longenough\n", 2, "--role", []string{"add", "--username", "reza", "--role", "root"}},
		{"no role", "longenough\n", 2, "--role", []string{"add", "--username", "reza"}},
		{"bad username", "longenough\n", 2, "--username", []string{"add", "--username", "no spaces", "--role", "agent"}},
		{"bad lang", "longenough\n", 2, "--lang", []string{"add", "--username", "reza", "--role", "agent", "--lang", "de"}},
		{"password on the command line", "", 2, "no arguments", []string{"add", "--username", "reza", "--role", "agent", "hunter2hunter2"}},
		{"no password", "", 1, "TAMAS_NEW_PASSWORD", []string{"add", "--username", "reza", "--role", "agent"}},
		{"empty password line", "\nsecond\n", 1, "no password", []string{"add", "--username", "reza", "--role", "agent"}},
		{"weak password", "abc1234\n", 1, "at least 8", []string{"add", "--username", "reza", "--role", "agent"}},
		{"passwd unknown user", "longenough\n", 1, `no user "nobody"`, []string{"passwd", "--username", "nobody"}},
		{"passwd without a name", "longenough\n", 2, "--username", []string{"passwd"}},
		{"passwd weak", "abc1234\n", 1, "at least 8", []string{"passwd", "--username", "ali"}},
	} {
		r := tamas(t, ctx, data, tc.stdin, append([]string{"users"}, tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d mentioning %q", tc.name, r.code, r.stderr, tc.code, tc.want)
		}
		if pw := strings.TrimSpace(tc.stdin); pw != "" && strings.Contains(r.stdout+r.stderr, strings.Split(pw, "\n")[0]) {
			t.Errorf("%s: the password shows in the output: %+v", tc.name, r)
		}
	}
	r := tamas(t, ctx, data, "", "users", "list")
	if r.code != 0 || strings.Count(strings.TrimSpace(r.stdout), "\n") != 1 {
		t.Fatalf("rejected commands changed the users: %+v", r)
	}
	if err := login(t, data, "ali", "correct horse"); err != nil {
		t.Fatalf("a rejected passwd changed the password: %v", err)
	}
}
