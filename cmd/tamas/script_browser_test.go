package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/sqlite"
)

// click clicks the element matching a CSS selector once it is visible.
func click(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(sel))
}

// choose picks an option of a select as a user does, change event and all.
func choose(sel, v string) chromedp.Action[chromedp.Void] {
	return until(fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false;
		e.value = %q; e.dispatchEvent(new Event('change', { bubbles: true })); return e.value === %q })()`, sel, v, v))
}

// onStep waits for the script to be on a step.
func onStep(id string) chromedp.Action[chromedp.Void] {
	return until(fmt.Sprintf(`(() => { const s = document.querySelector('[data-testid=script-step]'); return !!s && s.dataset.step === %q })()`, id))
}

// jalali evaluates an expression with J, the console's Persian calendar.
func jalali[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](`import("/console/jalali.js").then(({ Jalali: J }) => `+expr+`)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// lastCallID is the call the console shows.
func shownCall(t *testing.T, ctx context.Context) string {
	return value[string](t, ctx, `document.getElementById('call-back').dataset.pop`)
}

// The agent walks a guided script in English, then in Persian: answers
// saved as given (a reload loses nothing), required questions enforced,
// branches taken, a summary, a disposition, a follow-up with a Persian
// date; the database holds one activity per call with all of it.
func TestScriptInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	n := startBrowserNode(t)
	ctx := browser(t)
	signIn(t, ctx, n.url, "ali", "ali-password")

	// English: an unknown caller, so the sales qualification script.
	n.call(t, "+989351112222", "New caller", 25*time.Second)
	do(t, ctx, "start the script",
		waitText(`[data-testid=pop-caller-name]`, "New caller"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=start-script]`)),
		click(`[data-testid=start-script]`),
		onStep("greet"),
		until(`document.querySelector('[data-testid=step-text]').textContent.includes('this is Ali')`),
		click(`[data-testid=script-next]`),
		onStep("need"),
	)
	en := shownCall(t, ctx)
	do(t, ctx, "a required question is enforced",
		click(`[data-testid=script-next]`),
		waitText(`[data-testid=step-error]`, "This question needs an answer."),
	)
	do(t, ctx, "an answer is saved as it is typed",
		chromedp.SendKeys(chromedp.CSS(`[data-testid=answer]`), "a fleet plan for <b>12</b> cars"),
		waitText(`[data-testid=autosave-status]`, "Saved"),
	)
	do(t, ctx, "a reload resumes the script with the answer",
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`body[data-conn=up]`)),
		onStep("need"),
		until(`document.querySelector('[data-testid=answer]').value === 'a fleet plan for <b>12</b> cars'`),
		click(`[data-testid=script-next]`),
		onStep("need-size"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=answer]`), "12"),
		click(`[data-testid=script-next]`),
		onStep("authority"),
		click(`[data-testid=choice-caller]`),
		click(`[data-testid=script-next]`),
		onStep("budget"),
		click(`[data-testid=choice-yes]`),
		click(`[data-testid=script-next]`),
		onStep("timeline"),
		click(`[data-testid=choice-this-month]`),
		click(`[data-testid=script-next]`),
		onStep("close"),
		until(`[...document.querySelectorAll('[data-testid=cue]')].some(c => c.textContent === 'Ask for the sale.')`),
		click(`[data-testid=script-next]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=script-summary]`)),
		until(`document.querySelector('[data-testid=disposition]').value === 'qualified'`),
		until(`document.querySelector('[data-testid=follow-up-title]').value === 'Send the proposal'`),
		waitText(`[data-testid=script-score]`, "Score 75"),
	)
	if imgs := value[int](t, ctx, `document.querySelectorAll('#wrapup b').length`); imgs != 0 {
		t.Fatalf("an answer became markup: %d <b>", imgs)
	}
	do(t, ctx, "a follow-up needs a contact: create the lead, then finish",
		chromedp.SendKeys(chromedp.CSS(`[data-testid=wrapup-notes]`), "Wants a demo next week"),
		click(`[data-testid=wrapup-finish]`),
		waitText(`[data-testid=finish-error]`, "A follow-up needs a contact. Create a lead first."),
		chromedp.SendKeys(chromedp.CSS(`#lead-first`), "Omid"),
		chromedp.SendKeys(chromedp.CSS(`#lead-last`), "Farahani"),
		click(`[data-testid=create-lead]`),
		waitText(`[data-testid=contact-name]`, "Omid Farahani"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=wrapup-finish]`)),
		click(`[data-testid=wrapup-finish]`),
		waitText(`[data-testid=wrapup-done]`, "Saved: Qualified."),
	)
	do(t, ctx, "the contact's timeline shows the call's result and the follow-up",
		click(`[data-testid=timeline-open]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=timeline-view]`)),
		until(`[...document.querySelectorAll('[data-testid=timeline-disposition]')].some(e => e.textContent === 'Qualified')`),
		until(`[...document.querySelectorAll('[data-testid=timeline-item][data-type=task]')].some(e => e.textContent.includes('Send the proposal'))`),
		chromedp.KeyEvent("\x1b"),
		until(`document.querySelector('[data-testid=timeline-view]').hidden`),
	)

	// A follow-up falls due: it pops on its assignee's console with a
	// one-click call back (no PBX here, so the console says so) and Done.
	{
		db, err := sqlite.Open(context.Background(), n.db)
		if err != nil {
			t.Fatal(err)
		}
		lead, err := crm.NewDirectory(db, mustPhone(t)).Lookup(context.Background(), "+989351112222")
		if err != nil || len(lead.Matches) != 1 {
			t.Fatalf("the lead: %+v %v", lead, err)
		}
		due := crm.Task{ContactID: lead.Matches[0].Contact.ID, Title: "Call <b>Omid</b> back", DueAt: time.Now().Add(time.Second), Assignee: "ali"}
		if err := db.AddTask(context.Background(), &due); err != nil {
			t.Fatal(err)
		}
		db.Close()
		do(t, ctx, "a due follow-up pops",
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=due-task]`)),
			until(`document.querySelector('[data-testid=due-task] .n').textContent === 'Call <b>Omid</b> back'`),
			click(`[data-testid=due-call-back]`),
			until(`document.querySelector('[data-testid=due-task] [role=status]').textContent === 'Calling out is not available.'`),
			click(`[data-testid=due-done]`),
			until(`!document.querySelector('[data-testid=due-task]')`),
		)
		db, err = sqlite.Open(context.Background(), n.db)
		if err != nil {
			t.Fatal(err)
		}
		open, _ := db.OpenTasks(context.Background(), due.ContactID, 10)
		db.Close()
		for _, tk := range open {
			if tk.ID == due.ID {
				t.Fatal("the follow-up marked done is still open")
			}
		}
	}

	// Persian: a lead calls; the script, its options and the dates are
	// Persian; a branch on the score leads to the callback date.
	do(t, ctx, "switch to Persian",
		click(`[data-testid=lang-switch]`),
		until(`document.documentElement.dir === 'rtl'`),
	)
	n.call(t, "+989127770000", "شیرین", 25*time.Second)
	do(t, ctx, "start the Persian script",
		waitText(`[data-testid=contact-name]`, "Shirin Rahimi"),
		click(`[data-testid=start-script]`),
		onStep("greet"),
		until(`document.querySelector('[data-testid=step-text]').textContent.includes('از تماس شما سپاسگزاریم')`),
		click(`[data-testid=script-next]`),
		onStep("need"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=answer]`), "سامانهٔ پاسخگویی برای ۵ نفر"),
		click(`[data-testid=script-next]`),
		onStep("need-size"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=answer]`), "5"),
		click(`[data-testid=script-next]`),
		onStep("authority"),
		until(`[...document.querySelectorAll('[data-testid=script-step] label')].some(l => l.textContent === 'به‌طور مشترک')`),
		click(`[data-testid=choice-shared]`),
		click(`[data-testid=script-next]`),
		onStep("budget"),
		until(`[...document.querySelectorAll('[data-testid=script-step] label')].some(l => l.textContent === 'بله')`),
		click(`[data-testid=choice-yes]`),
		click(`[data-testid=script-next]`),
		onStep("timeline"),
		click(`[data-testid=choice-later]`),
		click(`[data-testid=script-next]`),
		onStep("next-step"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=jalali-month]`)),
	)
	fa := shownCall(t, ctx)
	// 15 Dey of next Persian year, picked on the Persian calendar.
	jy := jalali[int](t, ctx, `(() => { const d = new Date(); return J.toJalali(d.getFullYear(), d.getMonth() + 1, d.getDate()).jy + 1 })()`)
	if v := value[string](t, ctx, `document.querySelector('[data-testid=jalali-year]').value`); v != "" {
		t.Fatalf("an unanswered date question starts on %q, not empty", v)
	}
	do(t, ctx, "pick a Persian date",
		choose(`[data-testid=jalali-year]`, fmt.Sprint(jy)),
		choose(`[data-testid=jalali-month]`, "10"),
		choose(`[data-testid=jalali-day]`, "15"),
		waitText(`[data-testid=autosave-status]`, "ذخیره شد"),
	)
	want := jalali[string](t, ctx, fmt.Sprintf(`(() => { const g = J.toGregorian(%d, 10, 15);
		return g.gy + '-' + String(g.gm).padStart(2, '0') + '-' + String(g.gd).padStart(2, '0') })()`, jy))
	do(t, ctx, "finish in Persian",
		click(`[data-testid=script-next]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=script-summary]`)),
		until(`document.querySelector('[data-testid=disposition]').value === 'callback'`),
		until(`document.querySelector('[data-testid=script-score]').textContent === 'امتیاز ۴۵'`),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=follow-up] [data-testid=jalali-day]`)),
		click(`[data-testid=wrapup-finish]`),
		waitText(`[data-testid=wrapup-done]`, "ذخیره شد: تماس مجدد."),
	)

	st, err := sqlite.Open(context.Background(), n.db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	check := func(call, disposition string, score int, status crm.Status) *crm.Activity {
		t.Helper()
		a, err := st.CallActivity(context.Background(), call)
		if err != nil {
			t.Fatalf("activity of %s: %v", call, err)
		}
		if a.Disposition != disposition || a.WrapUp == nil || a.WrapUp.Score != score || a.ContactID == 0 ||
			len(a.WrapUp.Tasks) != 1 || a.WrapUp.Agent != "ali" {
			t.Fatalf("activity of %s = %+v / %+v", call, a, a.WrapUp)
		}
		c, _ := st.GetContact(context.Background(), a.ContactID)
		if c.Status != status {
			t.Fatalf("contact of %s is %s, want %s", call, c.Status, status)
		}
		return a
	}
	a := check(en, "qualified", 75, crm.StatusQualified)
	if a.Body != "Wants a demo next week" || !strings.Contains(string(a.WrapUp.Answers), `a fleet plan for \u003cb\u003e12\u003c/b\u003e cars`) && !strings.Contains(string(a.WrapUp.Answers), "a fleet plan for <b>12</b> cars") {
		t.Fatalf("English notes %q, answers %s", a.Body, a.WrapUp.Answers)
	}
	b := check(fa, "callback", 45, crm.StatusLead)
	var answers map[string]struct {
		Date string `json:"date"`
	}
	if err := json.Unmarshal(b.WrapUp.Answers, &answers); err != nil || !strings.HasPrefix(answers["next-step"].Date, want) {
		t.Fatalf("Persian date answer = %+v (%v), want %s", answers["next-step"], err, want)
	}
	if b.WrapUp.Lang != "fa" || b.WrapUp.Script != "inbound-sales" {
		t.Fatalf("Persian run = %s/%s", b.WrapUp.Script, b.WrapUp.Lang)
	}
}

func mustPhone(t *testing.T) *phone.Normalizer {
	t.Helper()
	n, err := phone.New("IR")
	if err != nil {
		t.Fatal(err)
	}
	return n
}
