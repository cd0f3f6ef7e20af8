package dispatch

import (
	"container/heap"
	"time"
)

// taskKind is what a job needs next.
type taskKind int

const (
	none   taskKind = iota
	send            // hand the job to its agent
	follow          // ask the agent how the job is going
	lease           // see whether a pull runner's claim ran out
)

func (k taskKind) String() string {
	return [...]string{"none", "dispatch", "follow", "lease"}[k]
}

// taskKey names a job; a job has at most one task at a time.
type taskKey struct{ ws, job string }

// task is a job's next step, due at a time, run in its agent's lane.
type task struct {
	key     taskKey
	kind    taskKind
	due     time.Time
	lane    string
	index   int // in the heap; -1 once taken out
	running bool
}

// taskHeap orders the waiting tasks by due time.
type taskHeap []*task

func (h taskHeap) Len() int           { return len(h) }
func (h taskHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h taskHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *taskHeap) Push(x any) {
	t := x.(*task)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *taskHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}

// lane runs the tasks of one agent, at most limit at a time.
type lane struct {
	limit   int
	running int
	queue   []*task
}

// scheduleLocked gives a job its next task, replacing a waiting one.
func (d *Dispatcher) scheduleLocked(k taskKey, kind taskKind, at time.Time, laneKey string) {
	t := d.tasks[k]
	if t == nil {
		t = &task{key: k, index: -1}
		d.tasks[k] = t
	}
	if t.running {
		return
	}
	t.kind, t.due, t.lane = kind, at, laneKey
	if t.index >= 0 {
		heap.Fix(&d.due, t.index)
	} else if !d.queuedLocked(t) {
		heap.Push(&d.due, t)
	}
}

// queuedLocked reports whether t waits in its lane already.
func (d *Dispatcher) queuedLocked(t *task) bool {
	l := d.lanes[t.lane]
	if l == nil {
		return false
	}
	for _, q := range l.queue {
		if q == t {
			return true
		}
	}
	return false
}

// dropLocked forgets a job's waiting task.
func (d *Dispatcher) dropLocked(k taskKey) {
	t := d.tasks[k]
	if t == nil || t.running {
		return
	}
	if t.index >= 0 {
		heap.Remove(&d.due, t.index)
	}
	delete(d.tasks, k)
}

// poke wakes the loop to look at the heap again.
func (d *Dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// loop moves due tasks into their lanes.
func (d *Dispatcher) loop() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		d.mu.Lock()
		now := d.cfg.Clock()
		for d.due.Len() > 0 && !d.due[0].due.After(now) {
			d.enqueueLocked(heap.Pop(&d.due).(*task))
		}
		wait := time.Hour
		if d.due.Len() > 0 {
			wait = d.due[0].due.Sub(now)
		}
		d.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-d.ctx.Done():
			return
		case <-d.wake:
		case <-timer.C:
		}
	}
}

// enqueueLocked puts a due task into its lane, starting a worker when the
// lane has room.
func (d *Dispatcher) enqueueLocked(t *task) {
	l := d.lanes[t.lane]
	if l == nil {
		l = &lane{limit: d.laneLimit(t)}
		d.lanes[t.lane] = l
	}
	l.queue = append(l.queue, t)
	if l.running < l.limit {
		l.running++
		d.wg.Go(func() { d.work(t.lane, l) })
	}
}

func (d *Dispatcher) laneLimit(t *task) int {
	if typ := d.typeOfKey(t.key); typ != nil && typ.Concurrency > 0 {
		return typ.Concurrency
	}
	return d.cfg.Concurrency
}

// work runs a lane's tasks until its queue is empty.
func (d *Dispatcher) work(key string, l *lane) {
	for {
		d.mu.Lock()
		if len(l.queue) == 0 || d.ctx.Err() != nil {
			l.running--
			if l.running == 0 && len(l.queue) == 0 {
				delete(d.lanes, key)
			}
			d.mu.Unlock()
			return
		}
		t := l.queue[0]
		l.queue = l.queue[1:]
		t.running = true
		d.mu.Unlock()
		next := d.run(t)
		d.mu.Lock()
		t.running = false
		if next.kind == none {
			delete(d.tasks, t.key)
		} else {
			d.scheduleLocked(t.key, next.kind, next.at, t.lane)
		}
		d.mu.Unlock()
		d.poke()
	}
}

// step is what a run asks for next.
type step struct {
	kind taskKind
	at   time.Time
}
