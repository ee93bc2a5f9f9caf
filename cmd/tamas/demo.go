package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/tamas-cc/tamas/internal/config"
	"github.com/tamas-cc/tamas/node"
	"github.com/tamas-cc/tamas/node/demo"
)

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
	c.Lines = map[string]string{demo.Line: "Sales line"}
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
	return serve(ctx, l, func(r node.Ready) {
		fmt.Fprintf(e.stdout, "\nTamas demo: open http://%s and sign in as\n", r.HTTP)
		for _, cr := range creds {
			fmt.Fprintf(e.stdout, "  %-8s %-22s (%s)\n", cr.User, cr.Password, cr.Role)
		}
		fmt.Fprintf(e.stdout, "A simulated call arrives every %s on the SIP endpoint %s; Ctrl-C stops.\n\n", *every, *sipAddr)
		if *every > 0 {
			wg.Go(func() { demo.Simulate(ctx, l.log, "sip:"+demo.Line+"@"+*sipAddr, *every, *hold, *contacts) })
		}
	})
}

// prepareDemo seeds the demo database once and resets the demo logins.
func prepareDemo(ctx context.Context, l loaded, n int) ([]demo.Cred, error) {
	dir, store, err := node.OpenDirectory(ctx, l.cfg, l.log)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	return demo.Prepare(ctx, dir, store, n, l.log)
}
