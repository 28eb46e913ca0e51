package labels

// List is an object's labels in their JSON order, for plugins that decode
// objects themselves: a handful of entries are cheaper to build and scan as
// a slice than as a map (under wasip1 a map costs several times more, and
// decoding pods is a workload plugin's hot path). Match it with
// Selector.MatchesFunc(list.Get).
type List []Label

// Label is one key and value.
type Label struct{ Key, Value string }

// Get returns the value of key, as a Selector's lookup takes it.
func (l List) Get(key string) (string, bool) {
	for _, x := range l {
		if x.Key == key {
			return x.Value, true
		}
	}
	return "", false
}
