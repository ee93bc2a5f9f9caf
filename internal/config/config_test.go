package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tamas.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExampleDocumentsEveryKey(t *testing.T) {
	path := filepath.Join("..", "..", "configs", "tamas.yaml")
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatalf("the example config does not load: %v", err)
	}
	b, _ := os.ReadFile(path)
	text := string(b)
	for _, key := range Keys() {
		leaf := key[strings.LastIndex(key, ".")+1:]
		if !strings.Contains(text, "\n"+strings.Repeat("  ", strings.Count(key, "."))+leaf+":") {
			t.Errorf("configs/tamas.yaml does not document %s", key)
		}
	}
	def := Default()
	def.Node = cfg.Node
	def.Database.SQLitePath = cfg.Database.SQLitePath
	if fmt.Sprint(cfg) != fmt.Sprint(def) {
		t.Errorf("the example's values differ from the defaults:\n%+v\n%+v", cfg, def)
	}
}

func TestEmptyFileAndNoFile(t *testing.T) {
	for _, path := range []string{"", write(t, "")} {
		cfg, err := Load(path, nil)
		if err != nil {
			t.Fatalf("%q: %v", path, err)
		}
		if cfg.Database.SQLitePath != filepath.Join("data", "tamas.db") {
			t.Errorf("sqlite path = %q", cfg.Database.SQLitePath)
		}
	}
}

func TestUnknownKeyIsNamed(t *testing.T) {
	_, err := Load(write(t, "http:\n  listen: 127.0.0.1:9000\n  lisen: x\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "lisen") || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("err = %v, want it to name field lisen on line 3", err)
	}
}

func TestEnvOverrides(t *testing.T) {
	cfg, err := Load(write(t, "http:\n  listen: 127.0.0.1:9000\n"), []string{
		"TAMAS_HTTP_LISTEN=0.0.0.0:8181", "TAMAS_LOG_LEVEL=debug", "TAMAS_HTTP_READ_TIMEOUT=3s",
		"TAMAS_PHONE_DEFAULT_REGION=US", "TAMAS_DATABASE_AUTO_MIGRATE=false",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Listen != "0.0.0.0:8181" || cfg.Log.Level != "debug" || cfg.HTTP.ReadTimeout != 3*time.Second ||
		cfg.Phone.DefaultRegion != "US" || cfg.Database.AutoMigrate {
		t.Errorf("env not applied: %+v", cfg)
	}
}

func TestBadValuesNameTheKey(t *testing.T) {
	cases := []struct {
		yaml, env, key string
	}{
		{"log:\n  level: loud\n", "", "log.level"},
		{"http:\n  listen: nowhere\n", "", "http.listen"},
		{"http:\n  max_body_bytes: 10\n", "", "http.max_body_bytes"},
		{"phone:\n  default_region: XX\n", "", "phone.default_region"},
		{"database:\n  driver: mysql\n", "", "database.driver"},
		{"database:\n  driver: postgres\n", "", "database.url"},
		{"", "TAMAS_HTTP_READ_TIMEOUT=soon", "http.read_timeout"},
		{"", "TAMAS_HTTP_MAX_BODY_BYTES=lots", "http.max_body_bytes"},
		{"http:\n  read_timeout: -1s\n", "", "http.read_timeout"},
		{"sip:\n  enabled: true\n  listen: [sctp:1.2.3.4:5060]\n", "", "sip.listen"},
		{"sip:\n  enabled: true\n  final_code: 180\n", "", "sip.final_code"},
		{"sip:\n  enabled: true\n  auth_realm: tamas\n", "", "sip.auth_users_file"},
		{"", "TAMAS_SIP_AUTH_USERS=agent1000", "TAMAS_SIP_AUTH_USERS"},
	}
	for _, c := range cases {
		var env []string
		if c.env != "" {
			env = []string{c.env}
		}
		_, err := Load(write(t, c.yaml), env)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Key != c.key {
			t.Errorf("%q %q: err = %v, want a FieldError for %s", c.yaml, c.env, err, c.key)
		}
	}
}

func TestSecretsFromEnvOrFileNeverPrinted(t *testing.T) {
	const url = "postgres://tamas:s3cret-pw@db:5432/tamas"
	cfg, err := Load(write(t, "database:\n  driver: postgres\n"), []string{"TAMAS_DATABASE_URL=" + url})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database.URL.Value() != url {
		t.Fatalf("url = %q", cfg.Database.URL.Value())
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(f, cfg); strings.Contains(s, "s3cret") {
			t.Errorf("%s prints the secret: %s", f, s)
		}
	}
	file := filepath.Join(t.TempDir(), "db-url")
	os.WriteFile(file, []byte(url+"\n"), 0o600)
	cfg, err = Load(write(t, "database:\n  driver: postgres\n  url_file: "+file+"\n"), nil)
	if err != nil || cfg.Database.URL.Value() != url {
		t.Fatalf("url_file: %q %v", cfg.Database.URL.Value(), err)
	}
	_, err = Load(write(t, "database:\n  driver: postgres\n  url_file: /nonexistent/db-url\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "database.url_file") {
		t.Errorf("missing url_file: %v", err)
	}
	_, err = Load(write(t, "database:\n  driver: postgres\n"), []string{"TAMAS_DATABASE_URL=mysql://u:s3cret@x/y"})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad url error = %v (must fail without showing it)", err)
	}
}

func TestSIPUsersFromEnvNeverEchoed(t *testing.T) {
	cfg, err := Load(write(t, "sip:\n  enabled: true\n  auth_realm: tamas\n"),
		[]string{"TAMAS_SIP_AUTH_USERS=pbx:pa55word\n# comment\nother:x", "TAMAS_SIP_ENABLED=true"})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.SIP.Enabled || cfg.SIP.AuthUsers["pbx"].Value() != "pa55word" || len(cfg.SIP.AuthUsers) != 2 {
		t.Errorf("users: %v", cfg.SIP.AuthUsers)
	}
	if s := fmt.Sprintf("%+v", cfg); strings.Contains(s, "pa55word") {
		t.Error("a SIP password prints")
	}
	_, err = Load("", []string{"TAMAS_SIP_AUTH_USERS=good:one\nbad-line-s3cret"})
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad users line: %v", err)
	}
}

func TestAsteriskServers(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pbx2.secret")
	os.WriteFile(pw, []byte("file-s3cret\n"), 0o600)
	cfg, err := Load(write(t, `asterisk:
  - name: pbx-1
    url: http://10.0.0.5:8088/ari
    username: tamas
  - name: pbx2
    url: https://pbx2:8089/ari
    username: tamas
    password_file: `+pw+`
    orphans: hangup
`), []string{"TAMAS_ASTERISK_PBX_1_PASSWORD=env-s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	a, b := cfg.Asterisk[0], cfg.Asterisk[1]
	if a.Password.Value() != "env-s3cret" || b.Password.Value() != "file-s3cret" || a.Application != "tamas" ||
		a.Orphans != "adopt" || b.Orphans != "hangup" {
		t.Errorf("servers: %+v", cfg.Asterisk)
	}
	if s := fmt.Sprintf("%+v %#v", cfg, cfg); strings.Contains(s, "s3cret") {
		t.Error("an ARI password prints")
	}
	cfg, err = Load("", []string{"TAMAS_ASTERISK_URL=http://127.0.0.1:8088/ari", "TAMAS_ASTERISK_USERNAME=u", "TAMAS_ASTERISK_PASSWORD=p"})
	if err != nil || len(cfg.Asterisk) != 1 || cfg.Asterisk[0].Name != "asterisk" || cfg.Asterisk[0].Password.Value() != "p" {
		t.Errorf("from env: %+v %v", cfg.Asterisk, err)
	}
	for _, c := range []struct{ yaml, key string }{
		{"asterisk:\n  - name: b\n    url: http://x:8088/ari\n    username: u\n", "asterisk[0].password_file"},
		{"asterisk:\n  - name: a\n    url: ftp://x/ari\n    username: u\n", "asterisk[0].url"},
		{"asterisk:\n  - name: a\n    url: http://u:p@x/ari\n    username: u\n", "asterisk[0].url"},
		{"asterisk:\n  - url: http://x/ari\n", "asterisk[0].name"},
	} {
		_, err := Load(write(t, c.yaml), []string{"TAMAS_ASTERISK_A_PASSWORD=x"})
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Key != c.key {
			t.Errorf("%q: %v, want %s", c.yaml, err, c.key)
		}
	}
}
