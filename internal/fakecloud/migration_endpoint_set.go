package fakecloud

import (
	"fmt"
	"strconv"
	"strings"
)

func init() {
	registerCmdlet("Set-MigrationEndpoint", []string{"Identity", "AcceptUntrustedCertificates", "Authentication",
		"MaxConcurrentIncrementalSyncs", "MaxConcurrentMigrations", "Port", "RemoteServer", "Security",
		"SkipVerification", "Partition"}, cmdSetMigrationEndpoint)
}

// endpointSettings applies the connection parameters present in p (RemoteServer, Port, Security,
// Authentication, AcceptUntrustedCertificates) to cur. needServer makes RemoteServer mandatory.
func endpointSettings(p Params, cur MigrationEndpoint, needServer bool) (MigrationEndpoint, error) {
	if p.Has("RemoteServer") || needServer {
		server, err := p.String("RemoteServer")
		if err != nil {
			return cur, err
		}
		server = strings.TrimSpace(server)
		if server == "" {
			return cur, missingMandatory("RemoteServer")
		}
		if !fqdnRE.MatchString(server) {
			return cur, conversionError("RemoteServer", server, "Microsoft.Exchange.Data.Fqdn")
		}
		cur.RemoteServer = server
	}
	if p.Has("Port") {
		port, err := p.Int("Port", cur.Port)
		if err != nil {
			return cur, err
		}
		if port < 1 || port > 65535 {
			return cur, Invalid(ParameterBinding, fmt.Sprintf(
				"Cannot validate argument on parameter 'Port'. The %d argument is greater than the maximum allowed range "+
					"of 65535 or less than the minimum of 1.", port))
		}
		cur.Port = port
	}
	var err error
	if cur.Security, err = enumParam(p, "Security", cur.Security, "None", "Ssl", "Tls"); err != nil {
		return cur, err
	}
	if cur.Authentication, err = enumParam(p, "Authentication", cur.Authentication, "Basic", "Ntlm"); err != nil {
		return cur, err
	}
	if p.Has("AcceptUntrustedCertificates") {
		if cur.AcceptUntrustedCertificates, err = p.Bool("AcceptUntrustedCertificates"); err != nil {
			return cur, err
		}
	}
	return cur, nil
}

// checkConcurrency enforces MaxConcurrentIncrementalSyncs <= MaxConcurrentMigrations
// (Set-MigrationEndpoint.md).
func checkConcurrency(maxMig, maxInc string) error {
	if maxMig == "Unlimited" {
		return nil
	}
	m, _ := strconv.Atoi(maxMig)
	inc, incErr := strconv.Atoi(maxInc)
	if maxInc == "Unlimited" || (incErr == nil && inc > m) {
		// Exception type UNCONFIRMED.
		return Invalid("Microsoft.Exchange.Migration.MigrationMaxConcurrentIncrementalSyncsVerificationFailedException",
			fmt.Sprintf("The value of MaxConcurrentIncrementalSyncs (%s) must be less than or equal to the value of "+
				"MaxConcurrentMigrations (%s).", maxInc, maxMig))
	}
	return nil
}

// cmdSetMigrationEndpoint changes an endpoint. Connection changes are verified like
// New-MigrationEndpoint unless SkipVerification is sent; a call that changes nothing warns like
// every Set-* cmdlet.
func cmdSetMigrationEndpoint(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	id, err := identityParam(p)
	if err != nil {
		return nil, err
	}
	skip, err := p.Bool("SkipVerification")
	if err != nil {
		return nil, err
	}
	var cur MigrationEndpoint
	var xe *ExoError
	ctx.Read(func(st *State) {
		i := findEndpoint(st, id)
		if i < 0 || ctx.Lagging(lagKindEndpoint, st.MigrationEndpoints[i].Name) {
			xe = endpointNotFound(id)
			return
		}
		cur = st.MigrationEndpoints[i]
	})
	if xe != nil {
		return nil, xe
	}
	next, err := endpointSettings(p, cur, false)
	if err != nil {
		return nil, err
	}
	if next.MaxConcurrentMigrations, err = p.Unlimited("MaxConcurrentMigrations", cur.MaxConcurrentMigrations); err != nil {
		return nil, err
	}
	if next.MaxConcurrentIncrementalSyncs, err = p.Unlimited("MaxConcurrentIncrementalSyncs", cur.MaxConcurrentIncrementalSyncs); err != nil {
		return nil, err
	}
	if err := checkConcurrency(next.MaxConcurrentMigrations, next.MaxConcurrentIncrementalSyncs); err != nil {
		return nil, err
	}
	connChanged := next.RemoteServer != cur.RemoteServer || next.Port != cur.Port || next.Security != cur.Security ||
		next.Authentication != cur.Authentication || next.AcceptUntrustedCertificates != cur.AcceptUntrustedCertificates
	if connChanged && !skip && verifyIMAPEndpoint != nil {
		if err := verifyIMAPEndpoint(ctx, next); err != nil {
			return nil, err
		}
	}
	if next == cur {
		ctx.Warn("The command completed successfully but no settings of '%s' have been modified.", cur.Name)
		return nil, nil
	}
	return nil, ctx.Mutate(func(st *State) error {
		i := findEndpoint(st, cur.GUID)
		if i < 0 {
			return endpointNotFound(id)
		}
		st.MigrationEndpoints[i] = next
		return nil
	})
}
