package store_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/store"
)

// A replay that stopped (no space) or crashed after moving records into the bbolt file leaves
// them punched out of the journal: zero bytes after the magic. Open reads past them only when
// the bbolt file's checkpoint covers what they held; zeros over records the file does not hold
// are damage, as before.
func TestJournal_PunchedPrefixIsReadOnlyWhenTheCheckpointCoversIt(t *testing.T) {
	var payloads [][]byte
	for _, k := range []string{"k1", "k2", "k3", "k4", "k5"} {
		payloads = append(payloads, store.EncodePut([]string{store.BucketLog}, k, "value"))
	}
	whole := store.EncodeJournal(payloads...)
	recLen := (len(whole) - 8) / 5 // all five records have the same length
	punched := func(n int) []byte {
		d := append([]byte(nil), whole...)
		clear(d[8 : 8+n*recLen])
		return d
	}
	for _, tc := range []struct {
		name    string
		data    []byte
		after   uint64
		want    []uint64
		corrupt bool
	}{
		{"two punched, checkpoint holds them", punched(2), 2, []uint64{3, 4, 5}, false},
		{"two punched, checkpoint holds three", punched(2), 3, []uint64{3, 4, 5}, false}, // record 3 is stale, skipped at replay
		{"all punched", punched(5), 5, nil, false},
		{"two zeroed, checkpoint holds none", punched(2), 0, nil, true},
		{"two zeroed, checkpoint holds one", punched(2), 1, nil, true},
		{"nothing punched", whole, 0, []uint64{1, 2, 3, 4, 5}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := store.ParseJournal(tc.data, tc.after)
			if tc.corrupt {
				var cerr *store.CorruptJournalError
				require.ErrorAs(t, err, &cerr)
				assert.ErrorIs(t, err, store.ErrCorrupt)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
