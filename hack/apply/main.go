// Command apply creates (or updates) the objects of YAML files with the
// dynamic client, for `make run` on machines without kubectl.
//
//	go run ./hack/apply --kubeconfig KUBECONFIG examples/
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"wasmctl.dev/wasmctl/host/fixture"
)

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig")
	flag.Parse()
	if err := run(*kubeconfig, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "apply:", err)
		os.Exit(1)
	}
}

func run(kubeconfig string, paths []string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	var files []string
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			matches, _ := filepath.Glob(filepath.Join(p, "*.yaml"))
			files = append(files, matches...)
		} else {
			files = append(files, p)
		}
	}
	ctx := context.Background()
	for _, f := range files {
		objs, err := fixture.ReadObjects(f)
		if err != nil {
			return err
		}
		for _, data := range objs {
			u := &unstructured.Unstructured{}
			if err := u.UnmarshalJSON(data); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			m, err := mapper.RESTMapping(u.GroupVersionKind().GroupKind(), u.GroupVersionKind().Version)
			if err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			r := dynamic.ResourceInterface(dyn.Resource(m.Resource))
			if m.Scope.Name() == meta.RESTScopeNameNamespace {
				ns := u.GetNamespace()
				if ns == "" {
					ns = "default"
				}
				r = dyn.Resource(m.Resource).Namespace(ns)
			}
			_, err = r.Create(ctx, u, metav1.CreateOptions{FieldManager: "wasmctl-apply"})
			if apierrors.IsAlreadyExists(err) {
				fmt.Printf("%s/%s unchanged (exists)\n", strings.ToLower(u.GetKind()), u.GetName())
				continue
			}
			if err != nil {
				return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
			}
			fmt.Printf("%s/%s created\n", strings.ToLower(u.GetKind()), u.GetName())
		}
	}
	return nil
}
