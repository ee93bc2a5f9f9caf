package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/mattn/go-isatty"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/postgres"
	"github.com/tamas-cc/tamas/crm/sqlite"
	"github.com/tamas-cc/tamas/internal/config"
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

// migrator is a store that can bring its schema up to date.
type migrator interface {
	crm.Store
	Migrate(ctx context.Context) error
}

// openStore opens the configured store; migrate forces migrations whatever
// database.auto_migrate says.
func openStore(ctx context.Context, l loaded, migrate bool) (crm.Store, error) {
	var s migrator
	var err error
	switch l.cfg.Database.Driver {
	case "postgres":
		s, err = postgres.Open(ctx, l.cfg.Database.URL.Value())
	default:
		if err := os.MkdirAll(filepath.Dir(l.cfg.Database.SQLitePath), 0o750); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		s, err = sqlite.Open(ctx, l.cfg.Database.SQLitePath)
	}
	if err != nil {
		return nil, err
	}
	if migrate || l.cfg.Database.AutoMigrate {
		if err := s.Migrate(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	if l.cfg.Database.Driver == "sqlite" {
		l.log.Info("store open", "driver", "sqlite", "path", l.cfg.Database.SQLitePath)
	} else {
		l.log.Info("store open", "driver", l.cfg.Database.Driver)
	}
	return s, nil
}

func openDirectory(ctx context.Context, l loaded) (*crm.Directory, error) {
	norm, err := phone.New(l.cfg.Phone.DefaultRegion)
	if err != nil {
		return nil, err
	}
	s, err := openStore(ctx, l, false)
	if err != nil {
		return nil, err
	}
	return crm.NewDirectory(s, norm), nil
}
