package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Options tune a Service. Zero values take the defaults shown.
type Options struct {
	SessionTTL time.Duration // 12h
	// BcryptCost is the password hashing cost (bcrypt.DefaultCost).
	BcryptCost int
	// MaxFailures failed logins within FailureWindow, per username and
	// per address, lock further attempts out until the window passes (5 in
	// 15m).
	MaxFailures   int
	FailureWindow time.Duration
	Now           func() time.Time
}

// Service logs users in and out and checks sessions.
type Service struct {
	store Store
	o     Options
	// dummy is hashed against when the user does not exist, so that a
	// wrong username takes as long as a wrong password.
	dummy []byte
	fails *failures
}

// NewService returns a Service over store.
func NewService(store Store, o Options) *Service {
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.BcryptCost == 0 {
		o.BcryptCost = bcrypt.DefaultCost
	}
	if o.MaxFailures <= 0 {
		o.MaxFailures = 5
	}
	if o.FailureWindow <= 0 {
		o.FailureWindow = 15 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	dummy, _ := bcrypt.GenerateFromPassword([]byte("not a password anyone has"), o.BcryptCost)
	return &Service{store: store, o: o, dummy: dummy, fails: &failures{m: map[string][]time.Time{}}}
}

// Users returns the store, for reading and updating users.
func (s *Service) Users() Store { return s.store }

// SessionTTL is how long a login lasts.
func (s *Service) SessionTTL() time.Duration { return s.o.SessionTTL }

var usernameRE = regexp.MustCompile(`^[a-z0-9._-]{1,64}$`)

// ErrWeakPassword: a password shorter than 8 or longer than 72 bytes (the
// most bcrypt reads).
var ErrWeakPassword = errors.New("account: password must be 8 to 72 bytes")

// CreateUser stores a new user with a password.
func (s *Service) CreateUser(ctx context.Context, u *User, password string) error {
	u.Username = strings.ToLower(strings.TrimSpace(u.Username))
	if !usernameRE.MatchString(u.Username) {
		return fmt.Errorf("account: username must be 1 to 64 of a-z 0-9 . _ -")
	}
	if !u.Role.Valid() {
		return fmt.Errorf("account: role %q is not agent, supervisor or admin", u.Role)
	}
	if u.Lang == "" {
		u.Lang = "en"
	}
	if u.Lang != "en" && u.Lang != "fa" {
		return fmt.Errorf("account: lang %q is not en or fa", u.Lang)
	}
	hash, err := s.hash(password)
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	return s.store.CreateUser(ctx, u)
}

// SetPassword replaces a user's password and ends nothing else: existing
// sessions stay until they expire or log out.
func (s *Service) SetPassword(ctx context.Context, userID int64, password string) error {
	hash, err := s.hash(password)
	if err != nil {
		return err
	}
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	return s.store.UpdateUser(ctx, u)
}

func (s *Service) hash(password string) ([]byte, error) {
	if len(password) < 8 || len(password) > 72 {
		return nil, ErrWeakPassword
	}
	return bcrypt.GenerateFromPassword([]byte(password), s.o.BcryptCost)
}

// Login checks a username and password and opens a session. The token it
// returns is the only copy: the store keeps its hash.
func (s *Service) Login(ctx context.Context, username, password, remoteIP string) (string, *User, error) {
	now := s.o.Now()
	keys := []string{"u:" + strings.ToLower(username), "ip:" + remoteIP}
	if s.fails.locked(keys, now, s.o.MaxFailures, s.o.FailureWindow) {
		return "", nil, ErrRateLimited
	}
	u, err := s.store.UserByName(ctx, username)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", nil, err
	}
	hash := s.dummy
	if u != nil {
		hash = u.PasswordHash
	}
	ok := bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
	if u == nil || !ok || u.Disabled {
		s.fails.add(keys, now, s.o.FailureWindow)
		return "", nil, ErrBadCredentials
	}
	s.fails.clear(keys[0])
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, err
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	if err := s.store.CreateSession(ctx, Session{TokenHash: tokenHash(token), UserID: u.ID, CreatedAt: now,
		ExpiresAt: now.Add(s.o.SessionTTL)}); err != nil {
		return "", nil, err
	}
	return token, u, nil
}

// Authenticate returns the user and session a token belongs to, or
// ErrNotFound when it is unknown, expired or its user disabled.
func (s *Service) Authenticate(ctx context.Context, token string) (*User, *Session, error) {
	if len(token) != 43 {
		return nil, nil, ErrNotFound
	}
	ss, err := s.store.SessionByHash(ctx, tokenHash(token), s.o.Now())
	if err != nil {
		return nil, nil, err
	}
	u, err := s.store.UserByID(ctx, ss.UserID)
	if err != nil {
		return nil, nil, err
	}
	if u.Disabled {
		return nil, nil, ErrNotFound
	}
	return u, ss, nil
}

// Logout ends the session of a token.
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.store.DeleteSession(ctx, tokenHash(token))
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// failures counts recent failed logins per key. It is bounded: when full,
// the oldest keys go first, so a flood of usernames cannot exhaust memory.
type failures struct {
	mu sync.Mutex
	m  map[string][]time.Time
}

const maxFailureKeys = 100000

func (f *failures) locked(keys []string, now time.Time, max int, window time.Duration) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range keys {
		n := 0
		for _, t := range f.m[k] {
			if now.Sub(t) < window {
				n++
			}
		}
		if n >= max {
			return true
		}
	}
	return false
}

func (f *failures) add(keys []string, now time.Time, window time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.m) >= maxFailureKeys {
		for k, ts := range f.m {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= window {
				delete(f.m, k)
			}
		}
		for k := range f.m { // still full: drop arbitrary keys
			if len(f.m) < maxFailureKeys {
				break
			}
			delete(f.m, k)
		}
	}
	for _, k := range keys {
		ts := f.m[k]
		for len(ts) > 0 && now.Sub(ts[0]) >= window {
			ts = ts[1:]
		}
		if len(ts) >= 64 {
			ts = ts[1:]
		}
		f.m[k] = append(ts, now)
	}
}

func (f *failures) clear(key string) {
	f.mu.Lock()
	delete(f.m, key)
	f.mu.Unlock()
}
