package tribus_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/internal/leakcheck"
	tlog "github.com/tribusmq/tribus/log"
)

// An in-memory broker builds the router and the log on first use (issue 12). These tests hold
// the promises that makes: one engine per broker however many goroutines ask at once, and an
// engine first asked for after Close is closed.

func TestBroker_EngineBuiltOnFirstUseIsSharedByConcurrentCallers(t *testing.T) {
	leakcheck.Check(t)
	b, err := tribus.Open("", nil)
	require.NoError(t, err)
	defer b.Close()
	const callers = 16
	routers := make([]*exchange.Router, callers)
	logs := make([]*tlog.Log, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { routers[i], logs[i] = b.Router(), b.Log() })
	}
	wg.Wait()
	for i := range callers {
		assert.Same(t, routers[0], routers[i])
		assert.Same(t, logs[0], logs[i])
	}
	// The engines work, and what one caller did another sees.
	_, err = routers[0].QueueDeclare("q", exchange.QueueOptions{})
	require.NoError(t, err)
	require.NoError(t, b.Router().Publish(context.Background(), "", "q", false, exchange.Publishing{Body: []byte("x")}))
	info, err := routers[callers-1].QueueInfo("q")
	require.NoError(t, err)
	assert.Equal(t, 1, info.Ready)
	require.NoError(t, logs[0].CreateTopic("t", tlog.TopicConfig{}))
	assert.Equal(t, []string{"t"}, b.Log().Topics())
}

func TestBroker_EngineFirstUsedAfterCloseIsClosed(t *testing.T) {
	leakcheck.Check(t)
	b, err := tribus.Open("", nil)
	require.NoError(t, err)
	require.NoError(t, b.Close())
	_, err = b.Router().QueueDeclare("q", exchange.QueueOptions{})
	assert.ErrorIs(t, err, tribus.ErrClosed)
	assert.ErrorIs(t, b.Log().CreateTopic("t", tlog.TopicConfig{}), tribus.ErrClosed)
	assert.Same(t, b.Router(), b.Router(), "still one router")
	require.NoError(t, b.Close())
}
