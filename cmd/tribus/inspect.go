package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tribusmq/tribus"
)

// inspectSections are what `tribus inspect` can print, all of them by default.
var inspectSections = []string{"exchanges", "queues", "bindings", "topics", "groups", "pubsub", "all"}

// inspectConfig is what `tribus inspect` was asked to do: read dir, or ask the dashboard of a
// serving process at addr.
type inspectConfig struct {
	dir, addr string
	section   string
	asJSON    bool
}

// inspect prints the section of a broker's snapshot, as tables or as JSON.
func inspect(ctx context.Context, w io.Writer, cfg inspectConfig) error {
	var s tribus.Snapshot
	var err error
	if cfg.addr != "" {
		s, err = fetchSnapshot(ctx, cfg.addr)
	} else {
		s, err = tribus.InspectDir(cfg.dir)
		if errors.Is(err, tribus.ErrLocked) {
			return fmt.Errorf("%w: another process holds it (a running tribus serve?); ask that process with --addr HOST:PORT of its dashboard (serve --http)", err)
		}
	}
	if err != nil {
		return err
	}
	if cfg.asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(sectionOf(s, cfg.section))
	}
	all := cfg.section == "all"
	printed := false
	for _, p := range []struct {
		name  string
		print func(io.Writer, tribus.Snapshot)
	}{{"exchanges", printExchanges}, {"queues", printQueues}, {"bindings", printBindings},
		{"topics", printTopics}, {"groups", printGroups}, {"pubsub", printPubSub}} {
		if !all && cfg.section != p.name {
			continue
		}
		if printed {
			fmt.Fprintln(w)
		}
		printed = true
		p.print(w, s)
	}
	return nil
}

// table writes a header and rows of tab-separated cells to w, aligned in columns.
func table(w io.Writer, header string, rows func(io.Writer)) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	rows(tw)
	tw.Flush() // a failed write to w shows in its next one; the CLI's writers do not fail
}

// sectionOf returns the part of s that section names, s itself for "all".
func sectionOf(s tribus.Snapshot, section string) any {
	switch section {
	case "exchanges":
		return s.Exchanges
	case "queues":
		return s.Queues
	case "bindings":
		return s.Bindings
	case "topics":
		return s.Topics
	case "groups":
		return s.Groups
	case "pubsub":
		return s.PubSub
	}
	return s
}

// fetchSnapshot asks the dashboard at addr for its broker's snapshot.
func fetchSnapshot(ctx context.Context, addr string) (tribus.Snapshot, error) {
	url := addr
	if !strings.Contains(url, "://") {
		url = "http://" + addr
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(url, "/")+"/api/snapshot", nil)
	if err != nil {
		return tribus.Snapshot{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return tribus.Snapshot{}, fmt.Errorf("asking %s: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return tribus.Snapshot{}, fmt.Errorf("asking %s: %s %s", addr, resp.Status, e.Error)
	}
	var s tribus.Snapshot
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return tribus.Snapshot{}, fmt.Errorf("asking %s: %w", addr, err)
	}
	return s, nil
}

func printExchanges(w io.Writer, s tribus.Snapshot) {
	table(w, "EXCHANGE\tTYPE\tDURABLE\tAUTO-DELETE\tINTERNAL\tALTERNATE\tBINDINGS\tPUBLISHED\tROUTED\tUNROUTABLE", func(w io.Writer) {
		for _, x := range s.Exchanges {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n", exchangeName(x.Name), x.Type, yes(x.Durable),
				yes(x.AutoDelete), yes(x.Internal), dash(x.AlternateExchange), x.Bindings, x.Published, x.Routed, x.Unroutable)
		}
	})
}

func printQueues(w io.Writer, s tribus.Snapshot) {
	table(w, "QUEUE\tREADY\tUNACKED\tCONSUMERS\tDURABLE\tEXCLUSIVE\tDLX\tARGUMENTS", func(w io.Writer) {
		for _, q := range s.Queues {
			dlx := dash(q.DeadLetterExchange)
			if q.DeadLetterExchange != "" && q.DeadLetterRoutingKey != "" {
				dlx += " (key " + q.DeadLetterRoutingKey + ")"
			}
			fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", q.Name, q.Ready, q.Unacked, q.Consumers, yes(q.Durable),
				yes(q.Exclusive), dlx, arguments(q.Arguments))
		}
	})
}

func printBindings(w io.Writer, s tribus.Snapshot) {
	table(w, "SOURCE\tDESTINATION\tTYPE\tROUTING-KEY\tARGUMENTS", func(w io.Writer) {
		for _, b := range s.Bindings {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", exchangeName(b.Source), b.Destination, b.DestinationType, dash(b.RoutingKey), arguments(b.Arguments))
		}
	})
}

func printTopics(w io.Writer, s tribus.Snapshot) {
	table(w, "TOPIC\tPARTITION\tLOG-START\tLOG-END\tLAST-STABLE\tSEGMENTS\tSIZE\tRETENTION\tCLEANUP", func(w io.Writer) {
		for _, t := range s.Topics {
			for i, p := range t.Partitions {
				retention, cleanup := "", ""
				if i == 0 {
					retention, cleanup = retentionOf(t), t.CleanupPolicy
				}
				fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", t.Name, p.Partition, p.StartOffset, p.EndOffset,
					p.LastStableOffset, p.Segments, size(p.Size), retention, cleanup)
			}
		}
	})
}

// printGroups prints each group's state, its members with what they own, then the columns
// kafka-consumer-groups --describe prints for its partitions.
func printGroups(w io.Writer, s tribus.Snapshot) {
	table(w, "GROUP\tSTATE\tGENERATION\tPROTOCOL\tMEMBERS\tLAG", func(w io.Writer) {
		for _, g := range s.Groups {
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%d\t%d\n", g.ID, g.State, g.Generation, dash(g.Protocol), len(g.Members), g.Lag)
		}
	})
	fmt.Fprintln(w)
	members := 0
	for _, g := range s.Groups {
		members += len(g.Members)
	}
	if members == 0 {
		fmt.Fprintln(w, "no group has members now")
	} else {
		table(w, "GROUP\tMEMBER\tASSIGNMENT", func(w io.Writer) {
			for _, g := range s.Groups {
				for _, m := range g.Members {
					fmt.Fprintf(w, "%s\t%s\t%s\n", g.ID, m.MemberID, dash(strings.Join(m.Assignment, ",")))
				}
			}
		})
	}
	fmt.Fprintln(w)
	table(w, "GROUP\tTOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG\tCONSUMER-ID", func(w io.Writer) {
		for _, g := range s.Groups {
			for _, o := range g.Offsets {
				current := "-"
				if o.Committed >= 0 {
					current = strconv.FormatInt(o.Committed, 10)
				}
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%d\t%d\t%s\n", g.ID, o.Topic, o.Partition, current, o.End, o.Lag, dash(o.Owner))
			}
		}
	})
}

func printPubSub(w io.Writer, s tribus.Snapshot) {
	p := s.PubSub
	table(w, "CHANNEL/PATTERN\tKIND\tSUBSCRIBERS", func(w io.Writer) {
		for _, c := range p.Channels {
			fmt.Fprintf(w, "%s\tchannel\t%d\n", c.Name, c.Subscribers)
		}
		for _, c := range p.Patterns {
			fmt.Fprintf(w, "%s\tpattern\t%d\n", c.Name, c.Subscribers)
		}
	})
	fmt.Fprintf(w, "%d subscriptions; %d published, %d delivered, %d dropped as slow, %d evicted, %d disconnects (pub/sub stores nothing)\n",
		p.Subscriptions, p.Published, p.Delivered, p.DroppedSlow, p.DroppedOldest, p.Disconnects)
}

func exchangeName(name string) string {
	if name == "" {
		return "(default)"
	}
	return name
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// arguments writes a table of arguments as k=v, sorted, "-" for none.
func arguments(args map[string]any) string {
	if len(args) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(args))
	for k, v := range args {
		parts = append(parts, fmt.Sprintf("%s=%v", k, v))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// retentionOf writes a topic's retention: time and bytes, "forever" for neither.
func retentionOf(t tribus.TopicView) string {
	var parts []string
	if t.RetentionMs >= 0 {
		parts = append(parts, (time.Duration(t.RetentionMs) * time.Millisecond).String())
	}
	if t.RetentionBytes >= 0 {
		parts = append(parts, size(t.RetentionBytes))
	}
	if len(parts) == 0 {
		return "forever"
	}
	return strings.Join(parts, ", ")
}

// size writes n bytes in B, KiB, MiB or GiB.
func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fKiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}
