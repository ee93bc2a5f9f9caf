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
		dir := filepath.Dir(cfg.Database.SQLitePath)
		if filepath.Clean(dir) == filepath.Clean(cfg.DataDir) {
			err = dataDir(cfg.DataDir, log)
		} else {
			// A folder of the administrator's choosing: created private,
			// otherwise left as it is (the file itself is 0600).
			err = os.MkdirAll(dir, dataDirMode)
		}
		if err != nil {
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

// dataDirMode is the data directory's mode: it holds the database, the
// outboxes and the API token, for the owner's eyes only.
const dataDirMode os.FileMode = 0o700

// dataDir creates the data directory with dataDirMode, or narrows one an
// earlier version made readable by others. Only a directory that cannot be
// narrowed (not the running user's) is left as it is, with a warning: its
// files are 0600 all the same.
func dataDir(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, dataDirMode); err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&^dataDirMode == 0 {
		return nil
	}
	if err := os.Chmod(dir, dataDirMode); err != nil {
		log.Warn("the data directory is open to other users and cannot be narrowed", "dir", dir,
			"mode", fi.Mode().Perm().String(), "err", err)
		return nil
	}
	log.Info("data directory narrowed to the owner", "dir", dir, "was", fi.Mode().Perm().String())
	return nil
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
