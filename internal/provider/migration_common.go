package provider

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/m365-migration/terraform-provider-m365/internal/imapcheck"
	"github.com/m365-migration/terraform-provider-m365/internal/usercsv"
)

// Shared by m365_imap_migration_csv, m365_migration_batch and m365_imap_mailbox_survey.

// maxCSVFileBytes is how much of a migration CSV file is read: a little over the documented
// 10 MB, so that usercsv.ParseMigration can report the size problem itself.
const maxCSVFileBytes = usercsv.MaxMigrationBytes + 1

// maxProblemDiagnostics bounds the diagnostics one CSV produces; the rest are counted in one more.
const maxProblemDiagnostics = 200

// securityValues are the endpoint's -Security values (IMAPSecurityMechanism).
var securityValues = []string{"None", "Ssl", "Tls"}

// readMigrationFile reads a migration CSV file. The error never contains file content.
func readMigrationFile(p string) ([]byte, error) {
	f, err := os.Open(filepath.Clean(p))
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxCSVFileBytes))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	return data, nil
}

// parseMigrationCSV parses an IMAP migration CSV and turns every problem into an error diagnostic
// on attr, worded exactly as usercsv words it (file:line:column: problem — fix). ok is false
// when the CSV cannot be used.
func parseMigrationCSV(d *diagList, attr path.Path, data []byte, opts usercsv.MigrationOptions) (*usercsv.MigrationResult, bool) {
	res, err := usercsv.ParseMigration(data, opts)
	if err != nil {
		d.AddAttributeError(path.Root("encoding"), "Unknown CSV Encoding",
			fmt.Sprintf("While reading the migration CSV %s, the encoding could not be used.\n\nCause: %s", opts.Name, err))
		return nil, false
	}
	addProblemDiagnostics(d, attr, res.Problems)
	return res, len(res.Problems) == 0
}

// addProblemDiagnostics adds one error per problem (at most maxProblemDiagnostics, then one that
// counts the rest).
func addProblemDiagnostics(d *diagList, attr path.Path, ps usercsv.Problems) {
	for i, p := range ps {
		if i == maxProblemDiagnostics {
			d.AddAttributeError(attr, "Invalid Migration CSV",
				fmt.Sprintf("%d more problems are not shown. Fix the ones above and plan again.", len(ps)-i))
			return
		}
		d.AddAttributeError(attr, "Invalid Migration CSV", p.String())
	}
}

// migrationEmails returns the rows' addresses, lower-cased and sorted.
func migrationEmails(rows []usercsv.MigrationRow) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, strings.ToLower(r.EmailAddress))
	}
	sort.Strings(out)
	return out
}

// emailListHash is the SHA-256 of the sorted, lower-cased address list, one per line. It is
// derived from addresses only, never from a password.
func emailListHash(emails []string) string {
	lower := make([]string, len(emails))
	for i, e := range emails {
		lower[i] = strings.ToLower(e)
	}
	sort.Strings(lower)
	h := sha256.New()
	for _, e := range lower {
		h.Write([]byte(e))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// migrationCredentials turns CSV rows into imapcheck credentials.
func migrationCredentials(rows []usercsv.MigrationRow) []imapcheck.Credential {
	out := make([]imapcheck.Credential, 0, len(rows))
	for _, r := range rows {
		out = append(out, imapcheck.Credential{EmailAddress: r.EmailAddress, UserName: r.UserName, Password: r.Password, UserRoot: r.UserRoot, Line: r.Line})
	}
	return out
}

// loadMigrationCAFile reads PEM certificates into a pool that also holds the system roots.
func loadMigrationCAFile(p string) (*x509.CertPool, error) {
	if p == "" {
		return nil, nil
	}
	pemData, err := os.ReadFile(filepath.Clean(p))
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, errors.New("the file holds no PEM certificate")
	}
	return pool, nil
}

// loginFailures lists every failed login of a preflight, one line each:
// "line 3, zhang.san@corp.com (UserName zhang.san@corp.com): [AUTHENTICATIONFAILED] ...".
// The messages come from imapcheck, which never includes a password.
func loginFailures(results []imapcheck.LoginResult) []string {
	var out []string
	for _, r := range results {
		if r.OK {
			continue
		}
		who := r.EmailAddress
		if r.UserName != "" && !strings.EqualFold(r.UserName, r.EmailAddress) {
			who += " (UserName " + r.UserName + ")"
		}
		prefix := ""
		if r.Line > 0 {
			prefix = fmt.Sprintf("line %d, ", r.Line)
		}
		out = append(out, fmt.Sprintf("  - %s%s: %s", prefix, who, r.Error))
	}
	return out
}

// loginAdvice is the next step for a failed preflight, chosen from the kinds of failure.
func loginAdvice(results []imapcheck.LoginResult) string {
	kinds := map[string]bool{}
	for _, r := range results {
		if !r.OK {
			kinds[r.Kind] = true
		}
	}
	var adv []string
	if kinds[imapcheck.KindAuth] {
		adv = append(adv, "Correct the UserName/Password of these rows (UserName must be the full address; for Tencent Exmail with secure login on, use a client-specific password, and make sure IMAP is enabled for the mailbox).")
	}
	if kinds[imapcheck.KindTLS] {
		adv = append(adv, "The source server's certificate is not trusted: fix the server's certificate, give its CA in preflight_ca_file, or set accept_untrusted_certificates on the endpoint (not recommended in production).")
	}
	if kinds[imapcheck.KindConnect] || kinds[imapcheck.KindProtocol] {
		adv = append(adv, "Check the endpoint's remote_server, port and security (imap.exmail.qq.com, 993, Ssl for Tencent Exmail) and that this machine can reach it.")
	}
	adv = append(adv, "Nothing was submitted to Exchange Online. Set skip_preflight = true only if this machine cannot reach the source server but Microsoft's servers can.")
	return strings.Join(adv, " ")
}

// hasUserRoot reports whether any row uses UserRoot.
func hasUserRoot(rows []usercsv.MigrationRow) bool {
	for _, r := range rows {
		if r.UserRoot != "" {
			return true
		}
	}
	return false
}
