// Package wasmbuild builds Go packages into wasmctl plugins
// (GOOS=wasip1 GOARCH=wasm, -buildmode=c-shared) for tests and tools.
package wasmbuild

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

var (
	mu    sync.Mutex
	built = map[string]string{}
)

// Build compiles the Go package pkg (an import path or a ./relative path,
// resolved from dir; "" is the working directory) with the given build tags
// and returns the path of the .wasm. Results are memoised per process; the Go
// build cache makes a rebuild in a new process cost about a link (~1 s).
func Build(dir, pkg string, tags ...string) (string, error) {
	key := dir + "\x00" + pkg + "\x00" + strings.Join(tags, ",")
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[key]; ok {
		return p, nil
	}
	sum := sha256.Sum256([]byte(key))
	outDir := filepath.Join(os.TempDir(), "wasmctl-wasmbuild")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(outDir, fmt.Sprintf("%s-%d-%s.wasm", filepath.Base(pkg), os.Getpid(), hex.EncodeToString(sum[:6])))
	args := []string{"build", "-buildmode=c-shared", "-trimpath", "-o", out}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s for wasip1: %v\n%s", pkg, err, msg)
	}
	built[key] = out
	return out, nil
}

// repoPlugin matches a repository plugin's path in a configuration,
// plugins/NAME/NAME.wasm (what `make plugins` writes).
var repoPlugin = regexp.MustCompile(`plugins/([a-z0-9-]+)/([a-z0-9-]+)\.wasm`)

// RepoConfig returns the configuration file at path (the repository's
// config.yaml) with each plugins/NAME/NAME.wasm replaced by a fresh Build
// of wasmctl.dev/wasmctl/plugins/NAME/cmd, so tests run what the source
// says rather than whatever `make plugins` left on disk.
func RepoConfig(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var buildErr error
	out := repoPlugin.ReplaceAllStringFunc(string(raw), func(m string) string {
		sub := repoPlugin.FindStringSubmatch(m)
		if sub[1] != sub[2] || buildErr != nil {
			return m
		}
		wasm, err := Build("", "wasmctl.dev/wasmctl/plugins/"+sub[1]+"/cmd")
		if err != nil {
			buildErr = err
			return m
		}
		return wasm
	})
	return out, buildErr
}
