package testenv_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"wasmctl.dev/wasmctl/internal/testenv"
)

var env *testenv.Environment

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env)) }

// TestSmoke creates a namespace and a ConfigMap with client-go and sees the
// ConfigMap arrive through a shared informer.
func TestSmoke(t *testing.T) {
	testenv.Require(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs := env.Clientset()

	factory := informers.NewSharedInformerFactory(cs, 0)
	seen := make(chan *corev1.ConfigMap, 1)
	inf := factory.Core().V1().ConfigMaps().Informer()
	inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj any) {
		if cm := obj.(*corev1.ConfigMap); cm.Namespace == "smoke" && cm.Name == "hello" {
			seen <- cm
		}
	}})
	stop := make(chan struct{})
	factory.Start(stop)
	defer factory.Shutdown()
	defer close(stop)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}

	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "smoke"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "smoke"}, Data: map[string]string{"k": "v"}}
	if _, err := cs.CoreV1().ConfigMaps("smoke").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-seen:
		if got.Data["k"] != "v" {
			t.Fatalf("informer saw data %v", got.Data)
		}
	case <-ctx.Done():
		t.Fatal("the informer never saw the ConfigMap")
	}
}

// TestKubeconfigWorksWithKubectl proves the kubeconfig written for users.
func TestKubeconfigWorksWithKubectl(t *testing.T) {
	testenv.Require(t, env)
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl not installed")
	}
	out, err := exec.Command("kubectl", "--kubeconfig", env.KubeconfigPath, "auth", "can-i", "create", "pods").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "yes" {
		t.Fatalf("kubectl auth can-i: %s %v", out, err)
	}
}

// TestTokenRequest proves the service-account signing keys: a token issued
// for a ServiceAccount authenticates as it, and RBAC applies to it.
func TestTokenRequest(t *testing.T) {
	testenv.Require(t, env)
	ctx := context.Background()
	cs := env.Clientset()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tokens"}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot", Namespace: "tokens"}}
	if _, err := cs.CoreV1().ServiceAccounts("tokens").Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tok, err := env.ServiceAccountToken(ctx, "tokens", "robot")
	if err != nil {
		t.Fatal(err)
	}
	cfg := env.AnonymousConfig()
	cfg.BearerToken = tok
	review, err := kubernetesFor(t, cfg).AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := review.Status.UserInfo.Username; got != "system:serviceaccount:tokens:robot" {
		t.Fatalf("token authenticates as %q", got)
	}
	_, err = kubernetesFor(t, cfg).CoreV1().Pods("tokens").List(ctx, metav1.ListOptions{})
	if err == nil {
		t.Fatal("a ServiceAccount with no roles could list pods: RBAC is off")
	}
}

// TestControllerManager runs kube-controller-manager's replicaset controller
// and sees it create pods.
func TestControllerManager(t *testing.T) {
	testenv.Require(t, env)
	if _, err := env.StartControllerManager(testenv.ControllerManagerOptions{Controllers: []string{"replicaset"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cs := env.Clientset()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kcm"}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "kcm"},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
			},
		},
	}
	if _, err := cs.AppsV1().ReplicaSets("kcm").Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		pods, err := cs.CoreV1().Pods("kcm").List(ctx, metav1.ListOptions{})
		if err == nil && len(pods.Items) == 3 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("kube-controller-manager did not create 3 pods: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func kubernetesFor(t *testing.T, cfg *rest.Config) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}
