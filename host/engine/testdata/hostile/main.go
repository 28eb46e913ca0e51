// Command hostile is a plugin that misbehaves as its controller config says,
// for the containment tests. It only acts on primaries in namespaces starting
// with config.namespace; elsewhere it answers an empty response.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/extism/go-pdk"
)

type request struct {
	Object struct {
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	} `json:"object"`
	Config struct {
		Namespace string          `json:"namespace"`
		Mode      string          `json:"mode"`
		Response  json.RawMessage `json:"response"`
	} `json:"config"`
}

var sink [][]byte

func respond(actions ...string) {
	pdk.OutputString(`{"actions":[` + strings.Join(actions, ",") + `]}`)
}

//go:wasmexport reconcile
func reconcile() int32 {
	var req request
	if err := json.Unmarshal(pdk.Input(), &req); err != nil {
		pdk.SetError(err)
		return 1
	}
	ns := req.Object.Metadata.Namespace
	if req.Config.Namespace == "" || !strings.HasPrefix(ns, req.Config.Namespace) {
		respond()
		return 0
	}
	switch req.Config.Mode {
	case "loop":
		for i := 0; ; i++ {
			if i < 0 {
				break
			}
		}
	case "oom":
		for {
			sink = append(sink, make([]byte, 8<<20))
		}
	case "trap":
		var m map[string]int
		m["boom"]++
	case "exit":
		os.Exit(7)
	case "garbage":
		pdk.OutputString("this is not JSON")
	case "truncated":
		pdk.OutputString(`{"actions":[{"op":"create","object":{"apiVersion":"v1"`)
	case "nonutf8":
		pdk.Output([]byte("{\"actions\":[],\"events\":[{\"type\":\"Normal\",\"reason\":\"X\",\"message\":\"\xff\xfe\"}]}"))
	case "huge":
		pdk.Output(make([]byte, 100<<20))
	case "forbidden-kind":
		respond(`{"op":"create","object":{"apiVersion":"v1","kind":"Secret","metadata":{"name":"stolen"}}}`,
			`{"op":"create","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"innocent"}}}`)
	case "other-namespace":
		respond(`{"op":"create","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"hostile","namespace":"kube-system"}}}`)
	case "cluster-scoped":
		respond(`{"op":"create","object":{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"hostile-created"}}}`)
	case "foreign-child":
		respond(`{"op":"delete","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"victim"}}}`)
	case "foreign-update":
		respond(`{"op":"update","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"victim"},"data":{"owned":"yes"}}}`)
	case "wasi":
		_, ferr := os.ReadFile("/etc/hostname")
		dir, derr := os.ReadDir("/")
		pdk.SetErrorString(fmt.Sprintf("file: %v; readdir: %d entries %v; env HOME=%q PATH=%q; clock %s",
			ferr, len(dir), derr, os.Getenv("HOME"), os.Getenv("PATH"), time.Now().UTC().Format(time.RFC3339)))
		return 1
	case "respond": // config.response as it is: for tests of validation
		pdk.Output(req.Config.Response)
	case "network":
		pdk.NewHTTPRequest(pdk.MethodGet, "http://127.0.0.1:6443/").Send()
	default:
		respond()
	}
	return 0
}

func main() {}
