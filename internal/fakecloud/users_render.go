package fakecloud

// Rendering of users as Graph's user entity (https://learn.microsoft.com/graph/api/resources/user):
// every property, the default property set, $select and the properties $filter can name.

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud/odata"
)

// securityIdentifier derives the S-1-12-1-... SID Entra shows for a cloud object id.
func securityIdentifier(id string) string {
	b, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	if err != nil || len(b) != 16 {
		return ""
	}
	// The GUID's fields are little-endian in the SID's four 32-bit parts.
	guid := []byte{b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]}
	parts := make([]string, 4)
	for i := range parts {
		v := uint32(guid[i*4]) | uint32(guid[i*4+1])<<8 | uint32(guid[i*4+2])<<16 | uint32(guid[i*4+3])<<24
		parts[i] = strconv.FormatUint(uint64(v), 10)
	}
	return "S-1-12-1-" + strings.Join(parts, "-")
}

// entraUserJSON renders every property of u (Graph's user entity, null for unset strings).
func entraUserJSON(st *State, u User) map[string]any {
	m := map[string]any{"id": u.ID}
	for _, p := range userStringProps {
		if v := *p.get(&u); v != "" {
			m[p.name] = v
		} else {
			m[p.name] = nil
		}
	}
	m["businessPhones"] = nonNilStrings(u.BusinessPhones)
	m["otherMails"] = nonNilStrings(u.OtherMails)
	m["accountEnabled"] = u.AccountEnabled
	lic := make([]map[string]any, 0, len(u.AssignedLicenses))
	for _, l := range u.AssignedLicenses {
		lic = append(lic, map[string]any{"skuId": l.SkuID, "disabledPlans": nonNilStrings(l.DisabledPlans)})
	}
	m["assignedLicenses"] = lic
	m["createdDateTime"] = u.CreatedDateTime.UTC().Format(time.RFC3339)
	m["securityIdentifier"] = securityIdentifier(u.ID)
	m["mail"] = nil
	proxies := []string{}
	if hasExchangePlan(st, u.AssignedLicenses) {
		m["mail"] = u.UserPrincipalName
		proxies = append(proxies, "SMTP:"+u.UserPrincipalName)
	}
	m["proxyAddresses"] = proxies
	if u.Deleted {
		m["deletedDateTime"] = u.DeletedDateTime.UTC().Format(time.RFC3339)
	} else {
		m["deletedDateTime"] = nil
	}
	return m
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// defaultUserProps are returned without $select (https://learn.microsoft.com/graph/api/resources/user).
var defaultUserProps = func() map[string]bool {
	m := map[string]bool{"id": true, "businessPhones": true, "mail": true, "securityIdentifier": true}
	for _, p := range userStringProps {
		if p.def {
			m[p.name] = true
		}
	}
	return m
}()

// projectUsers applies $select (or the default property set) to rendered users.
func projectUsers(r *http.Request, objs []map[string]any) ([]map[string]any, []string, error) {
	if strings.TrimSpace(r.URL.Query().Get("$select")) != "" {
		if len(objs) == 0 {
			// Validate the names against a rendered blank user.
			probe := []map[string]any{entraUserJSON(&State{}, User{})}
			if _, _, err := applySelect(r, "microsoft.graph.user", probe); err != nil {
				return nil, nil, err
			}
		}
		return applySelect(r, "microsoft.graph.user", objs)
	}
	out := make([]map[string]any, len(objs))
	for i, o := range objs {
		m := map[string]any{}
		for k, v := range o {
			if defaultUserProps[k] || strings.HasPrefix(k, "@") {
				m[k] = v
			}
		}
		out[i] = m
	}
	return out, nil, nil
}

// parseUserFilter parses a $filter on users (odata.Parse with the properties of a rendered user).
func parseUserFilter(src string) (odata.Filter, string, error) {
	return odata.Parse(src, userFilterProperty)
}

// userFilterProperty resolves a property name of a rendered user (case-insensitive).
func userFilterProperty(name string) (string, error) {
	probe := entraUserJSON(&State{}, User{})
	for k := range probe {
		if strings.EqualFold(k, name) {
			return k, nil
		}
	}
	return "", fmt.Errorf("could not find a property named '%s' on type 'microsoft.graph.user'", name)
}
