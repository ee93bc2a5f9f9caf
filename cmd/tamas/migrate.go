package main

import (
	"context"
	"flag"
)

func cmdMigrate(ctx context.Context, configPath string, args []string, e env) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	l, err := load(configPath, e)
	if err != nil {
		return err
	}
	s, err := openStore(ctx, l, true)
	if err != nil {
		return err
	}
	l.log.Info("migrations applied")
	return s.Close()
}
