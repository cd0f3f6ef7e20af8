package model

import (
	"strconv"
	"time"
)

// LogPosition names a record of a partitioned log (a Kafka topic): its
// topic, partition and offset.
type LogPosition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// PartitionKey is the key of a workspace's ConsumerOffset for a partition.
func PartitionKey(topic string, partition int32) string {
	return CompositeKey(topic, strconv.FormatInt(int64(partition), 10))
}

// ID is the key of the DeadLetter of the record at p.
func (p LogPosition) ID() string {
	return CompositeKey(p.Topic, strconv.FormatInt(int64(p.Partition), 10), strconv.FormatInt(p.Offset, 10))
}

// ConsumerOffset is how far a workspace has applied the records of one
// partition: every record of the workspace before Next is applied (or
// dead-lettered). It is written in the transaction of the records' effects,
// so that a record is applied exactly once however often it is delivered.
type ConsumerOffset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Next is the offset of the first record not yet applied.
	Next      int64     `json:"next"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Key returns the offset's key, PartitionKey(Topic, Partition).
func (o *ConsumerOffset) Key() string { return PartitionKey(o.Topic, o.Partition) }

// Dead-letter value encodings.
const (
	// ValueText is a record value kept as it came (valid UTF-8, no NUL).
	ValueText = "text"
	// ValueBase64 is a record value that is not text, kept in base64.
	ValueBase64 = "base64"
)

// DeadLetter is a record that could not be applied: it did not decode, or
// one of its events was refused. It is kept with where it came from and
// why, and the partition goes on past it. The events of the record before
// the refused one stay applied, as they would for an HTTP request.
type DeadLetter struct {
	LogPosition
	// Key is the record's key, the workspace it was addressed to.
	Key string `json:"key"`
	// Value is the record's value, at most DeadLetterValueBytes of it,
	// encoded as ValueEncoding says.
	Value         string `json:"value"`
	ValueEncoding string `json:"valueEncoding"`
	// ValueBytes is the size of the whole value; Truncated is set when
	// Value holds less.
	ValueBytes int  `json:"valueBytes"`
	Truncated  bool `json:"truncated,omitempty"`
	// Error, Code and Field are what an HTTP request carrying the record
	// would have been answered; Index is the refused event's position in
	// the record, Applied the events before it that stayed applied.
	Error      string    `json:"error"`
	Code       string    `json:"code"`
	Field      string    `json:"field,omitempty"`
	Index      *int      `json:"index,omitempty"`
	Applied    int       `json:"applied"`
	RecordedAt time.Time `json:"recordedAt"`
}

// DeadLetterValueBytes bounds the part of a record's value a dead letter
// keeps: enough to see what was sent, without one bad record of megabytes
// weighing on the workspace's memory.
const DeadLetterValueBytes = 64 << 10
