package web

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/tamas-cc/tamas/account"
)

func TestRequireRole(t *testing.T) {
	as := func(role account.Role) context.Context {
		return context.WithValue(context.Background(), userKey{}, &sessionUser{user: &account.User{Username: "u", Role: role}})
	}
	for _, tc := range []struct {
		ctx    context.Context
		need   account.Role
		status int // 0: admitted
	}{
		{context.Background(), account.RoleAgent, http.StatusUnauthorized},
		{as(account.RoleAgent), account.RoleAgent, 0},
		{as(account.RoleAgent), account.RoleSupervisor, http.StatusForbidden},
		{as(account.RoleAgent), account.RoleAdmin, http.StatusForbidden},
		{as(account.RoleSupervisor), account.RoleAgent, 0},
		{as(account.RoleSupervisor), account.RoleSupervisor, 0},
		{as(account.RoleSupervisor), account.RoleAdmin, http.StatusForbidden},
		{as(account.RoleAdmin), account.RoleSupervisor, 0},
		{as(account.RoleAdmin), account.RoleAdmin, 0},
		{as(account.Role("root")), account.RoleAgent, http.StatusForbidden},
		{as(""), account.RoleAgent, http.StatusForbidden},
	} {
		who := "nobody"
		if su := userFrom(tc.ctx); su != nil {
			who = "role " + string(su.user.Role)
		}
		err := requireRole(tc.ctx, tc.need)
		var ae *apiError
		switch {
		case tc.status == 0 && err != nil:
			t.Errorf("%s needing %s: refused: %v", who, tc.need, err)
		case tc.status != 0 && (!errors.As(err, &ae) || ae.Status != tc.status):
			t.Errorf("%s needing %s: got %v, want status %d", who, tc.need, err, tc.status)
		}
	}
}
