// Package demo fills a node's database with contacts and records that show
// what a pop can hold, and places simulated calls, so a newcomer can watch
// pops arrive in a browser.
package demo

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tamas-cc/tamas/account"
	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/seed"
	"github.com/tamas-cc/tamas/telephony/sip/callgen"
)

// Line is the number the simulated callers dial.
const Line = "02191000000"

// Cred is a demo login.
type Cred struct{ User, Password, Role string }

// Store is what the demo writes to.
type Store interface {
	crm.Store
	crm.ActivityStore
	crm.TaskQueue
	account.Store
}

// Prepare seeds the database with n contacts once, and gives the demo
// users fresh passwords on every start.
func Prepare(ctx context.Context, dir *crm.Directory, store Store, n int, log *slog.Logger) ([]Cred, error) {
	existing, err := store.ListContacts(ctx, crm.ContactQuery{Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(existing) == 0 {
		log.Info("seeding demo contacts", "count", n)
		if _, err := seed.Seed(ctx, dir, seed.New(1), n, 5000, nil); err != nil {
			return nil, err
		}
		if err := demoRecords(ctx, dir, store); err != nil {
			return nil, err
		}
	}
	svc := account.NewService(store, account.Options{})
	users := []account.User{
		{Username: "ali", DisplayName: "علی رضایی", Role: account.RoleAgent, Lang: "fa", Endpoint: "PJSIP/1001"},
		{Username: "sara", DisplayName: "Sara Miller", Role: account.RoleAgent, Lang: "en", Endpoint: "PJSIP/1002"},
		{Username: "maryam", DisplayName: "مریم کریمی", Role: account.RoleSupervisor, Lang: "fa", Endpoint: "PJSIP/1003"},
	}
	var creds []Cred
	for _, u := range users {
		pw := password()
		if old, err := store.UserByName(ctx, u.Username); err == nil {
			err = svc.SetPassword(ctx, old.ID, pw)
			if err != nil {
				return nil, err
			}
		} else if err := svc.CreateUser(ctx, &u, pw); err != nil {
			return nil, err
		}
		creds = append(creds, Cred{u.Username, pw, string(u.Role)})
	}
	return creds, nil
}

func password() string {
	var b [9]byte
	_, _ = cryptorand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Numbers the simulated callers use beside the seeded ones.
const (
	sharedNumber   = "+989121110000" // a couple sharing one mobile: two matches
	persianCaller  = "+989171234567" // unknown, with a Persian network name
	historicCaller = "+989122223344" // a customer with history and a follow-up
)

// demoRecords adds contacts that show what a pop can hold.
func demoRecords(ctx context.Context, dir *crm.Directory, store Store) error {
	mk := func(first, last string, status crm.Status, number string, tags ...string) (*crm.Contact, error) {
		c := &crm.Contact{Kind: crm.KindPerson, FirstName: first, LastName: last, Status: status, Tags: tags,
			Owner: "sara", Phones: []crm.Phone{{Label: crm.LabelMobile, Raw: number}}}
		return c, dir.Create(ctx, c)
	}
	if _, err := mk("Neda", "Hosseini", crm.StatusCustomer, sharedNumber, "family"); err != nil {
		return err
	}
	if _, err := mk("Kaveh", "Hosseini", crm.StatusLead, sharedNumber); err != nil {
		return err
	}
	c, err := mk("رضا", "کریمی", crm.StatusCustomer, historicCaller, "vip")
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	for i, a := range []crm.Activity{
		{Kind: crm.ActivityCall, CallID: "demo-1", Direction: "inbound", Agent: "sara", Subject: "Asked about the annual plan", At: now.Add(-72 * time.Hour), Duration: 4 * time.Minute},
		{Kind: crm.ActivityNote, Agent: "ali", Body: "Wants a quote for 20 seats before the end of the month.", At: now.Add(-48 * time.Hour)},
		{Kind: crm.ActivityCall, CallID: "demo-2", Direction: "outbound", Agent: "ali", Subject: "Sent the quote", At: now.Add(-24 * time.Hour), Duration: 7 * time.Minute},
	} {
		a.ContactID = c.ID
		if err := store.AddActivity(ctx, &a); err != nil {
			return fmt.Errorf("demo activity %d: %w", i, err)
		}
	}
	return store.AddTask(ctx, &crm.Task{ContactID: c.ID, Title: "Call back about the quote", DueAt: now.Add(24 * time.Hour), Assignee: "ali"})
}

// Simulate places one call to target every interval, cycling through the
// kinds of caller an agent meets, until ctx ends; n is the number of seeded
// contacts.
func Simulate(ctx context.Context, log *slog.Logger, target string, every, hold time.Duration, n int) {
	g := seed.New(1)
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	kinds := []func() callgen.Caller{
		func() callgen.Caller { return callgen.Caller{Number: g.MobileNumber(1 + r.IntN(n-1))} },
		func() callgen.Caller { return callgen.Caller{Number: historicCaller, Name: "R Karimi"} },
		func() callgen.Caller { return callgen.Caller{Number: sharedNumber} },
		func() callgen.Caller { return callgen.Caller{Number: fmt.Sprintf("+98935%07d", r.IntN(10_000_000))} },
		func() callgen.Caller { return callgen.Caller{Number: "anonymous", Name: "Anonymous"} },
		func() callgen.Caller { return callgen.Caller{Number: persianCaller, Name: "مریم احمدی"} },
		func() callgen.Caller { return callgen.Caller{Number: g.MainNumber(0)} },
		func() callgen.Caller {
			return callgen.Caller{Number: fmt.Sprintf("+98912%07d", r.IntN(10_000_000)), Name: "<img src=x onerror=alert(1)>"}
		},
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(every)
	defer t.Stop()
	for i := 0; ; i++ {
		caller := kinds[i%len(kinds)]()
		wg.Go(func() {
			_, err := callgen.Run(ctx, callgen.Options{Target: target, Total: 1, Hold: hold, Callers: []callgen.Caller{caller}})
			if err != nil && ctx.Err() == nil {
				log.Warn("demo call failed", "err", err)
			}
		})
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
