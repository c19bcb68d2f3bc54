package provider

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
)

// TestTimeoutsOneForm: every resource that has timeouts declares them in one form, the optional
// attribute timeouts = { ... }, and each operation's description states the default the code uses.
func TestTimeoutsOneForm(t *testing.T) {
	ctx := context.Background()
	defaults := map[string]opTimeouts{
		"m365_distribution_group":      distributionGroupTimeouts,
		"m365_dkim":                    dkimTimeouts,
		"m365_domain":                  domainTimeouts,
		"m365_domain_verification":     domainVerificationTimeouts,
		"m365_imap_migration_endpoint": migrationEndpointTimeouts,
		"m365_migration_batch":         migrationBatchTimeouts,
		"m365_user":                    userTimeouts,
		"m365_users":                   usersTimeouts,
	}
	seen := 0
	for _, newResource := range New("test")().Resources(ctx) {
		r := newResource()
		var meta resource.MetadataResponse
		r.Metadata(ctx, resource.MetadataRequest{ProviderTypeName: "m365"}, &meta)
		var resp resource.SchemaResponse
		r.Schema(ctx, resource.SchemaRequest{}, &resp)
		if _, ok := resp.Schema.Blocks["timeouts"]; ok {
			t.Errorf("%s: timeouts is a block; use timeoutsAttribute (timeouts = { ... })", meta.TypeName)
		}
		a, ok := resp.Schema.Attributes["timeouts"]
		if !ok {
			continue
		}
		seen++
		d, known := defaults[meta.TypeName]
		if !known {
			t.Errorf("%s has timeouts but no opTimeouts entry in this test", meta.TypeName)
			continue
		}
		n, ok := a.(schema.SingleNestedAttribute)
		if !ok {
			t.Errorf("%s: timeouts is %T, want the attribute timeoutsAttribute builds", meta.TypeName, a)
			continue
		}
		for op, v := range map[string]time.Duration{"create": d.Create, "read": d.Read, "update": d.Update, "delete": d.Delete} {
			sub, has := n.Attributes[op]
			if has != (v != 0) {
				t.Errorf("%s: timeouts.%s present = %v, default %v", meta.TypeName, op, has, v)
				continue
			}
			if has && !strings.Contains(sub.GetDescription(), "Default: `"+durationText(v)+"`") {
				t.Errorf("%s: timeouts.%s description %q does not state the default %s", meta.TypeName, op, sub.GetDescription(), durationText(v))
			}
		}
	}
	if seen != len(defaults) {
		t.Errorf("%d resources have timeouts, the table lists %d", seen, len(defaults))
	}
}

func TestDurationText(t *testing.T) {
	for d, want := range map[time.Duration]string{2 * time.Hour: "2h", time.Hour: "1h", 30 * time.Minute: "30m", 90 * time.Second: "1m30s"} {
		if got := durationText(d); got != want {
			t.Errorf("durationText(%v) = %q, want %q", d, got, want)
		}
	}
}
