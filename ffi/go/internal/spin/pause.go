//go:build amd64 || arm64

package spin

// Pause tells the CPU that this is a spin-wait, as the C core's polls do
// (cpu_relax): the loop leaves the pipeline cheaply when the word it
// polls changes, rather than flushing it (which measured 60-100 ns more
// per round trip), and it leaves the core's other thread room to run.
func Pause()
