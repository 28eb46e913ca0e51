package statefulset

import "testing"

// The vectors are names of revisions kube-controller-manager v1.37.2 wrote
// for these templates, as the API server stores them.
func TestRevisionHash(t *testing.T) {
	const web = `{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx:1.27","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","securityContext":{},"schedulerName":"default-scheduler"}}`
	const withMount = `{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx:1.27","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","volumeMounts":[{"name":"data","mountPath":"/data"}],"imagePullPolicy":"IfNotPresent"}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","securityContext":{},"schedulerName":"default-scheduler"}}`
	for _, tc := range []struct {
		name, template string
		count          int32
		want           string
	}{
		{"web", web, 0, "58766555d5"},
		{"web collision 1", web, 1, "58766555d4"},
		{"volume mount", withMount, 0, "589764c8f9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := revisionData([]byte(tc.template))
			if err != nil {
				t.Fatal(err)
			}
			if got := revisionHash(data, tc.count); got != tc.want {
				t.Errorf("hash %s, want %s (data %s)", got, tc.want, data)
			}
		})
	}
	data, _ := revisionData([]byte(`{"metadata":{"annotations":{"note":"a&b<c>"}}}`))
	if want := `{"spec":{"template":{"$patch":"replace","metadata":{"annotations":{"note":"a\u0026b\u003cc\u003e"}}}}}`; string(data) != want {
		t.Errorf("data %s, want %s", data, want)
	}
}

func TestLegacyEqual(t *testing.T) {
	proposed, _ := revisionData([]byte(`{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web"}]}}`))
	legacy := []byte(`{"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,"labels":{"app":"web"}},"spec":{"containers":[{"name":"web"}]}}}}`)
	if !legacyEqual(legacy, proposed) {
		t.Error("a 1.33 revision of the same template is not equal")
	}
	other, _ := revisionData([]byte(`{"metadata":{"labels":{"app":"db"}},"spec":{"containers":[{"name":"web"}]}}`))
	if legacyEqual(legacy, other) {
		t.Error("a 1.33 revision of another template is equal")
	}
}

func TestOrdinal(t *testing.T) {
	for name, want := range map[string]int{"foo-1": 1, "foo-01": 1, "foo": -1, "foo-99999999999": -1, "x-foo-2": 2} {
		if got := ordinalOf(name); got != want {
			t.Errorf("ordinalOf(%q) = %d, want %d", name, got, want)
		}
	}
}
