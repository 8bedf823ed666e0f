package elbv2

import (
	"bytes"
	"encoding/xml"
	"reflect"
	"sort"
	"strconv"
	"time"

	smithytime "github.com/aws/smithy-go/time"
)

// xmlNamespace is the ELBv2 API's XML namespace.
const xmlNamespace = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

var timeType = reflect.TypeFor[time.Time]()

// encodeResult writes an SDK output struct as the Query protocol's <XResult> content: each field
// an element named after it, lists as <member> elements, maps as <entry><key/><value/></entry>,
// timestamps in ISO 8601. nil fields are left out and empty lists are written empty, which the
// SDK's deserializers turn back into nil and empty.
func encodeResult(b *bytes.Buffer, out any) {
	v := reflect.ValueOf(out)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	encodeFields(b, v)
}

func encodeFields(b *bytes.Buffer, v reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() || sf.Name == "ResultMetadata" {
			continue
		}
		encodeElement(b, sf.Name, v.Field(i))
	}
}

func encodeElement(b *bytes.Buffer, name string, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			encodeValue(b, name, v.Elem())
		}
	case reflect.Slice, reflect.Map:
		if !v.IsNil() {
			encodeValue(b, name, v)
		}
	case reflect.Interface:
		// documents: the ELBv2 API has none
	default:
		if !v.IsZero() { // enums and plain scalars: the SDK serializes only set ones
			encodeValue(b, name, v)
		}
	}
}

func encodeValue(b *bytes.Buffer, name string, v reflect.Value) {
	b.WriteString("<" + name + ">")
	switch {
	case v.Type() == timeType:
		b.WriteString(smithytime.FormatDateTime(v.Interface().(time.Time)))
	case v.Kind() == reflect.Struct:
		encodeFields(b, v)
	case v.Kind() == reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			encodeMember(b, "member", v.Index(i))
		}
	case v.Kind() == reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			b.WriteString("<entry>")
			encodeMember(b, "key", k)
			encodeMember(b, "value", v.MapIndex(k))
			b.WriteString("</entry>")
		}
	case v.Kind() == reflect.String:
		_ = xml.EscapeText(b, []byte(v.String()))
	case v.Kind() == reflect.Bool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case v.CanInt():
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	case v.CanFloat():
		b.WriteString(strconv.FormatFloat(v.Float(), 'g', -1, 64))
	}
	b.WriteString("</" + name + ">")
}

// encodeMember writes a list or map element, which is written even when zero.
func encodeMember(b *bytes.Buffer, name string, v reflect.Value) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	encodeValue(b, name, v)
}
