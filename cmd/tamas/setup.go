package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/mattn/go-isatty"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/internal/config"
	"github.com/tamas-cc/tamas/node"
)

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

func newLogger(c config.Log, w io.Writer, terminal bool) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(c.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" || (c.Format == "auto" && terminal) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// loaded is what every command starts from.
type loaded struct {
	cfg config.Config
	log *slog.Logger
}

func load(path string, e env) (loaded, error) {
	cfg, err := config.Load(path, e.environ)
	if err != nil {
		return loaded{}, err
	}
	return loaded{cfg: cfg, log: newLogger(cfg.Log, e.stderr, e.isTerminal)}, nil
}

// openStore opens the configured store; migrate forces migrations.
func openStore(ctx context.Context, l loaded, migrate bool) (node.Records, error) {
	return node.OpenStore(ctx, l.cfg, l.log, migrate)
}

// openDirectory loads the configuration and opens the CRM it names; the
// caller closes dir.Store().
func openDirectory(ctx context.Context, configPath string, e env) (loaded, *crm.Directory, error) {
	l, err := load(configPath, e)
	if err != nil {
		return l, nil, err
	}
	dir, _, err := node.OpenDirectory(ctx, l.cfg, l.log)
	return l, dir, err
}

// subcommand runs the command args[0] names among cmds.
func subcommand(ctx context.Context, group, configPath string, args []string, e env,
	cmds map[string]func(context.Context, string, []string, env) error) error {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(args) == 0 {
		return usageErr("%s %s", group, strings.Join(names, "|"))
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		return usageErr("unknown %s command %q (%s)", group, args[0], strings.Join(names, ", "))
	}
	return cmd(ctx, configPath, args[1:], e)
}
