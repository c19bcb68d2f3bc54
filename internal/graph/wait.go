package graph

import (
	"context"

	"github.com/m365-migration/terraform-provider-m365/internal/httpx"
)

// WaitUntil polls check until it reports done, the context ends, or check fails with an error that
// is not a 404. It is how read-after-write consistency is handled: by polling a read until it agrees
// with what was written (https://devblogs.microsoft.com/identity/designing-for-eventual-consistency-for-microsoft-entra/), never by a fixed sleep.
func WaitUntil(ctx context.Context, what string, check func(ctx context.Context) (bool, error)) error {
	return httpx.Poll(ctx, what, IsNotFound, check)
}
