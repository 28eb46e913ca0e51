package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// requestLog writes requests to files for replay (config record:). It keeps
// at most max files in dir, removing the oldest, so it cannot fill a disk.
type requestLog struct {
	dir   string
	max   int
	mu    sync.Mutex
	files []string // oldest first
}

func newRequestLog(dir string, max int) (*requestLog, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	existing, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(existing) // names start with a fixed-width timestamp
	l := &requestLog{dir: dir, max: max, files: existing}
	l.trim()
	return l, nil
}

// write stores one request for key; errors are returned for logging only.
func (l *requestLog) write(key string, request []byte) error {
	name := filepath.Join(l.dir, fmt.Sprintf("%020d-%s.json", time.Now().UnixNano(), strings.ReplaceAll(key, "/", "_")))
	if err := os.WriteFile(name, request, 0o644); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.files = append(l.files, name)
	l.trim()
	return nil
}

func (l *requestLog) trim() {
	for len(l.files) > l.max {
		_ = os.Remove(l.files[0])
		l.files = l.files[1:]
	}
}
