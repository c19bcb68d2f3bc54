package fakecloud

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// lagKindEndpoint is the exchange_lag kind of migration endpoints.
const lagKindEndpoint = "migrationendpoint"

func init() {
	registerCmdlet("New-MigrationEndpoint", []string{"IMAP", "Name", "RemoteServer", "Port", "Security",
		"Authentication", "AcceptUntrustedCertificates", "MaxConcurrentMigrations", "MaxConcurrentIncrementalSyncs",
		"SkipVerification", "Partition"}, cmdNewMigrationEndpoint)
	registerCmdlet("Get-MigrationEndpoint", []string{"Identity", "Type", "Diagnostic", "DiagnosticArgument",
		"DiagnosticInfo", "Partition"}, cmdGetMigrationEndpoint)
	registerCmdlet("Remove-MigrationEndpoint", []string{"Identity", "Force", "Partition"}, cmdRemoveMigrationEndpoint)
	registerCmdlet("Get-MigrationConfig", []string{"Partition", "Diagnostic", "DiagnosticArgument", "DiagnosticInfo"},
		cmdGetMigrationConfig)
}

// verifyIMAPEndpoint, when set, checks a new endpoint's server unless SkipVerification was sent
// (the IMAP-backed migration engine sets it). nil: no verification.
var verifyIMAPEndpoint func(ctx *CmdletContext, ep MigrationEndpoint) error

// fqdnRE accepts host names and IP literals as RemoteServer.
var fqdnRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*\.?$|^\[?[0-9A-Fa-f:.]+\]?$`)

// enumParam matches a PowerShell enum parameter case-insensitively and returns the canonical name.
func enumParam(p Params, name, def string, values ...string) (string, error) {
	v, err := p.String(name)
	if err != nil {
		return "", err
	}
	if v == "" {
		return def, nil
	}
	for _, c := range values {
		if strings.EqualFold(v, c) {
			return c, nil
		}
	}
	return "", Invalid(ParameterBinding, fmt.Sprintf(
		"Cannot process argument transformation on parameter '%s'. Cannot convert value \"%s\" to type "+
			"\"%s\". Error: \"Unable to match the identifier name %s to a valid enumerator name. Specify one of the "+
			"following enumerator names and try again: %s\"", name, v, enumTypeName(name), v, strings.Join(values, ", ")))
}

func enumTypeName(param string) string {
	switch param {
	case "Security":
		return "Microsoft.Exchange.Data.IMAPSecurityMechanism"
	case "Authentication":
		return "Microsoft.Exchange.Data.AuthenticationMethod"
	}
	return "System.Enum"
}

// endpointJSON renders an endpoint like Get-MigrationEndpoint. Unlimited<int> values and counts
// are strings (observed in the ExchangeOnlineManagement module's traffic; UNCONFIRMED); Port is a number; typed dynamic properties carry OData annotations.
func endpointJSON(e MigrationEndpoint) map[string]any {
	return map[string]any{
		"Identity":                      e.Name,
		"Guid@odata.type":               "#Guid",
		"Guid":                          e.GUID,
		"EndpointType":                  e.EndpointType,
		"RemoteServer":                  e.RemoteServer,
		"Port@odata.type":               "#Int32",
		"Port":                          e.Port,
		"Security":                      e.Security,
		"Authentication":                e.Authentication,
		"AcceptUntrustedCertificates":   e.AcceptUntrustedCertificates,
		"MaxConcurrentMigrations":       e.MaxConcurrentMigrations,
		"MaxConcurrentIncrementalSyncs": e.MaxConcurrentIncrementalSyncs,
		"ActiveMigrationCount":          "0",
		"ActiveIncrementalSyncCount":    "0",
		"Username":                      nil,
		"ExchangeServer":                nil,
		"RpcProxyServer":                nil,
		"IsRemote":                      false,
		"IsValid":                       true,
		"ObjectState":                   "Unchanged",
	}
}

// findEndpoint finds an endpoint by name (case-insensitive) or GUID; -1 when absent.
func findEndpoint(st *State, id string) int {
	for i, e := range st.MigrationEndpoints {
		if strings.EqualFold(e.Name, id) || strings.EqualFold(e.GUID, id) {
			return i
		}
	}
	return -1
}

// endpointNotFound is the 404 for a missing endpoint. Text UNCONFIRMED (the decompiled service
// raises ManagementObjectNotFoundException(Strings.MigrationEndpointNotFound)).
func endpointNotFound(id string) *ExoError {
	return NotFound(fmt.Sprintf("The migration endpoint \"%s\" can't be found.", id))
}

// endpointDuplicate is the 400 for an endpoint name in use. Exception type and text UNCONFIRMED.
func endpointDuplicate(name string) *ExoError {
	return AlreadyExists("Microsoft.Exchange.Migration.MigrationEndpointDuplicateException",
		fmt.Sprintf("A migration endpoint named \"%s\" already exists.", name))
}

func cmdNewMigrationEndpoint(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	imap, err := p.Bool("IMAP")
	if err != nil {
		return nil, err
	}
	if !imap {
		// Only the IMAP parameter set is implemented.
		return nil, Invalid(ParameterBinding, "Parameter set cannot be resolved using the specified named parameters. "+
			"(fakecloud implements only the IMAP parameter set: send \"IMAP\": true.)")
	}
	name, err := p.String("Name")
	if err != nil {
		return nil, err
	}
	server, err := p.String("RemoteServer")
	if err != nil {
		return nil, err
	}
	var missing []string
	if strings.TrimSpace(name) == "" {
		missing = append(missing, "Name")
	}
	if strings.TrimSpace(server) == "" {
		missing = append(missing, "RemoteServer")
	}
	if len(missing) > 0 {
		return nil, missingMandatory(missing...)
	}
	name, server = strings.TrimSpace(name), strings.TrimSpace(server)
	if !fqdnRE.MatchString(server) {
		return nil, conversionError("RemoteServer", server, "Microsoft.Exchange.Data.Fqdn")
	}
	port, err := p.Int("Port", 993)
	if err != nil {
		return nil, err
	}
	if port < 1 || port > 65535 {
		return nil, Invalid(ParameterBinding, fmt.Sprintf(
			"Cannot validate argument on parameter 'Port'. The %d argument is greater than the maximum allowed range of 65535 "+
				"or less than the minimum of 1.", port))
	}
	// Security: the service default when omitted is UNCONFIRMED (the docs' "Default value: None" may be
	// the generic placeholder); the fake stores "None". Clients should always send it.
	security, err := enumParam(p, "Security", "None", "None", "Ssl", "Tls")
	if err != nil {
		return nil, err
	}
	auth, err := enumParam(p, "Authentication", "Basic", "Basic", "Ntlm")
	if err != nil {
		return nil, err
	}
	untrusted, err := p.Bool("AcceptUntrustedCertificates")
	if err != nil {
		return nil, err
	}
	skip, err := p.Bool("SkipVerification")
	if err != nil {
		return nil, err
	}
	maxMig, err := p.Unlimited("MaxConcurrentMigrations", "100")
	if err != nil {
		return nil, err
	}
	maxInc, err := p.Unlimited("MaxConcurrentIncrementalSyncs", "20")
	if err != nil {
		return nil, err
	}
	if maxMig != "Unlimited" {
		m, _ := strconv.Atoi(maxMig)
		inc, incErr := strconv.Atoi(maxInc)
		if maxInc == "Unlimited" || (incErr == nil && inc > m) {
			// Exception type UNCONFIRMED; the rule is from Set-MigrationEndpoint.md.
			return nil, Invalid("Microsoft.Exchange.Migration.MigrationMaxConcurrentIncrementalSyncsVerificationFailedException",
				fmt.Sprintf("The value of MaxConcurrentIncrementalSyncs (%s) must be less than or equal to the value of "+
					"MaxConcurrentMigrations (%s).", maxInc, maxMig))
		}
	}

	ep := MigrationEndpoint{
		Name: name, GUID: newGUID(), EndpointType: "IMAP", RemoteServer: server, Port: port,
		Security: security, Authentication: auth, AcceptUntrustedCertificates: untrusted,
		MaxConcurrentMigrations: maxMig, MaxConcurrentIncrementalSyncs: maxInc, SkipVerification: skip,
		Created: time.Now().UTC(),
	}
	// The name is checked before the (slow) connection test.
	var dup bool
	ctx.Read(func(st *State) { dup = findEndpoint(st, name) >= 0 })
	if dup {
		return nil, endpointDuplicate(name)
	}
	if !skip && verifyIMAPEndpoint != nil {
		if err := verifyIMAPEndpoint(ctx, ep); err != nil {
			return nil, err
		}
	}
	err = ctx.Mutate(func(st *State) error {
		if findEndpoint(st, name) >= 0 {
			return endpointDuplicate(name)
		}
		st.MigrationEndpoints = append(st.MigrationEndpoints, ep)
		return nil
	})
	if err != nil {
		return nil, err
	}
	ctx.MarkCreated(lagKindEndpoint, name)
	ctx.MarkCreated(lagKindEndpoint, ep.GUID)
	return []map[string]any{endpointJSON(ep)}, nil
}

func cmdGetMigrationEndpoint(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	id, err := p.String("Identity")
	if err != nil {
		return nil, err
	}
	typ, err := p.String("Type")
	if err != nil {
		return nil, err
	}
	id = strings.TrimSpace(id)
	var eps []MigrationEndpoint
	active := map[string]int{}
	ctx.Read(func(st *State) {
		for _, e := range st.MigrationEndpoints {
			active[e.GUID] = activeMigrationCount(st, e.Name)
		}
		if id != "" {
			if i := findEndpoint(st, id); i >= 0 {
				eps = append(eps, st.MigrationEndpoints[i])
			}
			return
		}
		eps = append(eps, st.MigrationEndpoints...)
	})
	var out []map[string]any
	sort.SliceStable(eps, func(i, j int) bool { return strings.ToLower(eps[i].Name) < strings.ToLower(eps[j].Name) })
	for _, e := range eps {
		if ctx.Lagging(lagKindEndpoint, e.Name) {
			continue
		}
		if typ != "" && !strings.EqualFold(typ, e.EndpointType) {
			continue
		}
		o := endpointJSON(e)
		o["ActiveMigrationCount"] = strconv.Itoa(active[e.GUID])
		out = append(out, o)
	}
	if id != "" && len(out) == 0 {
		return nil, endpointNotFound(id)
	}
	return out, nil
}

func cmdRemoveMigrationEndpoint(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	id, err := p.String("Identity")
	if err != nil {
		return nil, err
	}
	id = strings.TrimSpace(id)
	if id == "" {
		return nil, missingMandatory("Identity")
	}
	return nil, ctx.Mutate(func(st *State) error {
		i := findEndpoint(st, id)
		if i < 0 || ctx.Lagging(lagKindEndpoint, st.MigrationEndpoints[i].Name) {
			return endpointNotFound(id)
		}
		// Refused while a batch uses the endpoint (behaviour, exception and text UNCONFIRMED).
		if b := batchUsingEndpoint(st, st.MigrationEndpoints[i].Name); b != "" {
			return Invalid("Microsoft.Exchange.Migration.MigrationEndpointInUseException", fmt.Sprintf(
				"The migration endpoint \"%s\" can't be removed because it's used by the migration batch \"%s\". "+
					"Remove the batch first.", st.MigrationEndpoints[i].Name, b))
		}
		st.MigrationEndpoints = append(st.MigrationEndpoints[:i], st.MigrationEndpoints[i+1:]...)
		return nil
	})
}

func cmdGetMigrationConfig(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	var domain string
	ctx.Read(func(st *State) { domain = st.InitialDomain })
	return []map[string]any{{
		"Identity":                domain,
		"MaxNumberOfBatches":      "100",
		"MaxConcurrentMigrations": "300",
		// Features list UNCONFIRMED (flags enum rendered as a comma-separated string).
		"Features":    "MultiBatch, Endpoints",
		"IsValid":     true,
		"ObjectState": "Unchanged",
	}}, nil
}
