// Command tamas is the Tamas server and its administration commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `tamas — joins a call center's telephone system to its CRM.

Usage:
  tamas [-config FILE] <command> [flags]

Commands:
  serve                 run the server (console, API, metrics, health)
  demo                  run a seeded server with demo agents and simulated calls
  seed                  fill the CRM with synthetic contacts
  contacts import FILE  import contacts from CSV
  contacts export FILE  export contacts to CSV ("-" for stdout)
  migrate               apply database migrations
  users add|list|passwd manage console logins (password from TAMAS_NEW_PASSWORD or stdin)
  scripts check [DIR]   check call scripts (default: console.scripts_dir) and their dispositions
  bench pop             measure call event → pop on the console
  version               print the version

The configuration file defaults to $TAMAS_CONFIG; with neither, built-in
defaults apply (embedded SQLite under ./data). Every key can be overridden
with TAMAS_* variables: see configs/tamas.yaml.
`

// env is what a command may touch of the outside world; tests pass their own.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	environ        []string
	isTerminal     bool
}

func main() {
	// A node's live heap is small (calls in progress, consoles), and every
	// collection competes with pops for two cores: collect less often than
	// Go's default unless the operator chose. GOGC still overrides.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(300)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin, environ: os.Environ(), isTerminal: isTerminal(os.Stderr)}
	code := run(ctx, os.Args[1:], e)
	stop()
	os.Exit(code)
}

// errUsage marks a mistake in the command line (exit code 2).
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, e env) int {
	fs := flag.NewFlagSet("tamas", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, usage) }
	configPath := fs.String("config", lookup(e.environ, "TAMAS_CONFIG"), "configuration file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	var err error
	switch cmd {
	case "version":
		fmt.Fprintf(e.stdout, "tamas %s\n", version)
		return 0
	case "serve":
		err = cmdServe(ctx, *configPath, rest, e)
	case "seed":
		err = cmdSeed(ctx, *configPath, rest, e)
	case "contacts":
		err = cmdContacts(ctx, *configPath, rest, e)
	case "migrate":
		err = cmdMigrate(ctx, *configPath, rest, e)
	case "users":
		err = cmdUsers(ctx, *configPath, rest, e)
	case "demo":
		err = cmdDemo(ctx, *configPath, rest, e)
	case "bench":
		err = cmdBench(ctx, *configPath, rest, e)
	case "scripts":
		err = cmdScripts(ctx, *configPath, rest, e)
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
		return 0
	default:
		fmt.Fprintf(e.stderr, "tamas: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err == nil {
		return 0
	}
	if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(e.stderr, "tamas %s: %v\n", cmd, err)
		}
		return 2
	}
	fmt.Fprintf(e.stderr, "tamas %s: %v\n", cmd, err)
	return 1
}

func lookup(environ []string, key string) string {
	for i := len(environ) - 1; i >= 0; i-- {
		if len(environ[i]) > len(key) && environ[i][:len(key)] == key && environ[i][len(key)] == '=' {
			return environ[i][len(key)+1:]
		}
	}
	return ""
}

func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}
