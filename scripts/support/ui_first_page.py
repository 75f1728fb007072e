#!/usr/bin/env python3
"""Times the first page of cairn's web UI in a real browser (the system's Chromium, Playwright).

    ui_first_page.py --url http://127.0.0.1:PORT --path '/?q=...&from=...&to=...' [--runs 5]

Each load is a fresh browser context (no cache, no cookies) on a server started with
--no-auth. Per load it records:

- results_visible_ms: from navigation start to the page's `cairn:results-visible` performance
  mark, which the UI sets right after it has drawn the result rows;
- rows_visible_wall_ms: wall time from `page.goto` to Playwright seeing the first result row
  visible (includes Playwright's polling and its messages to the browser);
- complete_ms: wall time from `page.goto` until the page says its histogram and facets are in
  too (`#search[data-ready=true]`).

One warm-up load is not counted. Prints one JSON line with every load and the medians; exits 1
if a load shows no rows or logs a console error.
"""

import argparse
import json
import statistics
import sys
import time

from playwright.sync_api import sync_playwright

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
ROW = "#results tbody tr[data-id]"


def load(browser, url, timeout_ms):
    ctx = browser.new_context(viewport=VIEWPORT)
    ctx.set_default_timeout(timeout_ms)
    page = ctx.new_page()
    problems = []
    page.on("console", lambda m: m.type in ("error", "assert") and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        start = time.monotonic()
        page.goto(url)
        page.locator(ROW).first.wait_for(state="visible")
        rows_wall = (time.monotonic() - start) * 1000
        page.wait_for_function(
            "() => { const r = document.getElementById('search'); return r && r.dataset.ready === 'true' }"
        )
        complete = (time.monotonic() - start) * 1000
        mark = page.evaluate(
            "() => { const m = performance.getEntriesByName('cairn:results-visible');"
            " return m.length ? m[0].startTime : null }"
        )
        rows = page.locator(ROW).count()
        total = page.locator("#result-total").get_attribute("data-total")
        if problems:
            raise RuntimeError("console errors: " + "; ".join(problems))
        if rows == 0:
            raise RuntimeError("no result rows")
        return {
            "results_visible_ms": None if mark is None else round(mark, 1),
            "rows_visible_wall_ms": round(rows_wall, 1),
            "complete_ms": round(complete, 1),
            "rows": rows,
            "total": None if total is None else int(total),
        }
    finally:
        ctx.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--path", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--timeout-ms", type=int, default=30_000)
    a = ap.parse_args()
    url = a.url.rstrip("/") + a.path
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=a.chromium, args=CHROMIUM_ARGS)
        try:
            load(browser, url, a.timeout_ms)  # warm-up: browser processes, server caches
            loads = [load(browser, url, a.timeout_ms) for _ in range(a.runs)]
        finally:
            browser.close()

    def med(k):
        vals = [x[k] for x in loads if x[k] is not None]
        return round(statistics.median(vals), 1) if vals else None

    print(
        json.dumps(
            {
                "url": url,
                "runs": a.runs,
                "median_results_visible_ms": med("results_visible_ms"),
                "median_rows_visible_wall_ms": med("rows_visible_wall_ms"),
                "median_complete_ms": med("complete_ms"),
                "loads": loads,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - one line for the calling script
        print(f"ui_first_page: {e}", file=sys.stderr)
        sys.exit(1)
