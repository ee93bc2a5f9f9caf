package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/tamas-cc/tamas/screenpop/popbench"
)

// cmdBench measures the screen-pop path on this machine.
func cmdBench(ctx context.Context, configPath string, args []string, e env) error {
	if len(args) == 0 {
		return usageErr("bench needs a mode:\n%s", popbench.Usage)
	}
	mode, args := args[0], args[1:]
	fs := flag.NewFlagSet("bench "+mode, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	o := popbench.Options{Out: e.stdout, Stdin: e.stdin}
	fs.IntVar(&o.Consoles, "consoles", 1000, "connected consoles")
	fs.IntVar(&o.Contacts, "contacts", 1_000_000, "contacts in the CRM (pop)")
	fs.Float64Var(&o.Rate, "rate", 100, "calls (or messages) per second")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long to send")
	fs.StringVar(&o.Bus, "bus", "memory", "memory or redis")
	fs.IntVar(&o.Nodes, "nodes", 1, "1, or 2: calls caught on one node, consoles on the other (redis only)")
	fs.StringVar(&o.Redis, "redis", "127.0.0.1:6379", "Redis address")
	fs.StringVar(&o.DB, "db", filepath.Join(os.TempDir(), "tamas-bench"), "directory for the seeded SQLite files")
	fs.StringVar(&o.URL, "url", "", "(idle-clients) the hub to connect to")
	fs.IntVar(&o.Warmup, "warmup", 200_000, "(pop) lookups run before measuring, as a node that has been up a while has done")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	err := popbench.Run(ctx, mode, o)
	if errors.Is(err, popbench.ErrUsage) {
		return usageErr("%s", strings.TrimPrefix(err.Error(), popbench.ErrUsage.Error()+": "))
	}
	return err
}
