package asyncq

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// BenchmarkPut measures durable Puts (1 KiB of data, fsync'd before Put
// returns) from one goroutine and from 16 at once (2 goroutines per
// GOMAXPROCS × 8 on 2 cores; b.SetParallelism(16/GOMAXPROCS)).
//
//	go test -run '^$' -bench Put -benchtime 3s ./internal/asyncq/
func BenchmarkPut(b *testing.B) {
	data := make([]byte, 1024)
	b.Run("single", func(b *testing.B) {
		q, err := Open(filepath.Join(b.TempDir(), "q.db"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer q.Close()
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			if err := q.Put(context.Background(), Event{ID: fmt.Sprint(i), Key: "k", Data: data}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
	})
	b.Run("parallel16", func(b *testing.B) {
		q, err := Open(filepath.Join(b.TempDir(), "q.db"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer q.Close()
		var n atomic.Int64
		b.SetParallelism(parallelism16())
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := n.Add(1)
				if err := q.Put(context.Background(), Event{ID: fmt.Sprint(i), Key: fmt.Sprint("k", i%4), Data: data}); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
	})
}

func parallelism16() int {
	procs := runtime.GOMAXPROCS(0)
	if procs >= 16 {
		return 1
	}
	return (16 + procs - 1) / procs
}

// BenchmarkBoltBatch is the alternative not taken: the same writes with
// bbolt's DB.Batch (which waits up to MaxBatchDelay, 10ms, for company
// before it commits), for docs/decisions.md.
func BenchmarkBoltBatch(b *testing.B) {
	data := encode(Event{ID: "x", Key: "k", Enqueued: time.Now(), Data: make([]byte, 1024)})
	open := func(b *testing.B) *bbolt.DB {
		db, err := bbolt.Open(filepath.Join(b.TempDir(), "b.db"), 0o600, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Update(func(tx *bbolt.Tx) error { _, err := tx.CreateBucket([]byte("k")); return err }); err != nil {
			b.Fatal(err)
		}
		return db
	}
	put := func(db *bbolt.DB) error {
		return db.Batch(func(tx *bbolt.Tx) error {
			bk := tx.Bucket([]byte("k"))
			seq, _ := bk.NextSequence()
			return bk.Put(entryKey(time.Now(), seq), data)
		})
	}
	b.Run("single", func(b *testing.B) {
		db := open(b)
		defer db.Close()
		for b.Loop() {
			if err := put(db); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
	})
	b.Run("parallel16", func(b *testing.B) {
		db := open(b)
		defer db.Close()
		b.SetParallelism(parallelism16())
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := put(db); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
	})
}
