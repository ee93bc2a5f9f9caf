package ari

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Config configures one Adapter, that is one Asterisk server. The zero value
// is not usable; start from DefaultConfig.
type Config struct {
	// Name identifies the Asterisk server: it becomes Call.PBX and the
	// "pbx" label of every metric. Give each server its own.
	Name string `yaml:"name"`
	// Node names the Tamas node, copied into every Call.
	Node string `yaml:"node"`
	// URL is ARI's base URL, e.g. http://pbx.example:8088/ari. The event
	// websocket is derived from it (ws://…/ari/events, wss for https).
	URL string `yaml:"url"`
	// Username and Password are the ari.conf user. The password is a
	// secret: it is never read from YAML, never logged, and sent only in
	// the Authorization header (not in URLs, which end up in logs).
	Username string `yaml:"username"`
	Password string `yaml:"-"`
	// Application is the Stasis application name dialplan sends calls to:
	// Stasis(tamas,${EXTEN}).
	Application string `yaml:"application"`
	// Lines labels dialled numbers (DNIS) for display, e.g.
	// "18005550100": "Sales".
	Lines map[string]string `yaml:"lines"`

	// ReconnectMin and ReconnectMax bound the wait between connection
	// attempts: it doubles from min to max, with jitter, and starts over
	// after a connection that lasted a minute.
	ReconnectMin time.Duration `yaml:"reconnect_min"`
	ReconnectMax time.Duration `yaml:"reconnect_max"`
	// RequestTimeout bounds each REST request (a caller's context may
	// bound it further).
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// PingInterval is how often the websocket is pinged; a connection that
	// stays silent (no event, no pong) for twice as long is dropped and
	// re-established, which catches a PBX that vanished without closing.
	PingInterval time.Duration `yaml:"ping_interval"`
	// OriginateTimeout is how long an originated call rings.
	OriginateTimeout time.Duration `yaml:"originate_timeout"`
	// Orphans says what a resync does with a channel found waiting in the
	// application that this adapter never saw arrive (it came while no
	// Tamas was connected): OrphanAdopt (default) reports it as a new call;
	// OrphanHangup hangs it up.
	Orphans string `yaml:"orphans"`
	// EventBuffer bounds the events queued for the handler.
	EventBuffer int `yaml:"event_buffer"`
	// ShutdownTimeout bounds how long Run waits, once its context ends,
	// for queued events to be delivered and clean-ups to finish.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Orphan policies.
const (
	OrphanAdopt  = "adopt"
	OrphanHangup = "hangup"
)

// DefaultApplication is the Stasis application name used when none is
// configured.
const DefaultApplication = "tamas"

// DefaultConfig returns the settings an Adapter runs with when nothing else
// is configured. URL, Username and Password have no defaults.
func DefaultConfig() Config {
	return Config{
		Name:             "asterisk",
		Application:      DefaultApplication,
		ReconnectMin:     250 * time.Millisecond,
		ReconnectMax:     30 * time.Second,
		RequestTimeout:   5 * time.Second,
		PingInterval:     10 * time.Second,
		OriginateTimeout: 30 * time.Second,
		Orphans:          OrphanAdopt,
		EventBuffer:      4096,
		ShutdownTimeout:  5 * time.Second,
	}
}

// Asterisk application names are free text, but this one goes into URLs
// and dialplan: keep it to a safe alphabet.
var appName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	if strings.TrimSpace(c.Name) == "" {
		return errors.New("ari: name is required")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		if strings.Contains(c.URL, "@") {
			// url.Parse quotes the whole URL in its error, password and all.
			return fmt.Errorf("ari %s: url: not a valid URL; put credentials in username/password, not in the URL", c.Name)
		}
		return fmt.Errorf("ari %s: url: %w", c.Name, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("ari %s: url %q: want http(s)://host:port/ari", c.Name, redactURL(u))
	}
	if u.User != nil {
		return fmt.Errorf("ari %s: url: put credentials in username/password, not in the URL", c.Name)
	}
	if c.Username == "" || c.Password == "" {
		return fmt.Errorf("ari %s: username and password are required", c.Name)
	}
	if !appName.MatchString(c.Application) {
		return fmt.Errorf("ari %s: application %q: want 1-64 letters, digits, '_', '.', '-'", c.Name, c.Application)
	}
	if c.ReconnectMin <= 0 || c.ReconnectMax < c.ReconnectMin {
		return fmt.Errorf("ari %s: want 0 < reconnect_min <= reconnect_max", c.Name)
	}
	if c.RequestTimeout <= 0 {
		return fmt.Errorf("ari %s: request_timeout must be positive", c.Name)
	}
	if c.PingInterval <= 0 {
		return fmt.Errorf("ari %s: ping_interval must be positive", c.Name)
	}
	if c.OriginateTimeout < time.Second {
		return fmt.Errorf("ari %s: originate_timeout must be at least 1s", c.Name)
	}
	if c.Orphans != OrphanAdopt && c.Orphans != OrphanHangup {
		return fmt.Errorf("ari %s: orphans %q: want %q or %q", c.Name, c.Orphans, OrphanAdopt, OrphanHangup)
	}
	if c.EventBuffer <= 0 {
		return fmt.Errorf("ari %s: event_buffer must be positive", c.Name)
	}
	if c.ShutdownTimeout <= 0 {
		return fmt.Errorf("ari %s: shutdown_timeout must be positive", c.Name)
	}
	return nil
}

// LogValue keeps the password out of logs when a Config is logged.
func (c Config) LogValue() slog.Value {
	pw := ""
	if c.Password != "" {
		pw = "[redacted]"
	}
	return slog.GroupValue(
		slog.String("name", c.Name),
		slog.String("url", safeURL(c.URL)),
		slog.String("username", c.Username),
		slog.String("password", pw),
		slog.String("application", c.Application),
	)
}

// String keeps the password out of fmt output too.
func (c Config) String() string {
	return fmt.Sprintf("ari.Config{Name:%q URL:%q Username:%q Application:%q}", c.Name, safeURL(c.URL), c.Username, c.Application)
}

// GoString hides the password from %#v.
func (c Config) GoString() string { return c.String() }

// safeURL is the URL for display: a config may be shown before Validate
// refused credentials written into it.
func safeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			return "[unparseable URL with credentials]"
		}
		return raw
	}
	return redactURL(u)
}

func redactURL(u *url.URL) string {
	v := *u
	v.User = nil
	return v.String()
}
