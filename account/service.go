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
	"unicode/utf8"

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
	// Recheck is how long a checked session is trusted before the store is
	// asked again (5s); while the store is unreachable a session checked
	// before stays valid until it expires, so a database outage does not
	// lock agents out of their work. A logout on this node takes effect at
	// once, one on another node within Recheck.
	Recheck time.Duration
	Now     func() time.Time
}

// Service logs users in and out and checks sessions.
type Service struct {
	store Store
	o     Options
	// dummy is hashed against when the user does not exist, so that a
	// wrong username takes as long as a wrong password. It is made on first
	// use: commands that never log anyone in need not pay for it.
	dummy func() []byte
	fails *failures

	mu      sync.Mutex
	checked map[[sha256.Size]byte]checkedSession
	// gen counts logouts and user changes: a check that overlapped one
	// is not cached, or it could bring back a session just ended.
	gen uint64
}

// checkedSession is a session the store vouched for at a moment.
type checkedSession struct {
	user    User
	session Session
	at      time.Time
}

// maxCheckedSessions bounds the cache of checked sessions.
const maxCheckedSessions = 10000

// NewService returns a Service over store.
func NewService(store Store, o Options) *Service {
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.BcryptCost == 0 {
		o.BcryptCost = bcrypt.DefaultCost
	}
	o.BcryptCost = min(max(o.BcryptCost, bcrypt.MinCost), bcrypt.MaxCost)
	if o.MaxFailures <= 0 {
		o.MaxFailures = 5
	}
	if o.FailureWindow <= 0 {
		o.FailureWindow = 15 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Recheck <= 0 {
		o.Recheck = 5 * time.Second
	}
	dummy := sync.OnceValue(func() []byte {
		// The cost is clamped to bcrypt's range and the password is short,
		// so this cannot fail.
		h, _ := bcrypt.GenerateFromPassword([]byte("not a password anyone has"), o.BcryptCost)
		return h
	})
	return &Service{store: store, o: o, dummy: dummy,
		fails:   newFailures(maxFailureKeys, o.MaxFailures, o.FailureWindow),
		checked: map[[sha256.Size]byte]checkedSession{}}
}

// Users returns the store, for reading and updating users.
func (s *Service) Users() Store { return s.store }

// Enabled reports whether username names a user who is not disabled: one
// work may be assigned to. A store that cannot answer counts as no, so a
// typo is never taken for a user.
func (s *Service) Enabled(ctx context.Context, username string) bool {
	u, err := s.store.UserByName(ctx, username)
	return err == nil && !u.Disabled
}

// SessionTTL is how long a login lasts.
func (s *Service) SessionTTL() time.Duration { return s.o.SessionTTL }

var usernameRE = regexp.MustCompile(`^[a-z0-9._-]{1,64}$`)

// NormalizeUsername lower-cases and trims a username and reports whether
// the result is one a user may have: 1 to 64 of a-z, 0-9, '.', '_', '-'.
func NormalizeUsername(name string) (string, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	return name, usernameRE.MatchString(name)
}

const (
	// MinPassword is the fewest characters a password may have.
	MinPassword = 8
	// MaxPassword is the most bytes of a password bcrypt reads.
	MaxPassword = 72
)

// ErrWeakPassword: a password shorter than MinPassword characters or longer
// than MaxPassword bytes.
var ErrWeakPassword = errors.New("account: a password must be at least 8 characters and at most 72 bytes")

// ErrInvalid marks a user that cannot be stored as given; the message says
// which field is wrong.
var ErrInvalid = errors.New("account: invalid user")

// CreateUser stores a new user with a password. The username is stored
// lower-cased; an empty Lang becomes "en".
func (s *Service) CreateUser(ctx context.Context, u *User, password string) error {
	name, ok := NormalizeUsername(u.Username)
	if !ok {
		return fmt.Errorf("%w: username must be 1 to 64 of a-z 0-9 . _ -", ErrInvalid)
	}
	u.Username = name
	if u.Lang == "" {
		u.Lang = "en"
	}
	if err := validUser(u); err != nil {
		return err
	}
	hash, err := s.hash(password)
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	return s.store.CreateUser(ctx, u)
}

func validUser(u *User) error {
	switch {
	case !u.Role.Valid():
		return fmt.Errorf("%w: role %q is not agent, supervisor or admin", ErrInvalid, u.Role)
	case u.Lang != "en" && u.Lang != "fa":
		return fmt.Errorf("%w: lang %q is not en or fa", ErrInvalid, u.Lang)
	case !utf8.ValidString(u.DisplayName) || utf8.RuneCountInString(u.DisplayName) > 200:
		return fmt.Errorf("%w: display name must be valid text of at most 200 characters", ErrInvalid)
	case len(u.Endpoint) > 100 || strings.ContainsAny(u.Endpoint, " \t\r\n") || !utf8.ValidString(u.Endpoint):
		return fmt.Errorf("%w: endpoint must be at most 100 bytes without spaces", ErrInvalid)
	}
	return nil
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
	if utf8.RuneCountInString(password) < MinPassword || len(password) > MaxPassword {
		return nil, ErrWeakPassword
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.o.BcryptCost)
	if err != nil {
		return nil, fmt.Errorf("account: hash password: %w", err)
	}
	return h, nil
}

// Login checks a username and password and opens a session. The token it
// returns is the only copy: the store keeps its hash.
func (s *Service) Login(ctx context.Context, username, password, remoteIP string) (string, *User, error) {
	now := s.o.Now()
	name, valid := NormalizeUsername(username)
	if !valid {
		// No such user can exist. All such names share one key, so a flood
		// of made-up names cannot fill the failure table.
		name = "\x00invalid"
	}
	keys := []string{"u:" + name}
	if remoteIP != "" {
		keys = append(keys, "ip:"+truncate(remoteIP, 64))
	}
	if s.fails.locked(keys, now) {
		return "", nil, ErrRateLimited
	}
	var u *User
	if valid {
		var err error
		u, err = s.store.UserByName(ctx, name)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return "", nil, fmt.Errorf("account: login: %w", err)
		}
	}
	var hash []byte
	if u != nil {
		hash = u.PasswordHash
	} else {
		hash = s.dummy()
	}
	// The comparison runs whatever the user, so that the time taken does not
	// tell a wrong username from a wrong password or a disabled user.
	ok := bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
	if u == nil || !ok || u.Disabled {
		s.fails.add(keys, now)
		return "", nil, ErrBadCredentials
	}
	s.fails.clear(keys[0])
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, fmt.Errorf("account: session token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	if err := s.store.CreateSession(ctx, Session{TokenHash: tokenHash(token), UserID: u.ID, CreatedAt: now,
		ExpiresAt: now.Add(s.o.SessionTTL)}); err != nil {
		return "", nil, fmt.Errorf("account: login: %w", err)
	}
	return token, u, nil
}

// tokenLen is the length of a token: 32 bytes in unpadded base64url.
const tokenLen = 43

// Authenticate returns the user and session a token belongs to, or
// ErrNotFound when it is malformed, unknown, expired or its user disabled.
func (s *Service) Authenticate(ctx context.Context, token string) (*User, *Session, error) {
	if !wellFormed(token) {
		return nil, nil, ErrNotFound
	}
	h := tokenHash(token)
	key := [sha256.Size]byte(h)
	now := s.o.Now()
	s.mu.Lock()
	c, cached := s.checked[key]
	gen := s.gen
	s.mu.Unlock()
	if cached && now.Sub(c.at) < s.o.Recheck && now.Before(c.session.ExpiresAt) {
		u, ss := c.user, c.session
		return &u, &ss, nil
	}
	ss, err := s.store.SessionByHash(ctx, h, now)
	var u *User
	if err == nil {
		u, err = s.store.UserByID(ctx, ss.UserID)
	}
	switch {
	case errors.Is(err, ErrNotFound) || (err == nil && u.Disabled):
		s.forget(key, false)
		return nil, nil, ErrNotFound
	case err != nil:
		if cached && now.Before(c.session.ExpiresAt) && ctx.Err() == nil {
			// The store is unreachable: the session it vouched for stands.
			u, ss := c.user, c.session
			return &u, &ss, nil
		}
		return nil, nil, err
	}
	s.mu.Lock()
	if s.gen == gen {
		if len(s.checked) >= maxCheckedSessions {
			clear(s.checked)
		}
		s.checked[key] = checkedSession{user: *u, session: *ss, at: now}
	}
	s.mu.Unlock()
	return u, ss, nil
}

// UpdateUser stores a changed user; the sessions checked for them are read
// afresh, so a language or role change shows on the next request.
func (s *Service) UpdateUser(ctx context.Context, u *User) error {
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return err
	}
	s.mu.Lock()
	s.gen++
	for k, c := range s.checked {
		if c.user.ID == u.ID {
			delete(s.checked, k)
		}
	}
	s.mu.Unlock()
	return nil
}

// forget drops a checked session; ended (a logout) also makes checks in
// flight not cache what they read.
func (s *Service) forget(key [sha256.Size]byte, ended bool) {
	s.mu.Lock()
	if ended {
		s.gen++
	}
	delete(s.checked, key)
	s.mu.Unlock()
}

// Logout ends the session of a token. Ending an unknown session is not an
// error: the token no longer works either way.
func (s *Service) Logout(ctx context.Context, token string) error {
	if !wellFormed(token) {
		return nil
	}
	h := tokenHash(token)
	// Deleted first, then forgotten: a check racing with the logout either
	// reads the deleted session or is not cached.
	err := s.store.DeleteSession(ctx, h)
	s.forget([sha256.Size]byte(h), true)
	return err
}

func wellFormed(token string) bool {
	if len(token) != tokenLen {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	return err == nil && len(b) == 32
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// maxFailureKeys bounds the failure table: about 100k usernames and
// addresses, a few megabytes.
const maxFailureKeys = 100_000

// failures counts recent failed logins per key (a username or an address).
// It keeps at most maxKeys keys: when full it forgets keys whose failures
// have all aged out, then, if still nearly full, arbitrary ones, so a flood
// of addresses cannot exhaust memory.
type failures struct {
	mu      sync.Mutex
	m       map[string][]time.Time
	maxKeys int
	limit   int
	window  time.Duration
}

func newFailures(maxKeys, limit int, window time.Duration) *failures {
	return &failures{m: map[string][]time.Time{}, maxKeys: maxKeys, limit: limit, window: window}
}

// locked reports whether any key has limit failures within the window.
func (f *failures) locked(keys []string, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range keys {
		n := 0
		for _, t := range f.m[k] {
			if now.Sub(t) < f.window {
				n++
			}
		}
		if n >= f.limit {
			return true
		}
	}
	return false
}

func (f *failures) add(keys []string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.m)+len(keys) > f.maxKeys {
		f.prune(now)
	}
	for _, k := range keys {
		ts := f.m[k]
		for len(ts) > 0 && now.Sub(ts[0]) >= f.window {
			ts = ts[1:]
		}
		// Only the newest limit failures decide a lockout.
		if len(ts) >= f.limit {
			ts = ts[len(ts)-f.limit+1:]
		}
		f.m[k] = append(ts, now)
	}
}

// prune makes room, leaving the table at most nine tenths full so that the
// next failures do not each pay for a full sweep.
func (f *failures) prune(now time.Time) {
	for k, ts := range f.m {
		if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= f.window {
			delete(f.m, k)
		}
	}
	target := f.maxKeys - max(f.maxKeys/10, 2)
	for k := range f.m {
		if len(f.m) <= target {
			break
		}
		delete(f.m, k)
	}
}

func (f *failures) clear(key string) {
	f.mu.Lock()
	delete(f.m, key)
	f.mu.Unlock()
}

func (f *failures) size() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.m)
}
