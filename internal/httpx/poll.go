package httpx

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Poll calls check until it reports done, the context ends, or check fails with an error that
// pending does not accept (typically "not found yet": read-after-write lag). It is how the clients
// wait on evidence instead of sleeping a fixed time: the delay grows from 250 ms to 5 s and the
// context's deadline (the operation's timeout) bounds the whole wait. On timeout the error names
// what was awaited, how many reads were made and the last answer.
func Poll(ctx context.Context, what string, pending func(error) bool, check func(ctx context.Context) (bool, error)) error {
	return PollUpTo(ctx, what, 5*time.Second, pending, check)
}

// PollUpTo is Poll with the delay between reads growing to at most maxDelay: waits that last
// hours on a real tenant (a mailbox provisioned up to 24 hours after licensing, an initial sync)
// poll every 30 s or so rather than every 5 s. It is the one wait primitive of the clients.
func PollUpTo(ctx context.Context, what string, maxDelay time.Duration, pending func(error) bool, check func(ctx context.Context) (bool, error)) error {
	delay := min(250*time.Millisecond, maxDelay)
	var last error
	for attempt := 1; ; attempt++ {
		done, err := check(ctx)
		switch {
		case err == nil && done:
			return nil
		case err != nil && !pending(err):
			return err
		}
		last = err
		if e := Sleep(ctx, delay); e != nil {
			if last != nil {
				return fmt.Errorf("waiting for %s: gave up after %d reads: %w", what, attempt, errors.Join(e, last))
			}
			return fmt.Errorf("waiting for %s: gave up after %d reads: %w", what, attempt, e)
		}
		delay = min(delay*2, maxDelay)
	}
}
