// Command pdkecho is a plugin written with go-pdk alone (no abi/guest): it
// proves the standard Extism functions work. "echo" returns its input with
// the config value "prefix" in front; "fail" sets an error; "vars" counts
// calls in an Extism var.
package main

import (
	"strconv"

	"github.com/extism/go-pdk"
)

//go:wasmexport echo
func echo() int32 {
	prefix, _ := pdk.GetConfig("prefix")
	pdk.Log(pdk.LogInfo, "echo called")
	pdk.Output(append([]byte(prefix), pdk.Input()...))
	return 0
}

//go:wasmexport fail
func fail() int32 {
	pdk.SetErrorString("failed on purpose: " + string(pdk.Input()))
	return 1
}

//go:wasmexport vars
func vars() int32 {
	n := 0
	if b := pdk.GetVar("n"); b != nil {
		n, _ = strconv.Atoi(string(b))
	}
	n++
	pdk.SetVar("n", []byte(strconv.Itoa(n)))
	pdk.OutputString(strconv.Itoa(n))
	return 0
}

func main() {}
