package exchange

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// The service's JSON is loosely typed: counts arrive as numbers or numeric strings, Unlimited
// values as "Unlimited", identities as strings or objects, enums as strings or {"Value": ..}
// (observed in the ExchangeOnlineManagement module's traffic; UNCONFIRMED). These accessors accept every form seen.

// String returns a property as text: a JSON string, a number or bool in its text form, or the
// Name/Id/Value/DisplayName of an object.
func (o Object) String(key string) string {
	raw, ok := o[key]
	if !ok {
		return ""
	}
	return rawString(raw)
}

func rawString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return strconv.FormatBool(b)
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil {
		for _, k := range []string{"Name", "Id", "Value", "DisplayName", "Identity"} {
			if v, ok := obj[k]; ok {
				if s := rawString(v); s != "" {
					return s
				}
			}
		}
	}
	return ""
}

// Identity is String for identity-like properties (SourceEndpoint, BatchId, Identity).
func (o Object) Identity(key string) string { return o.String(key) }

// Int returns a count. ok is false when the property is absent, empty or not a number
// ("Unlimited" included; see Unlimited).
func (o Object) Int(key string) (int64, bool) {
	s := strings.TrimSpace(o.String(key))
	if s == "" {
		return 0, false
	}
	s = strings.ReplaceAll(s, ",", "")
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return int64(f), true
	}
	return 0, false
}

// IntOr returns Int or def.
func (o Object) IntOr(key string, def int64) int64 {
	if n, ok := o.Int(key); ok {
		return n
	}
	return def
}

// Unlimited reports whether an Unlimited<int> property says "Unlimited".
func (o Object) Unlimited(key string) bool {
	return strings.EqualFold(strings.TrimSpace(o.String(key)), "unlimited")
}

// Bool returns a boolean given as true/false or "True"/"False".
func (o Object) Bool(key string) bool {
	b, _ := strconv.ParseBool(strings.TrimSpace(o.String(key)))
	return b
}

// Strings returns a multi-valued property: a JSON array of strings, or one string.
func (o Object) Strings(key string) []string {
	raw, ok := o[key]
	if !ok {
		return nil
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		out := make([]string, 0, len(list))
		for _, v := range list {
			if s := rawString(v); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	if s := rawString(raw); s != "" {
		return []string{s}
	}
	return nil
}

// Time returns a date-time property; zero when absent or unreadable.
func (o Object) Time(key string) time.Time {
	s := strings.TrimSpace(o.String(key))
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05", "1/2/2006 3:04:05 PM"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	if strings.HasPrefix(s, "/Date(") {
		inner := strings.TrimSuffix(strings.TrimPrefix(s, "/Date("), ")/")
		if i := strings.IndexAny(inner, "+-"); i > 0 {
			inner = inner[:i]
		}
		if ms, err := strconv.ParseInt(inner, 10, 64); err == nil {
			return time.UnixMilli(ms).UTC()
		}
	}
	return time.Time{}
}

// ByteArray encodes CSVData-style byte[] parameters as the module does:
// {"@odata.type":"#Exchange.ByteArrayType","Data":[bytes as numbers]} (observed in the ExchangeOnlineManagement module's traffic; UNCONFIRMED; the
// array-of-numbers form follows the $metadata declaration Collection(Edm.Byte); UNCONFIRMED live,
// the base64 string form is the documented alternative of one C# client).
func ByteArray(data []byte) map[string]any {
	ints := make([]int, len(data))
	for i, b := range data {
		ints[i] = int(b)
	}
	return map[string]any{"@odata.type": "#Exchange.ByteArrayType", "Data": ints}
}
