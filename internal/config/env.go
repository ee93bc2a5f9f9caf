package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// applyEnv overlays TAMAS_<SECTION>_<KEY> variables on cfg: the name is the
// YAML path upper-cased with dots as underscores (http.listen →
// TAMAS_HTTP_LISTEN). Lists are comma-separated.
func applyEnv(cfg *Config, environ []string) error {
	return walk(reflect.ValueOf(cfg).Elem(), "", func(key string, v reflect.Value) error {
		name := "TAMAS_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
		raw, ok := lookupEnv(environ, name)
		if !ok {
			return nil
		}
		if err := set(v, raw); err != nil {
			return &FieldError{Key: key, Reason: fmt.Sprintf("%s=%q: %v", name, raw, err)}
		}
		return nil
	})
}

var durationType = reflect.TypeOf(time.Duration(0))

// walk calls fn for every settable leaf of v with its YAML path.
func walk(v reflect.Value, prefix string, fn func(key string, v reflect.Value) error) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct {
			if err := walk(fv, key, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(key, fv); err != nil {
			return err
		}
	}
	return nil
}

func set(v reflect.Value, raw string) error {
	raw = strings.TrimSpace(raw)
	if v.Type() == durationType {
		d, err := time.ParseDuration(raw)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := strconv.ParseInt(raw, 10, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return err
		}
		v.SetFloat(f)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("not settable from the environment")
		}
		var parts []string
		for p := range strings.SplitSeq(raw, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("not settable from the environment")
	}
	return nil
}

// Keys lists every setting's YAML path, for documentation checks.
func Keys() []string {
	var keys []string
	cfg := Default()
	walk(reflect.ValueOf(&cfg).Elem(), "", func(key string, _ reflect.Value) error {
		keys = append(keys, key)
		return nil
	})
	return keys
}
