package store_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tribusmq/tribus/store"
)

func ExampleStore_Update() {
	s := store.OpenMemory() // store.Open(path, nil) for a file; the code below is the same
	defer s.Close()

	err := s.Update(func(tx *store.Tx) error {
		q, err := tx.CreateBucketIfNotExists(store.BucketExchange, "queues", "order_notifications")
		if err != nil {
			return err
		}
		return q.Put([]byte("ORD-123"), []byte(`{"total": 2999}`))
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	_ = s.View(func(tx *store.Tx) error {
		q := tx.Bucket(store.BucketExchange, "queues", "order_notifications")
		return q.ForEach(func(k, v []byte) error {
			fmt.Printf("%s %s\n", k, v)
			return nil
		})
	})
	// Output: ORD-123 {"total": 2999}
}

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "tribus-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	s, err := store.Open(filepath.Join(dir, "data", "tribus.db"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	err = s.Update(func(tx *store.Tx) error {
		offsets, err := tx.CreateBucketIfNotExists(store.BucketLog, "offsets", "notification-service")
		if err != nil {
			return err
		}
		return offsets.Put([]byte("orders/0"), []byte{0, 0, 0, 0, 0, 0, 0, 42})
	})
	fmt.Println(err, s.Stats().Commits)
	fmt.Println(s.Close())
	// Output:
	// <nil> 1
	// <nil>
}
