//go:build !amd64 && !arm64

package spin

// Pause does nothing where no spin-wait hint is written for the CPU.
func Pause() {}
