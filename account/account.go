// Package account is who may use Tamas: users with a role, their passwords
// and their login sessions. It knows nothing of HTTP; web turns sessions
// into cookies and checks roles per route.
package account

import (
	"context"
	"errors"
	"time"
)

// Role is what a user may do. Each role includes the ones below it.
type Role string

const (
	RoleAgent      Role = "agent"
	RoleSupervisor Role = "supervisor"
	RoleAdmin      Role = "admin"
)

func (r Role) rank() int {
	switch r {
	case RoleAgent:
		return 1
	case RoleSupervisor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allows reports whether a user holding r may do what needs the role need.
func (r Role) Allows(need Role) bool { return r.Valid() && r.rank() >= need.rank() }

// User is a person who logs in to the console.
type User struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	// DisplayName is shown to colleagues; it may be in any script.
	DisplayName string `json:"display_name"`
	Role        Role   `json:"role"`
	// Lang is the console language the user last chose ("en", "fa").
	Lang string `json:"lang"`
	// Endpoint is the user's phone as the PBX names it ("PJSIP/1001"): the
	// phone click-to-call rings first and the one a ringing pop targets.
	Endpoint     string    `json:"endpoint,omitempty"`
	PasswordHash []byte    `json:"-"`
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"created_at"`
}

// Session is one login. Only a hash of its token is stored, so a copy of
// the database does not let anyone in.
type Session struct {
	TokenHash []byte
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
}

var (
	// ErrNotFound: no such user or session.
	ErrNotFound = errors.New("account: not found")
	// ErrExists: the username is taken.
	ErrExists = errors.New("account: already exists")
	// ErrBadCredentials: unknown user, wrong password or disabled user; the
	// caller is not told which.
	ErrBadCredentials = errors.New("account: bad credentials")
	// ErrRateLimited: too many failed logins; try again later.
	ErrRateLimited = errors.New("account: too many attempts")
)

// Store keeps users and sessions. The database stores implement it.
type Store interface {
	// CreateUser inserts u and sets its ID and CreatedAt; ErrExists when the
	// username is taken (compared case-insensitively).
	CreateUser(ctx context.Context, u *User) error
	// UpdateUser replaces every field but ID, Username and CreatedAt.
	UpdateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id int64) (*User, error)
	// UserByName finds a user by username, case-insensitively.
	UserByName(ctx context.Context, username string) (*User, error)
	// ListUsers returns every user in username order.
	ListUsers(ctx context.Context) ([]User, error)
	CreateSession(ctx context.Context, s Session) error
	// SessionByHash returns the session, or ErrNotFound when it does not
	// exist or has expired at now.
	SessionByHash(ctx context.Context, hash []byte, now time.Time) (*Session, error)
	DeleteSession(ctx context.Context, hash []byte) error
	// DeleteExpiredSessions removes the sessions SessionByHash no longer
	// returns at now (those expiring at or before it) and says how many.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)
}
