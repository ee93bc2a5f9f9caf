package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/tamas-cc/tamas/account"
	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/postgres"
	"github.com/tamas-cc/tamas/crm/sqlite"
	"github.com/tamas-cc/tamas/internal/config"
)

// Records is everything a node keeps in its database: both stores
// implement it.
type Records interface {
	crm.Store
	crm.ActivityStore
	crm.WrapUpStore
	crm.TaskQueue
	account.Store
	Migrate(ctx context.Context) error
}

var (
	_ Records = (*sqlite.Store)(nil)
	_ Records = (*postgres.Store)(nil)
)

// OpenStore opens the configured store; migrate forces migrations whatever
// database.auto_migrate says.
func OpenStore(ctx context.Context, cfg config.Config, log *slog.Logger, migrate bool) (Records, error) {
	var s Records
	var err error
	switch cfg.Database.Driver {
	case "postgres":
		s, err = postgres.Open(ctx, cfg.Database.URL.Value())
	case "sqlite", "":
		if err := os.MkdirAll(filepath.Dir(cfg.Database.SQLitePath), 0o750); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		s, err = sqlite.Open(ctx, cfg.Database.SQLitePath)
	default:
		return nil, errors.New("database.driver: unknown driver " + cfg.Database.Driver)
	}
	if err != nil {
		return nil, err
	}
	if migrate || cfg.Database.AutoMigrate {
		if err := s.Migrate(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	if cfg.Database.Driver == "postgres" {
		log.Info("store open", "driver", "postgres")
	} else {
		log.Info("store open", "driver", "sqlite", "path", cfg.Database.SQLitePath)
	}
	return s, nil
}

// OpenDirectory opens the store behind the CRM's directory, with numbers
// read in the configured region.
func OpenDirectory(ctx context.Context, cfg config.Config, log *slog.Logger) (*crm.Directory, Records, error) {
	norm, err := phone.New(cfg.Phone.DefaultRegion)
	if err != nil {
		return nil, nil, err
	}
	s, err := OpenStore(ctx, cfg, log, false)
	if err != nil {
		return nil, nil, err
	}
	return crm.NewDirectory(s, norm), s, nil
}
