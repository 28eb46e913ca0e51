package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options tune Start. The zero value is what tests want.
type Options struct {
	// Dir is where data, certificates, logs and the kubeconfig go. Empty: a new
	// temp directory, removed by Stop.
	Dir string
	// BinDir holds kube-apiserver, etcd and (for StartControllerManager)
	// kube-controller-manager. Empty: see BinaryDir.
	BinDir string
	// ExtraAPIServerArgs are appended to the apiserver command line
	// ("--flag=value").
	ExtraAPIServerArgs []string
	// ReadyTimeout bounds the wait for /readyz. Default 60s.
	ReadyTimeout time.Duration
}

// Environment is a running control plane.
type Environment struct {
	// Config is an admin (system:masters) client config. Each call to
	// RESTConfig returns a copy safe to modify.
	Config *rest.Config
	// KubeconfigPath is a kubeconfig file with the same admin identity, for
	// kubectl and for processes started by tests.
	KubeconfigPath string
	// Dir is the working directory of this environment.
	Dir string
	// Host is the apiserver URL (https://127.0.0.1:port).
	Host string

	pki        *pki
	binDir     string
	removeDir  bool
	etcd       *Process
	apiserver  *Process
	mu         sync.Mutex
	extra      []*Process
	etcdURL    string
	apiArgs    []string
	apiPort    int
	stopOnce   sync.Once
	readyAfter time.Duration
}

// BinaryDir returns the directory holding the control-plane binaries:
// KUBEBUILDER_ASSETS when it has kube-apiserver and etcd, else
// WASMCTL_TOOLS_DIR when set, else what hack/build-tools.sh prints (it builds
// the binaries on first use).
func BinaryDir() (string, error) {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" && executable(filepath.Join(d, "kube-apiserver")) && executable(filepath.Join(d, "etcd")) {
		return d, nil
	}
	if d := os.Getenv("WASMCTL_TOOLS_DIR"); d != "" && executable(filepath.Join(d, "kube-apiserver")) {
		return d, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(filepath.Join(root, "hack", "build-tools.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("hack/build-tools.sh: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// RepoRoot finds the repository root by walking up from the working
// directory to the directory holding hack/build-tools.sh.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if executable(filepath.Join(dir, "hack", "build-tools.sh")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testenv: cannot find the repository root (hack/build-tools.sh) above the working directory")
		}
		dir = parent
	}
}

func executable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// Start runs etcd and kube-apiserver and waits until the apiserver is ready.
// On error nothing is left running.
func Start(ctx context.Context, opts Options) (_ *Environment, err error) {
	e := &Environment{Dir: opts.Dir, binDir: opts.BinDir}
	if e.binDir == "" {
		if e.binDir, err = BinaryDir(); err != nil {
			return nil, err
		}
	}
	if e.Dir == "" {
		if e.Dir, err = os.MkdirTemp("", "wasmctl-testenv-"); err != nil {
			return nil, err
		}
		e.removeDir = true
	} else if err := os.MkdirAll(e.Dir, 0o755); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()
	started := time.Now()
	if e.pki, err = writePKI(e.Dir); err != nil {
		return nil, fmt.Errorf("testenv: certificates: %w", err)
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdClient, etcdPeer := ports[0], ports[1]
	e.apiPort = ports[2]
	e.etcdURL = fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPeer)
	e.etcd, err = startProcess("etcd", filepath.Join(e.binDir, "etcd"), filepath.Join(e.Dir, "etcd.log"), []string{
		"--name=default",
		"--data-dir=" + filepath.Join(e.Dir, "etcd"),
		"--listen-client-urls=" + e.etcdURL,
		"--advertise-client-urls=" + e.etcdURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=default=" + peerURL,
		"--unsafe-no-fsync=true", // test data: durability buys nothing, fsync costs seconds
		"--log-level=warn",
	}, nil)
	if err != nil {
		return nil, err
	}

	e.Host = fmt.Sprintf("https://127.0.0.1:%d", e.apiPort)
	e.apiArgs = append([]string{
		"--etcd-servers=" + e.etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// A loopback advertise address is refused by the endpoint reconciler,
		// and no pod here talks to the "kubernetes" Service anyway.
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(e.apiPort),
		"--cert-dir=" + filepath.Join(e.Dir, "apiserver-certs"),
		"--tls-cert-file=" + e.pki.ServingCertFile,
		"--tls-private-key-file=" + e.pki.ServingKeyFile,
		"--client-ca-file=" + e.pki.CAFile,
		"--authorization-mode=RBAC",
		"--service-account-key-file=" + e.pki.SAPublicFile,
		"--service-account-signing-key-file=" + e.pki.SAPrivateFile,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true",
		// No kube-controller-manager runs the serviceaccount controller that
		// creates "default" ServiceAccounts, so the admission plugin that
		// requires one would refuse every pod (envtest does the same).
		"--disable-admission-plugins=ServiceAccount",
		"--enable-priority-and-fairness=false",
		"--storage-media-type=application/vnd.kubernetes.protobuf",
		"--profiling=false",
	}, opts.ExtraAPIServerArgs...)
	if err := e.startAPIServer(); err != nil {
		return nil, err
	}

	e.Config = &rest.Config{
		Host: e.Host,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   e.pki.CAData,
			CertData: e.pki.AdminCertData,
			KeyData:  e.pki.AdminKeyData,
		},
		QPS:   200,
		Burst: 400,
	}
	if err := e.writeKubeconfig(); err != nil {
		return nil, err
	}
	timeout := opts.ReadyTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	if err := e.WaitReady(ctx, timeout); err != nil {
		return nil, err
	}
	e.readyAfter = time.Since(started)
	return e, nil
}

func (e *Environment) startAPIServer() error {
	p, err := startProcess("kube-apiserver", filepath.Join(e.binDir, "kube-apiserver"), filepath.Join(e.Dir, "kube-apiserver.log"), e.apiArgs, nil)
	if err != nil {
		return err
	}
	e.apiserver = p
	return nil
}

// StartupTime is how long Start took until /readyz answered ok.
func (e *Environment) StartupTime() time.Duration { return e.readyAfter }

// RESTConfig returns a copy of the admin client config.
func (e *Environment) RESTConfig() *rest.Config { return rest.CopyConfig(e.Config) }

// Clientset returns a typed admin client.
func (e *Environment) Clientset() *kubernetes.Clientset {
	return kubernetes.NewForConfigOrDie(e.RESTConfig())
}

// WaitReady polls /readyz until it answers ok or timeout passes.
func (e *Environment) WaitReady(ctx context.Context, timeout time.Duration) error {
	cfg := e.RESTConfig()
	cfg.Timeout = 2 * time.Second
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if e.apiserver.Exited() {
			return fmt.Errorf("testenv: kube-apiserver exited during start; log tail:\n%s", e.apiserver.tail(4000))
		}
		if e.etcd.Exited() {
			return fmt.Errorf("testenv: etcd exited during start; log tail:\n%s", e.etcd.tail(4000))
		}
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err == nil && string(body) == "ok" {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("testenv: kube-apiserver not ready after %s: %v; log tail:\n%s", timeout, last, e.apiserver.tail(4000))
}

// RestartAPIServer stops kube-apiserver (SIGTERM, or SIGKILL when kill is
// set) and starts it again on the same port with the same storage, then waits
// for /readyz. Clients and informers see a real apiserver outage.
func (e *Environment) RestartAPIServer(ctx context.Context, kill bool) error {
	if kill {
		e.apiserver.Kill()
	} else if err := e.apiserver.Stop(10 * time.Second); err != nil {
		return err
	}
	if err := e.startAPIServer(); err != nil {
		return err
	}
	return e.WaitReady(ctx, 60*time.Second)
}

func (e *Environment) writeKubeconfig() error {
	e.KubeconfigPath = filepath.Join(e.Dir, "kubeconfig")
	return WriteKubeconfig(e.KubeconfigPath, e.Host, e.pki.CAData, func(a *clientcmdapi.AuthInfo) {
		a.ClientCertificateData = e.pki.AdminCertData
		a.ClientKeyData = e.pki.AdminKeyData
	})
}

// WriteKubeconfig writes a single-context kubeconfig for host, trusting caData,
// with the identity that setAuth fills in (a client certificate, a token, ...).
func WriteKubeconfig(path, host string, caData []byte, setAuth func(*clientcmdapi.AuthInfo)) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["testenv"] = &clientcmdapi.Cluster{Server: host, CertificateAuthorityData: caData}
	auth := clientcmdapi.NewAuthInfo()
	setAuth(auth)
	cfg.AuthInfos["user"] = auth
	cfg.Contexts["testenv"] = &clientcmdapi.Context{Cluster: "testenv", AuthInfo: "user"}
	cfg.CurrentContext = "testenv"
	return clientcmd.WriteToFile(*cfg, path)
}

// CAData is the PEM of the CA that signed the apiserver's serving certificate.
func (e *Environment) CAData() []byte { return e.pki.CAData }

// ControllerManagerOptions tune StartControllerManager.
type ControllerManagerOptions struct {
	// Controllers is the --controllers list, e.g. {"replicaset"}.
	Controllers []string
	// QPS and Burst are the client limits (--kube-api-qps/--kube-api-burst).
	// Zero: 20 and 30, kube-controller-manager's defaults.
	QPS   float32
	Burst int
	// ExtraArgs are appended ("--concurrent-replicaset-syncs=5", ...).
	ExtraArgs []string
}

// StartControllerManager runs kube-controller-manager against this
// environment with only the named controllers, for side-by-side runs. It is
// stopped by Stop, or earlier by the returned Process's Stop.
func (e *Environment) StartControllerManager(opts ControllerManagerOptions) (*Process, error) {
	if len(opts.Controllers) == 0 {
		return nil, errors.New("testenv: ControllerManagerOptions.Controllers is empty")
	}
	qps, burst := opts.QPS, opts.Burst
	if qps == 0 {
		qps = 20
	}
	if burst == 0 {
		burst = 30
	}
	args := append([]string{
		"--kubeconfig=" + e.KubeconfigPath,
		"--controllers=" + strings.Join(opts.Controllers, ","),
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=false",
		// For the serviceaccount-token controller, when the list holds it
		// (make run's "*,-replicaset,..."): tokens signed with the key the
		// apiserver verifies.
		"--service-account-private-key-file=" + e.pki.SAPrivateFile,
		"--root-ca-file=" + e.pki.CAFile,
		"--kube-api-qps=" + strconv.FormatFloat(float64(qps), 'f', -1, 32),
		"--kube-api-burst=" + strconv.Itoa(burst),
		"--v=1",
	}, opts.ExtraArgs...)
	e.mu.Lock()
	n := len(e.extra)
	e.mu.Unlock()
	p, err := startProcess("kube-controller-manager", filepath.Join(e.binDir, "kube-controller-manager"),
		filepath.Join(e.Dir, fmt.Sprintf("kube-controller-manager-%d.log", n)), args, nil)
	if err != nil {
		return nil, err
	}
	e.Track(p)
	return p, nil
}

// StartProcess runs any binary the way the control plane's own processes
// run (process group, parent-death signal, log file in Dir), stopped by Stop.
func (e *Environment) StartProcess(name, bin string, args, env []string) (*Process, error) {
	p, err := startProcess(name, bin, filepath.Join(e.Dir, name+".log"), args, env)
	if err != nil {
		return nil, err
	}
	e.Track(p)
	return p, nil
}

// Track makes Stop stop p too.
func (e *Environment) Track(p *Process) {
	e.mu.Lock()
	e.extra = append(e.extra, p)
	e.mu.Unlock()
}

// Stop stops every process, apiserver before etcd, and removes the directory
// when Start created it. It is safe to call more than once.
func (e *Environment) Stop() {
	e.stopOnce.Do(func() {
		e.mu.Lock()
		extra := e.extra
		e.mu.Unlock()
		for i := len(extra) - 1; i >= 0; i-- {
			_ = extra[i].Stop(5 * time.Second)
		}
		if e.apiserver != nil {
			_ = e.apiserver.Stop(5 * time.Second)
		}
		if e.etcd != nil {
			_ = e.etcd.Stop(5 * time.Second)
		}
		if e.removeDir && os.Getenv("WASMCTL_TESTENV_KEEP") == "" {
			_ = os.RemoveAll(e.Dir)
		}
	})
}

// freePorts asks the kernel for n distinct free loopback ports. They are
// free when returned; a process may still take one before our child binds it,
// a window small enough for tests.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// AnonymousConfig returns a client config that trusts the apiserver and
// carries no identity: set BearerToken (or certificates) on it.
func (e *Environment) AnonymousConfig() *rest.Config {
	return &rest.Config{Host: e.Host, TLSClientConfig: rest.TLSClientConfig{CAData: e.pki.CAData}, QPS: 200, Burst: 400}
}

// ServiceAccountToken issues a one-hour token for a ServiceAccount through
// the TokenRequest API.
func (e *Environment) ServiceAccountToken(ctx context.Context, namespace, name string) (string, error) {
	exp := int64(3600)
	tr, err := e.Clientset().CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token for %s/%s: %w", namespace, name, err)
	}
	return tr.Status.Token, nil
}
