package fakecloud

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
)

// CmdletFunc runs one Exchange cmdlet. It returns the objects of the `value` array (nil or empty
// for cmdlets without output) or an error; an *ExoError becomes the service's error envelope, any
// other error a 500.
type CmdletFunc func(ctx *CmdletContext, p Params) ([]map[string]any, error)

// cmdletSpec is a registered cmdlet.
type cmdletSpec struct {
	Name string
	// Params are the parameter names the cmdlet accepts (case-insensitive); nil accepts anything.
	// The common parameters (Confirm, WhatIf, ErrorAction, ...) are always accepted.
	Params []string
	Run    CmdletFunc
}

// cmdlets maps lower-case cmdlet names to their specs.
var cmdlets = map[string]cmdletSpec{}

// commonParams are accepted by every cmdlet.
var commonParams = []string{"Confirm", "WhatIf", "ErrorAction", "WarningAction", "InformationAction",
	"Verbose", "Debug", "DomainController"}

// registerCmdlet adds a cmdlet to the InvokeCommand API. Call it from an init function of the file
// that implements it:
//
//	func init() {
//		registerCmdlet("Get-MigrationBatch", []string{"Identity", "Status"}, cmdGetMigrationBatch)
//	}
//
// Cmdlets that can return more than one page must have no side effects: the next page is made by
// running the cmdlet again.
func registerCmdlet(name string, params []string, run CmdletFunc) {
	key := strings.ToLower(name)
	if _, dup := cmdlets[key]; dup {
		panic("fakecloud: cmdlet registered twice: " + name)
	}
	cmdlets[key] = cmdletSpec{Name: name, Params: params, Run: run}
}

// CmdletContext is what a cmdlet sees of the request and the fake.
type CmdletContext struct {
	// Cmdlet is the canonical cmdlet name.
	Cmdlet string
	// TenantID and AppID come from the bearer token.
	TenantID string
	AppID    string
	// Request is the HTTP request (headers only; the body is already consumed).
	Request *http.Request

	s        *Server
	rec      *RequestRecord // nil outside a request
	warnings []string
}

// Warn adds a line to the answer's @adminapi.warnings (a cmdlet's Write-Warning).
func (c *CmdletContext) Warn(format string, args ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf(format, args...))
}

// Read runs fn with the tenant state locked for reading.
func (c *CmdletContext) Read(fn func(st *State)) { c.s.read(fn) }

// Mutate changes the tenant state and persists it (see Server.mutate).
func (c *CmdletContext) Mutate(fn func(st *State) error) error { return c.s.mutate(fn) }

// MarkCreated notes that an Exchange object was just created, for the exchange_lag knob.
func (c *CmdletContext) MarkCreated(kind, id string) { c.s.markCreated("exo:"+kind, id) }

// Lagging reports whether the Exchange object was created less than exchange_lag ago; a Get-*
// then answers not-found for it.
func (c *CmdletContext) Lagging(kind, id string) bool { return c.s.exchangeLagging("exo:"+kind, id) }

// Server returns the fake (for state helpers shared with Graph routes).
func (c *CmdletContext) Server() *Server { return c.s }

// ExoError is an Exchange cmdlet failure, rendered as the InvokeCommand error envelope.
type ExoError struct {
	// Status is the HTTP status (404 for not found, 400 for validation / already exists).
	Status int
	// Code is error.code: "NotFound", "BadRequest", "InternalServerError", ...
	Code string
	// ErrorID is the first part of the pipe form, e.g. "Ex6F9304".
	ErrorID string
	// ExceptionType is the full .NET exception name, e.g.
	// "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException".
	ExceptionType string
	// Message is the cmdlet's error text.
	Message string
}

func (e *ExoError) Error() string { return e.ExceptionType + ": " + e.Message }

// ManagementObjectNotFound is the exception type of "can't be found" errors.
const ManagementObjectNotFound = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"

// ParameterBinding is the exception type of bad or missing parameters.
const ParameterBinding = "System.Management.Automation.ParameterBindingException"

func newExoError(status int, code, exceptionType, text string) *ExoError {
	h := fnv.New32a()
	_, _ = h.Write([]byte(exceptionType))
	return &ExoError{Status: status, Code: code, ErrorID: fmt.Sprintf("Ex%06X", h.Sum32()&0xFFFFFF),
		ExceptionType: exceptionType, Message: text}
}

// NotFound is a 404 ManagementObjectNotFoundException.
func NotFound(text string) *ExoError {
	return newExoError(http.StatusNotFound, "NotFound", ManagementObjectNotFound, text)
}

// AlreadyExists is a 400 for an object that already exists (exceptionType names the .NET type).
func AlreadyExists(exceptionType, text string) *ExoError {
	return newExoError(http.StatusBadRequest, "BadRequest", exceptionType, text)
}

// Invalid is a 400 validation failure (exceptionType names the .NET type).
func Invalid(exceptionType, text string) *ExoError {
	return newExoError(http.StatusBadRequest, "BadRequest", exceptionType, text)
}

// Params are a cmdlet's parameters as sent in CmdletInput.Parameters. Names are matched
// case-insensitively, like PowerShell; keys holding OData annotations ("X@odata.type") are ignored.
// Numbers arrive as json.Number.
type Params map[string]any

func (p Params) get(name string) (any, bool) {
	if v, ok := p[name]; ok {
		return v, true
	}
	for k, v := range p {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// Has reports whether the parameter was sent (even as null or false).
func (p Params) Has(name string) bool {
	_, ok := p.get(name)
	return ok
}

func conversionError(name string, v any, typ string) *ExoError {
	b, _ := json.Marshal(v)
	return Invalid(ParameterBinding, fmt.Sprintf(
		"Cannot process argument transformation on parameter '%s'. Cannot convert value \"%s\" to type \"%s\".",
		name, strings.Trim(string(b), `"`), typ))
}

// String returns a string parameter ("" when absent or null). Numbers and booleans are converted
// as PowerShell would; arrays and objects are an error.
func (p Params) String(name string) (string, error) {
	v, ok := p.get(name)
	if !ok || v == nil {
		return "", nil
	}
	switch t := v.(type) {
	case string:
		return t, nil
	case json.Number:
		return t.String(), nil
	case bool:
		if t {
			return "True", nil
		}
		return "False", nil
	}
	return "", conversionError(name, v, "System.String")
}

// Bool returns a switch or Boolean parameter (false when absent or null). It accepts JSON
// booleans and the strings "true"/"false".
func (p Params) Bool(name string) (bool, error) {
	v, ok := p.get(name)
	if !ok || v == nil {
		return false, nil
	}
	switch t := v.(type) {
	case bool:
		return t, nil
	case string:
		switch strings.ToLower(strings.TrimPrefix(t, "$")) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, conversionError(name, v, "System.Boolean")
}

// Int returns an Int32 parameter, def when absent or null. It accepts a JSON number or a numeric
// string.
func (p Params) Int(name string, def int) (int, error) {
	v, ok := p.get(name)
	if !ok || v == nil {
		return def, nil
	}
	var s string
	switch t := v.(type) {
	case json.Number:
		s = t.String()
	case string:
		s = strings.TrimSpace(t)
	case float64:
		s = strconv.FormatFloat(t, 'f', -1, 64)
	default:
		return 0, conversionError(name, v, "System.Int32")
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, conversionError(name, v, "System.Int32")
	}
	return int(n), nil
}

// Strings returns a multi-valued parameter: a JSON array of strings, or a single string.
func (p Params) Strings(name string) ([]string, error) {
	v, ok := p.get(name)
	if !ok || v == nil {
		return nil, nil
	}
	switch t := v.(type) {
	case string:
		return []string{t}, nil
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, conversionError(name, v, "Microsoft.Exchange.Data.MultiValuedProperty`1[System.String]")
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, conversionError(name, v, "Microsoft.Exchange.Data.MultiValuedProperty`1[System.String]")
}

// Unlimited returns an Unlimited<int> parameter as the service renders it: a decimal string or
// "Unlimited"; def when absent or null.
func (p Params) Unlimited(name string, def string) (string, error) {
	v, ok := p.get(name)
	if !ok || v == nil {
		return def, nil
	}
	if s, ok := v.(string); ok && strings.EqualFold(strings.TrimSpace(s), "Unlimited") {
		return "Unlimited", nil
	}
	n, err := p.Int(name, 0)
	if err != nil || n < 0 {
		return "", conversionError(name, v, "Microsoft.Exchange.Data.Unlimited`1[System.Int32]")
	}
	return strconv.Itoa(n), nil
}

// checkParams rejects parameters the cmdlet does not declare, as PowerShell's binder does.
func (spec cmdletSpec) checkParams(p Params) *ExoError {
	if spec.Params == nil {
		return nil
	}
	for _, k := range sortedKeys(p) {
		if strings.Contains(k, "@") {
			continue
		}
		known := false
		for _, list := range [][]string{spec.Params, commonParams} {
			for _, n := range list {
				known = known || strings.EqualFold(n, k)
			}
		}
		if !known {
			return Invalid(ParameterBinding, fmt.Sprintf("A parameter cannot be found that matches parameter name '%s'.", k))
		}
	}
	return nil
}

// missingMandatory is PowerShell's error for absent mandatory parameters.
func missingMandatory(names ...string) *ExoError {
	return Invalid(ParameterBinding, fmt.Sprintf(
		"Cannot process command because of one or more missing mandatory parameters: %s.", strings.Join(names, " ")))
}
