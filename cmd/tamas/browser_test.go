package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/tamas-cc/tamas/account"
	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/sqlite"
	"github.com/tamas-cc/tamas/internal/config"
	"github.com/tamas-cc/tamas/internal/testkit"
	"github.com/tamas-cc/tamas/node"
	"github.com/tamas-cc/tamas/telephony/sip/callgen"
)

// browserNode is a whole Tamas node, in process, with its SIP endpoint and
// console, and the data the browser tests need.
type browserNode struct {
	url, sip string
	db       string
	calls    sync.WaitGroup
}

func startBrowserNode(t *testing.T) *browserNode {
	t.Helper()
	data := t.TempDir()
	db := filepath.Join(data, "tamas.db")
	ctx := context.Background()
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	norm, _ := phone.New("IR")
	dir := crm.NewDirectory(st, norm)
	for _, c := range []*crm.Contact{
		{Kind: crm.KindPerson, FirstName: "Reza", LastName: "Karimi", Status: crm.StatusCustomer, Phones: []crm.Phone{{Label: crm.LabelMobile, Raw: "09123456789"}}},
		{Kind: crm.KindPerson, FirstName: "Neda", LastName: "Hosseini", Status: crm.StatusCustomer, Phones: []crm.Phone{{Label: crm.LabelMobile, Raw: "09121110000"}}},
		{Kind: crm.KindPerson, FirstName: "Kaveh", LastName: "Hosseini", Status: crm.StatusLead, Phones: []crm.Phone{{Label: crm.LabelMobile, Raw: "09121110000"}}},
		{Kind: crm.KindPerson, FirstName: "Shirin", LastName: "Rahimi", Status: crm.StatusLead, Phones: []crm.Phone{{Label: crm.LabelMobile, Raw: "09127770000"}}},
	} {
		if err := dir.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	svc := account.NewService(st, account.Options{BcryptCost: 4})
	if err := svc.CreateUser(ctx, &account.User{Username: "ali", DisplayName: "Ali", Role: account.RoleAgent, Lang: "en"}, "ali-password"); err != nil {
		t.Fatal(err)
	}
	if err := svc.CreateUser(ctx, &account.User{Username: "maryam", Role: account.RoleSupervisor, Lang: "en"}, "maryam-password"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	cfg, err := config.Load("", []string{"TAMAS_DATA_DIR=" + data, "TAMAS_LOG_FORMAT=json"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.SIP.Enabled, cfg.SIP.Listen = true, []string{"udp:127.0.0.1:0"}
	cfg.Lines = map[string]string{"02191000000": "Sales line"}
	cfg.Console.Routes = []config.Route{{Line: "*", Agents: []string{"ali"}}}
	cfg.Console.ScriptsDir = "../../configs/scripts"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &testkit.SyncBuffer{}
	l := loaded{cfg: cfg, log: newLogger(cfg.Log, logs, false)}
	sctx, cancel := context.WithCancel(ctx)
	n := &browserNode{db: db}
	readyc := make(chan node.Ready, 1)
	done := make(chan error, 1)
	go func() { done <- serve(sctx, l, func(r node.Ready) { readyc <- r }) }()
	select {
	case r := <-readyc:
		n.url, n.sip = "http://"+r.HTTP, r.SIP[0].String()
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not start")
	}
	t.Cleanup(func() {
		n.calls.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return n
}

// call places one simulated call that rings for hold, in the background.
func (n *browserNode) call(t *testing.T, number, name string, hold time.Duration) {
	n.calls.Go(func() {
		_, err := callgen.Run(context.Background(), callgen.Options{Target: "sip:02191000000@" + n.sip, Total: 1,
			Hold: hold, Callers: []callgen.Caller{{Number: number, Name: name}}})
		if err != nil {
			t.Errorf("call from %s: %v", number, err)
		}
	})
}

// browser starts Debian's chromium headless.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		testkit.Unavailable(t, "chromium is not installed (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	// Any script dialog means markup from the network ran.
	_ = chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch d := ev.(type) {
		case *runtime.EventExceptionThrown:
			e := d.ExceptionDetails
			desc := e.Text
			if e.Exception != nil {
				desc += " " + e.Exception.Description
			}
			t.Errorf("script error in the page at %s:%d: %s", e.URL, e.LineNumber+1, desc)
			return
		case *page.EventJavascriptDialogOpening:
			msg = d.Message
		case page.EventJavascriptDialogOpening:
			msg = d.Message
		default:
			return
		}
		t.Errorf("a script dialog opened: %q", msg)
		go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
		t.Fatalf("%s: %v\npage: %.3000s", what, err, html)
	}
}

// value evaluates a JavaScript expression in the page.
func value[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// until waits for a JavaScript expression to be true.
func until(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond))(ctx, tg)
		return err
	})
}

// waitText waits until the visible element's text equals want.
func waitText(sel, want string) chromedp.Action[chromedp.Void] {
	return until(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.offsetParent !== null && e.textContent === %q })()`, sel, want))
}

// signIn opens the console at url and signs in.
func signIn(t *testing.T, ctx context.Context, url, user, password string) {
	t.Helper()
	do(t, ctx, "sign in as "+user,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-username]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=login-username]`), user),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=login-password]`), password),
		chromedp.Click(chromedp.CSS(`[data-testid=login-submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-conn=up]`)),
	)
}

func TestConsoleInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	n := startBrowserNode(t)
	ctx := browser(t)

	signIn(t, ctx, n.url, "ali", "ali-password")

	// A known caller: the customer's name is on the card.
	n.call(t, "+989123456789", "RK mobile", 20*time.Second)
	do(t, ctx, "pop for a known caller",
		waitText(`[data-testid=pop-caller-name]`, "RK mobile"),
		waitText(`[data-testid=contact-name]`, "Reza Karimi"),
		waitText(`[data-testid=pop-number]`, "0912 345 6789"),
	)

	// Two contacts share a number: the agent picks the second.
	n.call(t, "+989121110000", "", 20*time.Second)
	do(t, ctx, "two matches", chromedp.WaitVisible(chromedp.CSS(`[data-testid=match][data-index="1"]`)))
	if matches := value[int](t, ctx, `document.querySelectorAll('[data-testid=match]').length`); matches != 2 {
		t.Fatalf("%d matches shown, want 2", matches)
	}
	do(t, ctx, "pick the second match",
		chromedp.Click(chromedp.CSS(`[data-testid=match][data-index="1"]`)),
		waitText(`[data-testid=contact-name]`, "Kaveh Hosseini"),
	)

	// A note on the chosen contact is saved and shows in the timeline.
	do(t, ctx, "save a note",
		chromedp.SendKeys(chromedp.CSS(`[data-testid=note-input]`), "Asked for the price list"),
		chromedp.Click(chromedp.CSS(`[data-testid=note-save]`)),
		until(`[...document.querySelectorAll('#contact-history .body')].some(e => e.textContent === 'Asked for the price list')`),
	)

	// An unknown caller whose name is markup: shown as text, runs nothing;
	// the agent creates a lead with the number prefilled.
	evil := `<img src=x onerror=alert(1)>`
	n.call(t, "+989351234567", evil, 20*time.Second)
	do(t, ctx, "unknown caller with markup in the name",
		waitText(`[data-testid=pop-caller-name]`, evil),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=create-lead]`)),
		until(`document.getElementById('lead-number').value !== ''`),
	)
	imgs := value[int](t, ctx, `document.querySelectorAll('#pop img').length`)
	prefilled := value[string](t, ctx, `document.getElementById('lead-number').value`)
	do(t, ctx, "create a lead",
		chromedp.SendKeys(chromedp.CSS(`#lead-first`), "Parisa"),
		chromedp.SendKeys(chromedp.CSS(`#lead-last`), "Nikpour"),
		chromedp.Click(chromedp.CSS(`[data-testid=create-lead]`)),
		waitText(`[data-testid=contact-name]`, "Parisa Nikpour"),
	)
	if imgs != 0 {
		t.Fatalf("the caller name became %d <img> elements", imgs)
	}
	if prefilled != "+989351234567" {
		t.Fatalf("lead number prefilled with %q", prefilled)
	}

	// Persian: right to left, Persian digits.
	do(t, ctx, "switch to Persian",
		chromedp.Click(chromedp.CSS(`[data-testid=lang-switch]`)),
		until(`document.documentElement.dir === 'rtl' && document.documentElement.lang === 'fa'`),
	)
	dir := value[string](t, ctx, `document.documentElement.dir`)
	num := value[string](t, ctx, `document.querySelector('[data-testid=pop-number]').textContent`)
	if dir != "rtl" || !strings.Contains(num, "۰۹۳۵") {
		t.Fatalf("Persian view: dir %q, number %q", dir, num)
	}

	// Reload mid-call: the pop comes back.
	n.call(t, "+989123456789", "Reload test", 20*time.Second)
	do(t, ctx, "reload mid-call",
		waitText(`[data-testid=pop-caller-name]`, "Reload test"),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`body[data-conn=up]`)),
		waitText(`[data-testid=pop-caller-name]`, "Reload test"),
		until(`document.documentElement.dir === 'rtl'`),
	)

	// A supervisor, in another browser, sees ali on the team, and ali's
	// break as it happens.
	sup := browser(t)
	signIn(t, sup, n.url, "maryam", "maryam-password")
	do(t, sup, "the supervisor sees ali",
		until(`[...document.querySelectorAll('[data-testid=team] li')].some(li => li.dataset.state === 'available' && li.textContent.includes('ali'))`),
	)
	do(t, ctx, "ali takes a break", chromedp.KeyEvent("b"))
	do(t, sup, "the supervisor sees the break",
		until(`[...document.querySelectorAll('[data-testid=team] li')].some(li => li.dataset.state === 'break' && li.textContent.includes('ali'))`),
	)

	// What the browser did is in the database.
	st, err := sqlite.Open(context.Background(), n.db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	norm, _ := phone.New("IR")
	res, err := crm.NewDirectory(st, norm).Lookup(context.Background(), "+989351234567")
	if err != nil || len(res.Matches) != 1 || res.Matches[0].Contact.DisplayName != "Parisa Nikpour" || res.Matches[0].Contact.Status != crm.StatusLead {
		t.Fatalf("the lead in the database: %+v %v", res.Matches, err)
	}
	kaveh, _ := crm.NewDirectory(st, norm).Lookup(context.Background(), "+989121110000")
	for _, m := range kaveh.Matches {
		if m.Contact.DisplayName != "Kaveh Hosseini" {
			continue
		}
		acts, err := st.RecentActivities(context.Background(), m.Contact.ID, 5)
		if err != nil || len(acts) != 1 || acts[0].Body != "Asked for the price list" || acts[0].Agent != "ali" {
			t.Fatalf("Kaveh's activities: %+v %v", acts, err)
		}
	}
}
