package ari

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tamas-cc/tamas/telephony"
)

// StatusError is a non-2xx answer from ARI.
type StatusError struct {
	Op      string // what was attempted, e.g. "answer"
	Code    int    // HTTP status
	Message string // ARI's "message", if it sent one
}

func (e *StatusError) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("ari %s: %d %s", e.Op, e.Code, e.Message)
	}
	return fmt.Sprintf("ari %s: %d %s", e.Op, e.Code, http.StatusText(e.Code))
}

// callGone reports whether an answer means the channel has gone: 404 from a
// channel resource; 409 "not in Stasis application" (it left us, usually
// while hanging up); from bridges/addChannel, 400 "Channel not found" and
// 422 "not in Stasis".
func callGone(err error) bool {
	var se *StatusError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code {
	case http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity:
		return true
	case http.StatusBadRequest:
		return strings.Contains(se.Message, "Channel not found")
	}
	return false
}

// goneErr wraps err with telephony.ErrCallGone when it means the channel has
// gone, so that callers can test errors.Is(err, telephony.ErrCallGone).
func goneErr(err error) error {
	if err != nil && callGone(err) {
		return fmt.Errorf("%w: %w", telephony.ErrCallGone, err)
	}
	return err
}

// restClient speaks ARI's REST API. Every request carries a context and a
// timeout: Asterisk can be slow or gone, and call control must not hang.
type restClient struct {
	base    string // …/ari, without a trailing slash
	user    string
	pass    string
	hc      *http.Client
	timeout time.Duration
	m       *metrics
}

func newRESTClient(cfg Config, m *metrics) *restClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	return &restClient{
		base:    strings.TrimRight(cfg.URL, "/"),
		user:    cfg.Username,
		pass:    cfg.Password,
		hc:      &http.Client{Transport: tr},
		timeout: cfg.RequestTimeout,
		m:       m,
	}
}

func (c *restClient) close() { c.hc.CloseIdleConnections() }

// maxResponse bounds what is read of an answer: GET /channels on a busy
// Asterisk is large, but not this large.
const maxResponse = 32 << 20

// do sends one request. op names it for errors and metrics (a fixed set,
// never an id). Path segments must already be escaped (use seg). body, when
// not nil, is sent as JSON; out, when not nil, receives the JSON answer.
func (c *restClient) do(ctx context.Context, op, method, path string, q url.Values, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("ari %s: encode: %w", op, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("ari %s: %w", op, err)
	}
	req.SetBasicAuth(c.user, c.pass)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.m.rest.WithLabelValues(op, "error").Inc()
		return fmt.Errorf("ari %s: %w", op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	c.m.restSeconds.WithLabelValues(op).Observe(time.Since(start).Seconds())
	c.m.rest.WithLabelValues(op, strconv.Itoa(resp.StatusCode)).Inc()
	if err != nil {
		return fmt.Errorf("ari %s: read answer: %w", op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		se := &StatusError{Op: op, Code: resp.StatusCode}
		var msg struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &msg) == nil {
			se.Message = short(msg.Message)
		}
		return se
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("ari %s: decode answer: %w", op, err)
		}
	}
	return nil
}

// seg escapes one path segment (channel ids may hold ';' and other
// characters that mean something in a URL).
func seg(s string) string { return url.PathEscape(s) }
