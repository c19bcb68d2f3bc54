package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
)

// opTimeouts are a resource's default time limits per operation; zero means the resource has no
// such timeout. The same values feed the schema's descriptions and the Timeouts.X(ctx, default)
// calls, so the documentation states the defaults the code uses.
type opTimeouts struct {
	Create, Read, Update, Delete time.Duration
}

// timeoutsAttribute is the one form of every resource's timeouts: an optional attribute
// (timeouts = { create = "2h" }), each operation described with its default.
func timeoutsAttribute(ctx context.Context, d opTimeouts) schema.Attribute {
	desc := func(op string, v time.Duration) string {
		if v == 0 {
			return ""
		}
		return fmt.Sprintf("How long the %s operation may take, its waits included, as a duration such as `\"30s\"`, `\"45m\"` or `\"2h\"`. Default: `%s`.", op, durationText(v))
	}
	a := timeouts.Attributes(ctx, timeouts.Opts{
		Create: d.Create != 0, Read: d.Read != 0, Update: d.Update != 0, Delete: d.Delete != 0,
		CreateDescription: desc("create", d.Create), ReadDescription: desc("read (refresh)", d.Read),
		UpdateDescription: desc("update", d.Update), DeleteDescription: desc("delete", d.Delete),
	})
	if n, ok := a.(schema.SingleNestedAttribute); ok {
		n.MarkdownDescription = "Time limits of the operations. A limit bounds every wait of its operation (no fixed sleeps); when it ends, the operation stops with an error that says what was awaited."
		return n
	}
	return a
}

// durationText writes d the way a configuration would: "2h", "30m", "1m30s".
func durationText(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	default:
		return d.String()
	}
}

// The defaults of every resource, in one place.
var (
	distributionGroupTimeouts  = opTimeouts{Create: 30 * time.Minute, Read: 5 * time.Minute, Update: 30 * time.Minute, Delete: 10 * time.Minute}
	dkimTimeouts               = opTimeouts{Create: 30 * time.Minute, Read: 5 * time.Minute, Update: 30 * time.Minute, Delete: 10 * time.Minute}
	domainTimeouts             = opTimeouts{Create: 10 * time.Minute, Read: 5 * time.Minute, Update: 10 * time.Minute, Delete: 30 * time.Minute}
	domainVerificationTimeouts = opTimeouts{Create: 30 * time.Minute, Read: 5 * time.Minute}
	migrationEndpointTimeouts  = opTimeouts{Create: 10 * time.Minute, Read: 5 * time.Minute, Update: 10 * time.Minute, Delete: 10 * time.Minute}
	migrationBatchTimeouts     = opTimeouts{Create: 2 * time.Hour, Read: 10 * time.Minute, Update: 2 * time.Hour, Delete: 30 * time.Minute}
	userTimeouts               = opTimeouts{Create: 10 * time.Minute, Read: 5 * time.Minute, Update: 10 * time.Minute, Delete: 10 * time.Minute}
	usersTimeouts              = opTimeouts{Create: time.Hour, Read: 10 * time.Minute, Update: time.Hour, Delete: time.Hour}
)
