package exmail_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/exmail"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud/fakeexmail"
)

func start(t *testing.T, seed *fakeexmail.Seed, opts fakeexmail.Options) (*fakeexmail.Server, *exmail.Client) {
	t.Helper()
	fx, err := fakeexmail.New(seed, opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(fx.Handler())
	t.Cleanup(hs.Close)
	sec := fx.Secrets()
	c, err := exmail.New(exmail.Config{Endpoint: hs.URL, CorpID: fx.CorpID(), RequestsPerSecond: 1000,
		Secrets: map[exmail.App]string{exmail.Contacts: sec[fakeexmail.AppContacts], exmail.Options: sec[fakeexmail.AppOptions], exmail.Log: sec[fakeexmail.AppLog]}})
	if err != nil {
		t.Fatal(err)
	}
	return fx, c
}

func TestTokenReusedAcrossCalls(t *testing.T) {
	fx, c := start(t, nil, fakeexmail.Options{})
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		if _, err := c.Member(ctx, "zhangsan@example.cn"); err != nil {
			t.Fatal(err)
		}
	}
	st := fx.Stats()
	if st.GetToken != 1 || st.Requests != 10 {
		t.Fatalf("10 calls made %d gettoken and %d requests, want 1 and 10", st.GetToken, st.Requests)
	}
	// A second app gets its own token.
	if _, err := c.UserOptions(ctx, "zhangsan@example.cn"); err != nil {
		t.Fatal(err)
	}
	if st := fx.Stats(); st.GetTokenByApp["options"] != 1 || st.GetTokenByApp["contacts"] != 1 {
		t.Fatalf("tokens per app = %v, want one each", st.GetTokenByApp)
	}
}

func TestTokenRefreshedOnExpiryCodes(t *testing.T) {
	for _, code := range []int{fakeexmail.CodeExpiredToken, fakeexmail.CodeInvalidToken} {
		fx, c := start(t, nil, fakeexmail.Options{ExpiredCode: code})
		ctx := context.Background()
		if _, err := c.Member(ctx, "lisi@example.cn"); err != nil {
			t.Fatal(err)
		}
		fx.ExpireTokens()
		if _, err := c.Member(ctx, "lisi@example.cn"); err != nil {
			t.Fatalf("code %d: after expiry: %v", code, err)
		}
		if n := fx.Stats().GetToken; n != 2 {
			t.Fatalf("code %d: %d gettoken calls, want 2 (one refresh)", code, n)
		}
	}
}

func TestShortTokenLifetimeRenewsBeforeExpiry(t *testing.T) {
	fx, c := start(t, &fakeexmail.Seed{TokenTTL: 2 * time.Second, Members: fakeexmail.DefaultSeed().Members}, fakeexmail.Options{})
	ctx := context.Background()
	if _, err := c.Member(ctx, "lisi@example.cn"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // past half the lifetime: the client renews on its own
	if _, err := c.Member(ctx, "lisi@example.cn"); err != nil {
		t.Fatal(err)
	}
	for _, r := range fx.Requests() {
		if strings.Contains(r, "access_token=") && !strings.Contains(r, "access_token=REDACTED") {
			t.Fatalf("fake logged a token: %s", r)
		}
	}
	if n := fx.Stats().GetToken; n != 2 {
		t.Fatalf("%d gettoken calls, want 2", n)
	}
}

func TestWrongSecretIsTypedError(t *testing.T) {
	fx, err := fakeexmail.New(nil, fakeexmail.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(fx.Handler())
	defer hs.Close()
	c, err := exmail.New(exmail.Config{Endpoint: hs.URL, CorpID: fx.CorpID(), Secrets: map[exmail.App]string{exmail.Contacts: "not-the-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Member(context.Background(), "lisi@example.cn")
	var e *exmail.Error
	if !errors.As(err, &e) || e.Code != 40001 || e.Message != "invalid credential" || !exmail.IsInvalidCredential(err) {
		t.Fatalf("err = %#v, want errcode 40001 invalid credential", err)
	}
	if strings.Contains(err.Error(), "not-the-secret") {
		t.Fatalf("error shows the secret: %v", err)
	}
	// An app without a secret fails before any request.
	_, err = c.UserOptions(context.Background(), "lisi@example.cn")
	var ns *exmail.ErrNoSecret
	if !errors.As(err, &ns) || ns.App != exmail.Options || !strings.Contains(err.Error(), "功能设置") {
		t.Fatalf("err = %v, want ErrNoSecret for options", err)
	}
}

func TestErrcodeDecodingAndNotFound(t *testing.T) {
	_, c := start(t, nil, fakeexmail.Options{})
	_, err := c.Member(context.Background(), "nobody@example.cn")
	if !exmail.IsNotFound(err) || exmail.Code(err) != fakeexmail.CodeUserNotFound || !strings.Contains(err.Error(), "userid not found") {
		t.Fatalf("err = %v", err)
	}
	_, err = c.Members(context.Background(), 12345, true)
	if !exmail.IsNotFound(err) || exmail.Code(err) != fakeexmail.CodeDeptNotFound {
		t.Fatalf("unknown department: err = %v", err)
	}
}

func TestBusyIsRetried(t *testing.T) {
	fx, c := start(t, nil, fakeexmail.Options{})
	fx.FailBusy(2)
	if _, err := c.Member(context.Background(), "lisi@example.cn"); err != nil {
		t.Fatalf("after 2 busy answers: %v", err)
	}
	if n := fx.Stats().Requests; n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
}

func TestSixtyFourBitDepartmentIdsAndTraversal(t *testing.T) {
	for _, oneLevel := range []bool{false, true} {
		seed := &fakeexmail.Seed{Members: []fakeexmail.Member{
			{UserID: "a@example.cn", Name: "A", DepartmentPaths: []string{"研发中心/平台组/存储"}},
			{UserID: "b@example.cn", Name: "B", DepartmentPaths: []string{"销售部", "研发中心"}},
		}}
		fx, c := start(t, seed, fakeexmail.Options{DepartmentListOneLevel: oneLevel})
		ds, err := c.Departments(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, d := range ds {
			paths = append(paths, d.Path)
			want, _ := fx.DepartmentID(d.Path)
			if d.ID != want || d.ID <= 1<<53 {
				t.Fatalf("one level %v: %s id %d, fake has %d (must be exact and above 2^53)", oneLevel, d.Path, d.ID, want)
			}
		}
		if got := strings.Join(paths, ","); got != "研发中心,研发中心/平台组,研发中心/平台组/存储,销售部" {
			t.Fatalf("one level %v: paths %s", oneLevel, got)
		}
		ms, err := c.Members(context.Background(), 0, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 2 {
			t.Fatalf("members %d, want 2 (each once)", len(ms))
		}
		deep, _ := fx.DepartmentID("研发中心/平台组/存储")
		if ms[0].Department[0] != deep {
			t.Fatalf("member department %d, want %d", ms[0].Department[0], deep)
		}
	}
}

func TestMemberDetailsAndStringlyTypes(t *testing.T) {
	_, c := start(t, nil, fakeexmail.Options{UserListEnableString: true})
	ms, err := c.Members(context.Background(), 0, true)
	if err != nil {
		t.Fatal(err)
	}
	var zs exmail.Member
	for _, m := range ms {
		if m.UserID == "zhangsan@example.cn" {
			zs = m
		}
	}
	if zs.Name != "张三" || !zs.Enabled || zs.Gender != "1" || len(zs.Aliases) != 1 || zs.Aliases[0] != "san.zhang@example.cn" || zs.Position != "工程师" {
		t.Fatalf("member = %+v", zs)
	}
	simple, err := c.SimpleMembers(context.Background(), 0, true)
	if err != nil || len(simple) != 3 {
		t.Fatalf("simplelist = %v, %v", simple, err)
	}
	kinds, err := c.BatchCheck(context.Background(), []string{"zhangsan@example.cn", "san.zhang@example.cn", "free@example.cn", "bad"})
	if err != nil {
		t.Fatal(err)
	}
	if kinds["zhangsan@example.cn"] != 1 || kinds["san.zhang@example.cn"] != 2 || kinds["free@example.cn"] != 0 || kinds["bad"] != -1 {
		t.Fatalf("batchcheck = %v", kinds)
	}
}

func TestBatchCheckSplitsAtTwenty(t *testing.T) {
	fx, c := start(t, nil, fakeexmail.Options{})
	var addrs []string
	for i := 0; i < 45; i++ {
		addrs = append(addrs, "x"+strings.Repeat("y", i%3)+string(rune('a'+i%26))+"@example.cn")
	}
	if _, err := c.BatchCheck(context.Background(), addrs); err != nil {
		t.Fatal(err)
	}
	if n := fx.Stats().Requests; n != 3 {
		t.Fatalf("%d requests for 45 addresses, want 3", n)
	}
}

func TestPasswordUpdateAndIMAPSwitchDriveIMAPLogin(t *testing.T) {
	fx, c := start(t, nil, fakeexmail.Options{})
	ctx := context.Background()
	if err := fx.IMAPLogin("lisi@example.cn", "Exmail2024b"); err != nil {
		t.Fatalf("seeded password: %v", err)
	}
	if err := c.SetPassword(ctx, "lisi@example.cn", "Migrate2024x", true); err != nil {
		t.Fatal(err)
	}
	if err := fx.IMAPLogin("lisi@example.cn", "Exmail2024b"); err == nil {
		t.Fatal("old password still accepted")
	}
	if err := fx.IMAPLogin("lisi@example.cn", "Migrate2024x"); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if m, _ := fx.Member("lisi@example.cn"); !m.CpwdLogin {
		t.Fatal("cpwd_login not set")
	}
	m, err := c.Member(ctx, "lisi@example.cn")
	if err != nil || !m.CpwdLogin {
		t.Fatalf("member = %+v, %v", m, err)
	}
	// A password outside the policy is refused with the service's words and changes nothing.
	err = c.SetPassword(ctx, "lisi@example.cn", "short", false)
	if exmail.Code(err) != fakeexmail.CodeBadPassword || strings.Contains(err.Error(), "short") {
		t.Fatalf("err = %v", err)
	}

	if err := c.SetIMAP(ctx, "lisi@example.cn", false); err != nil {
		t.Fatal(err)
	}
	opts, err := c.UserOptions(ctx, "lisi@example.cn")
	if err != nil || opts[exmail.OptionIMAP] || opts[exmail.OptionSecureLogin] {
		t.Fatalf("options = %v, %v", opts, err)
	}
	if err := fx.IMAPLogin("lisi@example.cn", "Migrate2024x"); err == nil || err.Error() != fakeexmail.IMAPRefusal {
		t.Fatalf("IMAP off: login err = %v", err)
	}
	if err := c.SetIMAP(ctx, "lisi@example.cn", true); err != nil {
		t.Fatal(err)
	}
	if err := fx.IMAPLogin("lisi@example.cn", "Migrate2024x"); err != nil {
		t.Fatalf("IMAP on again: %v", err)
	}
	log, err := c.LoginLog(ctx, "lisi@example.cn", time.Now().AddDate(0, 0, -65), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 3 || log[0].Type != 4 {
		t.Fatalf("login log = %+v, want 3 client logins", log)
	}
}

func TestAliasLimitAndWeChatBound(t *testing.T) {
	seed := fakeexmail.DefaultSeed()
	seed.Members = append(seed.Members, fakeexmail.Member{UserID: "bound@example.cn", Name: "B", Password: "Exmail2024z", IMAP: true, WeChatBound: true})
	_, c := start(t, seed, fakeexmail.Options{})
	six := []string{"a1@example.cn", "a2@example.cn", "a3@example.cn", "a4@example.cn", "a5@example.cn", "a6@example.cn"}
	err := c.UpdateMember(context.Background(), exmail.MemberUpdate{UserID: "lisi@example.cn", Aliases: &six})
	if exmail.Code(err) != fakeexmail.CodeTooManySlaves {
		t.Fatalf("six aliases: err = %v", err)
	}
	err = c.SetPassword(context.Background(), "bound@example.cn", "Migrate2024x", true)
	if exmail.Code(err) != fakeexmail.CodePasswordNotAllow {
		t.Fatalf("bound member: err = %v", err)
	}
}
