package elbv2

import (
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// decodeForm fills the SDK input struct that v points to from AWS Query parameters. The SDK's
// serializers name every parameter after the Go field, so the struct itself is the schema:
//
//	Names.member.1=a                                 list element (lists count from 1)
//	Actions.member.1.ForwardConfig.TargetGroups.member.2.Weight=20
//	Targets=                                         an empty list
//	Params.entry.1.key=k&Params.entry.1.value=v      map entry
//
// Parameters the struct has no field for are ignored.
func decodeForm(form url.Values, v any) error {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	d := formDecoder{form: form, keys: keys}
	return d.value("", reflect.ValueOf(v).Elem())
}

type formDecoder struct {
	form url.Values
	keys []string // sorted, for prefix searches
}

// withPrefix returns the keys that are prefix itself or lie below it.
func (d *formDecoder) withPrefix(prefix string) []string {
	i := sort.SearchStrings(d.keys, prefix)
	var out []string
	for ; i < len(d.keys) && strings.HasPrefix(d.keys[i], prefix); i++ {
		if k := d.keys[i]; len(k) == len(prefix) || k[len(prefix)] == '.' || strings.HasSuffix(prefix, ".") {
			out = append(out, k)
		}
	}
	return out
}

func (d *formDecoder) value(key string, v reflect.Value) error {
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			k := sf.Name
			if key != "" {
				k = key + "." + k
			}
			if len(d.withPrefix(k)) == 0 {
				continue
			}
			if err := d.value(k, v.Field(i)); err != nil {
				return err
			}
		}
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if err := d.value(key, p.Elem()); err != nil {
			return err
		}
		v.Set(p)
	case reflect.Slice:
		return d.list(key, v)
	case reflect.Map:
		return d.mapping(key, v)
	case reflect.String, reflect.Bool, reflect.Int32, reflect.Int64, reflect.Int:
		return d.scalar(key, v)
	}
	return nil
}

func (d *formDecoder) scalar(key string, v reflect.Value) error {
	vals, ok := d.form[key]
	if !ok || len(vals) == 0 {
		return fmt.Errorf("parameter %s needs a value", key)
	}
	s := vals[0]
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("parameter %s: %q is not a boolean", key, s)
		}
		v.SetBool(b)
	default:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("parameter %s: %q is not an integer", key, s)
		}
		v.SetInt(n)
	}
	return nil
}

// indices returns N when the elements under prefix are numbered 1..N without gaps.
func (d *formDecoder) indices(prefix string) (int, error) {
	seen := map[int]bool{}
	for _, k := range d.withPrefix(prefix) {
		idx, _, _ := strings.Cut(k[len(prefix):], ".")
		n, err := strconv.Atoi(idx)
		if err != nil || n < 1 || strconv.Itoa(n) != idx {
			return 0, fmt.Errorf("parameter %s: %q is not a list index", k, idx)
		}
		seen[n] = true
	}
	for i := 1; i <= len(seen); i++ {
		if !seen[i] {
			return 0, fmt.Errorf("parameter %s%d is missing", prefix, i)
		}
	}
	return len(seen), nil
}

func (d *formDecoder) list(key string, v reflect.Value) error {
	prefix := key + ".member."
	n, err := d.indices(prefix)
	if err != nil {
		return err
	}
	s := reflect.MakeSlice(v.Type(), n, n)
	for i := 0; i < n; i++ {
		if err := d.value(prefix+strconv.Itoa(i+1), s.Index(i)); err != nil {
			return err
		}
	}
	v.Set(s) // "Key=" alone is an empty, not an absent, list
	return nil
}

func (d *formDecoder) mapping(key string, v reflect.Value) error {
	if v.Type().Key().Kind() != reflect.String {
		return nil
	}
	prefix := key + ".entry."
	n, err := d.indices(prefix)
	if err != nil {
		return err
	}
	m := reflect.MakeMapWithSize(v.Type(), n)
	for i := 1; i <= n; i++ {
		k := reflect.New(v.Type().Key()).Elem()
		val := reflect.New(v.Type().Elem()).Elem()
		entry := prefix + strconv.Itoa(i)
		if err := d.value(entry+".key", k); err != nil {
			return err
		}
		if err := d.value(entry+".value", val); err != nil {
			return err
		}
		m.SetMapIndex(k, val)
	}
	v.Set(m)
	return nil
}
