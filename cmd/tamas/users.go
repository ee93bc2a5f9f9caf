package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/tamas-cc/tamas/account"
)

// cmdUsers manages console logins. Passwords are read from
// TAMAS_NEW_PASSWORD or the first line of stdin, never from the command
// line, where other users of the machine could see them.
func cmdUsers(ctx context.Context, configPath string, args []string, e env) error {
	if len(args) == 0 {
		return usageErr("users add|list|passwd")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("users "+sub, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	username := fs.String("username", "", "login name (a-z 0-9 . _ -)")
	role := fs.String("role", "agent", "agent, supervisor or admin")
	name := fs.String("name", "", "display name")
	endpoint := fs.String("endpoint", "", "the user's phone as the PBX names it, e.g. PJSIP/1001")
	lang := fs.String("lang", "en", "console language: en or fa")
	if err := fs.Parse(args); err != nil {
		return err
	}
	l, err := load(configPath, e)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, l, false)
	if err != nil {
		return err
	}
	defer store.Close()
	users, ok := store.(account.Store)
	if !ok {
		return errors.New("this store keeps no users")
	}
	svc := account.NewService(users, account.Options{})
	switch sub {
	case "list":
		list, err := users.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tROLE\tNAME\tENDPOINT\tLANG\tDISABLED")
		for _, u := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\n", u.Username, u.Role, u.DisplayName, u.Endpoint, u.Lang, u.Disabled)
		}
		return tw.Flush()
	case "add":
		if *username == "" {
			return usageErr("users add needs -username")
		}
		pw, err := newPassword(e)
		if err != nil {
			return err
		}
		u := &account.User{Username: *username, Role: account.Role(*role), DisplayName: *name, Endpoint: *endpoint, Lang: *lang}
		if err := svc.CreateUser(ctx, u, pw); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "user %s (%s) added\n", u.Username, u.Role)
		return nil
	case "passwd":
		u, err := users.UserByName(ctx, *username)
		if err != nil {
			return fmt.Errorf("user %q: %w", *username, err)
		}
		pw, err := newPassword(e)
		if err != nil {
			return err
		}
		if err := svc.SetPassword(ctx, u.ID, pw); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "password of %s changed\n", u.Username)
		return nil
	}
	return usageErr("unknown users command %q", sub)
}

func newPassword(e env) (string, error) {
	if pw := lookup(e.environ, "TAMAS_NEW_PASSWORD"); pw != "" {
		return pw, nil
	}
	if e.stdin == nil {
		return "", errors.New("set TAMAS_NEW_PASSWORD or give the password on stdin")
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		if err != nil {
			return "", fmt.Errorf("reading the password from stdin: %w", err)
		}
		return "", errors.New("empty password")
	}
	return line, nil
}
