package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tamas-cc/tamas/account"
)

var _ account.Store = (*Store)(nil)

const userCols = `id, username, display_name, role, lang, endpoint, password_hash, disabled, created_at`

func scanUser(row pgx.Row) (*account.User, error) {
	var u account.User
	if err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Role, &u.Lang, &u.Endpoint, &u.PasswordHash,
		&u.Disabled, &u.CreatedAt); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, account.ErrNotFound
		}
		return nil, err
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return &u, nil
}

// CreateUser implements account.Store.
func (s *Store) CreateUser(ctx context.Context, u *account.User) error {
	now := now()
	err := s.pool.QueryRow(ctx, `INSERT INTO users (username, display_name, role, lang, endpoint, password_hash,
		disabled, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING id`, u.Username, u.DisplayName, u.Role,
		u.Lang, u.Endpoint, u.PasswordHash, u.Disabled, now).Scan(&u.ID)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return fmt.Errorf("user %q: %w", u.Username, account.ErrExists)
		}
		return fmt.Errorf("create user: %w", err)
	}
	u.CreatedAt = now
	return nil
}

// UpdateUser implements account.Store.
func (s *Store) UpdateUser(ctx context.Context, u *account.User) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET display_name=$2, role=$3, lang=$4, endpoint=$5, password_hash=$6,
		disabled=$7 WHERE id=$1`, u.ID, u.DisplayName, u.Role, u.Lang, u.Endpoint, u.PasswordHash, u.Disabled)
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return account.ErrNotFound
	}
	return nil
}

// UserByID implements account.Store.
func (s *Store) UserByID(ctx context.Context, id int64) (*account.User, error) {
	return scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id=$1`, id))
}

// UserByName implements account.Store.
func (s *Store) UserByName(ctx context.Context, username string) (*account.User, error) {
	return scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE lower(username)=lower($1)`, username))
}

// ListUsers implements account.Store.
func (s *Store) ListUsers(ctx context.Context) ([]account.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userCols+` FROM users ORDER BY lower(username)`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	out := []account.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, *u)
	}
	return out, rows.Err()
}

// CreateSession implements account.Store.
func (s *Store) CreateSession(ctx context.Context, ss account.Session) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1,$2,$3,$4)`,
		ss.TokenHash, ss.UserID, ss.CreatedAt.UTC(), ss.ExpiresAt.UTC()); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByHash implements account.Store.
func (s *Store) SessionByHash(ctx context.Context, hash []byte, now time.Time) (*account.Session, error) {
	var ss account.Session
	err := s.pool.QueryRow(ctx, `SELECT token_hash, user_id, created_at, expires_at FROM sessions
		WHERE token_hash=$1 AND expires_at > $2`, hash, now.UTC()).Scan(&ss.TokenHash, &ss.UserID, &ss.CreatedAt, &ss.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, account.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	ss.CreatedAt, ss.ExpiresAt = ss.CreatedAt.UTC(), ss.ExpiresAt.UTC()
	return &ss, nil
}

// DeleteSession implements account.Store.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash=$1`, hash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions implements account.Store.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, now.UTC())
	if err != nil {
		return 0, fmt.Errorf("delete sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}
