// Package fakecloud is a local imitation of the Microsoft 365 services the provider talks to,
// built from Microsoft's documented wire shapes (https://learn.microsoft.com/graph/api/overview and
// https://learn.microsoft.com/powershell/module/exchangepowershell/new-migrationbatch and its siblings). It never imports the Graph SDK, azidentity or provider code.
//
// # Services
//
// Start opens three HTTPS listeners on one IP, each a host root like the real clouds:
//
//   - login (Entra ID): GET /{tenant}/v2.0/.well-known/openid-configuration and
//     POST /{tenant}/oauth2/v2.0/token (client_credentials with a secret, or a client assertion for
//     apps with accept_assertions). Errors use AAD's JSON shape (AADSTS codes). Tokens are opaque
//     and remembered with their audience kind (graph or exchange), app and tenant.
//   - graph: /v1.0/... Every request passes, in order: record+count, latency, auth (a Graph
//     token), gzip request bodies, the fault knobs (503, throttle ratio, fail_after_writes, write
//     quota), then the route. POST /v1.0/$batch dispatches each sub-request through the same fault
//     pipeline and mux. The admin routes under /_fake/ (stats, requests, knobs, reset-stats) need
//     no auth and are not recorded.
//   - exchange: POST /adminapi/beta/{tenant}/InvokeCommand running registered cmdlets (names
//     case-insensitive), with the service's success and error envelopes, paging by
//     @odata.nextLink, ?$select= on any cmdlet, and fault knobs.
//
// TLS certificates chain to one CA per process (ProcessCA); point SSL_CERT_FILE at it.
//
// # Adding a Graph route
//
// Put the handlers in a new file and register them from its init function:
//
//	func init() {
//		addGraphRoutes(func(s *Server, mux *http.ServeMux) {
//			mux.HandleFunc("POST /v1.0/domains", s.handleCreateDomain)
//			mux.HandleFunc("GET /v1.0/domains/{id}", s.handleGetDomain)
//		})
//	}
//
// Patterns are net/http ServeMux patterns with the /v1.0 prefix; unmatched paths already answer
// Graph's 400 "Resource not found for the segment '<seg>'." Inside a handler, auth, gzip and the
// fault knobs have been applied; use:
//
//   - writeJSON(w, status, v) for answers (sets Graph's Content-Type); w.WriteHeader(204) for none;
//   - graphError(w, status, code, msg) and notFoundGraph(w, id) for errors (Graph's error body);
//   - decodeBody(r, &v) for JSON bodies, applySelect for $select, s.odataContext for @odata.context;
//   - s.read(func(*State)) and s.mutate(func(*State) error) for state (mutate persists);
//   - s.markCreated(kind, id) after creating an object and s.lagging(kind, id) before
//     GET/PATCH/DELETE of it (answer notFoundGraph while it lags: read_after_write_lag knob);
//   - callerFrom(r.Context()) for the caller's app and tenant.
//
// Writes (POST/PATCH/PUT/DELETE) are counted by the pipeline for the write quota and
// fail_after_writes; a handler does nothing for that.
//
// # Domains
//
// domains.go (with domains_dns.go and domains_delete.go) serves /v1.0/domains: list ($select,
// $top, @odata.nextLink), POST, GET, PATCH, DELETE, /verify, /forceDelete,
// /verificationDnsRecords, /serviceConfigurationRecords (per supportedServices and per
// Seed.Environment) and /domainNameReferences. State.Domains holds them by lower-case id; the
// initial domain is always there (verified, initial, root, default unless a seed domain is).
// Seed.Domains pre-creates domains; Seed.DomainReferences simulates users, groups and
// applications that use a domain (it may be one the test adds later).
//
// Verify succeeds when the domain has a verified ancestor in the tenant, when the auto_verify
// knob is set, or when the DNS server of the dns_server knob (e.g. an internal/dnstest server)
// answers the domain's TXT MS=ms######## (or its MX ms########.msv1.invalid) at the apex; the
// code is derived from tenant and domain. forceDelete renames references to the initial domain
// at once and leaves the domain visible with state ForceDelete/InProgress for two GETs of it or
// one second, whichever comes first. Error texts that Microsoft does not document are marked
// UNCONFIRMED in domains.go, domains_dns.go and domains_delete.go.
//
// Other object kinds that use domains (users) plug in from their addGraphRoutes installer:
//
//	s.addDomainReferenceSource(func(st *State, domain string) []DomainReference { ... })
//	s.addDomainRenameHook(func(st *State, from, to string, disableUserAccounts bool) { ... })
//
// Sources make DELETE refuse and are listed by domainNameReferences; rename hooks run inside
// forceDelete's mutate. Both run with the state locked: use st, never s.read or s.mutate. To
// check a user's domain, read st.Domains[strings.ToLower(domain)] (IsVerified).
//
// # Migrations
//
// Exchange's migration cmdlets (migration_*.go) keep endpoints and batches in State. Batches move
// through their transitional statuses when polled with Get-MigrationBatch (knob
// migration_polls_per_step). While a batch is Syncing, the migration engine logs in to the
// endpoint's IMAP server with each CSV row's credentials (imap_source.go, go-imap v2's client) in
// background goroutines stopped by Close: a wrong password fails that user, synced counts are the
// real mailbox's. Seed/Options imap_root_cas lists PEM files of CAs it trusts. Passwords stay in
// memory: the state file never holds them, and after a restart a batch needs its CSV again
// (Set-MigrationBatch -AddUsers -CSVData). CSVData is read by the fake's own reader
// (migration_csv.go). IMAP migrations do not create mailboxes: a row whose EmailAddress is not a
// proxy address of an existing mailbox when the batch starts the user fails with
// MigrationRecipientNotFoundException and is not retried until Start-MigrationBatch.
//
// # Mailboxes
//
// mailboxes.go keeps State.Mailboxes: assignLicense with an Exchange Online plan starts
// provisioning, which ends after the knobs mailbox_provision_delay + a per-user
// mailbox_provision_jitter (negative delay: never). Get-User shows every user ("User", then
// "UserMailbox"); Get-Mailbox and Get-Recipient show existing mailboxes (-Identity, -Filter in an
// OPATH subset parsed by opath.go, -RecipientTypeDetails, -ResultSize default 1000); Graph
// /users/{id}/mailboxSettings answers 404 MailboxNotEnabledForRESTAPI until then.
// Server.MailboxReadyAt and CompleteMailboxProvisioning are for tests. RealisticTiming (knobs.go;
// Seed.Timing "realistic", -timing realistic) is a real tenant's clock scaled to seconds.
//
// # Eventual consistency of Graph
//
// read_after_write_lag: a new object answers 404 to a GET by id for a while. list_lag: advanced
// queries (ConsistencyLevel: eventual) read an index that misses users created, and still lists
// users deleted, less than list_lag ago (users_recycle.go, indexedUsersLocked).
//
// The fake imports no product package of this module (deps_test.go checks it): it has its own CSV
// reader, DNS lookups (dnslookup.go, miekg/dns) and IMAP client code.
//
// # Mail objects
//
// Distribution groups (distribution_groups.go) exist on the Exchange side only: New/Get/Set/
// Remove-DistributionGroup and the member cmdlets validate names, aliases and addresses on accepted
// (verified) domains, accept only recipients (live users by user principal name, other groups) as
// members and owners, and refuse every change without BypassSecurityGroupManagerCheck
// (OperationRequiresGroupManagerException: an application is never a group manager). Graph shows
// them read-only (graph_groups.go). DKIM signing configurations (dkim.go) appear with
// New-DkimSigningConfig, disabled, with selector CNAMEs in the knob dkim_cname_format's form;
// Set-DkimSigningConfig -Enabled $true succeeds only when both CNAMEs resolve in the dns_server
// knob's DNS server. There is no DMARC cmdlet: DMARC is DNS only.
//
// # Adding an Exchange cmdlet
//
//	func init() {
//		registerCmdlet("Get-MigrationBatch", []string{"Identity", "Status"}, cmdGetMigrationBatch)
//	}
//
// A CmdletFunc gets a *CmdletContext (Read, Mutate, MarkCreated/Lagging for exchange_lag, Warn for
// @adminapi.warnings) and Params (String, Bool, Int, Strings, Unlimited, Has; names are
// case-insensitive). It returns the `value` objects — counts and Unlimited values as strings where
// the service sends strings, typed properties with "Prop@odata.type" annotations — or an error
// built with NotFound, AlreadyExists or Invalid. Undeclared parameters are rejected like
// PowerShell's binder does; unknown cmdlets answer 403 with an empty body. Paging is automatic.
//
// # Adding state
//
// Add a field to State (snake_case json tag, omitempty, zero value = "none yet") and, if a seed may
// pre-populate it, to Seed and Seed.toState. Only touch State inside read/mutate. Lock order:
// stateMu may be held while taking faultMu (e.g. Lagging inside Mutate), never the reverse.
//
// # Adding a knob
//
// Add the field to Knobs, knobsJSON, MarshalJSON/UnmarshalJSON, mergeKnobs and Validate, apply it
// in the pipeline, and add a flag in cmd/fakecloud.
package fakecloud
