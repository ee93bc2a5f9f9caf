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
