package fakecloud

// Validation of the bodies of POST and PATCH /v1.0/users (https://learn.microsoft.com/graph/api/user-post-users,
// https://learn.microsoft.com/graph/api/user-update): property names, types, lengths and syntax, the
// password policy, and the salted hash the fake keeps instead of a password.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"unicode"

	"golang.org/x/text/language"
)

// upnLocalChars are the characters allowed before the @ (https://learn.microsoft.com/entra/identity/authentication/concept-sspr-policy).
const upnLocalChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.-_!#^~"

// validUPNSyntax checks the UPN policy of https://learn.microsoft.com/entra/identity/authentication/concept-sspr-policy: local@domain, ≤64 before @, ≤48 after, ≤113 in
// all, allowed characters, no "." first or right before the @.
func validUPNSyntax(upn string) bool {
	local, domain, ok := strings.Cut(upn, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return false
	}
	if len(upn) > 113 || len(local) > 64 || len(domain) > 48 {
		return false
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") {
		return false
	}
	for _, r := range local {
		if !strings.ContainsRune(upnLocalChars, r) {
			return false
		}
	}
	if !strings.Contains(domain, ".") {
		return false
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" {
			return false
		}
		for _, r := range label {
			if r >= unicode.MaxASCII || (!unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-') {
				return false
			}
		}
	}
	return true
}

// validMailNickname rejects what Exchange does not take in an alias (UNCONFIRMED list: non-ASCII,
// space and @ ( ) \ [ ] " ; : < > ,).
func validMailNickname(v string) bool {
	for _, r := range v {
		if r <= ' ' || r >= unicode.MaxASCII || strings.ContainsRune(`@()\[]";:<>,`, r) {
			return false
		}
	}
	return true
}

// validUsageLocation accepts ISO 3166-1 alpha-2 country codes.
func validUsageLocation(v string) bool {
	if len(v) != 2 {
		return false
	}
	reg, err := language.ParseRegion(v)
	return err == nil && reg.IsCountry() && strings.EqualFold(reg.String(), v)
}

// passwordComplex applies the cloud password policy of https://learn.microsoft.com/entra/identity/authentication/concept-sspr-policy: 8–256 ASCII characters from at
// least 3 of lower case, upper case, digits and symbols (space included). The banned-password
// list is not modelled.
func passwordComplex(pw string) bool {
	if len(pw) < 8 || len(pw) > 256 {
		return false
	}
	var lower, upper, digit, symbol bool
	for _, r := range pw {
		switch {
		case r > unicode.MaxASCII || r < ' ':
			return false
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= '0' && r <= '9':
			digit = true
		default:
			symbol = true
		}
	}
	n := 0
	for _, b := range []bool{lower, upper, digit, symbol} {
		if b {
			n++
		}
	}
	return n >= 3
}

// hashPassword returns the salted SHA-256 of pw and its salt, both hex.
func hashPassword(pw string) (hash, salt string) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	salt = hex.EncodeToString(b)
	return passwordDigest(salt, pw), salt
}

func passwordDigest(salt, pw string) string {
	h := sha256.Sum256([]byte(salt + "\x00" + pw))
	return hex.EncodeToString(h[:])
}

// userPatch is a decoded create or update body. Strings map Graph names to a value or nil (null).
type userPatch struct {
	strings        map[string]*string
	businessPhones *[]string
	otherMails     *[]string
	accountEnabled *bool
	password       *string
	forceChange    *bool
}

// parseUserBody decodes and checks a POST/PATCH /users body (everything that needs no state).
func parseUserBody(r *http.Request, create bool) (userPatch, *userError) {
	p := userPatch{strings: map[string]*string{}}
	var body map[string]json.RawMessage
	if err := decodeBody(r, &body); err != nil {
		return p, userBadRequest("%s", err.Error())
	}
	for _, key := range sortedKeys(body) {
		raw := body[key]
		if strings.HasPrefix(key, "@") {
			continue
		}
		if prop := findUserProp(key); prop != nil {
			var v *string
			if json.Unmarshal(raw, &v) != nil {
				return p, invalidUserValue(prop.name)
			}
			p.strings[prop.name] = v
			continue
		}
		switch strings.ToLower(key) {
		case "businessphones", "othermails":
			var v []string
			if json.Unmarshal(raw, &v) != nil {
				return p, invalidUserValue(key)
			}
			if v == nil {
				v = []string{}
			}
			if strings.EqualFold(key, "businessPhones") {
				p.businessPhones = &v
			} else {
				p.otherMails = &v
			}
		case "accountenabled":
			var v *bool
			if json.Unmarshal(raw, &v) != nil || v == nil {
				return p, invalidUserValue("accountEnabled")
			}
			p.accountEnabled = v
		case "passwordprofile":
			var pp map[string]json.RawMessage
			if json.Unmarshal(raw, &pp) != nil || pp == nil {
				return p, invalidUserValue("passwordProfile")
			}
			for k, v := range pp {
				switch strings.ToLower(k) {
				case "password":
					var s *string
					if json.Unmarshal(v, &s) != nil {
						return p, invalidUserValue("passwordProfile")
					}
					p.password = s
				case "forcechangepasswordnextsignin", "forcechangepasswordnextsigninwithmfa":
					var b bool
					if json.Unmarshal(v, &b) != nil {
						return p, invalidUserValue("passwordProfile")
					}
					if strings.EqualFold(k, "forceChangePasswordNextSignIn") {
						p.forceChange = &b
					}
				default:
					return p, userBadRequest("Property '%s' does not exist as a declared property or extension property.", k) // UNCONFIRMED wording
				}
			}
		default:
			for _, ro := range readOnlyUserProps {
				if strings.EqualFold(ro, key) {
					return p, userBadRequest("Property '%s' is read-only and cannot be set.", ro) // UNCONFIRMED wording
				}
			}
			return p, userBadRequest("Property '%s' does not exist as a declared property or extension property.", key) // UNCONFIRMED wording
		}
	}

	if create {
		// Required properties (https://learn.microsoft.com/graph/api/user-post-users). The wording for a missing one is UNCONFIRMED.
		for _, req := range []string{"accountEnabled", "displayName", "mailNickname", "passwordProfile", "userPrincipalName"} {
			missing := false
			switch req {
			case "accountEnabled":
				missing = p.accountEnabled == nil
			case "passwordProfile":
				missing = p.password == nil || *p.password == ""
			default:
				v := p.strings[req]
				missing = v == nil || strings.TrimSpace(*v) == ""
			}
			if missing {
				return p, userBadRequest("Property '%s' is required when creating the resource.", req)
			}
		}
	}
	for _, prop := range userStringProps { // in table order, so the first problem is always the same
		name := prop.name
		v, ok := p.strings[name]
		if !ok {
			continue
		}
		if v == nil {
			switch name {
			case "userPrincipalName", "displayName", "mailNickname":
				return p, invalidUserValue(name) // cannot be cleared
			}
			continue
		}
		if err := checkUserString(name, *v); err != nil {
			return p, err
		}
	}
	if p.businessPhones != nil {
		if len(*p.businessPhones) > 1 { // "only one number can be set"
			return p, invalidUserValue("businessPhones")
		}
		for _, v := range *p.businessPhones {
			if v == "" || len([]rune(v)) > 64 {
				return p, invalidUserValue("businessPhones")
			}
		}
	}
	if p.otherMails != nil {
		if len(*p.otherMails) > 250 {
			return p, invalidUserValue("otherMails")
		}
		for _, v := range *p.otherMails {
			if len(v) > 250 || !strings.Contains(v, "@") || strings.IndexFunc(v, func(r rune) bool { return r > unicode.MaxASCII || r <= ' ' }) >= 0 {
				return p, invalidUserValue("otherMails")
			}
		}
	}
	if p.password != nil {
		if *p.password == "" && !create {
			return p, invalidUserValue("passwordProfile")
		}
		if !passwordComplex(*p.password) {
			return p, userBadRequest("%s", msgWeakPassword)
		}
	}
	return p, nil
}

// checkUserString applies the limits of https://learn.microsoft.com/graph/api/resources/user to one string property.
func checkUserString(name, v string) *userError {
	prop := findUserProp(name)
	if v == "" || (prop.max > 0 && len([]rune(v)) > prop.max) {
		return invalidUserValue(name)
	}
	switch name {
	case "userPrincipalName":
		if !validUPNSyntax(v) {
			return invalidUserValue(name)
		}
	case "mailNickname":
		if !validMailNickname(v) {
			return invalidUserValue(name)
		}
	case "usageLocation":
		if !validUsageLocation(v) {
			return invalidUserValue(name)
		}
	case "preferredLanguage":
		if _, err := language.Parse(v); err != nil {
			return invalidUserValue(name)
		}
	case "passwordPolicies":
		for _, part := range strings.Split(v, ",") {
			switch strings.TrimSpace(part) {
			case "DisablePasswordExpiration", "DisableStrongPassword", "None":
			default:
				return invalidUserValue(name)
			}
		}
	}
	return nil
}
