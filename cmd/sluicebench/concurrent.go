package main

// Invokes per second under concurrency: clients goroutines, each with an SDK
// client of its own (its own connection), invoke "echo" as fast as they
// can, perClient calls each. The first round of each side brings up one
// environment per client; then the sides take turns, round by round.

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/sluice-dev/sluice/internal/lambdaclient"
)

// concurrentSamples are one side's figures under concurrency.
type concurrentSamples struct {
	perSecond []float64     // invokes/s of each round
	cpu       time.Duration // the server's CPU over every round
	calls     int           // over every round
}

// concurrentInvokes measures every target: a warm-up round (clients × 3
// calls), then rounds rounds of clients × perClient calls per target, the
// targets taking turns. The result is by target name.
func concurrentInvokes(ctx context.Context, targets []*target, clients, perClient, rounds int) (map[string]*concurrentSamples, error) {
	cs := map[string][]*lambda.Client{}
	out := map[string]*concurrentSamples{}
	for _, t := range targets {
		for range clients {
			cs[t.name] = append(cs[t.name], lambdaclient.New(t.url, accessKeyID, secretAccessKey))
		}
		out[t.name] = &concurrentSamples{}
		if _, err := concurrentRound(ctx, cs[t.name], 3); err != nil {
			return nil, fmt.Errorf("%s: concurrent warm-up: %w", t.name, err)
		}
	}
	order := slices.Clone(targets)
	for range rounds {
		for _, t := range order {
			m := &cpuMeter{pid: t.pid}
			var d time.Duration
			err := m.span(func() (err error) {
				d, err = concurrentRound(ctx, cs[t.name], perClient)
				return err
			})
			if err == nil {
				err = m.err
			}
			if err != nil {
				return nil, fmt.Errorf("%s: concurrent invokes: %w", t.name, err)
			}
			s := out[t.name]
			n := len(cs[t.name]) * perClient
			s.perSecond = append(s.perSecond, float64(n)/d.Seconds())
			s.cpu += m.total
			s.calls += n
		}
		slices.Reverse(order)
	}
	return out, nil
}

// concurrentRound runs perClient invokes on every client at once and
// returns how long they took together.
func concurrentRound(ctx context.Context, clients []*lambda.Client, perClient int) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(clients))
	var wg sync.WaitGroup
	start := time.Now()
	for _, c := range clients {
		wg.Go(func() {
			for range perClient {
				if _, err := invokeOnce(ctx, c, fnEcho, echoPayload); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	d := time.Since(start)
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	return d, nil
}
