package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/tamas-cc/tamas/crm/script"
	"github.com/tamas-cc/tamas/node"
	"github.com/tamas-cc/tamas/wrapup"
)

// cmdScripts checks call scripts before they are deployed: every problem
// of every file with its line, and dispositions the configuration lacks.
func cmdScripts(ctx context.Context, configPath string, args []string, e env) error {
	if len(args) == 0 || args[0] != "check" {
		return usageErr("usage: tamas scripts check [DIR]")
	}
	fs := flag.NewFlagSet("scripts check", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	l, err := load(configPath, e)
	if err != nil {
		return err
	}
	dir := l.cfg.Console.ScriptsDir
	if fs.NArg() > 0 {
		dir = fs.Arg(0)
	}
	set, err := script.LoadDir(dir)
	if err != nil {
		return err
	}
	if err := wrapup.CheckDispositions(set, node.Dispositions(l.cfg.Console.WrapUp)); err != nil {
		return err
	}
	for _, s := range set.Scripts() {
		fmt.Fprintf(e.stdout, "ok  %-20s %s  v%d  %d steps  %s\n", s.ID, s.Lang, s.Version, len(s.Steps), s.File())
	}
	return nil
}
