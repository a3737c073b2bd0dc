package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDemo_RoutingStory(t *testing.T) {
	_, outs := tellTwice(t, demoRouting) // the second run proves it redeclares what the first left
	// What each publish reached, one line each; the column padding does not matter.
	routes := []string{
		`key "eu" -> routing.eu`,
		`key "us" -> routing.us`,
		`key "asia" -> routing.unrouted`,
		`key "order.created" -> routing.star, routing.hash`,
		`key "order.eu.created" -> routing.hash`,
		`key "order" -> routing.hash`,
		`key "any.key" -> routing.audit, routing.search`,
		`headers {format=pdf type=report} -> routing.all, routing.any`,
		`headers {format=pdf type=log} -> routing.any`,
		`headers {format=csv} -> nowhere`,
	}
	lines := []string{
		"== exchange routing (RabbitMQ model)",
		"worker-a: tag 1 job-1 redelivered=false; its session closes before the ack",
		"worker-b: tag 1 job-1 redelivered=true: ack",
		"why: what a closed session left unacked goes back to its queue, redelivered (A51)",
		"worker-b: tag 2 job-2 redelivered=false: nack, requeue",
		"worker-b: tag 3 job-2 redelivered=true: ack",
		"routing.dead: ttl-1 x-death reason=expired count=1 queue=routing.ttl",
		"routing.dead: capped-1 x-death reason=maxlen count=1 queue=routing.capped",
		"routing.capped keeps capped-2",
	}
	for run, out := range outs {
		for _, want := range routes {
			what, to, _ := strings.Cut(want, " -> ")
			assert.Regexp(t, "(?m)^  "+regexp.QuoteMeta(what)+` +-> `+regexp.QuoteMeta(to)+"$", out, "run %d", run+1)
		}
		for _, want := range lines {
			assert.Contains(t, out, want, "run %d", run+1)
		}
	}
}
