package sqlstore_test

import (
	"testing"
)

func BenchmarkScratchEncode(b *testing.B) {
	f := newFixture("ws")
	batch := releaseJobBatch("ws", f, 10000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, c := range batch.Changes {
			if _, err := c.Table.Encode(c.After); err != nil {
				b.Fatal(err)
			}
		}
	}
}
