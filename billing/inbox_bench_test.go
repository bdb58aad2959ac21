package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/store/storetest"
)

// BenchmarkReceiveAndApply stores b.N signed deliveries from concurrent
// senders (the webhook endpoint's path without HTTP), then applies them
// with four workers. Run with -cpuprofile to see where an event's time
// goes; the figure is a benchmark's, not a test's.
func BenchmarkReceiveAndApply(b *testing.B) {
	c := storetest.NewClock(time.Now().UTC().Truncate(time.Second))
	st := storetest.NewDemo(b, c)
	bl, err := billing.New(st, c, nil, billing.Config{PublicURL: "http://portal.test"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	subs := [][2]string{{"sub_sim_globex", "cus_sim_globex"}, {"sub_sim_initech", "cus_sim_initech"}, {"sub_sim_umbrella", "cus_sim_umbrella"}}
	start, end := c.Now().Add(time.Minute), c.Now().AddDate(0, 1, 0)
	payloads := make([][]byte, b.N)
	for i := range payloads {
		s := subs[i%len(subs)]
		payloads[i] = event("customer.subscription.updated", start.Add(time.Duration(i)*time.Second),
			subscription(s[0], s[1], "active", teamPrice, 5+i%20, end, nil))
	}
	b.SetParallelism(4) // eight senders on two cores
	b.ResetTimer()
	next := make(chan []byte, len(payloads))
	for _, p := range payloads {
		next <- p
	}
	close(next)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p := <-next
			if _, _, err := bl.Inbox.Receive(ctx, p, sign(p, billing.DevWebhookSecret)); err != nil {
				b.Error(err)
			}
		}
	})
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			if _, err := bl.Worker.ProcessPending(ctx); err != nil {
				b.Error(err)
			}
		}()
	}
	for range 4 {
		<-done
	}
}
