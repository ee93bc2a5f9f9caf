package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/tamas-cc/tamas/crm/seed"
)

func cmdSeed(ctx context.Context, configPath string, args []string, e env) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	n := fs.Int("contacts", 1000, "how many contacts (people and organizations)")
	s := fs.Uint64("seed", 1, "random seed: the same seed makes the same contacts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 0 || *n > 50_000_000 {
		return usageErr("-contacts must be between 0 and 50000000")
	}
	_, dir, err := openDirectory(ctx, configPath, e)
	if err != nil {
		return err
	}
	defer dir.Store().Close()
	start := time.Now()
	bar := newProgress(e, "seed", int64(*n))
	st, err := seed.Seed(ctx, dir, seed.New(*s), *n, 20_000, func(done int) { bar.set(int64(done)) })
	bar.done()
	if err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(e.stdout, "seeded %d people and %d organizations in %s (%.0f contacts/s)\n",
		st.People, st.Organizations, el.Round(time.Millisecond), float64(*n)/el.Seconds())
	if *n > seed.OrgEvery {
		// A few callers worth trying: a person, a company switchboard.
		g := seed.New(*s)
		fmt.Fprintf(e.stdout, "numbers to try: %q (a person), %q (a company line)\n", g.MobileNumber(1), g.MainNumber(0))
	}
	return nil
}
