package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/exmail"
)

// exmailMemberState is what the checks know of one source address.
type exmailMemberState struct {
	Address     string // as asked
	Found       bool
	Member      exmail.Member
	IMAP        bool // useroption type 2
	SecureLogin bool // useroption type 4 (the member's own 安全登录; read-only for admins)
	ForceSecure bool // useroption type 1
	lookupError error
}

// perMemberLookupLimit: up to this many addresses are read with user/get each; more with one
// user/list of the whole tenant.
const perMemberLookupLimit = 10

// readExmailMembers reads, for each address, the member (user/get or one user/list) and its
// useroption types 1, 2 and 4. An unknown member is Found = false, not an error.
func readExmailMembers(ctx context.Context, c *exmail.Client, addrs []string) (map[string]*exmailMemberState, error) {
	out := map[string]*exmailMemberState{}
	if len(addrs) > perMemberLookupLimit {
		all, err := c.Members(ctx, exmail.RootDepartment, true)
		if err != nil {
			return nil, err
		}
		byAddr := map[string]exmail.Member{}
		for _, m := range all {
			byAddr[strings.ToLower(m.UserID)] = m
		}
		for _, a := range addrs {
			m, ok := byAddr[strings.ToLower(a)]
			out[strings.ToLower(a)] = &exmailMemberState{Address: a, Found: ok, Member: m}
		}
	} else {
		for _, a := range addrs {
			st := &exmailMemberState{Address: a}
			m, err := c.Member(ctx, a)
			switch {
			case err == nil:
				st.Found, st.Member = true, *m
			case exmail.IsNotFound(err):
				st.lookupError = err
			default:
				return nil, err
			}
			out[strings.ToLower(a)] = st
		}
	}
	for _, a := range sortStrings(addrs) {
		st := out[strings.ToLower(a)]
		if !st.Found {
			continue
		}
		opts, err := c.UserOptions(ctx, st.Member.UserID, exmail.OptionForceSecureLogin, exmail.OptionIMAP, exmail.OptionSecureLogin)
		if err != nil {
			return nil, err
		}
		st.IMAP, st.SecureLogin, st.ForceSecure = opts[exmail.OptionIMAP], opts[exmail.OptionSecureLogin], opts[exmail.OptionForceSecureLogin]
	}
	return out, nil
}

// planIMAP records, per corp id and lower-case address, a member whose IMAP an
// m365_exmail_imap_access resource has planned to switch on in this provider process (one
// Terraform command; the record lives in the configured clients). Terraform plans a batch that
// depends on that resource after it, so the batch's plan-time check knows that the member will be
// open when its own apply runs (which checks again before any write).
func (c *Clients) planIMAP(corpID, addr string) {
	c.imapPlanned.Store(corpID+"\x00"+strings.ToLower(addr), true)
}

func (c *Clients) imapIsPlanned(corpID, addr string) bool {
	_, ok := c.imapPlanned.Load(corpID + "\x00" + strings.ToLower(addr))
	return ok
}

// exmailReadiness is what checkExmailMigrationRows found.
type exmailReadiness struct {
	Problems    []string // one line per member that cannot be migrated, with the fix
	WillOpen    []string // members with IMAP off that an m365_exmail_imap_access of this plan switches on
	SecureLogin []string // members with 安全登录 on: IMAP takes only a 客户端专用密码
	States      map[string]*exmailMemberState
}

// checkExmailMembers (planning: members an m365_exmail_imap_access of this plan opens count as
// open) checks that every source address (the UserName of a migration row) is an
// Exmail member, enabled, with IMAP/SMTP on. It is the plan-time check of the Exmail source: the
// migration batch calls it for its Exmail members (migration_credentials.go), the directory data
// source for migration_members, and the batch may call it for CSV rows too:
//
//	checkExmailMigrationRows(ctx, r.clients, userNames, c.attr, &resp.Diagnostics)
func checkExmailMembers(ctx context.Context, clients *Clients, c *exmail.Client, addrs []string, planning bool) (*exmailReadiness, error) {
	states, err := readExmailMembers(ctx, c, addrs)
	if err != nil {
		return nil, err
	}
	res := &exmailReadiness{States: states}
	for _, a := range sortStrings(addrs) {
		st := states[strings.ToLower(a)]
		switch {
		case !st.Found:
			cause := "no such member"
			if st.lookupError != nil {
				cause = st.lookupError.Error()
			}
			res.Problems = append(res.Problems, fmt.Sprintf("  - %s is not a member of the Exmail tenant (%s) — check the address; use the member's primary address, not an alias, or remove the row", a, cause))
		case !st.Member.Enabled:
			res.Problems = append(res.Problems, fmt.Sprintf("  - %s is disabled (enable = 0) — enable the member in the Exmail admin console (通讯录 → the member → 启用), or remove the row", a))
		case !st.IMAP && planning && clients.imapIsPlanned(c.CorpID(), a):
			res.WillOpen = append(res.WillOpen, a)
		case !st.IMAP:
			res.Problems = append(res.Problems, fmt.Sprintf("  - %s has IMAP/SMTP off (功能设置) — add the member to m365_exmail_imap_access (which switches it on), or switch it on in webmail (设置 → 客户端设置 → IMAP/SMTP服务)", a))
		}
		if st.Found && st.SecureLogin {
			res.SecureLogin = append(res.SecureLogin, a)
		}
	}
	return res, nil
}

// checkExmailMigrationRows is the hook for m365_migration_batch (and any other caller): it adds
// one error at attr listing every member that is missing, disabled or has IMAP off, each with the
// fix, and a warning for members with 安全登录 (their password must be a 客户端专用密码). It returns
// false when it added an error. It needs the 通讯录管理 and 功能设置 secrets.
func checkExmailMigrationRows(ctx context.Context, cl *Clients, userNames []string, attr path.Path, d *diagList) bool {
	if cl == nil || len(userNames) == 0 {
		return true
	}
	res, ok := checkExmailRows(ctx, cl, userNames, attr, true, d)
	if res != nil && len(res.SecureLogin) > 0 {
		d.AddAttributeWarning(attr, "Exmail Members With 安全登录",
			fmt.Sprintf("%d members have 安全登录 (secure login) on: %s. Exmail's IMAP server then accepts only a 客户端专用密码 (client-specific password) "+
				"that the member generates in webmail (设置 → 邮箱绑定 → 客户端专用密码), not the account password. Make sure their rows carry that password; "+
				"the preflight login catches any that do not.", len(res.SecureLogin), strings.Join(res.SecureLogin, ", ")))
	}
	return ok
}

// exmailAPIError reports a failed Exmail call in the provider's pattern, with advice by errcode.
func exmailAPIError(d *diagList, summary, attempt string, err error) {
	next := ""
	switch exmail.Code(err) {
	case exmail.CodeInvalidSecret:
		summary = "Exmail Authentication Failed"
		next = "Check exmail.corp_id and the secret of the app named in the error (contacts_secret for 通讯录管理, options_secret for 功能设置, log_secret for 系统日志) " +
			"against 工具箱 → 应用中心 in the Exmail admin console; after 重置 only the new secret works."
	case exmail.CodeInvalidToken, exmail.CodeExpiredToken:
		next = "The token was refused even after a new one was fetched: check that the app's secret belongs to this app and that the API is enabled for it in 应用中心."
	case exmail.CodeBusy:
		next = "Exmail stayed busy through the retries. Try again later."
	case 0:
		next = "Check exmail.endpoint and the network path to it."
	}
	d.AddError(summary, diagtext.Detail(attempt, err.Error(), next))
}
