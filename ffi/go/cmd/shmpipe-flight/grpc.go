package main

// gRPC settings both ends share: message limits, flow-control windows,
// TLS and the token of Flight's auth handshake.

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// maxMessage is the largest gRPC message either end accepts: protobuf's
// own cap (2 GiB - 1), instead of gRPC's default of 4 MiB.
const maxMessage = math.MaxInt32

// maxBody is the largest batch body one Flight message can carry: the cap
// less room for the message's header (a batch's metadata) and framing. (A
// variable only so that tests can split batches without gigabytes.)
var maxBody int64 = maxMessage - 16<<20

// window is gRPC's flow-control window per stream and per connection: the
// default (64 KiB, grown by its estimate of the bandwidth-delay product)
// holds a large transfer back on a fast link.
const window = 64 << 20

func serverOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ForceServerCodecV2(newCodec()),
		grpc.MaxRecvMsgSize(maxMessage),
		grpc.MaxSendMsgSize(maxMessage),
		grpc.InitialWindowSize(window),
		grpc.InitialConnWindowSize(window),
		grpc.WriteBufferSize(1 << 20),
		grpc.ReadBufferSize(1 << 20),
	}
}

func dialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(newCodec()), grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)),
		grpc.WithInitialWindowSize(window),
		grpc.WithInitialConnWindowSize(window),
		grpc.WithWriteBufferSize(1 << 20),
		grpc.WithReadBufferSize(1 << 20),
	}
}

// address is a Flight location: grpc://HOST:PORT (also grpc+tcp://),
// grpc+tls://HOST:PORT, or HOST:PORT.
type address struct {
	hostPort string
	tls      bool
}

func parseAddress(s string) (address, error) {
	a := address{hostPort: s}
	for _, scheme := range []string{"grpc://", "grpc+tcp://", "grpc+tls://"} {
		if rest, ok := strings.CutPrefix(s, scheme); ok {
			a = address{hostPort: strings.TrimSuffix(rest, "/"), tls: scheme == "grpc+tls://"}
			break
		}
	}
	if strings.Contains(a.hostPort, "://") {
		return a, fmt.Errorf("%q is not a Flight address: use grpc://HOST:PORT or grpc+tls://HOST:PORT", s)
	}
	if _, _, err := net.SplitHostPort(a.hostPort); err != nil {
		return a, fmt.Errorf("%q is not a Flight address (HOST:PORT): %v", s, err)
	}
	return a, nil
}

func (a address) String() string {
	if a.tls {
		return "grpc+tls://" + a.hostPort
	}
	return "grpc://" + a.hostPort
}

// isLoopback is true for a listen address that only this machine reaches.
func isLoopback(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// readToken is the token from --token-file, else $SHMPIPE_FLIGHT_TOKEN
// (a token on the command line would be visible to every user in ps).
func readToken(file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("cannot read the token: %v", err)
		}
		token := strings.TrimSpace(string(b))
		if token == "" {
			return "", fmt.Errorf("the token file %s is empty", file)
		}
		return token, nil
	}
	return os.Getenv("SHMPIPE_FLIGHT_TOKEN"), nil
}

// tokenAuth is Flight's auth handshake with one shared token: the client
// sends it in the handshake and then with every call ("auth-token-bin").
type tokenAuth struct{ token []byte }

func (t tokenAuth) Authenticate(conn flight.AuthConn) error {
	payload, err := conn.Read()
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(payload, t.token) != 1 {
		return status.Error(codes.Unauthenticated, "the token does not match the server's")
	}
	return conn.Send(t.token)
}

func (t tokenAuth) IsValid(token string) (any, error) {
	if subtle.ConstantTimeCompare([]byte(token), t.token) != 1 {
		return nil, errors.New("a call without the server's token (run the auth handshake first)")
	}
	return "token", nil
}

// clientToken is the client's side of tokenAuth.
type clientToken struct{ token string }

func (c clientToken) Authenticate(_ context.Context, conn flight.AuthConn) error {
	if err := conn.Send([]byte(c.token)); err != nil {
		return err
	}
	_, err := conn.Read()
	return err
}

func (c clientToken) GetToken(context.Context) (string, error) { return c.token, nil }

// clientFlags are the connection options of pull and push.
type clientFlags struct {
	tokenFile string
	caFile    string
}

// dial connects to a Flight server, with TLS and the token as asked.
func dial(ctx context.Context, a address, f clientFlags) (flight.Client, error) {
	options := dialOptions()
	if a.tls || f.caFile != "" {
		config := &tls.Config{MinVersion: tls.VersionTLS12}
		if f.caFile != "" {
			pem, err := os.ReadFile(f.caFile)
			if err != nil {
				return nil, fmt.Errorf("cannot read the CA certificate: %v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%s holds no PEM certificate", f.caFile)
			}
			config.RootCAs = pool
		}
		options = append(options, grpc.WithTransportCredentials(credentials.NewTLS(config)))
	} else {
		options = append(options, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	token, err := readToken(f.tokenFile)
	if err != nil {
		return nil, err
	}
	var auth flight.ClientAuthHandler
	if token != "" {
		auth = clientToken{token}
	}
	client, err := flight.NewClientWithMiddlewareCtx(ctx, a.hostPort, auth, nil, options...)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to %s: %v", a, err)
	}
	if auth != nil {
		if err := client.Authenticate(ctx); err != nil {
			client.Close()
			if status.Code(err) == codes.Unauthenticated {
				return nil, fmt.Errorf("%s refused the token: %s", a, statusMessage(err))
			}
			return nil, unreachable(a, err)
		}
	}
	return client, nil
}

// unreachable words a failed connection: what gRPC said, and what to check.
func unreachable(a address, err error) error {
	other := "grpc://"
	if !a.tls {
		other = "grpc+tls://"
	}
	if strings.Contains(err.Error(), "certificate") {
		return fmt.Errorf("cannot reach the Flight server at %s: %s; its certificate is not trusted here: give the CA that signed it with --tls-ca FILE", a, statusMessage(err))
	}
	return fmt.Errorf("cannot reach the Flight server at %s: %s; check that it runs there, and whether it speaks TLS (%s...)", a, statusMessage(err), other)
}

// explain adds what to do to a failed call's error.
func explain(a address, err error) error {
	switch status.Code(err) {
	case codes.Unavailable:
		return unreachable(a, err)
	case codes.Unauthenticated:
		return fmt.Errorf("%s; the server asks for a token: give it with --token-file FILE or $SHMPIPE_FLIGHT_TOKEN", statusMessage(err))
	}
	return err
}
