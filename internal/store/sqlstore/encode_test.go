package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func isReady(c *chunk) bool {
	select {
	case <-c.ready:
		return true
	default:
		return false
	}
}

func waitReady(t *testing.T, c *chunk, what string) {
	t.Helper()
	select {
	case <-c.ready:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s never became ready", what)
	}
}

// The encoders stay at most lookAhead statements ahead of the executor, so
// a batch of millions of rows never holds all their JSON at once, and
// every statement still becomes ready once its predecessors ran.
func TestEncoder_BoundedLookAhead(t *testing.T) {
	db, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var changes []store.Change
	for i := range 20 * sqliteMaxRows {
		r := &model.Resource{ID: fmt.Sprint("r", i), Identifier: fmt.Sprint("r", i), Name: "r", Kind: "k", Version: "v1",
			Config: map[string]any{}, Metadata: map[string]string{}}
		changes = append(changes, store.Change{Table: store.Resources, Key: r.ID, After: r})
	}
	enc := db.newEncoder("ws", plan(changes))
	defer enc.close()
	if len(enc.chunks) < lookAhead+2 {
		t.Fatalf("the batch makes only %d statements", len(enc.chunks))
	}
	for i := range lookAhead {
		waitReady(t, enc.chunks[i], fmt.Sprint("statement ", i+1))
	}
	// Nothing was executed: the next statement must wait for room.
	time.Sleep(50 * time.Millisecond)
	if isReady(enc.chunks[lookAhead]) {
		t.Fatalf("statement %d was encoded while %d statements were waiting to run", lookAhead+1, lookAhead)
	}
	for i, c := range enc.chunks {
		waitReady(t, c, fmt.Sprint("statement ", i+1))
		if err := c.wait(); err != nil {
			t.Fatal(err)
		}
		enc.done(c)
		if c.args != nil {
			t.Fatalf("statement %d keeps its arguments after it ran", i+1)
		}
	}
}
