package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/mattn/go-isatty"

	"github.com/tamas-cc/tamas/account"
)

// passwordEnv carries a new password for users add and users passwd. The
// command line is never used for it: other users of the machine can read
// it in the process list.
const passwordEnv = "TAMAS_NEW_PASSWORD"

func cmdUsers(ctx context.Context, configPath string, args []string, e env) error {
	return subcommand(ctx, "users", configPath, args, e, map[string]func(context.Context, string, []string, env) error{
		"add": cmdUsersAdd, "list": cmdUsersList, "passwd": cmdUsersPasswd})
}

func cmdUsersAdd(ctx context.Context, configPath string, args []string, e env) error {
	fs := flag.NewFlagSet("users add", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	username := fs.String("username", "", "login name: 1 to 64 of a-z 0-9 . _ - (required)")
	role := fs.String("role", "", "agent, supervisor or admin (required)")
	name := fs.String("name", "", "display name shown to colleagues")
	endpoint := fs.String("endpoint", "", "the user's phone as the PBX names it, e.g. PJSIP/1001")
	lang := fs.String("lang", "en", "console language: en or fa")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErr("users add takes no arguments; the password comes from $%s or standard input", passwordEnv)
	}
	if _, ok := account.NormalizeUsername(*username); !ok {
		return usageErr("--username must be 1 to 64 of a-z 0-9 . _ -")
	}
	if !account.Role(*role).Valid() {
		return usageErr("--role must be agent, supervisor or admin")
	}
	if *lang != "en" && *lang != "fa" {
		return usageErr("--lang must be en or fa")
	}
	password, err := newPassword(e)
	if err != nil {
		return err
	}
	return withAccounts(ctx, configPath, e, func(svc *account.Service) error {
		u := &account.User{Username: *username, Role: account.Role(*role), DisplayName: *name,
			Endpoint: *endpoint, Lang: *lang}
		if err := svc.CreateUser(ctx, u, password); err != nil {
			if errors.Is(err, account.ErrExists) {
				return fmt.Errorf("user %q already exists", u.Username)
			}
			return err
		}
		fmt.Fprintf(e.stdout, "created user %s (%s), id %d\n", u.Username, u.Role, u.ID)
		return nil
	})
}

func cmdUsersList(ctx context.Context, configPath string, args []string, e env) error {
	fs := flag.NewFlagSet("users list", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErr("users list takes no arguments")
	}
	return withAccounts(ctx, configPath, e, func(svc *account.Service) error {
		users, err := svc.Users().ListUsers(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tUSERNAME\tROLE\tLANG\tENDPOINT\tSTATE\tNAME")
		for _, u := range users {
			state := "active"
			if u.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Username, u.Role, u.Lang, dash(u.Endpoint), state,
				dash(u.DisplayName))
		}
		return w.Flush()
	})
}

func cmdUsersPasswd(ctx context.Context, configPath string, args []string, e env) error {
	fs := flag.NewFlagSet("users passwd", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	username := fs.String("username", "", "login name (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErr("users passwd takes no arguments; the password comes from $%s or standard input", passwordEnv)
	}
	if *username == "" {
		return usageErr("--username is required")
	}
	password, err := newPassword(e)
	if err != nil {
		return err
	}
	return withAccounts(ctx, configPath, e, func(svc *account.Service) error {
		u, err := svc.Users().UserByName(ctx, *username)
		if errors.Is(err, account.ErrNotFound) {
			return fmt.Errorf("no user %q", *username)
		}
		if err != nil {
			return err
		}
		if err := svc.SetPassword(ctx, u.ID, password); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "password changed for %s\n", u.Username)
		return nil
	})
}

// withAccounts opens the configured store, migrating it if so configured,
// and runs fn with an account service over it.
func withAccounts(ctx context.Context, configPath string, e env, fn func(*account.Service) error) error {
	l, err := load(configPath, e)
	if err != nil {
		return err
	}
	s, err := openStore(ctx, l, false)
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(account.NewService(s, account.Options{}))
}

// newPassword reads the new password from $TAMAS_NEW_PASSWORD or, failing
// that, the first line of standard input. A terminal is refused: what is
// typed there would be shown on the screen.
func newPassword(e env) (string, error) {
	if pw := lookup(e.environ, passwordEnv); pw != "" {
		return pw, nil
	}
	if f, ok := e.stdin.(*os.File); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		return "", fmt.Errorf("standard input is a terminal, which would show the password: set %s or pipe the "+
			"password in (read -rs pw; printf '%%s\\n' \"$pw\" | tamas users …)", passwordEnv)
	}
	if e.stdin == nil {
		return "", fmt.Errorf("no password: set %s or pipe it on standard input", passwordEnv)
	}
	// A password is at most 72 bytes; read a little more so that a longer
	// one is reported as too long rather than cut.
	line, err := bufio.NewReader(io.LimitReader(e.stdin, 1024)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", fmt.Errorf("no password: set %s or pipe it on standard input", passwordEnv)
	}
	return line, nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
