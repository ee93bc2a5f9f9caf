// Package testkit gives tests the real services they run against, and
// decides what happens when one is missing: on a bare laptop the test skips,
// under TAMAS_REQUIRE_SERVICES=1 (as CI runs) it fails.
package testkit

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"testing"
	"time"
)

// Required reports whether missing services must fail tests rather than
// skip them.
func Required() bool { return os.Getenv("TAMAS_REQUIRE_SERVICES") == "1" }

// Unavailable skips t, or fails it when services are required.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatalf("required service unavailable: %s", msg)
	}
	t.Skipf("service unavailable: %s", msg)
}

// PostgresURL returns the URL of the test PostgreSQL server from
// TAMAS_TEST_POSTGRES_URL, after checking it answers.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TAMAS_TEST_POSTGRES_URL")
	if u == "" {
		Unavailable(t, "TAMAS_TEST_POSTGRES_URL is not set")
	}
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatalf("TAMAS_TEST_POSTGRES_URL is not a URL")
	}
	host := pu.Host
	if pu.Port() == "" {
		host = net.JoinHostPort(pu.Hostname(), "5432")
	}
	if err := dial(host); err != nil {
		Unavailable(t, "postgres at %s: %v", host, err)
	}
	return u
}

// RedisAddr returns host:port of the test Redis server from
// TAMAS_TEST_REDIS_ADDR (default 127.0.0.1:6379), after checking it accepts
// connections.
func RedisAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("TAMAS_TEST_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	if err := dial(addr); err != nil {
		Unavailable(t, "redis at %s: %v", addr, err)
	}
	return addr
}

func dial(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}
