package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"time"

	cryptorand "crypto/rand"

	"github.com/tamas-cc/tamas/account"
	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/seed"
	"github.com/tamas-cc/tamas/internal/config"
	"github.com/tamas-cc/tamas/telephony/sip/callgen"
)

// demoLine is the number the simulated callers dial.
const demoLine = "02191000000"

// cmdDemo runs a node on its own SQLite file, seeded with contacts and
// demo agents, and places a simulated call every few seconds, so a
// newcomer can watch pops arrive in a browser.
func cmdDemo(ctx context.Context, configPath string, args []string, e env) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	data := fs.String("data", filepath.Join("data", "demo"), "directory for the demo database")
	listen := fs.String("listen", "127.0.0.1:8080", "console and API address")
	sipAddr := fs.String("sip", "127.0.0.1:5080", "SIP endpoint address (UDP)")
	every := fs.Duration("every", 8*time.Second, "time between simulated calls (0: none)")
	hold := fs.Duration("hold", 25*time.Second, "how long a simulated caller waits before hanging up")
	contacts := fs.Int("contacts", 2000, "contacts to seed on first run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *contacts < 100 {
		return usageErr("-contacts must be at least 100")
	}
	l, err := load(configPath, e)
	if err != nil {
		return err
	}
	c := &l.cfg
	c.DataDir = *data
	c.Database = config.Database{Driver: "sqlite", SQLitePath: filepath.Join(*data, "tamas.db"), AutoMigrate: true}
	c.HTTP.Listen = *listen
	c.SIP.Enabled, c.SIP.Listen, c.SIP.FinalCode = true, []string{"udp:" + *sipAddr}, 0
	c.Lines = map[string]string{demoLine: "Sales line"}
	c.Console.Routes = []config.Route{{Line: "*", Agents: []string{"*"}}}
	c.Console.Links = []config.Link{{Label: "Contact in the API", URL: "http://" + *listen + "/api/v1/contacts/{contact_id}"}}
	if err := c.Validate(); err != nil {
		return err
	}

	creds, err := prepareDemo(ctx, l, *contacts)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	return serve(ctx, l, func(r ready) {
		fmt.Fprintf(e.stdout, "\nTamas demo: open http://%s and sign in as\n", r.HTTP)
		for _, cr := range creds {
			fmt.Fprintf(e.stdout, "  %-8s %-22s (%s)\n", cr.user, cr.password, cr.role)
		}
		fmt.Fprintf(e.stdout, "A simulated call arrives every %s on the SIP endpoint %s; Ctrl-C stops.\n\n", *every, *sipAddr)
		if *every > 0 {
			wg.Go(func() { simulateCalls(ctx, l, "sip:"+demoLine+"@"+*sipAddr, *every, *hold, *contacts) })
		}
	})
}

type demoCred struct{ user, password, role string }

// prepareDemo seeds the database once, and gives the demo users fresh
// passwords on every start.
func prepareDemo(ctx context.Context, l loaded, n int) ([]demoCred, error) {
	dir, err := openDirectory(ctx, l)
	if err != nil {
		return nil, err
	}
	defer dir.Store().Close()
	store, ok := dir.Store().(records)
	if !ok {
		return nil, errors.New("demo: the store keeps no activities")
	}
	existing, err := store.ListContacts(ctx, crm.ContactQuery{Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(existing) == 0 {
		l.log.Info("seeding demo contacts", "count", n)
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
	var creds []demoCred
	for _, u := range users {
		pw := demoPassword()
		if old, err := store.UserByName(ctx, u.Username); err == nil {
			err = svc.SetPassword(ctx, old.ID, pw)
			if err != nil {
				return nil, err
			}
		} else if err := svc.CreateUser(ctx, &u, pw); err != nil {
			return nil, err
		}
		creds = append(creds, demoCred{u.Username, pw, string(u.Role)})
	}
	return creds, nil
}

func demoPassword() string {
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
func demoRecords(ctx context.Context, dir *crm.Directory, store records) error {
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

// simulateCalls places one call every interval, cycling through the kinds
// of caller an agent meets.
func simulateCalls(ctx context.Context, l loaded, target string, every, hold time.Duration, n int) {
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
				l.log.Warn("demo call failed", "err", err)
			}
		})
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
