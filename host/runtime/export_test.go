package runtime

// SharedModules is how many compiled modules r holds (for tests).
func SharedModules(r *Runtime) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.modules)
}
