// Command callsim places SIP calls — at Asterisk, or at the Tamas SIP
// endpoint — with chosen caller numbers and names, at a chosen rate, holds
// them, sends DTMF by SIP INFO when answered, hangs up, and prints what
// happened: calls placed, ringing, answered, failed, and the latencies
// INVITE→180 and INVITE→final.
//
//	callsim -target sip:18005550100@127.0.0.1:5080 -rate 200 -total 2000 -hold 2s
//	callsim -target sip:18005550100@pbx.example.com -callers callers.csv -dtmf 15# -hold 10s
//
// A callers file holds one "number,name" per line. The digest password, if
// the target asks for one, is read from CALLSIM_PASSWORD.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tamas-cc/tamas/telephony/sip/callgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is callsim without the process: it returns the exit status (0 all
// calls went as expected, 1 some failed, 2 usage error).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("callsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		o        callgen.Options
		callers  = fs.String("callers", "", "file of callers, one `number,name` per line (default: generated)")
		prefix   = fs.String("prefix", "+98912", "generated callers: number prefix")
		first    = fs.Int("start", 1000000, "generated callers: first number after the prefix")
		asJSON   = fs.Bool("json", false, "print the summary as JSON")
		verbose  = fs.Bool("v", false, "log every call's details to stderr")
		deadline = fs.Duration("timeout", 0, "stop placing calls and hang up after this long (0: no limit)")
	)
	fs.StringVar(&o.Target, "target", "", "SIP URI to call, e.g. sip:18005550100@127.0.0.1:5080 (required)")
	fs.StringVar(&o.Transport, "transport", "udp", "udp or tcp")
	fs.StringVar(&o.LocalIP, "local", "", "local IP to call from (default: the one routed to the target)")
	fs.Float64Var(&o.Rate, "rate", 1, "calls started per second (0: as fast as -concurrency allows)")
	fs.IntVar(&o.Concurrency, "concurrency", 100, "calls in progress at most")
	fs.IntVar(&o.Total, "total", 1, "calls to place")
	fs.DurationVar(&o.Hold, "hold", 3*time.Second, "how long each call lasts from its INVITE before we hang up")
	fs.StringVar(&o.DTMF, "dtmf", "", "digits to send by SIP INFO once a call is answered")
	fs.DurationVar(&o.DTMFGap, "dtmf-gap", 250*time.Millisecond, "pause before each DTMF digit")
	fs.BoolVar(&o.PAI, "pai", false, "also present the caller in P-Asserted-Identity")
	fs.BoolVar(&o.NoSDP, "no-sdp", false, "send INVITEs without an SDP offer")
	fs.StringVar(&o.Username, "user", "", "digest user name (password from CALLSIM_PASSWORD)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if o.Target == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "callsim: -target is required, and takes no arguments")
		fs.Usage()
		return 2
	}
	o.Password = getenv("CALLSIM_PASSWORD")
	if *callers != "" {
		f, err := os.Open(*callers)
		if err != nil {
			fmt.Fprintln(stderr, "callsim:", err)
			return 2
		}
		o.Callers, err = callgen.ReadCallers(f)
		f.Close()
		if err != nil {
			fmt.Fprintln(stderr, "callsim:", err)
			return 2
		}
	} else {
		o.Generate = callgen.Sequence(*prefix, *first)
	}
	if *verbose {
		o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if *deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *deadline)
		defer cancel()
	}

	s, err := callgen.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "callsim:", err)
		return 2
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(s)
	} else {
		fmt.Fprint(stdout, s)
	}
	if s.Failed > 0 {
		return 1
	}
	return 0
}
