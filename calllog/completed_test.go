package calllog_test

import (
	"context"
	"testing"

	"github.com/tamas-cc/tamas/calllog"
	"github.com/tamas-cc/tamas/crm"
)

type activities map[string]*crm.Activity

func (a activities) CallActivity(_ context.Context, callID string) (*crm.Activity, error) {
	if act, ok := a[callID]; ok {
		return act, nil
	}
	return nil, crm.ErrNotFound
}

type sent struct{ events []string }

func (s *sent) Send(event string, data any) {
	s.events = append(s.events, event+" "+data.(*crm.Activity).Disposition)
}

// A finished wrap-up announces its call's activity, as stored.
func TestCompleted(t *testing.T) {
	out := &sent{}
	c := calllog.Completed{Activities: activities{"c1": {CallID: "c1", Disposition: "sale"}}, Notify: out}
	c.Finished(context.Background(), &crm.WrapUp{CallID: "c1", Disposition: "sale"})
	c.Finished(context.Background(), &crm.WrapUp{CallID: "gone"})
	if len(out.events) != 1 || out.events[0] != calllog.EventActivityCompleted+" sale" {
		t.Fatalf("announced %q", out.events)
	}
}
