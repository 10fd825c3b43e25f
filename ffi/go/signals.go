package shmpipe

/*
#include "shmpipe.h"
*/
import "C"

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// The names a process created are recorded by the C core (one registry for
// every binding, keyed by pid so that a forked child never removes its
// parent's names). Close removes a name; what happens to the names of a
// process that ends without closing is the program's choice, never this
// package's: a library does not decide when its program dies.
//
// The core offers a signal policy of its own (shmp_owned_unlink_on_signals:
// a handler only where a signal's action is still the default), but it
// installs nothing in a Go process: the Go runtime installs a handler for
// every signal at start-up, so none of SIGINT, SIGTERM and SIGHUP is at its
// default action by the time Go code runs. The Go way to take a signal is
// os/signal, and that is what RemoveNamesOnSignals uses, on request.

// RemoveNamesOnSignals makes SIGINT, SIGTERM and SIGHUP remove every name
// this process created and has not closed yet, then end the process by the
// same signal (its parent sees "killed by SIGTERM", as it would without
// shmpipe). A signal the program was started with ignored (nohup's SIGHUP)
// stays ignored. Call it once, early in main, in a program that does not
// handle these signals itself; stop undoes it.
//
// A program that handles the signals itself (signal.Notify or
// signal.NotifyContext) must not call it: its handler decides when the
// program ends, and closing its writers and readers there removes their
// names. A program that does neither is ended by the signal as Go ends any
// program, and the names it created stay in /dev/shm until `shmpipe gc`
// removes them (the creator is dead). It takes no context: what it does on
// a signal is end the process, which leaves the program nothing to observe.
func RemoveNamesOnSignals() (stop func()) {
	var taken []os.Signal
	for _, sig := range []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		if !signal.Ignored(sig) {
			taken = append(taken, sig)
		}
	}
	signals, done := make(chan os.Signal, 1), make(chan struct{})
	signal.Notify(signals, taken...)
	go func() {
		select {
		case sig := <-signals:
			C.shmp_owned_unlink_all()
			// With no channel notified any more, the runtime gives the
			// signal its default course: the process ends by it.
			signal.Reset(sig)
			syscall.Kill(syscall.Getpid(), sig.(syscall.Signal))
		case <-done:
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(signals)
			close(done)
		})
	}
}
