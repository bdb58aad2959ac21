package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The journeys wait, click and type only through the actions below. Each one
// is a script evaluated in whatever document the tab shows at that moment
// (Runtime.evaluate without an execution context), never a chromedp DOM
// query: chromedp's queries follow a node tree it mirrors from DevTools
// events, and a query begun while a form's redirect replaces the page can
// wait on the old tree until the tab's deadline. A script cut short by a
// navigation simply runs again on the new page.

// untilJS evaluates fn (a JavaScript function expression) in the current
// page, again and again, until it returns something other than null, and
// decodes that value. Each evaluation polls in the page for up to a second
// (every 50 ms, and on every DOM change); between evaluations the page may
// have been replaced.
func untilJS[T any](fn string) chromedp.Action[T] {
	script := `new Promise(resolve => {
	const f = ` + fn + `;
	const attempt = () => { try { const v = f(); return v === undefined ? null : v } catch (e) { return null } };
	const first = attempt();
	if (first !== null) { resolve({ok: true, v: first}); return }
	let done = false;
	const finish = v => { if (!done) { done = true; observer.disconnect(); clearInterval(timer); clearTimeout(stop); resolve(v) } };
	const check = () => { const v = attempt(); if (v !== null) finish({ok: true, v}) };
	const observer = new MutationObserver(check);
	observer.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
	const timer = setInterval(check, 50);
	const stop = setTimeout(() => finish({ok: false}), 1000);
})`
	return func(ctx context.Context, t *chromedp.Target) (T, error) {
		var zero T
		for {
			res, err := chromedp.Evaluate[struct {
				OK bool            `json:"ok"`
				V  json.RawMessage `json:"v"`
			}](script, chromedp.EvalAwaitPromise)(ctx, t)
			switch {
			case err == nil && res.OK:
				var v T
				if err := json.Unmarshal(res.V, &v); err != nil {
					return zero, fmt.Errorf("decode %s: %w", res.V, err)
				}
				return v, nil
			case err != nil && !transient(err):
				return zero, err
			}
			if ctx.Err() != nil {
				return zero, fmt.Errorf("waiting for %s: %w", fn, ctx.Err())
			}
			if err != nil { // the page is being replaced: let the new one load
				time.Sleep(50 * time.Millisecond) // not a timed assertion: a pause between retries
			}
		}
	}
}

// doJS is untilJS for actions that return nothing worth keeping.
func doJS(fn string) chromedp.Action[chromedp.Void] {
	a := untilJS[bool](fn)
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

// shown is the JavaScript test for an element a person can see.
const shown = `(e => !!e && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden")`

// waitVisible waits until the first element matching sel is shown.
func waitVisible(sel string) chromedp.Action[chromedp.Void] {
	return doJS(`() => ` + shown + `(document.querySelector(` + strconv.Quote(sel) + `)) || null`)
}

// waitReady waits until an element matching sel is in the page.
func waitReady(sel string) chromedp.Action[chromedp.Void] {
	return doJS(`() => document.querySelector(` + strconv.Quote(sel) + `) ? true : null`)
}

// waitGone waits until no element matches sel.
func waitGone(sel string) chromedp.Action[chromedp.Void] {
	return doJS(`() => document.querySelector(` + strconv.Quote(sel) + `) ? null : true`)
}

// press waits until the element is shown and clicks it (a click event, as a
// mouse click gives: links follow, buttons submit their form, boxes toggle).
// The click comes just after the script has answered, so that a page it
// replaces cannot cut the answer short and have the click made twice.
//
// It also waits while the element is in content htmx has swapped in but not
// yet settled (htmx-added, for the settle delay) or is about to swap out:
// htmx wires up new content's hx- attributes only when it settles, so a
// click before that submits the form without htmx, and the page is
// replaced by the form's redirect instead of answered in place.
func press(sel string) chromedp.Action[chromedp.Void] {
	return doJS(`() => { const e = document.querySelector(` + strconv.Quote(sel) + `);
	if (!` + shown + `(e) || e.disabled || e.closest(".htmx-added, .htmx-swapping")) return null;
	e.scrollIntoView({block: "center"}); setTimeout(() => e.click(), 0); return true }`)
}

// typeInto waits until a field is shown, focuses it with the caret at its
// end and types text (the browser's own text input: input events fire as
// for a person typing). A select takes the option whose text or value is
// text.
func typeInto(sel, text string) chromedp.Action[chromedp.Void] {
	focus := untilJS[string](`() => { const e = document.querySelector(` + strconv.Quote(sel) + `);
	if (!` + shown + `(e) || e.disabled) return null;
	if (e.tagName === "SELECT") {
		const o = [...e.options].find(o => o.value === ` + strconv.Quote(text) + ` || o.text.trim() === ` + strconv.Quote(text) + `);
		if (!o) return null;
		e.value = o.value; e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true}));
		return "select" }
	e.focus();
	if (document.activeElement !== e) return null;
	try { const n = e.value.length; e.setSelectionRange(n, n) } catch (err) {}
	return "text" }`)
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		kind, err := focus(ctx, t)
		if err != nil || kind == "select" {
			return chromedp.Void{}, err
		}
		_, err = cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: text})
		return chromedp.Void{}, err
	}
}

// setValue waits for a field and sets its value as a script would, firing
// input and change (for selects and fields whose typing does not matter).
func setValue(sel, value string) chromedp.Action[chromedp.Void] {
	return doJS(`() => { const e = document.querySelector(` + strconv.Quote(sel) + `);
	if (!e || e.disabled) return null;
	e.value = ` + strconv.Quote(value) + `;
	if (e.value !== ` + strconv.Quote(value) + `) return null;
	e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true}));
	return true }`)
}

// valueOf reads a field's value once it is in the page.
func valueOf(sel string) chromedp.Action[string] {
	return untilJS[string](`() => { const e = document.querySelector(` + strconv.Quote(sel) + `); return e ? e.value : null }`)
}

// attributeOf reads an attribute of the first element matching sel (the
// empty string when the element lacks it).
func attributeOf(sel, name string) chromedp.Action[string] {
	return untilJS[string](`() => { const e = document.querySelector(` + strconv.Quote(sel) + `); return e ? (e.getAttribute(` + strconv.Quote(name) + `) || "") : null }`)
}

// location is the address the tab shows.
func location() chromedp.Action[string] {
	return untilJS[string](`() => document.readyState === "loading" ? null : location.href`)
}

// uploadFiles puts files in a file input, as choosing them in the browser's
// dialog would.
func uploadFiles(sel string, files []string) chromedp.Action[chromedp.Void] {
	find := untilJS[bool](`() => document.querySelector(` + strconv.Quote(sel) + `) ? true : null`)
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		if _, err := find(ctx, t); err != nil {
			return chromedp.Void{}, err
		}
		input, err := chromedp.Evaluate[*runtime.RemoteObject](`document.querySelector(`+strconv.Quote(sel)+`)`)(ctx, t)
		if err != nil {
			return chromedp.Void{}, err
		}
		_, err = cdp.Call(ctx, t, dom.SetFileInputFiles, dom.SetFileInputFilesParams{Files: files, ObjectID: input.ObjectID})
		return chromedp.Void{}, err
	}
}
