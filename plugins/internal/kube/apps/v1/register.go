package v1

import "k8s.io/apimachinery/pkg/runtime/schema"

// SchemeGroupVersion is apps/v1.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1"}
