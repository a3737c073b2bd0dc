package exchange_test

import (
	"errors"
	"testing"

	"github.com/tribusmq/tribus/exchange"
)

var deathKeys = []string{"queue", "reason", "count", "time", "exchange", "routing-keys", "original-expiration", "other"}

// FuzzDeaths_NeverPanics reads x-death headers built from the fuzz input, as a publisher may
// send any table: the result is entries with their required fields, or an error matching
// ErrMalformedHeader, never a panic.
func FuzzDeaths_NeverPanics(f *testing.F) {
	f.Add([]byte{0, 14, 1, 14, 2, 6}, uint8(0))         // queue, reason and count
	f.Add([]byte{0, 14, 1, 14, 2, 6, 255, 0}, uint8(1)) // a second entry, empty
	f.Add([]byte{5, 25, 3, 22}, uint8(2))               // routing keys and time, nothing required
	f.Fuzz(func(t *testing.T, spec []byte, shape uint8) {
		var entries []any
		entry := exchange.Table{}
		for i := 0; i+1 < len(spec); i += 2 {
			if spec[i] == 255 { // starts the next entry
				entries, entry = append(entries, entry), exchange.Table{}
				continue
			}
			entry[deathKeys[int(spec[i])%len(deathKeys)]] = fuzzValues[int(spec[i+1])%len(fuzzValues)]
		}
		entries = append(entries, entry)
		var h exchange.Table
		switch shape % 4 {
		case 0:
			h = exchange.Table{"x-death": entries}
		case 1:
			h = exchange.Table{"x-death": entries, "x-first-death-queue": fuzzValues[int(shape)%len(fuzzValues)]}
		case 2:
			h = exchange.Table{"x-death": fuzzValues[int(shape)%len(fuzzValues)]}
		case 3:
			h = exchange.Table{"x-death": append(entries, fuzzValues[int(shape)%len(fuzzValues)])}
		}
		deaths, err := exchange.Deaths(h)
		if err != nil {
			if !errors.Is(err, exchange.ErrMalformedHeader) {
				t.Fatalf("error %v does not match ErrMalformedHeader", err)
			}
			return
		}
		if deaths == nil {
			return
		}
		for i, e := range h["x-death"].([]any) { // accepted: every entry had what RabbitMQ writes
			tbl, ok := e.(exchange.Table)
			if !ok || tbl["queue"] == nil || tbl["reason"] == nil || tbl["count"] == nil {
				t.Fatalf("entry %d %v was accepted as %+v", i, e, deaths[i])
			}
		}
	})
}
