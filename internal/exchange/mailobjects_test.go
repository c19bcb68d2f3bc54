package exchange_test

import (
	"slices"
	"strconv"
	"testing"

	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/testutil"
)

func mailSeed() *fakecloud.Seed {
	s := fakecloud.DefaultSeed()
	s.Domains = []fakecloud.SeedDomain{{ID: "contoso.com", IsVerified: true}}
	for _, u := range []string{"admin@contoso.com", "li.lei@contoso.com", "han.meimei@contoso.com"} {
		// Licensed for Exchange Online: only a user with a mailbox is a recipient.
		s.Users = append(s.Users, fakecloud.SeedUser{User: fakecloud.User{UserPrincipalName: u, UsageLocation: "CN",
			AssignedLicenses: []fakecloud.AssignedLicense{{SkuID: fakecloud.SkuBusinessPremium}}}})
	}
	return s
}

func TestDistributionGroupClient(t *testing.T) {
	f := testutil.StartFake(t, mailSeed(), fakecloud.Knobs{})
	c := newClient(t, f, 0)
	ctx := ctx(t)
	g, err := c.NewDistributionGroup(ctx, exchange.NewDistributionGroupParams{Name: "sales", PrimarySmtpAddress: "sales@contoso.com",
		ManagedBy: []string{"admin@contoso.com"}, Members: []string{"li.lei@contoso.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if g.GUID == "" || !g.RequireSenderAuthenticationEnabled || g.RecipientTypeDetails != "MailUniversalDistributionGroup" {
		t.Errorf("created: %+v", g)
	}
	if _, err := c.NewDistributionGroup(ctx, exchange.NewDistributionGroupParams{Name: "sales", PrimarySmtpAddress: "s2@contoso.com"}); !exchange.IsKind(err, exchange.KindAlreadyExists) {
		t.Errorf("duplicate name: %v", err)
	}
	// Without the bypass switch the service refuses an application: a typed error.
	if _, err := c.Invoke(ctx, "Set-DistributionGroup", map[string]any{"Identity": "sales", "DisplayName": "x"}); !exchange.IsKind(err, exchange.KindGroupManager) {
		t.Errorf("no bypass: %v", err)
	}
	rsa := false
	if err := c.SetDistributionGroup(ctx, exchange.SetDistributionGroupParams{Identity: g.GUID, AddAddresses: []string{"xiaoshou@contoso.com"}, RequireSenderAuthenticationEnabled: &rsa}); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateDistributionGroupMember(ctx, g.GUID, []string{"han.meimei@contoso.com", "admin@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetDistributionGroup(ctx, "xiaoshou@contoso.com")
	if err != nil || got.RequireSenderAuthenticationEnabled || !slices.Contains(got.SecondaryAddresses(), "xiaoshou@contoso.com") {
		t.Errorf("after Set: %+v, %v", got, err)
	}
	ms, err := c.GetDistributionGroupMember(ctx, "sales")
	if err != nil || len(ms) != 2 {
		t.Errorf("members: %+v, %v", ms, err)
	}
	if err := c.UpdateDistributionGroupMember(ctx, "sales", []string{"ghost@contoso.com"}); !exchange.IsNotFound(err) {
		t.Errorf("unknown member: %v", err)
	}
	if err := c.RemoveDistributionGroup(ctx, "sales"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetDistributionGroup(ctx, "sales"); !exchange.IsNotFound(err) {
		t.Errorf("after remove: %v", err)
	}
}

func TestDkimClient(t *testing.T) {
	f := testutil.StartFake(t, mailSeed(), fakecloud.Knobs{})
	c := newClient(t, f, 0)
	ctx := ctx(t)
	if _, err := c.GetDkimSigningConfig(ctx, "contoso.com"); !exchange.IsNotFound(err) {
		t.Errorf("before New: %v", err)
	}
	cfg, err := c.NewDkimSigningConfig(ctx, "contoso.com", 2048)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Enabled || cfg.Status != "CnameMissing" || cfg.Selector1CNAME == "" || cfg.Selector1KeySize != 2048 {
		t.Errorf("new: %+v", cfg)
	}
	err = c.SetDkimSigningConfig(ctx, "contoso.com", true)
	if !exchange.IsKind(err, exchange.KindDKIMCNAMEMissing) {
		t.Errorf("enable without CNAMEs: %v", err)
	}
	if err := c.SetDkimSigningConfig(ctx, "contoso.com", false); err != nil {
		t.Errorf("disable: %v", err)
	}
}

func TestMailboxAddressesClient(t *testing.T) {
	s := mailSeed()
	s.Domains = append(s.Domains, fakecloud.SeedDomain{ID: "other.com"})
	f := testutil.StartFake(t, s, fakecloud.Knobs{})
	c := newClient(t, f, 0)
	ctx := ctx(t)
	if err := c.SetMailboxAddresses(ctx, "li.lei@contoso.com", []string{"lei.li@contoso.com", "old.li@contoso.com"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.SetMailboxAddresses(ctx, "li.lei@contoso.com", []string{"lilei@contoso.com"}, []string{"old.li@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	boxes, err := c.ListMailboxes(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range boxes {
		if m.UserPrincipalName == "li.lei@contoso.com" && (!slices.Contains(m.EmailAddresses, "lilei@contoso.com") || slices.Contains(m.EmailAddresses, "old.li@contoso.com")) {
			t.Errorf("addresses: %v", m.EmailAddresses)
		}
	}
	// Holders: by filter (few addresses) and by listing (many).
	h, err := c.AddressHolders(ctx, []string{"lei.li@contoso.com", "free@contoso.com"})
	if err != nil || len(h) != 1 || h[0].PrimarySmtpAddress != "li.lei@contoso.com" || h[0].ExternalDirectoryObjectID == "" {
		t.Errorf("holders: %+v %v", h, err)
	}
	many := []string{"lilei@contoso.com"}
	for i := range 30 {
		many = append(many, "x"+string(rune('a'+i%26))+"@contoso.com")
	}
	if h, err := c.AddressHolders(ctx, many); err != nil || len(h) != 1 || h[0].Address != "lilei@contoso.com" {
		t.Errorf("holders by listing: %+v %v", h, err)
	}
	// Typed refusals.
	if err := c.SetMailboxAddresses(ctx, "han.meimei@contoso.com", []string{"lei.li@contoso.com"}, nil); !exchange.IsKind(err, exchange.KindAddressTaken) {
		t.Errorf("taken: %v", err)
	}
	if err := c.SetMailboxAddresses(ctx, "han.meimei@contoso.com", []string{"mm@other.com"}, nil); !exchange.IsKind(err, exchange.KindDomainNotAccepted) {
		t.Errorf("domain: %v", err)
	}
	var lots []string
	for i := range 299 {
		lots = append(lots, "a"+strconv.Itoa(i)+"@contoso.com")
	}
	if err := c.SetMailboxAddresses(ctx, "han.meimei@contoso.com", lots, nil); !exchange.IsKind(err, exchange.KindTooManyAddresses) {
		t.Errorf("limit: %v", err)
	}
}
