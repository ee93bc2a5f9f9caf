package redisbus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tamas-cc/tamas/screenpop"
	"github.com/tamas-cc/tamas/screenpop/redisbus"
)

// The call index on node B loses its pub/sub connection while node A pops
// calls: once B is back, the index has read the pops it missed from the
// channel's history, so their agents can still open their wrap-ups.
func TestCallIndexCatchesUpAfterALostConnection(t *testing.T) {
	ctx := context.Background()
	p := prefix(t)
	admin := client(t, nil)
	a := newBus(t, client(t, nil), redisbus.Options{Prefix: p})
	var g gate
	nameB := "tamas-test-index-b-" + randomHex()
	b := newBus(t, client(t, &redis.Options{ClientName: nameB, Dialer: g.dial}), redisbus.Options{Prefix: p})
	ix, err := screenpop.WatchCalls(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	pop := func(i int) {
		t.Helper()
		data, _ := json.Marshal(screenpop.Envelope{Kind: "pop", Pop: &screenpop.Pop{ID: fmt.Sprint("call-", i), Version: 1,
			Agents: []string{"ali"}}})
		if _, err := a.Publish(ctx, screenpop.SupervisorChannel, data); err != nil {
			t.Fatal(err)
		}
	}
	known := func(i int) bool { k, _ := ix.Allowed(fmt.Sprint("call-", i), "ali"); return k }
	pop(1)
	for deadline := time.Now().Add(5 * time.Second); !known(1); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the index never saw the first pop")
		}
	}
	g.offline.Store(true)
	killPubSub(t, admin, nameB)
	for i := 2; i <= 20; i++ {
		pop(i)
	}
	g.offline.Store(false)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		missing := 0
		for i := 1; i <= 20; i++ {
			if !known(i) {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 20 pops missing from the index after B came back", missing)
		}
	}
}
