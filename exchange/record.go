package exchange

// The records a durable router keeps in the store. codec.go encodes and decodes them; the
// layout is versioned there.

// exchangeRecord is a durable exchange.
type exchangeRecord struct {
	Name              string
	Kind              Kind
	AutoDelete        bool
	Internal          bool
	AlternateExchange string
	Args              Table
}

// queueRecord is a durable queue (never exclusive: a durable exclusive queue is transient, A26).
type queueRecord struct {
	Name       string
	AutoDelete bool
	Args       Table // typed options merged in, as declared
}

// bindingRecord is a binding between durable ends.
type bindingRecord struct {
	Source      string
	ToExchange  bool // the destination is an exchange (A9), else a queue
	Destination string
	Key         string
	Args        Table
}

// messageRecord is one persistent message in one durable queue, stored under its position.
type messageRecord struct {
	Pub           Publishing
	Exchange      string
	RoutingKey    string
	BCC           []string
	Deaths        []death // x-death history, newest first (§1.4)
	ExpiresAt     int64   // Unix nanoseconds when it expires in this queue; 0 for never (A29)
	DeliveryCount int64   // failed deliveries toward x-delivery-limit
	Redelivered   bool
}
