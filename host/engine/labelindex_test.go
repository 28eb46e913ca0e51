package engine

import (
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

// TestSelected holds the label-index lookup to the scan it replaces: for
// every selector, the objects found through the index are exactly those
// of the namespace the selector matches.
func TestSelected(t *testing.T) {
	newInf := func() *informer {
		return &informer{Informer: cache.NewSharedIndexInformer(&cache.ListWatch{}, &corev1.Pod{}, 0,
			cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})}
	}
	scan, indexed := newInf(), newInf()
	if err := indexed.indexLabels(); err != nil {
		t.Fatal(err)
	}
	var pods []any
	for i := range 60 {
		ls := map[string]string{"app": fmt.Sprint("web", i%3), "pod-template-hash": fmt.Sprint("h", i%7)}
		if i%4 == 0 {
			ls["tier"] = "front"
		}
		if i%5 == 0 {
			ls = nil
		}
		ns := "a"
		if i%6 == 0 {
			ns = "b" // same labels in another namespace: never selected from a
		}
		pods = append(pods, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("p", i), Namespace: ns, Labels: ls}})
	}
	for _, inf := range []*informer{scan, indexed} {
		for _, p := range pods {
			if err := inf.Informer.GetIndexer().Add(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Indexing after the objects were cached indexes them too (the
	// informer may be running when a reload adds the input).
	late := newInf()
	for _, p := range pods {
		late.Informer.GetIndexer().Add(p)
	}
	if err := late.indexLabels(); err != nil {
		t.Fatal(err)
	}
	names := func(objs []any) []string {
		var out []string
		for _, o := range objs {
			out = append(out, o.(*corev1.Pod).Name)
		}
		slices.Sort(out)
		return out
	}
	for _, sel := range []string{
		"app=web1", "app=web1,pod-template-hash=h3", "pod-template-hash in (h1,h2)", "app==web2,tier=front",
		"app=web1,tier!=front", "tier", "!tier", "app notin (web0)", "app=nope", "", "app in (web0,web1),tier",
	} {
		t.Run(sel, func(t *testing.T) {
			s, err := labels.Parse(sel)
			if err != nil {
				t.Fatal(err)
			}
			want := names(scan.selected("a", s))
			for _, p := range pods { // the scan itself, checked by brute force
				pod := p.(*corev1.Pod)
				if pod.Namespace == "a" && s.Matches(labels.Set(pod.Labels)) != slices.Contains(want, pod.Name) {
					t.Fatalf("scan disagrees with Matches on %s", pod.Name)
				}
			}
			for name, inf := range map[string]*informer{"indexed": indexed, "indexed late": late} {
				if got := names(inf.selected("a", s)); !slices.Equal(got, want) {
					t.Errorf("%s: %v, want %v", name, got, want)
				}
			}
		})
	}
	if _, ok := scan.Informer.GetIndexer().GetIndexers()[indexLabel]; ok {
		t.Fatal("the scan informer has the index: the comparison compares nothing")
	}
}
