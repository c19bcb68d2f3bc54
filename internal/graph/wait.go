package graph

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/httpx"
)

// WaitUntil polls check until it reports done, the context ends, or check fails with an error
// that is not a 404. It is how read-after-write consistency is handled: by polling a read until
// it agrees with what was written (reference/graph-api.md §4.4), never by a fixed sleep. The
// delay grows from 250 ms to 5 s; the context's deadline (the operation's timeout) bounds it.
func WaitUntil(ctx context.Context, what string, check func(ctx context.Context) (bool, error)) error {
	delay := 250 * time.Millisecond
	var last error
	for attempt := 1; ; attempt++ {
		done, err := check(ctx)
		switch {
		case err == nil && done:
			return nil
		case err != nil && !IsNotFound(err):
			return err
		}
		last = err
		if e := httpx.Sleep(ctx, delay); e != nil {
			if last != nil {
				return fmt.Errorf("waiting for %s: gave up after %d reads: %w", what, attempt, errors.Join(e, last))
			}
			return fmt.Errorf("waiting for %s: gave up after %d reads: %w", what, attempt, e)
		}
		delay = min(delay*2, 5*time.Second)
	}
}
