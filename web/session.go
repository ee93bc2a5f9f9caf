package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tamas-cc/tamas/account"
)

// sessionCookie holds a console login. It is HttpOnly (scripts never see
// it), SameSite=Strict (other sites cannot send it) and Secure under TLS.
const sessionCookie = "tamas_session"

// csrfHeader must accompany every state-changing request made with the
// session cookie: a cross-site form cannot set a custom header.
const csrfHeader = "X-Tamas-Request"

type userKey struct{}

type sessionUser struct {
	user  *account.User
	token string
}

func userFrom(ctx context.Context) *sessionUser {
	su, _ := ctx.Value(userKey{}).(*sessionUser)
	return su
}

// sessionRequest checks the session cookie and the role, and returns the
// request carrying the user.
func (s *Server) sessionRequest(r *http.Request, need account.Role) (*http.Request, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return r, errorf(http.StatusUnauthorized, "unauthorized", "log in first")
	}
	u, _, err := s.o.Accounts.Authenticate(r.Context(), c.Value)
	if errors.Is(err, account.ErrNotFound) {
		return r, errorf(http.StatusUnauthorized, "unauthorized", "session expired: log in again")
	}
	if err != nil {
		return r, err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if r.Header.Get(csrfHeader) != "1" {
			return r, errorf(http.StatusForbidden, "csrf", "missing %s header", csrfHeader)
		}
	}
	r = r.WithContext(context.WithValue(r.Context(), userKey{}, &sessionUser{user: u, token: c.Value}))
	return r, requireRole(r.Context(), need)
}

// requireRole admits the request's user if their role includes need.
func requireRole(ctx context.Context, need account.Role) error {
	su := userFrom(ctx)
	if su == nil {
		return errorf(http.StatusUnauthorized, "unauthorized", "log in first")
	}
	if !su.user.Role.Allows(need) {
		return errorf(http.StatusForbidden, "forbidden", "needs the %s role", need)
	}
	return nil
}

// sessionRoute registers a console endpoint that needs a session with at
// least the given role.
func (s *Server) sessionRoute(pattern string, need account.Role, h handlerFunc) {
	route := pattern[strings.IndexByte(pattern, ' ')+1:]
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		if r2, err := s.sessionRequest(r, need); err != nil {
			s.writeError(sw, r, err)
		} else if err := h(sw, r2); err != nil {
			s.writeError(sw, r2, err)
		}
		s.m.requests.WithLabelValues(route, statusClass(sw.status)).Observe(time.Since(start).Seconds())
	})
}

type loginInput struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	// A cross-site page can POST a body with no Content-Type at all, which
	// decode lets through; demanding JSON forces a CORS preflight, so no
	// other site can log a browser in to an account of its choosing.
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json")
	}
	var in loginInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	token, u, err := s.o.Accounts.Login(r.Context(), in.Username, in.Password, clientIP(r))
	switch {
	case errors.Is(err, account.ErrRateLimited):
		s.log.WarnContext(r.Context(), "login rate-limited", "user", in.Username, "ip", clientIP(r))
		w.Header().Set("Retry-After", "900")
		return errorf(http.StatusTooManyRequests, "rate_limited", "too many failed logins: try again later")
	case errors.Is(err, account.ErrBadCredentials):
		s.log.InfoContext(r.Context(), "login failed", "user", in.Username, "ip", clientIP(r))
		return errorf(http.StatusUnauthorized, "bad_credentials", "wrong username or password")
	case err != nil:
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.o.SecureCookies || r.TLS != nil,
		MaxAge: int(s.o.Accounts.SessionTTL().Seconds())})
	s.log.InfoContext(r.Context(), "logged in", "user", u.Username, "role", u.Role)
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	su := userFrom(r.Context())
	if err := s.o.Accounts.Logout(r.Context(), su.token); err != nil {
		return err
	}
	if s.o.Roster != nil {
		s.setState(r.Context(), su.user.Username, "offline", "")
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.o.SecureCookies || r.TLS != nil, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// clientIP is the peer address; proxies' forwarding headers are not
// trusted, since anyone can set them.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// originAllowed accepts the page's own origin and the configured ones. A
// websocket is not bound by the same-origin policy, so without this any
// site an agent visits could open their console connection.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if strings.EqualFold(u.Host, r.Host) && (u.Scheme == scheme || (s.o.SecureCookies && u.Scheme == "https")) {
		return true
	}
	return slices.ContainsFunc(s.o.AllowedOrigins, func(o string) bool { return strings.EqualFold(o, origin) })
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
