#!/usr/bin/env python3
"""Drives cairn's web UI in a real browser (the system's Chromium, through Playwright).

    flows.py --url http://127.0.0.1:PORT --user alice --password PW --screenshots DIR
             [--viewer-user V --viewer-password PW]

The server must hold events with alerts (`cairn generate --stories`, ingested with rules on) and
the user must be an analyst or admin (the flows acknowledge an alert). Each flow is a step; a
screenshot of each step goes to DIR (NN-step.png, also when the step fails). Any console error
or uncaught page error fails the run, except the HTTP error statuses a step expects (the 401 of
/api/session before logging in, the 400 of a bad query): Chromium logs every 4xx/5xx response
as a console error, and those are the API working as it should.

Prints one JSON line for benchmarks:
    {"metric": "ui_time_to_results_visible_ms", ...}
Exits 0 when every flow passes, 1 otherwise (with the failures on stderr).
"""

import argparse
import json
import re
import sys
import time
import traceback
import urllib.parse
from contextlib import contextmanager

from playwright.sync_api import expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 768}
TIMEOUT_MS = 20_000
FACET_FIELDS = ["eventName", "principal", "sourceIPAddress", "awsRegion", "recipientAccountId", "errorCode", "userAgent"]
HTTP_ERROR = re.compile(r"^Failed to load resource: the server responded with a status of (\d{3})")


class Failure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failure(message)


class Run:
    """The browser, the console watch and the steps' bookkeeping."""

    def __init__(self, args, browser):
        self.url = args.url.rstrip("/")
        self.args = args
        self.browser = browser
        self.shots = args.screenshots
        self.n = 0
        self.problems = []  # console and page errors nobody expected
        self.allowed = []  # (status, path regex) the current step expects
        self.failed = []
        self.context = self.new_context()
        self.page = self.new_page()

    # ---- browser plumbing

    def new_context(self):
        ctx = self.browser.new_context(viewport=VIEWPORT, base_url=self.url)
        ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=self.url)
        ctx.set_default_timeout(TIMEOUT_MS)
        return ctx

    def new_page(self, context=None):
        page = (context or self.context).new_page()
        page.on("console", lambda msg: self.on_console(page, msg))
        page.on("pageerror", lambda err: self.problems.append(f"page error at {page.url}: {err}"))
        page.on("response", lambda r: self.on_response(r))
        return page

    def on_console(self, page, msg):
        if msg.type not in ("error", "assert"):
            return
        text = msg.text
        m = HTTP_ERROR.match(text)
        if m:
            where = urllib.parse.urlsplit((msg.location or {}).get("url") or "").path
            if any(int(m.group(1)) == st and re.search(pat, where) for st, pat in self.allowed):
                return
            text = f"{text} ({(msg.location or {}).get('url')})"
        self.problems.append(f"console {msg.type} at {page.url}: {text}")

    def on_response(self, resp):
        if resp.status >= 500:
            self.problems.append(f"HTTP {resp.status} from {resp.request.method} {resp.url}")

    @contextmanager
    def allow(self, status, path_pattern):
        """Within the block, a console error for HTTP `status` on a matching path is expected."""
        item = (status, path_pattern)
        self.allowed.append(item)
        try:
            yield
        finally:
            self.allowed.remove(item)

    def shot(self, name, page=None):
        if not self.shots:
            return
        (page or self.page).screenshot(path=f"{self.shots}/{self.n:02d}-{name}.png", full_page=False)

    def step(self, name, fn, *args):
        self.n += 1
        start = time.monotonic()
        before = len(self.problems)
        try:
            fn(*args)
            new = self.problems[before:]
            check(not new, "console or page errors:\n  " + "\n  ".join(new))
            ok = True
        except Exception as e:  # noqa: BLE001 - every failure is reported, the run goes on
            ok = False
            detail = str(e) if isinstance(e, Failure) else traceback.format_exc()
            self.failed.append((name, detail))
        try:
            self.shot(name)
        except Exception as e:  # noqa: BLE001
            print(f"screenshot of {name} failed: {e}", file=sys.stderr)
        ms = (time.monotonic() - start) * 1000
        print(f"{'ok  ' if ok else 'FAIL'} {self.n:02d} {name} ({ms:.0f} ms)", file=sys.stderr)
        if not ok:
            print("     " + self.failed[-1][1].replace("\n", "\n     "), file=sys.stderr)
        return ok

    # ---- helpers on the search page

    def seq(self, page=None):
        return (page or self.page).evaluate(
            "() => { const r = document.getElementById('search'); return r ? Number(r.dataset.seq) : 0 }"
        )

    def wait_search(self, after, page=None):
        """Waits until a search load newer than `after` has finished (results, facets, chart)."""
        (page or self.page).wait_for_function(
            """s => { const r = document.getElementById('search');
                      return r && r.dataset.ready === 'true' && Number(r.dataset.seq) > s }""",
            arg=after,
        )

    def params(self, page=None):
        u = urllib.parse.urlsplit((page or self.page).url)
        return u.path, dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))

    def shown_total(self, page=None):
        t = (page or self.page).locator("#result-total").get_attribute("data-total")
        check(t is not None, "no result total shown")
        return int(t)

    def api(self, path, **params):
        """GET an API path with the page's session; returns (status, JSON)."""
        r = self.context.request.get(self.url + path, params=params)
        try:
            body = r.json()
        except Exception:  # noqa: BLE001
            body = None
        return r.status, body

    def api_count(self, q, frm, to):
        params = {"q": q}
        if frm:
            params["from"] = frm
        if to:
            params["to"] = to
        status, body = self.api("/api/count", **params)
        check(status == 200, f"/api/count {params}: HTTP {status} {body}")
        return body["count"]

    def check_total_matches_api(self, what):
        _, p = self.params()
        shown = self.shown_total()
        want = self.api_count(p.get("q", ""), p.get("from", ""), p.get("to", ""))
        check(shown == want, f"{what}: the page shows {shown} events, /api/count says {want} for {p}")
        return shown

    def row_ids(self, page=None):
        return (page or self.page).eval_on_selector_all(
            "#results tbody tr[data-id]", "rows => rows.map(r => r.dataset.id)"
        )


# ------------------------------------------------------------------------------------ flows


def flow_login(r):
    page = r.page
    # Logged out, any page leads to the login page, which then returns to it.
    with r.allow(401, r"^/api/"):
        page.goto("/?from=")
        page.wait_for_url(re.compile(r"/login\?next="))
    expect(page.locator("#username")).to_be_visible()
    # A wrong password is refused with a message.
    with r.allow(401, r"^/api/login$"):
        page.fill("#username", r.args.user)
        page.fill("#password", r.args.password + "-wrong")
        page.click("#login-btn")
        expect(page.locator("#login-error")).to_be_visible()
    r.shot("login-refused")
    page.fill("#password", r.args.password)
    before = r.seq()
    page.click("#login-btn")
    page.wait_for_url(re.compile(r"/\?from=$"))
    r.wait_search(before)
    expect(page.locator("#user")).to_have_text(r.args.user)
    expect(page.locator("#role")).to_have_text(re.compile(r"analyst|admin"))
    check(r.shown_total() > 0, "no events after logging in")


def flow_time_to_results(r):
    """A fresh load of the search page, timed until the first result row is visible."""
    page = r.page
    start = time.monotonic()
    page.goto("/?from=")
    page.locator("#results tbody tr[data-id]").first.wait_for(state="visible")
    wall_ms = (time.monotonic() - start) * 1000
    mark = page.evaluate(
        "() => { const m = performance.getEntriesByName('cairn:results-visible'); return m.length ? m[0].startTime : null }"
    )
    print(
        json.dumps(
            {
                "metric": "ui_time_to_results_visible_ms",
                "value": round(wall_ms, 1),
                "navigation_to_render_ms": None if mark is None else round(mark, 1),
                "viewport": f"{VIEWPORT['width']}x{VIEWPORT['height']}",
            }
        ),
        flush=True,
    )
    r.wait_search(0)
    # Readable on a laptop: nothing wider than the window.
    width = page.evaluate("() => document.documentElement.scrollWidth")
    check(width <= VIEWPORT["width"], f"the search page is {width}px wide, wider than the window")


def flow_search(r):
    page = r.page
    page.goto("/?from=")
    r.wait_search(0)
    total_all = r.shown_total()
    # "/" focuses the query; field names complete; Enter runs.
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type("eventNa")
    expect(page.locator("#completions")).to_be_visible()
    expect(page.locator("#completions li").first).to_have_text("eventName")
    r.shot("completion")
    page.keyboard.press("Tab")
    expect(page.locator("#q")).to_have_value("eventName:")
    page.keyboard.type("ConsoleLogin")
    before = r.seq()
    page.keyboard.press("Enter")
    r.wait_search(before)
    _, p = r.params()
    check(p.get("q") == "eventName:ConsoleLogin", f"the URL does not hold the query: {page.url}")
    n = r.check_total_matches_api("eventName:ConsoleLogin")
    check(0 < n < total_all, f"eventName:ConsoleLogin matched {n} of {total_all}")
    names = page.eval_on_selector_all(
        "#results tbody tr[data-id] td:nth-child(3)", "cells => cells.map(c => c.textContent)"
    )
    check(names and all(x == "ConsoleLogin" for x in names), f"rows that are not ConsoleLogin: {names[:5]}")

    # The syntax help opens and Escape closes it.
    page.click("#syntax-btn")
    expect(page.locator("#syntax-panel")).to_be_visible()
    expect(page.locator("#syntax-panel")).to_contain_text("_exists_")
    r.shot("syntax-help")
    page.keyboard.press("Escape")
    expect(page.locator("#syntax-panel")).to_be_hidden()

    # A bad query: the error is shown where the API says it is.
    bad = "eventName:(CreateUser OR"
    with r.allow(400, r"^/api/search$"):
        status, body = r.api("/api/search", q=bad)
        check(status == 400 and isinstance(body, dict), f"/api/search of a bad query: {status} {body}")
        page.fill("#q", bad)
        page.press("#q", "Enter")
        expect(page.locator("#q-error")).to_be_visible()
    r.shot("query-error")
    pos = body.get("position")
    if isinstance(pos, int):
        echo = page.locator("#q-error .q-echo")
        expect(echo.locator("mark")).to_have_count(1)
        before_mark = echo.evaluate("e => e.firstChild.nodeType === 3 ? e.firstChild.textContent : ''")
        check(len(before_mark) == pos, f"the error is marked at {len(before_mark)}, the API says {pos}")
        caret = page.locator("#q-error .q-caret").text_content()
        check(caret.index("^") == pos, f"the caret is at column {caret.index('^')}, the API says {pos}")
    expect(page.locator("#q-error")).to_contain_text(body.get("error", "")[:20])

    # The column chooser: a column goes away and comes back, and the URL says so.
    page.goto("/?from=")
    r.wait_search(0)
    page.click("#cols-btn")
    page.uncheck("#col-region")
    expect(page.locator("#results thead th", has_text="Region")).to_have_count(0)
    check("cols=" in page.url, f"the chosen columns are not in the URL: {page.url}")
    page.check("#col-agent")
    expect(page.locator("#results thead th", has_text="User agent")).to_have_count(1)
    r.shot("columns")
    page.keyboard.press("Escape")
    expect(page.locator("#cols-panel")).to_be_hidden()
    page.goto("/?from=")
    r.wait_search(0)
    expect(page.locator("#results thead th", has_text="Region")).to_have_count(1)

    # Paging: the next page continues the first (same asof), the previous one returns to it.
    first = r.row_ids()
    before = r.seq()
    page.click("#next")
    r.wait_search(before)
    _, p = r.params()
    check(p.get("offset") == "50" and p.get("asof"), f"the second page's URL lacks offset/asof: {page.url}")
    second = r.row_ids()
    check(second and not set(first) & set(second), "the second page repeats events of the first")
    before = r.seq()
    page.click("#prev")
    r.wait_search(before)
    check(r.row_ids() == first, "back on the first page, the events differ")


def flow_zoom(r):
    page = r.page
    page.goto("/?from=")
    r.wait_search(0)
    total = r.shown_total()
    svg = page.locator("#histogram svg")
    expect(svg).to_be_visible()
    box = page.locator("#histogram rect.drag").bounding_box()
    check(box and box["width"] > 100, f"no histogram to drag on: {box}")
    y = box["y"] + box["height"] / 2
    x0, x1 = box["x"] + box["width"] * 0.35, box["x"] + box["width"] * 0.65
    before = r.seq()
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, y, steps=5)
    expect(page.locator("#histogram rect.sel")).to_have_attribute("visibility", "visible")
    r.shot("zoom-dragging")
    page.mouse.move(x1, y, steps=5)
    page.mouse.up()
    r.wait_search(before)
    _, p = r.params()
    iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
    check(iso.match(p.get("from", "")) and iso.match(p.get("to", "")), f"zooming did not set an absolute range: {page.url}")
    check(p["from"] < p["to"], f"an empty range: {p}")
    expect(page.locator("#from")).to_have_value(p["from"])
    expect(page.locator("#to")).to_have_value(p["to"])
    zoomed = r.check_total_matches_api("the zoomed range")
    check(0 < zoomed < total, f"zooming to the middle third kept {zoomed} of {total} events")
    # The chart now spans the chosen range.
    lo = page.locator("#histogram svg").get_attribute("data-from")
    hi = page.locator("#histogram svg").get_attribute("data-to")
    check(lo >= p["from"][:13] and hi <= max(p["to"], hi), f"the chart spans {lo}..{hi}, the range {p}")


def flow_facets(r):
    page = r.page
    page.goto("/?from=")
    r.wait_search(0)
    base_total = r.shown_total()
    facet = page.locator('#facets .facet[data-field="eventName"] button.facet-value').first
    value = facet.get_attribute("data-value")
    count = int(facet.get_attribute("data-count"))
    clause = 'eventName:"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')
    sel = f'#facets button.facet-value[data-field="eventName"][data-value="{value}"]'

    # First click: filter.
    before = r.seq()
    facet.click()
    r.wait_search(before)
    _, p = r.params()
    check(p.get("q") == clause, f"filtering on {value} made the query {p.get('q')!r}")
    n = r.check_total_matches_api("filter")
    check(n == count, f"filtering on {value}: {n} events, the facet said {count}")
    expect(page.locator(sel)).to_have_attribute("data-state", "include")
    expect(page.locator("#filters .chip.include")).to_have_count(1)
    r.shot("facet-filter")

    # Second click: exclude.
    before = r.seq()
    page.locator(sel).click()
    r.wait_search(before)
    _, p = r.params()
    check(p.get("q") == "NOT " + clause, f"excluding {value} made the query {p.get('q')!r}")
    n = r.check_total_matches_api("exclude")
    check(n == base_total - count, f"excluding {value}: {n} events, expected {base_total} - {count}")
    expect(page.locator(sel)).to_have_attribute("data-state", "exclude")
    expect(page.locator("#filters .chip.exclude")).to_have_count(1)
    r.shot("facet-exclude")

    # Third click: gone.
    before = r.seq()
    page.locator(sel).click()
    r.wait_search(before)
    _, p = r.params()
    check(p.get("q", "") == "", f"the third click left the query {p.get('q')!r}")
    check(r.shown_total() == base_total, "after removing the filter the total differs")
    expect(page.locator("#filters .chip")).to_have_count(0)

    # Every facet's values filter to as many events as the facet counted.
    for field in FACET_FIELDS:
        page.goto("/?from=")
        r.wait_search(0)
        first = page.locator(f'#facets .facet[data-field="{field}"] button.facet-value').first
        if first.count() == 0:
            continue
        value, count = first.get_attribute("data-value"), int(first.get_attribute("data-count"))
        before = r.seq()
        first.click()
        r.wait_search(before)
        n = r.check_total_matches_api(f"filter {field}")
        check(n == count, f'{field}:"{value}" matches {n} events, the facet counted {count}')

    # With a query of alternatives, a filter applies to all of them.
    page.goto("/?from=&q=" + urllib.parse.quote("eventName:ConsoleLogin OR eventName:GetObject"))
    r.wait_search(0)
    region = page.locator('#facets .facet[data-field="awsRegion"] button.facet-value').first
    before = r.seq()
    region.click()
    r.wait_search(before)
    _, p = r.params()
    check(p["q"].startswith("(eventName:ConsoleLogin OR eventName:GetObject) AND awsRegion:"), f"query {p['q']!r}")
    r.check_total_matches_api("filter on alternatives")


def flow_event_and_pivot(r):
    page = r.page
    page.goto("/?from=")
    r.wait_search(0)
    # Keyboard: focus the first row, Enter opens it.
    row = page.locator("#results tbody tr[data-id]").first
    eid = row.get_attribute("data-id")
    row.focus()
    page.keyboard.press("ArrowDown")
    second = page.locator("#results tbody tr[data-id]").nth(1)
    expect(second).to_be_focused()
    eid = second.get_attribute("data-id")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/events/"))
    expect(page.locator("#event")).to_have_attribute("data-ready", "true")
    check(urllib.parse.unquote(urllib.parse.urlsplit(page.url).path) == f"/events/{eid}", f"opened {page.url}, not {eid}")
    status, want = r.api(f"/api/events/{urllib.parse.quote(eid)}")
    check(status == 200, f"/api/events/{eid}: HTTP {status}")
    shown = json.loads(page.locator("#event-json").text_content())
    check(shown == want["event"], "the record shown is not the API's")
    expect(page.locator("#integrity-badge")).to_have_text(want.get("integrity", "unverified"))
    if want.get("integrity") == "failed":
        expect(page.locator("#integrity-reason")).to_be_visible()

    # Copy the record.
    page.click("#copy-json")
    expect(page.locator("#copy-status")).to_have_text("Copied.")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    check(json.loads(copied) == want["event"], "the clipboard does not hold the record")
    r.shot("event")

    # Every pivot the record allows is offered, each a link to a search around the event time.
    pivots = page.locator("#pivots a.pivot")
    kinds = pivots.evaluate_all("links => links.map(a => a.dataset.pivot)")
    check("principal" in kinds and "source-ip" in kinds, f"pivots offered: {kinds}")
    rec = want["event"]
    if (rec.get("userIdentity") or {}).get("accessKeyId"):
        check("access-key" in kinds, f"no access-key pivot for a record with a key: {kinds}")
    if any(x.get("ARN") for x in rec.get("resources") or []):
        check("resource" in kinds, f"no resource pivot for a record with resources: {kinds}")
    t = rec["eventTime"]
    for link in pivots.evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        u = urllib.parse.urlsplit(link)
        q = dict(urllib.parse.parse_qsl(u.query))
        check(u.path == "/" and q.get("q") and q.get("from") and q.get("to"), f"pivot link {link}")
        check(q["from"] < t < q["to"], f"pivot {link} does not span the event time {t}")

    # The principal pivot finds this event's neighbours, this event among them.
    before = r.seq()
    page.click('#pivots a.pivot[data-pivot="principal"]')
    page.wait_for_url(re.compile(r"/\?q=principal"))
    r.wait_search(before)
    n = r.check_total_matches_api("principal pivot")
    check(n >= 1, "the principal pivot found nothing")
    _, p = r.params()
    status, body = r.api("/api/search", q=p["q"], **{"from": p["from"], "to": p["to"], "limit": 1000})
    check(eid in [h.get("id") or h["event"]["eventID"] for h in body["hits"]], "the pivot's results lack the event")
    r.shot("pivot")
    # Back returns to the event.
    page.go_back()
    page.wait_for_url(re.compile(r"/events/"))
    expect(page.locator("#event")).to_have_attribute("data-ready", "true")

    # The access-key pivot, when there is one, also works.
    if "access-key" in kinds:
        before = r.seq()
        page.click('#pivots a.pivot[data-pivot="access-key"]')
        r.wait_search(before)
        check(r.check_total_matches_api("access-key pivot") >= 1, "the access-key pivot found nothing")


def flow_alerts(r):
    page = r.page
    page.goto("/?from=")
    r.wait_search(0)
    page.click('#nav a[data-view="alerts"]')
    page.wait_for_url(re.compile(r"/alerts$"))
    expect(page.locator("#alerts")).to_have_attribute("data-ready", "true")
    status, body = r.api("/api/alerts", limit=100)
    check(status == 200 and body["alerts"], f"/api/alerts: {status} {body}")
    rows = page.locator("#alerts tbody tr[data-id]")
    check(rows.count() == len(body["alerts"]), f"{rows.count()} alert rows, the API has {len(body['alerts'])}")
    r.shot("alerts")
    # The first open alert whose events are in the store (an integrity alert's event is made up
    # by cairn and stored nowhere: its page says so).
    target = None
    for a in body["alerts"]:
        if a.get("acknowledged"):
            continue
        status, detail = r.api(f"/api/alerts/{urllib.parse.quote(a['id'])}")
        check(status == 200, f"/api/alerts/{a['id']}: HTTP {status}")
        if detail["events"]:
            target = a
            break
        page.goto(f"/alerts/{urllib.parse.quote(a['id'])}")
        expect(page.locator("#alert")).to_have_attribute("data-ready", "true")
        expect(page.locator("#alert-events tbody tr.empty")).to_have_count(1)
    check(target is not None, "no open alert with events to work on")
    page.goto("/alerts")
    expect(page.locator("#alerts")).to_have_attribute("data-ready", "true")
    page.click(f'#alerts tr[data-id="{target["id"]}"] a')
    page.wait_for_url(re.compile(r"/alerts/[^/]+$"))
    expect(page.locator("#alert")).to_have_attribute("data-ready", "true")
    events = page.locator("#alert-events tbody tr[data-id]")
    check(events.count() >= 1, "the alert lists no events")
    ids = events.evaluate_all("rows => rows.map(r => r.dataset.id)")
    check(set(ids) <= set(target["event_ids"]), f"the alert shows events it does not hold: {ids}")
    r.shot("alert")
    # Reach one of its events, and come back.
    eid = ids[0]
    events.first.locator("a").click()
    page.wait_for_url(re.compile(r"/events/"))
    expect(page.locator("#event")).to_have_attribute("data-ready", "true")
    check(json.loads(page.locator("#event-json").text_content())["eventID"] == eid, "opened another event")
    page.go_back()
    expect(page.locator("#alert")).to_have_attribute("data-ready", "true")
    # Acknowledge it; it stays acknowledged.
    ack = page.locator("#ack")
    expect(ack).to_be_enabled()
    ack.click()
    expect(page.locator("#ack-state")).to_contain_text(f"acknowledged by {r.args.user}")
    expect(ack).to_be_disabled()
    r.shot("alert-acknowledged")
    status, body = r.api(f"/api/alerts/{target['id']}")
    check(status == 200 and (body["alert"].get("acknowledged") or {}).get("by") == r.args.user, f"the API does not say acknowledged: {body and body.get('alert')}")
    page.reload()
    expect(page.locator("#alert")).to_have_attribute("data-ready", "true")
    expect(page.locator("#ack-state")).to_contain_text("acknowledged by")


def flow_integrity(r):
    """A file that failed verification: the page lists it, its events say so, with the reason."""
    page = r.page
    status, body = r.api("/api/integrity")
    check(status == 200, f"/api/integrity: HTTP {status}")
    failed = body.get("failed") or []
    if not failed:
        check(not r.args.expect_failed_integrity, f"no file failed verification: {body}")
        return
    page.click('#nav a[data-view="integrity"]')
    page.wait_for_url(re.compile(r"/integrity$"))
    expect(page.locator("#view")).to_have_attribute("data-ready", "true")
    expect(page.locator('.card[data-kind="failed"] .n')).to_have_text(f"{body['counts']['failed']:,}")
    expect(page.locator("#failed-files tbody tr")).to_have_count(len(failed))
    # The failed file's events, through its link.
    before = r.seq()
    page.locator("#failed-files tbody tr a").first.click()
    page.wait_for_url(re.compile(r"/\?q=cairn\.object"))
    r.wait_search(before)
    n = r.check_total_matches_api("the failed file's events")
    check(n >= 1, "the failed file has no events")
    # The same through a query of the integrity state, typed in the query bar.
    page.fill("#q", "cairn.integrity:failed")
    before = r.seq()
    page.press("#q", "Enter")
    r.wait_search(before)
    check(r.check_total_matches_api("cairn.integrity:failed") >= 1, "no failed events")
    row = page.locator("#results tbody tr[data-id]").first
    check("tampered" in (row.get_attribute("class") or ""), "a failed event's row is not marked")
    row.click()
    page.wait_for_url(re.compile(r"/events/"))
    expect(page.locator("#event")).to_have_attribute("data-ready", "true")
    expect(page.locator("#integrity-badge")).to_have_text("failed")
    eid = urllib.parse.unquote(urllib.parse.urlsplit(page.url).path.split("/")[-1])
    status, event = r.api(f"/api/events/{urllib.parse.quote(eid)}")
    check(status == 200 and event.get("integrity") == "failed", f"/api/events/{eid}: {status} {event and event.get('integrity')}")
    expect(page.locator("#integrity-reason")).to_be_visible()
    if event.get("integrity_reason"):
        expect(page.locator("#integrity-reason")).to_contain_text(event["integrity_reason"])
    r.shot("integrity-failed-event")


def flow_views(r):
    """The generic views render tables from their JSON without errors."""
    page = r.page
    for view in ("monitors", "health", "integrity", "rules"):
        page.click(f'#nav a[data-view="{view}"]')
        page.wait_for_url(re.compile(f"/{view}$"))
        expect(page.locator("#view")).to_have_attribute("data-ready", "true")
        check(page.locator("#view .error").count() == 0, f"/{view} shows an error: {page.locator('#view').text_content()[:300]}")
        r.shot(view)
    status, body = r.api("/api/rules")
    rows = page.locator("#view tbody tr")
    check(rows.count() == len(body["rules"]), f"{rows.count()} rule rows, the API has {len(body['rules'])}")


def flow_copy_url(r):
    """Each view's URL, opened in a new page, shows the same thing."""
    page = r.page
    q = 'eventName:"GetObject" OR eventName:ConsoleLogin'
    page.goto("/?from=&q=" + urllib.parse.quote(q))
    r.wait_search(0)
    check(not page.locator("#next").is_disabled(), "too few events to page")
    before = r.seq()
    page.click("#next")
    r.wait_search(before)
    url = page.url
    state = {
        "q": page.input_value("#q"),
        "from": page.input_value("#from"),
        "to": page.input_value("#to"),
        "total": r.shown_total(),
        "rows": r.row_ids(),
    }
    other = r.new_page()
    try:
        other.goto(url)
        r.wait_search(0, other)
        got = {
            "q": other.input_value("#q"),
            "from": other.input_value("#from"),
            "to": other.input_value("#to"),
            "total": r.shown_total(other),
            "rows": r.row_ids(other),
        }
        check(got == state, f"{url} in a new page shows another view:\n  was {state}\n  now {got}")
        r.shot("copied-url", other)
        # An event's URL too.
        other.goto(url)
        r.wait_search(0, other)
        event_url = r.url + other.locator("#results tbody tr[data-id] a").first.get_attribute("href")
        other.goto(event_url)
        expect(other.locator("#event")).to_have_attribute("data-ready", "true")
        text = other.locator("#event-json").text_content()
        third = r.new_page()
        try:
            third.goto(event_url)
            expect(third.locator("#event")).to_have_attribute("data-ready", "true")
            check(third.locator("#event-json").text_content() == text, "the event URL shows another record")
        finally:
            third.close()
    finally:
        other.close()


def flow_viewer(r):
    """A viewer sees alerts but no Acknowledge button."""
    ctx = r.new_context()
    page = r.new_page(ctx)
    try:
        with r.allow(401, r"^/api/"):
            page.goto("/alerts")
            page.wait_for_url(re.compile(r"/login\?next=%2Falerts"))
        page.fill("#username", r.args.viewer_user)
        page.fill("#password", r.args.viewer_password)
        page.click("#login-btn")
        page.wait_for_url(re.compile(r"/alerts$"))
        expect(page.locator("#alerts")).to_have_attribute("data-ready", "true")
        expect(page.locator("#role")).to_have_text("viewer")
        page.locator("#alerts tbody tr[data-id] a").first.click()
        expect(page.locator("#alert")).to_have_attribute("data-ready", "true")
        expect(page.locator("#ack")).to_be_hidden()
        r.shot("viewer-alert", page)
    finally:
        ctx.close()


def flow_logout(r):
    page = r.page
    page.goto("/alerts")
    expect(page.locator("#alerts")).to_have_attribute("data-ready", "true")
    page.click("#logout")
    page.wait_for_url(re.compile(r"/login"))
    expect(page.locator("#who")).to_be_hidden()
    with r.allow(401, r"^/api/"):
        status, _ = r.api("/api/session")
        check(status == 401, f"after logging out /api/session answers {status}")
        page.goto("/rules")
        page.wait_for_url(re.compile(r"/login\?next=%2Frules"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--viewer-user")
    ap.add_argument("--viewer-password")
    ap.add_argument("--screenshots", help="directory for one screenshot per step")
    ap.add_argument(
        "--expect-failed-integrity",
        action="store_true",
        help="the store holds a file that failed verification (generate --digests --tamper)",
    )
    ap.add_argument("--only", help="comma-separated flow names (after login)")
    args = ap.parse_args()
    if args.screenshots:
        import os

        os.makedirs(args.screenshots, exist_ok=True)

    flows = [
        ("time-to-results", flow_time_to_results),
        ("search", flow_search),
        ("zoom", flow_zoom),
        ("facets", flow_facets),
        ("event-pivot", flow_event_and_pivot),
        ("alerts-ack", flow_alerts),
        ("integrity", flow_integrity),
        ("views", flow_views),
        ("copy-url", flow_copy_url),
    ]
    if args.only:
        keep = args.only.split(",")
        flows = [f for f in flows if f[0] in keep]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            r = Run(args, browser)
            if r.step("login", flow_login, r):
                for name, fn in flows:
                    r.step(name, fn, r)
                if args.viewer_user:
                    r.step("viewer", flow_viewer, r)
                r.step("logout", flow_logout, r)
        finally:
            browser.close()
    if r.failed:
        print(f"{len(r.failed)} flow(s) failed: {', '.join(n for n, _ in r.failed)}", file=sys.stderr)
        return 1
    print("all flows passed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
