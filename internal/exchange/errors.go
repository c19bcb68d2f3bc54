package exchange

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Kind classifies an Exchange error so callers can decide without parsing text.
type Kind string

// The kinds of error.
const (
	KindNotFound      Kind = "not_found"
	KindAlreadyExists Kind = "already_exists"
	KindValidation    Kind = "validation"
	KindPermission    Kind = "permission"
	KindThrottled     Kind = "throttled"
	KindAuth          Kind = "auth"
	KindOther         Kind = "other"
	// KindGroupManager: the caller is not an owner (ManagedBy) of the group and did not send
	// BypassSecurityGroupManagerCheck (OperationRequiresGroupManagerException).
	KindGroupManager Kind = "group_manager"
	// KindDKIMCNAMEMissing: Set-DkimSigningConfig -Enabled $true before Microsoft sees both
	// selector CNAMEs ("CNAME record does not exist for this config. Please publish the following
	// two CNAME records first. ..."; ValidationException,
	// https://learn.microsoft.com/defender-office-365/email-authentication-dkim-configure).
	KindDKIMCNAMEMissing Kind = "dkim_cname_missing"
	// KindAddressTaken: another recipient already has the proxy address ("The proxy address
	// \"SMTP:<address>\" is already being used by ...", or "Another object with the same value for
	// property proxyAddresses already exists"; the exception type over InvokeCommand is
	// UNCONFIRMED,
	// https://learn.microsoft.com/troubleshoot/exchange/email-alias/proxy-address-being-used).
	KindAddressTaken Kind = "address_taken"
	// KindDomainNotAccepted: the address's domain is not an accepted domain of the organisation
	// (the service's wording is UNCONFIRMED; matched on "accepted domain").
	KindDomainNotAccepted Kind = "domain_not_accepted"
	// KindTooManyAddresses: more than 300 proxy addresses on one recipient ("There are too many
	// proxy addresses: <X>, and maximum supported number of recipient proxy addresses is 300",
	// https://learn.microsoft.com/troubleshoot/exchange/administration/too-many-proxy-addresses-error).
	KindTooManyAddresses Kind = "too_many_addresses"
)

// Error is a failed cmdlet in plain terms.
type Error struct {
	Cmdlet     string
	Kind       Kind
	HTTPStatus int
	Code       string // error.code: NotFound, BadRequest, ...
	// ExceptionType is the .NET exception, e.g.
	// Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException.
	ExceptionType string
	ErrorID       string // the first part of the pipe form, e.g. Ex6F9304
	Message       string // the service's own words
	err           error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s failed", e.Cmdlet)
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, " (HTTP %d", e.HTTPStatus)
		if e.ExceptionType != "" {
			fmt.Fprintf(&b, ", %s", shortType(e.ExceptionType))
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, ": %s", e.Message)
	return b.String()
}

func (e *Error) Unwrap() error { return e.err }

func shortType(t string) string {
	if i := strings.LastIndex(t, "."); i >= 0 {
		return t[i+1:]
	}
	return t
}

// IsKind reports whether err is an *Error of kind k.
func IsKind(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}

// IsNotFound reports an object that does not exist.
func IsNotFound(err error) bool { return IsKind(err, KindNotFound) }

type wireError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Code    string `json:"code"`
			Target  string `json:"target"`
			Message string `json:"message"`
		} `json:"details"`
		InnerError struct {
			Message           string `json:"message"`
			Type              string `json:"type"`
			InternalException struct {
				Message string `json:"message"`
				Type    string `json:"type"`
			} `json:"internalexception"`
		} `json:"innererror"`
	} `json:"error"`
}

// decodeError turns a non-2xx answer into *Error, reading both forms of details[].message:
// "<id>|<ExceptionType>|<text>" and the JSON string {"Message":..,"TypeName":..}
// (observed in the ExchangeOnlineManagement module's traffic; UNCONFIRMED).
func decodeError(cmdlet string, resp *http.Response, body []byte) *Error {
	e := &Error{Cmdlet: cmdlet, HTTPStatus: resp.StatusCode, ExceptionType: resp.Header.Get("X-ExceptionType")}
	text := strings.TrimSpace(strings.Trim(string(body), "\x00"))
	var w wireError
	if json.Unmarshal(body, &w) == nil && (w.Error.Code != "" || w.Error.Message != "") {
		e.Code = w.Error.Code
		e.Message = w.Error.Message
		for _, d := range w.Error.Details {
			if d.Message == "" {
				continue
			}
			id, typ, msg := parseDetail(d.Message)
			if msg != "" {
				e.Message = msg
			}
			if typ != "" {
				e.ExceptionType = typ
			}
			e.ErrorID = id
			break
		}
		if e.ExceptionType == "" {
			e.ExceptionType = w.Error.InnerError.InternalException.Type
		}
		if (e.Message == "" || e.Message == "Error executing cmdlet") && w.Error.InnerError.InternalException.Message != "" {
			e.Message = w.Error.InnerError.InternalException.Message
		}
	} else if text != "" {
		e.Message = truncate(text, 500)
	}
	e.Kind = classify(e, text)
	if e.Message == "" {
		switch resp.StatusCode {
		case http.StatusForbidden:
			e.Message = "the service answered 403 with an empty body. The application lacks the Exchange.ManageAsApp application permission (Office 365 Exchange Online API, admin consent granted) or an Entra role that includes the Migration and Move Mailboxes Exchange roles (Exchange Administrator), or the cmdlet is not available to it"
			if d := resp.Header.Get("x-ms-diagnostics"); d != "" {
				e.Message += ". x-ms-diagnostics: " + d
			}
		case http.StatusUnauthorized:
			e.Message = "the service refused the token (401). Check that the app registration has the Exchange.ManageAsApp permission with admin consent"
		default:
			e.Message = fmt.Sprintf("HTTP %d with no error text", resp.StatusCode)
		}
	}
	return e
}

func parseDetail(m string) (id, typ, msg string) {
	m = strings.TrimSpace(m)
	if strings.HasPrefix(m, "{") {
		var j struct {
			Message  string `json:"Message"`
			TypeName string `json:"TypeName"`
		}
		if json.Unmarshal([]byte(m), &j) == nil {
			return "", j.TypeName, j.Message
		}
	}
	if parts := strings.SplitN(m, "|", 3); len(parts) == 3 {
		return parts[0], parts[1], parts[2]
	}
	return "", "", m
}

func classify(e *Error, raw string) Kind {
	t := strings.ToLower(e.ExceptionType)
	msg := strings.ToLower(e.Message)
	switch {
	case strings.Contains(t, "operationrequiresgroupmanager"):
		return KindGroupManager
	case strings.Contains(t, "validationexception") && strings.Contains(msg, "cname record does not exist"):
		return KindDKIMCNAMEMissing
	case strings.Contains(msg, "is already being used by") || strings.Contains(msg, "same value for property proxyaddresses"):
		return KindAddressTaken
	case strings.Contains(msg, "too many proxy addresses"):
		return KindTooManyAddresses
	case strings.Contains(msg, "accepted domain"):
		return KindDomainNotAccepted
	case e.HTTPStatus == http.StatusTooManyRequests || strings.Contains(raw, concurrencyText):
		return KindThrottled
	case e.HTTPStatus == http.StatusUnauthorized || e.HTTPStatus == http.StatusForbidden:
		return KindPermission
	case strings.Contains(t, "notfound") || e.HTTPStatus == http.StatusNotFound:
		return KindNotFound
	case strings.Contains(t, "alreadyexists") || strings.Contains(t, "duplicate") || strings.Contains(msg, "already exists"):
		return KindAlreadyExists
	case e.HTTPStatus == http.StatusBadRequest:
		return KindValidation
	}
	return KindOther
}

// adminErrors turns a non-empty @adminapi.errors of a 200 answer into an error: the cmdlet wrote
// non-terminating errors (observed in the ExchangeOnlineManagement module's traffic; UNCONFIRMED).
func adminErrors(cmdlet string, raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" || string(raw) == "[]" {
		return nil
	}
	var list []any
	if json.Unmarshal(raw, &list) == nil && len(list) == 0 {
		return nil
	}
	var msgs []string
	for _, item := range list {
		switch v := item.(type) {
		case string:
			msgs = append(msgs, v)
		case map[string]any:
			if m, ok := v["Message"].(string); ok {
				msgs = append(msgs, m)
			} else if m, ok := v["message"].(string); ok {
				msgs = append(msgs, m)
			}
		}
	}
	if len(msgs) == 0 {
		msgs = append(msgs, truncate(string(raw), 300))
	}
	e := &Error{Cmdlet: cmdlet, HTTPStatus: http.StatusOK, Message: "the cmdlet reported errors: " + strings.Join(msgs, "; ")}
	if e.Kind = classify(e, ""); e.Kind == KindOther {
		e.Kind = KindValidation
	}
	return e
}
