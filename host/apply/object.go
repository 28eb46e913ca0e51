package apply

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Object is an API object as the host holds it: a typed struct for the
// kinds compiled into client-go (decoded from protobuf, as
// kube-controller-manager does) or *unstructured.Unstructured for every
// other kind. Its TypeMeta (apiVersion and kind) is always set.
type Object interface {
	metav1.Object
	runtime.Object
}
