package web

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tamas-cc/tamas/account"
	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/screenpop"
	"github.com/tamas-cc/tamas/wrapup"
)

// Options wires a Server.
type Options struct {
	Directory *crm.Directory
	Logger    *slog.Logger
	// Registry receives the server's metrics and is served on /metrics.
	Registry *prometheus.Registry
	// MaxBodyBytes bounds request bodies.
	MaxBodyBytes int64
	// APITokens are bearer tokens that grant API access. The API refuses
	// every request when there are none.
	APITokens []string
	// Ready reports whether the node can take traffic; nil means always.
	Ready func(ctx context.Context) error

	// The agent console. Without Accounts the console and session logins
	// are off and only bearer tokens open the API.
	Accounts   *account.Service
	Activities crm.ActivityStore
	Roster     *screenpop.Roster
	// Publisher sends console messages (agent states); nil tells nobody.
	Publisher screenpop.Publisher
	// Console serves the console websocket; nil answers 503.
	Console ConsoleHub
	// Dialer places click-to-call calls; nil answers 503.
	Dialer Dialer
	// WrapUps runs agents' wrap-ups; nil answers 503.
	WrapUps      WrapUps
	Dispositions []wrapup.Disposition
	// AllowedOrigins may open the console websocket beside the page's own
	// origin.
	AllowedOrigins []string
	// SecureCookies marks the session cookie Secure even without TLS on
	// this hop (a TLS proxy in front).
	SecureCookies bool
}

// Server serves the HTTP API.
type Server struct {
	o       Options
	dir     *crm.Directory
	log     *slog.Logger
	maxBody int64
	tokens  [][]byte
	ready   func(ctx context.Context) error
	mux     *http.ServeMux
	m       *metrics
}

type metrics struct {
	requests *prometheus.HistogramVec
	lookups  *prometheus.HistogramVec
}

// New returns a Server; mount it with Handler.
func New(o Options) *Server {
	s := &Server{o: o, dir: o.Directory, log: o.Logger, maxBody: o.MaxBodyBytes, ready: o.Ready, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = 1 << 20
	}
	for _, t := range o.APITokens {
		if t != "" {
			s.tokens = append(s.tokens, []byte(t))
		}
	}
	s.m = &metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tamas_http_request_duration_seconds", Help: "HTTP API requests by route and status class.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9),
		}, []string{"route", "code"}),
		lookups: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tamas_crm_lookup_duration_seconds", Help: "Caller-ID lookups by outcome.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 14),
		}, []string{"outcome"}),
	}
	reg := o.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	reg.MustRegister(s.m.requests, s.m.lookups)

	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	s.route("GET /api/v1/contacts", s.listContacts)
	s.route("POST /api/v1/contacts", s.createContact)
	s.route("GET /api/v1/contacts/{id}", s.getContact)
	s.route("PUT /api/v1/contacts/{id}", s.updateContact)
	s.route("DELETE /api/v1/contacts/{id}", s.deleteContact)
	s.route("GET /api/v1/organizations", s.listOrganizations)
	s.route("POST /api/v1/organizations", s.createOrganization)
	s.route("GET /api/v1/organizations/{id}", s.getOrganization)
	s.route("GET /api/v1/organizations/{id}/members", s.listMembers)
	s.route("GET /api/v1/lookup", s.lookup)
	s.route("GET /api/v1/activities", s.listActivities)
	s.route("GET /api/v1/activities/export.csv", s.exportActivities)
	s.route("GET /api/v1/tasks", s.listTasks)
	if o.Accounts != nil {
		s.consoleRoutes()
	}
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errorf(http.StatusNotFound, "not_found", "no such endpoint"))
	})
	return s
}

// Handler returns the root handler.
func (s *Server) Handler() http.Handler { return s.mux }

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route registers an authenticated, measured API endpoint.
func (s *Server) route(pattern string, h handlerFunc) {
	route := pattern[strings.IndexByte(pattern, ' ')+1:]
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		if r2, err := s.authenticate(r); err != nil {
			sw.Header().Set("WWW-Authenticate", `Bearer realm="tamas"`)
			s.writeError(sw, r, err)
		} else if err := h(sw, r2); err != nil {
			s.writeError(sw, r, err)
		}
		s.m.requests.WithLabelValues(route, statusClass(sw.status)).Observe(time.Since(start).Seconds())
	})
}

// authenticate admits a request with an API bearer token, or a console
// session cookie of an agent or above. It returns the request carrying the
// session's user, if any.
func (s *Server) authenticate(r *http.Request) (*http.Request, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" && s.o.Accounts != nil {
		if _, err := r.Cookie(sessionCookie); err == nil {
			return s.sessionRequest(r, account.RoleAgent)
		}
	}
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		return r, errorf(http.StatusUnauthorized, "unauthorized", "missing bearer token")
	}
	for _, t := range s.tokens {
		if subtle.ConstantTimeCompare(t, []byte(token)) == 1 {
			return r, nil
		}
	}
	return r, errorf(http.StatusUnauthorized, "unauthorized", "invalid token")
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.ready(ctx); err != nil {
			s.log.WarnContext(r.Context(), "not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func statusClass(code int) string {
	return [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}[min(max(code/100, 1), 5)-1]
}
