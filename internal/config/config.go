// Package config loads Tamas's settings: a YAML file (configs/tamas.yaml is
// the documented example) overlaid with TAMAS_* environment variables.
// Secrets — the database URL, PBX passwords — are never read from the YAML
// file itself, only from the environment or from files the YAML names, so a
// config file can be shared and logged without leaking them.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tamas-cc/tamas/crm/phone"
)

// Config is every setting of a Tamas node.
type Config struct {
	// Node names this node in logs and in the calls it catches.
	Node     string   `yaml:"node"`
	DataDir  string   `yaml:"data_dir"`
	Log      Log      `yaml:"log"`
	HTTP     HTTP     `yaml:"http"`
	Phone    Phone    `yaml:"phone"`
	Database Database `yaml:"database"`
	// Lines labels dialled numbers (DNIS) for agents, e.g. "18005550100":
	// "Sales line".
	Lines map[string]string `yaml:"lines"`
	SIP   SIP               `yaml:"sip"`
	// Asterisk lists the Asterisk servers whose calls this node takes over
	// ARI, one connection each.
	Asterisk []Asterisk `yaml:"asterisk"`
	Console  Console    `yaml:"console"`
	Redis    Redis      `yaml:"redis"`
	// Webhooks receive call.started, call.ended, activity.completed.
	Webhooks []Webhook `yaml:"webhooks"`
}

// Webhook is one receiver of Tamas's events.
type Webhook struct {
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
	// Events the receiver wants; empty means all.
	Events []string `yaml:"events"`
	// SecretFile holds the signing secret; TAMAS_WEBHOOK_<NAME>_SECRET
	// takes precedence. A webhook without a secret is refused.
	SecretFile string `yaml:"secret_file"`
	Secret     Secret `yaml:"-"`
}

// Console configures the agent console, its logins and the screen-pops.
type Console struct {
	// Bus carries pops between nodes: memory (one node) or redis.
	Bus string `yaml:"bus"`
	// RetainMessages and RetainAge bound what a reconnecting console can
	// catch up on, per agent.
	RetainMessages int           `yaml:"retain_messages"`
	RetainAge      time.Duration `yaml:"retain_age"`
	SessionTTL     time.Duration `yaml:"session_ttl"`
	// SecureCookies marks the session cookie Secure: set it when a TLS
	// proxy sits in front of Tamas.
	SecureCookies bool `yaml:"secure_cookies"`
	// AllowedOrigins are extra origins (scheme://host:port) allowed to open
	// the console websocket, beside the page's own.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// Routes send the pops of calls that pass through no queue: a line
	// label or dialled number ("*": any) to usernames ("*": every agent
	// available).
	Routes []Route `yaml:"routes"`
	// Endpoints maps PBX endpoints to usernames, for phones that ring or
	// answer; users' own endpoints are added from their accounts.
	Endpoints map[string]string `yaml:"endpoints"`
	// PrePop sends a queued call's pop to every available agent.
	PrePop bool `yaml:"pre_pop"`
	// Links are shown with each matched contact; {contact_id}, {e164} and
	// {number} are filled in.
	Links []Link `yaml:"links"`
	// Scripts pick the call script by line and caller (new or known).
	Scripts []ScriptRule `yaml:"scripts"`
	// ScriptsDir holds the call scripts (*.yaml); each names the lines and
	// callers it is for, consulted when no rule in Scripts matches. A
	// missing directory means no scripts.
	ScriptsDir string `yaml:"scripts_dir"`
	// WrapUp is the agent's work after a call.
	WrapUp WrapUp `yaml:"wrapup"`
}

// WrapUp configures the wrap-up after a call.
type WrapUp struct {
	// Time keeps an agent in wrap-up after a call before they are
	// available again (0: until they finish); Queues overrides it by queue.
	Time   time.Duration            `yaml:"time"`
	Queues map[string]time.Duration `yaml:"queues"`
	// Dispositions are the codes a call may be closed with; empty means
	// the built-in list.
	Dispositions []Disposition `yaml:"dispositions"`
}

// Disposition is a code and its labels by language (en, fa).
type Disposition struct {
	Code   string            `yaml:"code"`
	Labels map[string]string `yaml:"labels"`
}

// Route is one line's agents.
type Route struct {
	Line   string   `yaml:"line"`
	Agents []string `yaml:"agents"`
}

// Link is a labelled URL template.
type Link struct {
	Label string `yaml:"label"`
	URL   string `yaml:"url"`
}

// ScriptRule picks a script.
type ScriptRule struct {
	Line   string `yaml:"line"`
	Caller string `yaml:"caller"` // new, known or empty for both
	Script string `yaml:"script"`
	Title  string `yaml:"title"`
}

// Redis is the server nodes share when console.bus is redis.
type Redis struct {
	Addr string `yaml:"addr"`
	DB   int    `yaml:"db"`
	// PasswordFile holds the password; TAMAS_REDIS_PASSWORD takes
	// precedence.
	PasswordFile string `yaml:"password_file"`
	Password     Secret `yaml:"-"`
}

// Asterisk is one Asterisk server reached over ARI.
type Asterisk struct {
	// Name identifies the server in calls, logs and metrics.
	Name string `yaml:"name"`
	// URL is ARI's base URL, e.g. http://127.0.0.1:8088/ari.
	URL      string `yaml:"url"`
	Username string `yaml:"username"`
	// PasswordFile holds the ari.conf password; the environment variable
	// TAMAS_ASTERISK_<NAME>_PASSWORD takes precedence.
	PasswordFile string `yaml:"password_file"`
	Password     Secret `yaml:"-"`
	// Application is the Stasis application the dialplan sends calls to.
	Application string `yaml:"application"`
	// Orphans: what to do with callers found waiting in the application
	// after a reconnect that this node never saw arrive — adopt or hangup.
	Orphans string `yaml:"orphans"`
}

// SIP configures the SIP endpoint any PBX can fork calls to.
type SIP struct {
	Enabled bool `yaml:"enabled"`
	// Listen lists sockets as network:host:port (udp or tcp).
	Listen []string `yaml:"listen"`
	// TrustedPAI lists the addresses (IPs or CIDRs) whose
	// P-Asserted-Identity header is believed: the PBX, never the open network.
	TrustedPAI []string `yaml:"trusted_pai"`
	// AllowFrom, when set, lists the only addresses served.
	AllowFrom []string `yaml:"allow_from"`
	// FinalCode, when not 0, answers every INVITE with this code (e.g. 486)
	// after catching it, instead of ringing until the PBX cancels.
	FinalCode   int           `yaml:"final_code"`
	RingTimeout time.Duration `yaml:"ring_timeout"`
	// AuthRealm turns on digest authentication; the users come from
	// AuthUsersFile ("name:password" lines) or TAMAS_SIP_AUTH_USERS.
	AuthRealm     string            `yaml:"auth_realm"`
	AuthUsersFile string            `yaml:"auth_users_file"`
	AuthUsers     map[string]Secret `yaml:"-"`
}

// Log configures structured logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // auto (text on a terminal, JSON otherwise), text, json
}

// HTTP configures the API server.
type HTTP struct {
	Listen          string        `yaml:"listen"`
	MaxBodyBytes    int64         `yaml:"max_body_bytes"`
	ReadTimeout     time.Duration `yaml:"read_timeout"`
	WriteTimeout    time.Duration `yaml:"write_timeout"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// APITokenFile holds the bearer token of the REST API (one per line for
	// several). TAMAS_API_TOKEN takes precedence. With neither, serve makes
	// one in <data_dir>/api-token.
	APITokenFile string   `yaml:"api_token_file"`
	APITokens    []Secret `yaml:"-"`
}

// Phone configures number normalisation.
type Phone struct {
	// DefaultRegion is the country assumed for numbers without a country
	// code (ISO 3166 alpha-2).
	DefaultRegion string `yaml:"default_region"`
}

// Database selects and configures the CRM store.
type Database struct {
	Driver string `yaml:"driver"` // sqlite or postgres
	// SQLitePath defaults to <data_dir>/tamas.db.
	SQLitePath string `yaml:"sqlite_path"`
	// URLFile names a file holding the PostgreSQL URL; TAMAS_DATABASE_URL
	// takes precedence. The URL is a secret: it is never logged.
	URLFile     string `yaml:"url_file"`
	URL         Secret `yaml:"-"`
	AutoMigrate bool   `yaml:"auto_migrate"`
}

// Secret is a string that does not print.
type Secret string

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString hides the secret from %#v too.
func (s Secret) GoString() string { return s.String() }

// MarshalText keeps the secret out of JSON and YAML dumps.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Value returns the secret itself, for the one place that needs it.
func (s Secret) Value() string { return string(s) }

// Default returns the settings Tamas runs with when nothing is configured:
// the embedded SQLite store and the API on loopback.
func Default() Config {
	host, _ := os.Hostname()
	if host == "" {
		host = "tamas"
	}
	return Config{
		Node:    host,
		DataDir: "data",
		Log:     Log{Level: "info", Format: "auto"},
		HTTP: HTTP{
			Listen:          "127.0.0.1:8080",
			MaxBodyBytes:    1 << 20,
			ReadTimeout:     15 * time.Second,
			WriteTimeout:    30 * time.Second,
			ShutdownTimeout: 10 * time.Second,
		},
		Phone:    Phone{DefaultRegion: "IR"},
		Database: Database{Driver: "sqlite", AutoMigrate: true},
		Lines:    map[string]string{},
		SIP: SIP{
			Listen:      []string{"udp:127.0.0.1:5080", "tcp:127.0.0.1:5080"},
			RingTimeout: 3 * time.Minute,
		},
		Console: Console{Bus: "memory", RetainMessages: 500, RetainAge: 15 * time.Minute,
			SessionTTL: 12 * time.Hour, Endpoints: map[string]string{}, ScriptsDir: "configs/scripts",
			WrapUp: WrapUp{Time: 30 * time.Second}},
		Redis: Redis{Addr: "127.0.0.1:6379"},
	}
}

// Load reads the YAML file at path (none if path is empty), applies the
// environment and validates the result. Unknown keys are errors: a typo in
// a config file should not silently fall back to a default.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return cfg, err
	}
	if err := cfg.loadSecrets(environ); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func lookupEnv(environ []string, key string) (string, bool) {
	for i := len(environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(environ[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// asteriskEnv is the prefix of an Asterisk server's password variable:
// TAMAS_ASTERISK_PBX_1_PASSWORD for a server named "pbx-1".
func asteriskEnv(name string) string {
	var b strings.Builder
	b.WriteString("TAMAS_ASTERISK_")
	for _, r := range strings.ToUpper(name) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String() + "_PASSWORD"
}

// loadAsterisk fills each server's password, and with no servers in the
// file builds one from TAMAS_ASTERISK_URL, _USERNAME and _PASSWORD, so a
// single-PBX node can be set up from the environment alone.
func (c *Config) loadAsterisk(environ []string) error {
	if u, ok := lookupEnv(environ, "TAMAS_ASTERISK_URL"); ok && len(c.Asterisk) == 0 && u != "" {
		user, _ := lookupEnv(environ, "TAMAS_ASTERISK_USERNAME")
		pass, _ := lookupEnv(environ, "TAMAS_ASTERISK_PASSWORD")
		c.Asterisk = []Asterisk{{Name: "asterisk", URL: u, Username: user, Password: Secret(pass)}}
		return nil
	}
	for i := range c.Asterisk {
		a := &c.Asterisk[i]
		if v, ok := lookupEnv(environ, asteriskEnv(a.Name)); ok {
			a.Password = Secret(strings.TrimSpace(v))
		} else if a.PasswordFile != "" {
			b, err := os.ReadFile(a.PasswordFile)
			if err != nil {
				return fmt.Errorf("asterisk[%d].password_file: %w", i, err)
			}
			a.Password = Secret(strings.TrimSpace(string(b)))
		}
	}
	return nil
}

func (c *Config) loadSecrets(environ []string) error {
	if err := c.loadAsterisk(environ); err != nil {
		return err
	}
	if err := c.loadSIPUsers(environ); err != nil {
		return err
	}
	if v, ok := lookupEnv(environ, "TAMAS_API_TOKEN"); ok && strings.TrimSpace(v) != "" {
		c.HTTP.APITokens = []Secret{Secret(strings.TrimSpace(v))}
	} else if c.HTTP.APITokenFile != "" {
		b, err := os.ReadFile(c.HTTP.APITokenFile)
		if err != nil {
			return fmt.Errorf("http.api_token_file: %w", err)
		}
		for line := range strings.Lines(string(b)) {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
				c.HTTP.APITokens = append(c.HTTP.APITokens, Secret(t))
			}
		}
		if len(c.HTTP.APITokens) == 0 {
			return &FieldError{Key: "http.api_token_file", Reason: "the file holds no token"}
		}
	}
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		env := strings.Replace(asteriskEnv(w.Name), "TAMAS_ASTERISK_", "TAMAS_WEBHOOK_", 1)
		env = strings.TrimSuffix(env, "_PASSWORD") + "_SECRET"
		if v, ok := lookupEnv(environ, env); ok {
			w.Secret = Secret(strings.TrimSpace(v))
		} else if w.SecretFile != "" {
			b, err := os.ReadFile(w.SecretFile)
			if err != nil {
				return fmt.Errorf("webhooks[%d].secret_file: %w", i, err)
			}
			w.Secret = Secret(strings.TrimSpace(string(b)))
		}
	}
	if v, ok := lookupEnv(environ, "TAMAS_REDIS_PASSWORD"); ok {
		c.Redis.Password = Secret(strings.TrimSpace(v))
	} else if c.Redis.PasswordFile != "" {
		b, err := os.ReadFile(c.Redis.PasswordFile)
		if err != nil {
			return fmt.Errorf("redis.password_file: %w", err)
		}
		c.Redis.Password = Secret(strings.TrimSpace(string(b)))
	}
	if v, ok := lookupEnv(environ, "TAMAS_DATABASE_URL"); ok {
		c.Database.URL = Secret(strings.TrimSpace(v))
	} else if c.Database.URLFile != "" {
		b, err := os.ReadFile(c.Database.URLFile)
		if err != nil {
			return fmt.Errorf("database.url_file: %w", err)
		}
		c.Database.URL = Secret(strings.TrimSpace(string(b)))
	}
	return nil
}

// FieldError names the setting that is wrong.
type FieldError struct {
	Key    string
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("config: %s: %s", e.Key, e.Reason) }

// Validate checks every setting and names the first bad one.
func (c *Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return &FieldError{Key: key, Reason: fmt.Sprintf(format, args...)}
	}
	if strings.TrimSpace(c.Node) == "" {
		return bad("node", "must not be empty")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "auto", "text", "json":
	default:
		return bad("log.format", "%q is not one of auto, text, json", c.Log.Format)
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		return bad("http.listen", "%q is not host:port: %v", c.HTTP.Listen, err)
	}
	if c.HTTP.MaxBodyBytes < 1024 || c.HTTP.MaxBodyBytes > 1<<30 {
		return bad("http.max_body_bytes", "must be between 1024 and 1073741824")
	}
	for key, d := range map[string]time.Duration{"http.read_timeout": c.HTTP.ReadTimeout,
		"http.write_timeout": c.HTTP.WriteTimeout, "http.shutdown_timeout": c.HTTP.ShutdownTimeout} {
		if d <= 0 {
			return bad(key, "must be a positive duration such as 10s")
		}
	}
	if _, err := phone.New(c.Phone.DefaultRegion); err != nil {
		return bad("phone.default_region", "%v", err)
	}
	switch c.Database.Driver {
	case "sqlite":
		if c.Database.SQLitePath == "" {
			c.Database.SQLitePath = filepath.Join(c.DataDir, "tamas.db")
		}
	case "postgres":
		if c.Database.URL == "" {
			return bad("database.url", "postgres needs TAMAS_DATABASE_URL or database.url_file")
		}
		if !strings.HasPrefix(c.Database.URL.Value(), "postgres://") && !strings.HasPrefix(c.Database.URL.Value(), "postgresql://") {
			return bad("database.url", "must start with postgres:// (the value is not shown)")
		}
	default:
		return bad("database.driver", "%q is not sqlite or postgres", c.Database.Driver)
	}
	names := map[string]bool{}
	for i := range c.Asterisk {
		a := &c.Asterisk[i]
		key := fmt.Sprintf("asterisk[%d]", i)
		if a.Name == "" {
			return bad(key+".name", "must not be empty")
		}
		if names[a.Name] {
			return bad(key+".name", "%q names two servers", a.Name)
		}
		names[a.Name] = true
		if u, err := url.Parse(a.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return bad(key+".url", "want http(s)://host:port/ari without credentials")
		}
		if a.Username == "" {
			return bad(key+".username", "must not be empty")
		}
		if a.Password == "" {
			return bad(key+".password_file", "no password: set %s or password_file", asteriskEnv(a.Name))
		}
		if a.Application == "" {
			a.Application = "tamas"
		}
		if a.Orphans == "" {
			a.Orphans = "adopt"
		}
		if a.Orphans != "adopt" && a.Orphans != "hangup" {
			return bad(key+".orphans", "%q is not adopt or hangup", a.Orphans)
		}
	}
	if err := c.Console.validate(bad); err != nil {
		return err
	}
	for i, w := range c.Webhooks {
		key := fmt.Sprintf("webhooks[%d]", i)
		if w.Name == "" {
			return bad(key+".name", "must not be empty")
		}
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad(key+".url", "want an absolute http(s) URL")
		}
		for _, e := range w.Events {
			switch e {
			case "call.started", "call.ended", "activity.completed", "task.due":
			default:
				return bad(key+".events", "%q is not call.started, call.ended, activity.completed or task.due", e)
			}
		}
		if len(w.Secret) < 16 {
			return bad(key+".secret_file", "a signing secret of at least 16 characters is required")
		}
	}
	if c.Console.Bus == "redis" {
		if _, _, err := net.SplitHostPort(c.Redis.Addr); err != nil {
			return bad("redis.addr", "%q is not host:port", c.Redis.Addr)
		}
	}
	if c.SIP.Enabled {
		if len(c.SIP.Listen) == 0 {
			return bad("sip.listen", "at least one network:host:port when sip.enabled")
		}
		for _, l := range c.SIP.Listen {
			network, addr, ok := strings.Cut(l, ":")
			if _, _, err := net.SplitHostPort(addr); !ok || (network != "udp" && network != "tcp") || err != nil {
				return bad("sip.listen", "%q is not udp:host:port or tcp:host:port", l)
			}
		}
		if c.SIP.FinalCode != 0 && (c.SIP.FinalCode < 300 || c.SIP.FinalCode > 699) {
			return bad("sip.final_code", "%d is not a final failure code (300-699)", c.SIP.FinalCode)
		}
		if c.SIP.RingTimeout <= 0 {
			return bad("sip.ring_timeout", "must be a positive duration")
		}
		if c.SIP.AuthRealm != "" && len(c.SIP.AuthUsers) == 0 {
			return bad("sip.auth_users_file", "auth_realm is set but no users are configured")
		}
	}
	return nil
}

// loadSIPUsers reads digest users ("name:password" lines) from
// TAMAS_SIP_AUTH_USERS or sip.auth_users_file. A bad line is reported by
// number, never echoed: it may hold a password.
func (c *Config) loadSIPUsers(environ []string) error {
	var data string
	key := "sip.auth_users_file"
	if v, ok := lookupEnv(environ, "TAMAS_SIP_AUTH_USERS"); ok {
		data, key = v, "TAMAS_SIP_AUTH_USERS"
	} else if c.SIP.AuthUsersFile != "" {
		b, err := os.ReadFile(c.SIP.AuthUsersFile)
		if err != nil {
			return fmt.Errorf("sip.auth_users_file: %w", err)
		}
		data = string(b)
	} else {
		return nil
	}
	c.SIP.AuthUsers = map[string]Secret{}
	n := 0
	for line := range strings.Lines(data) {
		n++
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, pass, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) == "" || strings.TrimSpace(pass) == "" {
			return &FieldError{Key: key, Reason: fmt.Sprintf("line %d is not name:password", n)}
		}
		c.SIP.AuthUsers[strings.TrimSpace(name)] = Secret(strings.TrimSpace(pass))
	}
	return nil
}

func (c *Console) validate(bad func(key, format string, args ...any) error) error {
	if c.Bus != "memory" && c.Bus != "redis" {
		return bad("console.bus", "%q is not memory or redis", c.Bus)
	}
	if c.RetainMessages < 1 || c.RetainMessages > 100000 {
		return bad("console.retain_messages", "must be between 1 and 100000")
	}
	if c.RetainAge <= 0 {
		return bad("console.retain_age", "must be a positive duration such as 15m")
	}
	if c.SessionTTL < time.Minute {
		return bad("console.session_ttl", "must be at least 1m")
	}
	for i, o := range c.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			return bad(fmt.Sprintf("console.allowed_origins[%d]", i), "%q is not scheme://host[:port]", o)
		}
	}
	for i, r := range c.Routes {
		if r.Line == "" || len(r.Agents) == 0 {
			return bad(fmt.Sprintf("console.routes[%d]", i), "needs a line and at least one agent")
		}
	}
	for i, l := range c.Links {
		u, err := url.Parse(strings.NewReplacer("{contact_id}", "1", "{e164}", "1", "{number}", "1").Replace(l.URL))
		if l.Label == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad(fmt.Sprintf("console.links[%d]", i), "needs a label and an absolute http(s) url")
		}
	}
	for i, s := range c.Scripts {
		if s.Script == "" || (s.Caller != "" && s.Caller != "new" && s.Caller != "known") {
			return bad(fmt.Sprintf("console.scripts[%d]", i), "needs a script, and caller new, known or empty")
		}
	}
	if c.WrapUp.Time < 0 || c.WrapUp.Time > 24*time.Hour {
		return bad("console.wrapup.time", "must be between 0 and 24h")
	}
	for q, d := range c.WrapUp.Queues {
		if d < 0 || d > 24*time.Hour {
			return bad("console.wrapup.queues."+q, "must be between 0 and 24h")
		}
	}
	seen := map[string]bool{}
	for i, d := range c.WrapUp.Dispositions {
		if d.Code == "" || len(d.Code) > 100 || seen[d.Code] {
			return bad(fmt.Sprintf("console.wrapup.dispositions[%d]", i), "needs a code, not empty and not repeated")
		}
		seen[d.Code] = true
	}
	return nil
}
