// Command shmpipe-flight bridges shmpipe channels and published tables
// between machines over Arrow Flight (arrow-go's Flight, gRPC): serve
// makes this machine's names reachable, pull fetches one into a local
// channel or table, push sends one to a server.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc/status"
)

const usage = `usage: shmpipe-flight <command> [options]

Moves shmpipe channels and published tables between machines over Arrow
Flight (gRPC); any Flight client or server (pyarrow.flight, arrow-go, ...)
is the other end as well.

commands:
  serve --serve PATTERNS [--listen HOST:PORT]
                        serve the channels and tables whose names match
  pull ADDR NAME [LOCAL]
                        fetch NAME from the Flight server at ADDR into LOCAL
  push NAME ADDR [REMOTE]
                        send the local NAME to the Flight server at ADDR

ADDR is grpc://HOST:PORT, grpc+tls://HOST:PORT or HOST:PORT.
Run 'shmpipe-flight <command> --help' for a command's options.`

// program is how this program is called in what it prints: "shmpipe
// flight" when the shmpipe command runs it (it sets $SHMPIPE_FLIGHT_AS).
var program = func() string {
	if as := os.Getenv("SHMPIPE_FLIGHT_AS"); as != "" {
		return as
	}
	return "shmpipe-flight"
}()

// named is a text with this program's name in it.
func named(text string) string { return strings.ReplaceAll(text, "shmpipe-flight ", program+" ") }

// usageErr is a mistake in how the program was called (exit status 2).
type usageErr struct{ error }

func (u usageErr) Unwrap() error { return u.error }

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, named(usage))
		os.Exit(2)
	}
	command, args := os.Args[1], os.Args[2:]
	var err error
	switch command {
	case "serve":
		err = serve(args)
	case "pull":
		err = pull(args)
	case "push":
		err = push(args)
	case "help", "--help", "-h": // everything, each command's options too
		fmt.Println(named(strings.Join([]string{usage, serveUsage, pullUsage, pushUsage}, "\n\n")))
		return
	default:
		fmt.Fprintf(os.Stderr, "%s: unknown command %q (serve, pull or push)\n", program, command)
		os.Exit(2)
	}
	if err == nil {
		return
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Println(named(map[string]string{"serve": serveUsage, "pull": pullUsage, "push": pushUsage}[command]))
		return
	}
	var wrong usageErr
	if errors.As(err, &wrong) {
		fmt.Fprintf(os.Stderr, "%s %s: %v ('%s %s --help' shows how)\n", program, command, wrong.error, program, command)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "%s %s: %s\n", program, command, statusMessage(err))
	os.Exit(1)
}

// statusMessage is an error as a sentence: a gRPC status's message with
// its code, anything else as it is.
func statusMessage(err error) string {
	if st, ok := status.FromError(err); ok {
		return fmt.Sprintf("%s (%s)", st.Message(), st.Code())
	}
	return err.Error()
}
