package memacd_test

import (
	"testing"

	"github.com/tamas-cc/tamas/telephony/acd"
	"github.com/tamas-cc/tamas/telephony/acd/acdtest"
	"github.com/tamas-cc/tamas/telephony/acd/memacd"
)

func TestConformance(t *testing.T) {
	acdtest.Run(t, func(t *testing.T) acd.Store { return memacd.New(memacd.Options{}) })
}

func TestRace(t *testing.T) {
	st := memacd.New(memacd.Options{})
	acdtest.Race(t, st, st, acdtest.RaceOptions{Seed: 1})
}

func BenchmarkRoute(b *testing.B) {
	acdtest.Bench{}.Run(b, func(*testing.B) acd.Store { return memacd.New(memacd.Options{}) })
}
