// Package testregistry runs a real OCI registry (distribution/v3, the
// registry behind Docker Hub's open-source core) in-process on loopback,
// with in-memory storage, for tests. Import it from _test.go files only:
// the host binary must not link a registry.
package testregistry

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory" // the "inmemory" storage driver
	"github.com/sirupsen/logrus"
)

// Registry is one running registry. Its content survives Down and Up.
type Registry struct {
	// Host is HOST:PORT on 127.0.0.1, as an oci:// reference names it.
	Host string

	app *handlers.App
	mu  sync.Mutex
	srv *http.Server
	// Requests counts the HTTP requests served, to show a warm start
	// asks nothing.
	requests int
}

// Start runs a registry until the test ends.
func Start(t testing.TB) *Registry {
	t.Helper()
	logrus.SetOutput(io.Discard) // distribution logs every request through logrus
	cfg := &configuration.Configuration{Storage: configuration.Storage{"inmemory": configuration.Parameters{}}}
	cfg.Log.Level = "error"
	cfg.Log.AccessLog.Disabled = true
	cfg.HTTP.Secret = "testregistry" // upload state is signed with it; fixed so Up after Down keeps uploads valid
	r := &Registry{app: handlers.NewApp(context.Background(), cfg)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.Host = l.Addr().String()
	r.serve(l)
	t.Cleanup(r.Down)
	return r
}

func (r *Registry) serve(l net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.requests++
		r.mu.Unlock()
		r.app.ServeHTTP(w, req)
	})}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err)
		}
	}()
}

// Down stops serving: connections are refused as by a registry that is
// down. The content stays for Up.
func (r *Registry) Down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Up serves again on the same address.
func (r *Registry) Up(t testing.TB) {
	t.Helper()
	l, err := net.Listen("tcp", r.Host)
	if err != nil {
		t.Fatal(err)
	}
	r.serve(l)
}

// Requests returns how many requests were served so far.
func (r *Registry) Requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}
