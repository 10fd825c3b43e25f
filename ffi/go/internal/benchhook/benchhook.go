// Package benchhook shows shmpipe's own benchmark (cmd/shmpipe-bench) a
// moment inside the package that no user needs to see. Being internal,
// it is importable only from within ffi/go: ArrowWriter's API stays as
// users know it.
package benchhook

// BeforeArrowCommit, when set, runs as an ArrowWriter's message is about
// to be committed (checked by the core and published in one call), after
// it was written into its claimed record: the Go hand-off case stamps its
// "commit" there, as the TypeScript case (scripts/bench/handoff.ts) stamps
// just before its commit. Set it before the first write; it runs for every
// message (a schema, a dictionary, then the batch, last).
var BeforeArrowCommit func()
