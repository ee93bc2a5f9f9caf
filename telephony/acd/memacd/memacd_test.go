package memacd_test

import (
	"fmt"
	"testing"

	"go.uber.org/goleak"

	"github.com/tamas-cc/tamas/telephony/acd"
	"github.com/tamas-cc/tamas/telephony/acd/acdtest"
	"github.com/tamas-cc/tamas/telephony/acd/memacd"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	acdtest.Run(t, func(t *testing.T) acd.Store { return memacd.New(memacd.Options{}) })
}

func TestRace(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			st := memacd.New(memacd.Options{})
			acdtest.Race(t, st, st, acdtest.RaceOptions{Seed: seed})
		})
	}
}

func BenchmarkRoute(b *testing.B) {
	acdtest.Bench{}.Run(b, func(*testing.B) acd.Store { return memacd.New(memacd.Options{}) })
}
