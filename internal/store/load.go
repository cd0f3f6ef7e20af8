package store

// Load inserts entities read from the database into the store without
// writing them back. It is how a workspace is restored on start.
func (s *Store) Load(fn func(put func(table Schema, obj any) error) error) error {
	s.writer.Lock()
	defer s.writer.Unlock()
	loaded := newCommitted()
	put := func(t Schema, obj any) error {
		loaded.tables[t.TableName()].put(t, t.KeyOf(obj), obj)
		return nil
	}
	if err := fn(put); err != nil {
		return err
	}
	// Rows stored in a shortened form are completed from the tables loaded
	// with them, and re-indexed.
	r := Snapshot{state: loaded}
	for _, t := range Tables {
		rows := loaded.tables[t.TableName()]
		for key, obj := range rows.byKey {
			if linked := t.link(r, obj); linked != obj {
				rows.put(t, key, linked)
			}
		}
	}
	s.state.mu.Lock()
	s.state.tables = loaded.tables
	s.state.mu.Unlock()
	return nil
}
