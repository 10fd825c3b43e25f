package shmpipe

/*
#include "shmpipe.h"
*/
import "C"

import (
	"context"
	"fmt"
	"time"
)

// DefaultSpin is how many times a wait polls before it sleeps on the futex
// (the core's DEFAULT_SPIN, the same in every language).
var DefaultSpin = constant("DEFAULT_SPIN")

// timeoutNs is the core's timeout for a wait under ctx: the time to its
// deadline, or -1 (no limit: cancellation and the peer's death end it).
func timeoutNs(ctx context.Context) int64 {
	deadline, ok := ctx.Deadline()
	if !ok {
		return -1
	}
	return max(int64(time.Until(deadline)), 0)
}

// deadlineGrace is how long past ctx's deadline a wait may go on before
// it is interrupted: the core's own timeout (ctx's deadline, timeoutNs)
// ends it within microseconds unless the machine is too loaded to run it.
const deadlineGrace = 100 * time.Millisecond

// whileWaiting runs wait (a blocking core call, given ctx's deadline as its
// timeout) and, if ctx is cancelled meanwhile, calls interrupt so that the
// call returns early. At ctx's deadline it leaves the ending to the core's
// own timeout, which says more (how many of a batch's records were sent):
// an interrupt would race it. The blocked call holds its OS thread; the
// watcher is a goroutine only while it lasts, and it has finished when
// whileWaiting returns (so interrupt never runs on an endpoint closed
// after the wait).
func whileWaiting(ctx context.Context, interrupt func(), wait func() int64) int64 {
	if ctx.Done() == nil {
		return wait()
	}
	done, watcher := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watcher)
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		if deadline, ok := ctx.Deadline(); ok && ctx.Err() == context.DeadlineExceeded {
			late := time.NewTimer(time.Until(deadline) + deadlineGrace)
			defer late.Stop()
			select {
			case <-late.C:
			case <-done:
				return
			}
		}
		interrupt()
	}()
	rc := wait()
	close(done)
	<-watcher
	return rc
}

// waitFailed is the error a wait that returned rc < 0 ends with: ctx's
// error if ctx ended it (by cancellation), the core's (matching
// context.DeadlineExceeded too when ctx's deadline was its limit), or nil
// for an interrupt that asks the caller to look again (a Close, a release,
// or a stale wake).
func waitFailed(ctx context.Context, rc int64, e *C.shmp_error, op, segment string) error {
	if rc == int64(codeAgain) {
		if ctx.Err() != context.DeadlineExceeded {
			return ctx.Err()
		}
		// The deadline passed while this package polled, or the core's
		// timeout did not end a wait within deadlineGrace.
		err := usageError(ErrTimeout.Code, op, segment, "")
		return fmt.Errorf("%w (%w)", err, context.DeadlineExceeded)
	}
	err := fromCore(e)
	if _, ok := ctx.Deadline(); ok && err.Code == ErrTimeout.Code {
		return fmt.Errorf("%w (%w)", err, context.DeadlineExceeded)
	}
	return err
}
