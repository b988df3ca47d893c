package toolhousetest

// table holds records by ID and lists them in the order they were added,
// as the platform API lists runs and schedules. IDs are looked up in
// canonical UUID form. The Server's mutex guards it.
type table[T any] struct {
	byID  map[string]*T
	order []string
}

func newTable[T any]() table[T] { return table[T]{byID: map[string]*T{}} }

func (t *table[T]) add(id string, v *T) {
	t.byID[id] = v
	t.order = append(t.order, id)
}

func (t *table[T]) get(id string) (*T, bool) {
	v, ok := t.byID[canonUUID(id)]
	return v, ok
}

// remove deletes a record and reports whether it was there.
func (t *table[T]) remove(id string) bool {
	key := canonUUID(id)
	if _, ok := t.byID[key]; !ok {
		return false
	}
	delete(t.byID, key)
	for i, k := range t.order {
		if k == key {
			t.order = append(t.order[:i], t.order[i+1:]...)
			break
		}
	}
	return true
}

// list returns the records, oldest first.
func (t *table[T]) list() []*T {
	out := make([]*T, 0, len(t.order))
	for _, id := range t.order {
		out = append(out, t.byID[id])
	}
	return out
}
