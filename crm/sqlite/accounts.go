package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tamas-cc/tamas/account"
)

var _ account.Store = (*Store)(nil)

const userCols = `id, username, display_name, role, lang, endpoint, password_hash, disabled, created_at`

func scanUser(row interface{ Scan(...any) error }) (*account.User, error) {
	var u account.User
	var created int64
	if err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Role, &u.Lang, &u.Endpoint, &u.PasswordHash,
		&u.Disabled, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, account.ErrNotFound
		}
		return nil, err
	}
	u.CreatedAt = time.UnixMilli(created).UTC()
	return &u, nil
}

// CreateUser implements account.Store.
func (s *Store) CreateUser(ctx context.Context, u *account.User) error {
	now := now()
	res, err := s.w.ExecContext(ctx, `INSERT INTO users (username, display_name, role, lang, endpoint, password_hash,
		disabled, created_at) VALUES (?,?,?,?,?,?,?,?)`, u.Username, u.DisplayName, u.Role, u.Lang, u.Endpoint,
		u.PasswordHash, u.Disabled, ms(now))
	if err != nil {
		var se *msqlite.Error
		if errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
			return fmt.Errorf("user %q: %w", u.Username, account.ErrExists)
		}
		return fmt.Errorf("create user: %w", err)
	}
	u.ID, _ = res.LastInsertId()
	u.CreatedAt = now
	return nil
}

// UpdateUser implements account.Store.
func (s *Store) UpdateUser(ctx context.Context, u *account.User) error {
	res, err := s.w.ExecContext(ctx, `UPDATE users SET display_name=?, role=?, lang=?, endpoint=?, password_hash=?,
		disabled=? WHERE id=?`, u.DisplayName, u.Role, u.Lang, u.Endpoint, u.PasswordHash, u.Disabled, u.ID)
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return account.ErrNotFound
	}
	return nil
}

// UserByID implements account.Store.
func (s *Store) UserByID(ctx context.Context, id int64) (*account.User, error) {
	return scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id=?`, id))
}

// UserByName implements account.Store.
func (s *Store) UserByName(ctx context.Context, username string) (*account.User, error) {
	return scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE lower(username)=lower(?)`, username))
}

// ListUsers implements account.Store.
func (s *Store) ListUsers(ctx context.Context) ([]account.User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY lower(username)`)
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
	_, err := s.w.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?,?,?,?)`,
		ss.TokenHash, ss.UserID, ms(ss.CreatedAt), ms(ss.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByHash implements account.Store.
func (s *Store) SessionByHash(ctx context.Context, hash []byte, now time.Time) (*account.Session, error) {
	var ss account.Session
	var created, expires int64
	err := s.r.QueryRowContext(ctx, `SELECT token_hash, user_id, created_at, expires_at FROM sessions
		WHERE token_hash=? AND expires_at > ?`, hash, ms(now)).Scan(&ss.TokenHash, &ss.UserID, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, account.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	ss.CreatedAt, ss.ExpiresAt = time.UnixMilli(created).UTC(), time.UnixMilli(expires).UTC()
	return &ss, nil
}

// DeleteSession implements account.Store.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash=?`, hash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions implements account.Store.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, ms(now))
	if err != nil {
		return 0, fmt.Errorf("delete sessions: %w", err)
	}
	return res.RowsAffected()
}
