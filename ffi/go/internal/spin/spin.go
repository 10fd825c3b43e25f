// Package spin holds the one instruction a spin-wait needs that Go does
// not offer, in assembly (a package that uses cgo cannot hold Go
// assembly, and a cgo call would cost more than the wait it eases).
package spin
