package log_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tlog "github.com/tribusmq/tribus/log"
)

// Compaction and transactions (K35 with K43): the cleaner stops at the last stable offset and
// never lets an aborted record supersede a committed one; it drops aborted data. Source:
// K:doc#compaction, KIP-98 (Kafka's cleaner works below the LSO only).
func TestK35_CompactionRespectsTransactions(t *testing.T) {
	ctx := context.Background()
	l, err := tlog.Open("", &tlog.Options{RetentionCheckInterval: 1 << 62})
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{CleanupPolicy: tlog.CleanupCompact, SegmentBytes: 200}))
	put := func(key, value string) {
		_, err := l.ProduceTo(ctx, "t", 0, tlog.Record{Key: []byte(key), Value: []byte(value)})
		require.NoError(t, err)
	}
	tp, err := l.NewTransactionalProducer(tlog.TransactionalOptions{TransactionalID: "tx"})
	require.NoError(t, err)
	require.NoError(t, tp.InitTransactions(ctx))

	put("k", "committed")
	require.NoError(t, tp.BeginTransaction())
	_, err = tp.ProduceTo(ctx, "t", 0, tlog.Record{Key: []byte("k"), Value: []byte("aborted")})
	require.NoError(t, err)
	require.NoError(t, tp.AbortTransaction(ctx))
	require.NoError(t, tp.BeginTransaction())
	_, err = tp.ProduceTo(ctx, "t", 0, tlog.Record{Key: []byte("j"), Value: []byte("open")})
	require.NoError(t, err)
	for i := range 10 { // fill and roll segments past the open transaction
		put("filler", string(rune('a'+i)))
	}
	l.RunRetention()

	read := func(iso tlog.IsolationLevel) map[string]string {
		got := map[string]string{}
		for from := int64(0); ; {
			recs, err := l.Fetch(ctx, "t", 0, from, tlog.FetchOptions{Isolation: iso})
			require.NoError(t, err)
			if len(recs) == 0 {
				return got
			}
			for _, r := range recs {
				got[string(r.Key)] = string(r.Value)
			}
			from = recs[len(recs)-1].Offset + 1
		}
	}
	assert.Equal(t, "committed", read(tlog.ReadCommitted)["k"], "the aborted write did not supersede it")
	assert.Equal(t, "committed", read(tlog.ReadUncommitted)["k"], "the aborted record itself is cleaned away")
	require.NoError(t, tp.CommitTransaction(ctx))
	assert.Equal(t, "open", read(tlog.ReadCommitted)["j"], "the open transaction's record was not compacted")
}
