package redisacd_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/tamas-cc/tamas/internal/testkit"
	"github.com/tamas-cc/tamas/telephony/acd"
	"github.com/tamas-cc/tamas/telephony/acd/acdtest"
	"github.com/tamas-cc/tamas/telephony/acd/redisacd"
)

// prefix gives a test its own key space on the shared Redis, with its own
// hash tag, and removes the keys afterwards.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func prefix(t testing.TB) string {
	t.Helper()
	return testkit.RedisPrefix(t, "tamas-test:acd:{%s}:")
}

func newStore(t testing.TB, p string) *redisacd.Store {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: testkit.RedisAddr(t)})
	t.Cleanup(func() { c.Close() })
	s, err := redisacd.New(context.Background(), c, redisacd.Options{Prefix: p})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	acdtest.Run(t, func(t *testing.T) acd.Store { return newStore(t, prefix(t)) })
}

// TestRace runs two nodes on one Redis, each with its own client.
func TestRace(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			p := prefix(t)
			acdtest.Race(t, newStore(t, p), newStore(t, p), acdtest.RaceOptions{Seed: seed})
		})
	}
}

func BenchmarkRoute(b *testing.B) {
	acdtest.Bench{}.Run(b, func(b *testing.B) acd.Store { return newStore(b, prefix(b)) })
}
