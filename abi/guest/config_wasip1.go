//go:build wasip1

package guest

import pdk "github.com/extism/go-pdk"

func config(key string) (string, bool) { return pdk.GetConfig(key) }
