package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
)

// RedisPrefix gives a test a key space of its own on the test Redis: format
// with a random hex string for its %s. The keys under it are removed when
// the test ends. It skips or fails, as RedisAddr does, without Redis.
func RedisPrefix(t testing.TB, format string) string {
	t.Helper()
	addr := RedisAddr(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	p := fmt.Sprintf(format, hex.EncodeToString(b[:]))
	t.Cleanup(func() {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, p+"*", 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	return p
}
