package xdrnats

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/skiffdb/skiff/sdk/xdr"
)

// BenchmarkShipReceive ships b.N changes of about 100 bytes of bins from
// node A, in batches, while node B receives them, on one embedded server.
// It reports changes/s (shipped and received) and the ship-to-apply lag,
// apply's clock minus the LastUpdate stamped at Ship: p50 and p99 in ms.
// rate=max ships as fast as acks allow; rate=10000 paces batches of 100
// every 10 ms, the design target.
//
//	go test ./plugins/xdr-nats -run '^$' -bench ShipReceive -benchtime 50000x
func BenchmarkShipReceive(b *testing.B) {
	for _, rate := range []int{0, 10_000} {
		name := "rate=max"
		if rate > 0 {
			name = fmt.Sprintf("rate=%d", rate)
		}
		b.Run(name, func(b *testing.B) { benchShipReceive(b, rate) })
	}
}

func benchShipReceive(b *testing.B, rate int) {
	const batch = 100
	s := startServer(b)
	a, rx := open(b, s, "A", nil), open(b, s, "B", nil)
	var (
		mu   sync.Mutex
		lags = make([]time.Duration, 0, b.N)
		all  = make(chan struct{})
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rx.Receive(ctx, func(cs []xdr.Change) error {
		now := time.Now().UnixNano()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range cs {
			lags = append(lags, time.Duration(now-int64(c.LastUpdate)))
		}
		if len(lags) == b.N {
			close(all)
		}
		return nil
	})
	cs := changes("A", 0, batch)
	interval := time.Duration(0)
	if rate > 0 {
		interval = time.Second * batch / time.Duration(rate)
	}

	b.SetBytes(int64(xdr.EncodedSize(&cs[0])))
	b.ResetTimer()
	start := time.Now()
	next := start
	for i := 0; i < b.N; i += batch {
		if interval > 0 {
			time.Sleep(time.Until(next))
			next = next.Add(interval)
		}
		n := min(batch, b.N-i)
		now := uint64(time.Now().UnixNano())
		for j := range n {
			cs[j].Digest[0], cs[j].Digest[1], cs[j].Digest[2], cs[j].Digest[3] = byte(i+j), byte((i+j)>>8), byte((i+j)>>16), byte((i+j)>>24)
			cs[j].LastUpdate = now
		}
		if err := a.Ship(ctx, cs[:n]); err != nil {
			b.Fatal(err)
		}
	}
	shipped := time.Since(start)
	select {
	case <-all:
	case <-time.After(time.Minute):
		mu.Lock()
		b.Fatalf("received %d of %d changes", len(lags), b.N)
	}
	received := time.Since(start)
	b.StopTimer()

	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lags)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(float64(b.N)/shipped.Seconds(), "shipped/s")
	b.ReportMetric(float64(b.N)/received.Seconds(), "changes/s")
	b.ReportMetric(ms(lags[len(lags)/2]), "p50-lag-ms")
	b.ReportMetric(ms(lags[len(lags)*99/100]), "p99-lag-ms")
}
