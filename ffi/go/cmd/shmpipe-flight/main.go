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

// usageErr is a mistake in how the program was called (exit status 2).
type usageErr struct{ error }

func (u usageErr) Unwrap() error { return u.error }

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
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
	case "receive":
		err = receive(args)
	case "help", "--help", "-h": // everything, each command's options too
		fmt.Println(strings.Join([]string{usage, serveUsage, pullUsage, pushUsage}, "\n\n"))
		return
	default:
		fmt.Fprintf(os.Stderr, "shmpipe-flight: unknown command %q (serve, pull or push)\n", command)
		os.Exit(2)
	}
	if err == nil {
		return
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Println(map[string]string{"serve": serveUsage, "pull": pullUsage, "push": pushUsage, "receive": usage}[command])
		return
	}
	var wrong usageErr
	if errors.As(err, &wrong) {
		fmt.Fprintf(os.Stderr, "shmpipe-flight %s: %v ('shmpipe-flight %s --help' shows how)\n", command, wrong.error, command)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "shmpipe-flight %s: %s\n", command, statusMessage(err))
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
