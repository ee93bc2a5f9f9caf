package main

import (
	"context"
	"flag"

	"github.com/tamas-cc/tamas/node"
)

func cmdServe(ctx context.Context, configPath string, args []string, e env) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	l, err := load(configPath, e)
	if err != nil {
		return err
	}
	return serve(ctx, l, nil)
}

// serve runs a node until ctx ends.
func serve(ctx context.Context, l loaded, onReady func(node.Ready)) error {
	n, err := node.New(ctx, l.cfg, l.log, version)
	if err != nil {
		return err
	}
	return n.Run(ctx, onReady)
}
