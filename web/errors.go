package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/wrapup"
)

// apiError is the body of every error response.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true) // caller names are untrusted: keep < > & escaped even in JSON
	enc.Encode(v)
}

// writeError maps domain errors onto API errors. Anything unexpected is
// logged with the request and reported as "internal" without details.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var fe *crm.FieldError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &fe):
		ae = &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: fe.Error(), Field: fe.Field}
	case errors.Is(err, wrapup.ErrForbidden):
		ae = errorf(http.StatusForbidden, "forbidden", "this call is another agent's")
	case errors.Is(err, crm.ErrNotFound):
		ae = errorf(http.StatusNotFound, "not_found", "not found")
	case errors.Is(err, crm.ErrConflict):
		ae = errorf(http.StatusConflict, "conflict", "conflicting change, reload and retry")
	default:
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = errorf(http.StatusInternalServerError, "internal", "internal error")
	}
	writeJSON(w, ae.Status, map[string]*apiError{"error": ae})
}

// decode reads one JSON object into v: bounded in size, unknown fields
// rejected, nothing after it.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json")
	}
	body := http.MaxBytesReader(w, r.Body, s.maxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil || !isMaxBytes(err) {
			return errorf(http.StatusBadRequest, "bad_json", "unexpected data after the JSON object")
		}
		return decodeError(err)
	}
	return nil
}

func isMaxBytes(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case isMaxBytes(err):
		return errorf(http.StatusRequestEntityTooLarge, "too_large", "request body is too large")
	case errors.As(err, &syn):
		return errorf(http.StatusBadRequest, "bad_json", "malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return &apiError{Status: http.StatusBadRequest, Code: "bad_json", Field: typ.Field,
			Message: fmt.Sprintf("%s must be %s", typ.Field, typ.Type)}
	case errors.Is(err, io.EOF):
		return errorf(http.StatusBadRequest, "bad_json", "empty body")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(http.StatusBadRequest, "bad_json", "truncated JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &apiError{Status: http.StatusBadRequest, Code: "unknown_field", Field: f, Message: "unknown field " + f}
	default:
		return errorf(http.StatusBadRequest, "bad_json", "%v", err)
	}
}
