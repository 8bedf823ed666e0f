package elbv2

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// maxPageSize is AWS's limit on PageSize, and the page size when none is given.
const maxPageSize = 400

// page returns the items a Marker and PageSize select and the marker of the next page (nil on
// the last). Markers are opaque to callers; here they hold an offset.
func page[T any](items []T, marker *string, size *int32) ([]T, *string, error) {
	n := maxPageSize
	if size != nil {
		if *size < 1 || *size > maxPageSize {
			return nil, nil, invalid("PageSize must be between 1 and %d", maxPageSize)
		}
		n = int(*size)
	}
	start := 0
	if marker != nil {
		raw, err := base64.StdEncoding.DecodeString(*marker)
		off, ok := strings.CutPrefix(string(raw), "offset:")
		if err == nil && ok {
			start, err = strconv.Atoi(off)
		}
		if err != nil || !ok || start < 0 {
			return nil, nil, invalid("Invalid marker '%s'", *marker)
		}
	}
	start = min(start, len(items))
	end := min(start+n, len(items))
	var next *string
	if end < len(items) {
		next = ptr(base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(end))))
	}
	return items[start:end], next, nil
}
