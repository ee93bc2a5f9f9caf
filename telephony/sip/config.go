package sip

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Config configures an Endpoint. The zero value is not usable; start from
// DefaultConfig.
type Config struct {
	// Node names the Tamas node, copied into every Call.
	Node string `yaml:"node"`
	// Listen lists the sockets to serve. Default: UDP and TCP on
	// 127.0.0.1:5080 (a port that does not clash with a PBX on the same
	// host); use 0.0.0.0 for a PBX on another machine.
	Listen []Listener `yaml:"listen"`
	// TrustedPAI lists the addresses (IPs or CIDRs) whose
	// P-Asserted-Identity is believed: the PBX, never the open network. From
	// anyone else the header is ignored, since anybody can write it.
	TrustedPAI []string `yaml:"trusted_pai"`
	// AllowFrom, when not empty, lists the only addresses (IPs or CIDRs)
	// whose requests are served; others get 403 Forbidden.
	AllowFrom []string `yaml:"allow_from"`
	// FinalCode, when not zero, is answered to every INVITE (after
	// CallStarted) instead of ringing, e.g. 486 for Busy Here.
	FinalCode int `yaml:"final_code"`
	// RingTimeout bounds how long an INVITE rings before the endpoint gives
	// up with 480 (cause no_answer), in case the PBX never cancels it.
	RingTimeout time.Duration `yaml:"ring_timeout"`
	// Lines labels dialled numbers (DNIS) for display, e.g. "18005550100":
	// "Sales".
	Lines map[string]string `yaml:"lines"`
	// User is the user part of the Contact the endpoint presents.
	User string `yaml:"user"`
	// EventBuffer bounds the events queued for the handler.
	EventBuffer int `yaml:"event_buffer"`
	// ShutdownTimeout bounds how long Run waits, once its context ends, for
	// ringing calls to be released and queued events to be delivered.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// Auth, when Auth.Realm is set, requires digest authentication of
	// INVITEs.
	Auth Auth `yaml:"auth"`
}

// Listener is one socket to serve.
type Listener struct {
	Network string `yaml:"network"` // udp or tcp
	Addr    string `yaml:"addr"`    // host:port
}

// Auth configures digest authentication (RFC 3261 §22, MD5, qop=auth).
type Auth struct {
	Realm string `yaml:"realm"`
	// Users maps user names to passwords. Passwords are secrets: they are
	// not read from YAML but filled in by whoever loads the configuration
	// (see ParseUsers).
	Users map[string]string `yaml:"-"`
	// NonceTTL is how long a challenge stays valid.
	NonceTTL time.Duration `yaml:"nonce_ttl"`
}

// String shows the realm and the user names, never the passwords, so that
// printing a Config or an Auth cannot leak them.
func (a Auth) String() string {
	return fmt.Sprintf("sip.Auth{Realm:%q Users:%q NonceTTL:%s}", a.Realm, a.userNames(), a.NonceTTL)
}

// GoString hides the passwords from %#v.
func (a Auth) GoString() string { return a.String() }

// LogValue keeps the passwords out of logs.
func (a Auth) LogValue() slog.Value {
	return slog.GroupValue(slog.String("realm", a.Realm), slog.Any("users", a.userNames()),
		slog.Duration("nonce_ttl", a.NonceTTL))
}

func (a Auth) userNames() []string {
	names := make([]string, 0, len(a.Users))
	for n := range a.Users {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// LogValue keeps the digest passwords out of logs: a structured handler
// would otherwise encode Auth.Users whole.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("node", c.Node),
		slog.String("listen", fmt.Sprint(c.Listen)),
		slog.Any("trusted_pai", c.TrustedPAI),
		slog.Any("allow_from", c.AllowFrom),
		slog.Int("final_code", c.FinalCode),
		slog.Duration("ring_timeout", c.RingTimeout),
		slog.String("user", c.User),
		slog.Any("auth", c.Auth.LogValue()),
	)
}

// DefaultConfig returns the settings an Endpoint runs with when nothing is
// configured.
func DefaultConfig() Config {
	return Config{
		Listen: []Listener{
			{Network: "udp", Addr: "127.0.0.1:5080"},
			{Network: "tcp", Addr: "127.0.0.1:5080"},
		},
		RingTimeout:     3 * time.Minute,
		User:            "tamas",
		EventBuffer:     4096,
		ShutdownTimeout: 5 * time.Second,
		Auth:            Auth{NonceTTL: 5 * time.Minute},
	}
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	if len(c.Listen) == 0 {
		return errors.New("sip: no listen address")
	}
	for _, l := range c.Listen {
		switch l.Network {
		case "udp", "udp4", "udp6", "tcp", "tcp4", "tcp6":
		default:
			return fmt.Errorf("sip: listen network %q: want udp or tcp", l.Network)
		}
		if _, _, err := net.SplitHostPort(l.Addr); err != nil {
			return fmt.Errorf("sip: listen address %q: %w", l.Addr, err)
		}
	}
	if _, err := parsePrefixes(c.TrustedPAI); err != nil {
		return fmt.Errorf("sip: trusted_pai: %w", err)
	}
	if _, err := parsePrefixes(c.AllowFrom); err != nil {
		return fmt.Errorf("sip: allow_from: %w", err)
	}
	if c.FinalCode != 0 && (c.FinalCode < 300 || c.FinalCode > 699) {
		return fmt.Errorf("sip: final_code %d: want a final failure code (300-699)", c.FinalCode)
	}
	if c.RingTimeout <= 0 {
		return errors.New("sip: ring_timeout must be positive")
	}
	if c.EventBuffer <= 0 {
		return errors.New("sip: event_buffer must be positive")
	}
	if c.Auth.Realm != "" {
		if len(c.Auth.Users) == 0 {
			return errors.New("sip: auth realm set but no users")
		}
		if c.Auth.NonceTTL <= 0 {
			return errors.New("sip: auth nonce_ttl must be positive")
		}
	}
	return nil
}

// parsePrefixes reads IPs and CIDRs.
func parsePrefixes(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, err
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, err
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// ParseUsers reads digest users from "name:password" lines; blank lines and
// lines starting with # are skipped.
func ParseUsers(data []byte) (map[string]string, error) {
	users := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, pass, ok := strings.Cut(line, ":")
		name, pass = strings.TrimSpace(name), strings.TrimSpace(pass)
		if !ok || name == "" || pass == "" {
			// The line itself may hold a password: do not echo it.
			return nil, fmt.Errorf("sip: users line %d: want name:password", i+1)
		}
		users[name] = pass
	}
	return users, nil
}
