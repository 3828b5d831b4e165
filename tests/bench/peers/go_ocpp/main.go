// Reference OCPP 1.6J CSMS for the benchmarks on github.com/lorenzodonini/ocpp-go.
//
// A benchmark peer, never part of the product: it answers the charger CALLs the load
// generator sends with fixed replies, so that the runner can compare throughput and CPU
// per message against Switchyard. The library's defaults (its validation of every CALL
// and CALLRESULT included), except for two settings:
//   - the pending-request state gets a mutex of its own. By default it shares the
//     dispatcher's, and v0.19.0 then deadlocks for good once more than 20 chargers
//     disconnect while others still send (DeleteClient blocks on a full channel under
//     the read lock, GetClientState waits for the write lock, the pump for a read lock;
//     upstream issue 358, fix proposed in pull request 412). Without this the first
//     load-generator run that ends with 200 chargers leaves the server answering nothing.
//   - no read deadline: the library drops a connection quiet for 60 s, and a charger of
//     the load generator can be.
//
// The library's server listens on every interface (it takes a port, not an address), so
// --host only names the address that the ready line reports. Port 0 picks a free port.
//
//	go -C tests/bench/peers/go_ocpp build -o "$PWD/build/bench/peers/go-ocpp" .  # or tests/bench/peers/setup
//	build/bench/peers/go-ocpp --port 0
//
// Prints `listening on HOST:PORT` once ready; exits on SIGTERM or SIGINT.
package main

import (
	"flag"
	"fmt"
	stdlog "log"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	ocpp16 "github.com/lorenzodonini/ocpp-go/ocpp1.6"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/certificates"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/extendedtriggermessage"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/firmware"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/localauth"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/logging"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/remotetrigger"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/reservation"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/securefirmware"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/security"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/smartcharging"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/types"
	"github.com/lorenzodonini/ocpp-go/ocppj"
	"github.com/lorenzodonini/ocpp-go/ws"
)

const heartbeatInterval = 300

// handler gives the fixed answers to the Core profile CALLs.
type handler struct {
	nextTransactionID atomic.Int64
}

func now() *types.DateTime { return types.NewDateTime(time.Now()) }

func accepted() *types.IdTagInfo { return types.NewIdTagInfo(types.AuthorizationStatusAccepted) }

func (h *handler) OnBootNotification(string, *core.BootNotificationRequest) (*core.BootNotificationConfirmation, error) {
	return core.NewBootNotificationConfirmation(now(), heartbeatInterval, core.RegistrationStatusAccepted), nil
}

func (h *handler) OnHeartbeat(string, *core.HeartbeatRequest) (*core.HeartbeatConfirmation, error) {
	return core.NewHeartbeatConfirmation(now()), nil
}

func (h *handler) OnMeterValues(string, *core.MeterValuesRequest) (*core.MeterValuesConfirmation, error) {
	return core.NewMeterValuesConfirmation(), nil
}

func (h *handler) OnStatusNotification(string, *core.StatusNotificationRequest) (*core.StatusNotificationConfirmation, error) {
	return core.NewStatusNotificationConfirmation(), nil
}

func (h *handler) OnAuthorize(string, *core.AuthorizeRequest) (*core.AuthorizeConfirmation, error) {
	return core.NewAuthorizationConfirmation(accepted()), nil
}

func (h *handler) OnStartTransaction(string, *core.StartTransactionRequest) (*core.StartTransactionConfirmation, error) {
	return core.NewStartTransactionConfirmation(accepted(), int(h.nextTransactionID.Add(1))), nil
}

func (h *handler) OnStopTransaction(string, *core.StopTransactionRequest) (*core.StopTransactionConfirmation, error) {
	return core.NewStopTransactionConfirmation(), nil
}

func (h *handler) OnDataTransfer(string, *core.DataTransferRequest) (*core.DataTransferConfirmation, error) {
	return core.NewDataTransferConfirmation(core.DataTransferStatusAccepted), nil
}

// errorLogger passes the libraries' errors to stderr and drops their debug and info lines.
type errorLogger struct{ *stdlog.Logger }

func (errorLogger) Debug(...interface{})          {}
func (errorLogger) Debugf(string, ...interface{}) {}
func (errorLogger) Info(...interface{})           {}
func (errorLogger) Infof(string, ...interface{})  {}
func (l errorLogger) Error(args ...interface{})   { l.Print(args...) }
func (l errorLogger) Errorf(format string, args ...interface{}) {
	l.Printf(format, args...)
}

func main() {
	host := flag.String("host", "127.0.0.1", "address reported as listening (the library binds every interface)")
	port := flag.Int("port", 0, "port; 0 picks a free one")
	flag.Parse()

	logger := errorLogger{stdlog.New(os.Stderr, "go-ocpp: ", stdlog.LstdFlags)}
	ws.SetLogger(logger)
	ocppj.SetLogger(logger)

	server := ws.NewServer()
	server.SetTimeoutConfig(ws.ServerTimeoutConfig{WriteWait: ws.NewServerTimeoutConfig().WriteWait})
	// As ocpp16.NewCentralSystem(nil, server) builds it, with the same profiles, but a
	// pending-request state that does not share the dispatcher's mutex (see above).
	endpoint := ocppj.NewServer(server, nil, ocppj.NewServerState(&sync.RWMutex{}),
		core.Profile, localauth.Profile, firmware.Profile, reservation.Profile,
		remotetrigger.Profile, smartcharging.Profile, logging.Profile, security.Profile,
		extendedtriggermessage.Profile, certificates.Profile, securefirmware.Profile)
	centralSystem := ocpp16.NewCentralSystem(endpoint, server)
	centralSystem.SetCoreHandler(&handler{})

	stopped := make(chan struct{})
	go func() {
		centralSystem.Start(*port, "/ocpp/{id}")
		close(stopped)
	}()

	// Start blocks while it serves; Addr is set once it listens.
	for server.Addr() == nil {
		select {
		case <-stopped:
			fmt.Fprintf(os.Stderr, "go-ocpp: could not listen on port %d\n", *port)
			os.Exit(1)
		case <-time.After(5 * time.Millisecond):
		}
	}
	fmt.Printf("listening on %s:%d\n", *host, server.Addr().Port)

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-signals:
		centralSystem.Stop()
		<-stopped
	case <-stopped:
		os.Exit(1)
	}
}
