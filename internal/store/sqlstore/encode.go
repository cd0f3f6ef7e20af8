package sqlstore

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

const (
	// encodeBlock is how many rows one encoder task encodes: small enough
	// that the first statement's rows are ready soon, large enough that
	// scheduling costs nothing.
	encodeBlock = 64
	// inlineRows is the batch size below which rows are encoded by the
	// calling goroutine: a typical event changes a handful of rows, and
	// starting goroutines for them would cost more than it saves.
	inlineRows = 2 * encodeBlock
	// lookAhead is how many statements' rows the encoders may hold ready
	// beyond the statement being executed. Enough to keep the executor fed;
	// without a bound a fan-out to a million targets would hold every row's
	// JSON at once, gigabytes of it.
	lookAhead = 4
)

// chunk is the rows of one statement, with their bind arguments.
type chunk struct {
	g    group
	rows []store.Change
	args []any

	pending atomic.Int32  // encoder tasks not yet finished
	ready   chan struct{} // closed when args are complete (or err is set)
	mu      sync.Mutex
	err     error
}

func (c *chunk) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

// wait blocks until the chunk's arguments are built and returns the first
// encoding error.
func (c *chunk) wait() error {
	<-c.ready
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// encodeTask is rows [lo, hi) of one chunk; first marks the chunk's first
// task, which waits for room in the look-ahead window.
type encodeTask struct {
	c      *chunk
	lo, hi int
	first  bool
}

// encoder builds the bind arguments of a batch's statements. JSON encoding
// is half of Persist's CPU time, so for large batches it runs on the other
// cores, ahead of and concurrently with the statements being executed:
// statement n runs while the rows of statement n+1 are encoded.
type encoder struct {
	db     *DB
	ws     string
	chunks []*chunk
	tasks  []encodeTask
	next   atomic.Int64
	stop   atomic.Bool
	wg     sync.WaitGroup
	// ahead holds a token for every chunk being encoded or encoded and not
	// yet executed; nil when the caller encodes everything inline.
	ahead    chan struct{}
	stopping chan struct{}
}

// newEncoder splits groups into statement-sized chunks and starts encoding
// them. The caller must call close when done.
func (db *DB) newEncoder(ws string, groups []group) *encoder {
	e := &encoder{db: db, ws: ws}
	upsertRows := 0
	for _, g := range groups {
		size := db.be.maxRows(g.width())
		for lo := 0; lo < len(g.changes); lo += size {
			c := &chunk{g: g, rows: g.changes[lo:min(lo+size, len(g.changes))], ready: make(chan struct{})}
			c.args = make([]any, len(c.rows)*g.width()+boolInt(!g.upsert))
			e.chunks = append(e.chunks, c)
			if !g.upsert {
				e.deleteArgs(c)
				close(c.ready)
				continue
			}
			upsertRows += len(c.rows)
			n := 0
			for tlo := 0; tlo < len(c.rows); tlo += encodeBlock {
				e.tasks = append(e.tasks, encodeTask{c: c, lo: tlo, hi: min(tlo+encodeBlock, len(c.rows)), first: tlo == 0})
				n++
			}
			c.pending.Store(int32(n))
		}
	}
	// One core is left to the goroutine executing statements: on SQLite it
	// is the critical path, and an encoder preempting it only delays the
	// rows the encoders already prepared.
	workers := min(max(1, runtime.GOMAXPROCS(0)-1), len(e.tasks))
	if upsertRows < inlineRows {
		workers = 0
	}
	if workers == 0 {
		e.work()
		return e
	}
	e.ahead = make(chan struct{}, lookAhead)
	e.stopping = make(chan struct{})
	for range workers {
		e.wg.Go(e.work)
	}
	return e
}

// close stops the encoders and waits for them, so that none outlives
// Persist.
func (e *encoder) close() {
	e.stop.Store(true)
	if e.stopping != nil {
		close(e.stopping)
	}
	e.wg.Wait()
}

// done is called once chunk c was executed: its arguments are dropped and
// its place in the look-ahead window goes to the next chunk.
func (e *encoder) done(c *chunk) {
	c.args = nil
	if e.ahead != nil && c.g.upsert {
		<-e.ahead
	}
}

// work runs tasks in order until none is left or the encoder is stopped.
func (e *encoder) work() {
	for !e.stop.Load() {
		i := int(e.next.Add(1) - 1)
		if i >= len(e.tasks) {
			return
		}
		t := e.tasks[i]
		if t.first && e.ahead != nil {
			select {
			case e.ahead <- struct{}{}:
			case <-e.stopping:
				return
			}
		}
		if err := e.upsertArgs(t.c, t.lo, t.hi); err != nil {
			t.c.fail(err)
		}
		if t.c.pending.Add(-1) == 0 {
			close(t.c.ready)
		}
	}
}

// upsertArgs fills the arguments of rows [lo, hi) of c, row after row in the
// column order of upsertSQL.
func (e *encoder) upsertArgs(c *chunk, lo, hi int) error {
	t := c.g.table
	w := c.g.width()
	for i := lo; i < hi; i++ {
		row := c.rows[i]
		doc, err := t.Encode(row.After)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", t.TableName(), row.Key, err)
		}
		args := c.args[i*w : (i+1)*w]
		args[0], args[1] = e.ws, row.Key
		for j, v := range t.ColumnValues(row.After) {
			args[2+j] = e.db.be.columnArg(v)
		}
		args[w-1] = e.db.be.dataArg(doc)
	}
	return nil
}

// deleteArgs fills the arguments of deleteSQL: the workspace, then the keys.
func (e *encoder) deleteArgs(c *chunk) {
	c.args[0] = e.ws
	for i, row := range c.rows {
		c.args[1+i] = row.Key
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
