"""A learner's walk through the app in a real headless Chromium, at desktop (1440×900) and phone (390×844)
size: the time from Train to each claim's first appearance in the narrator on the default settings, and to
the Compare page's verdict; that no curve ever steps back to an earlier epoch; that a reload mid-run returns
to the run; that a phone shows Train and the narrator without opening the sidebar; a screenshot of every
page (the README's ``assets/``).

    .venv/bin/python benchmarks/browser_walk.py            # the app's defaults (minutes on two cores)
    .venv/bin/python benchmarks/browser_walk.py --quick    # a small run, to try the walk itself

Needs Debian's Chromium (/usr/bin/chromium). Results: ``results/browser_walk.json`` and ``.md``; the
screenshots go to ``assets/`` (``--shots`` another folder).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

from browser_support import ALL_PLOTS, app_server, chromium  # noqa: E402

from common import machine, save  # noqa: E402

DESKTOP, PHONE = (1440, 900), (390, 844)
QUICK = "n_samples=4000&width=16&epochs=10"
WAIT_S = 1200.0  # a wait that would never end, ended; the figures are the times measured, not this
POLL_S = 0.25
# narrator sentence → the claim it states (the app shows the core's sentences as they are)
CLAIMS = {"— under-fit": "under-fit", "feature gradients are": "gradients", "caught up": "caught-up",
          "— over-fit": "over-fit", "MFW weakened": "weakening", "No under-fit phase": "no under-fit phase",
          "No over-fit phase": "no over-fit phase"}
NARRATOR = """() => [...document.querySelectorAll('.st-key-live-block [data-testid="stMarkdownContainer"]')]
    .map(e => e.innerText).join('\\n').split('\\n').filter(t => t.trim())"""
STATUS = """() => [...document.querySelectorAll('[data-testid="stCaptionContainer"]')].map(e => e.innerText)
    .filter(t => /^(Training|Finished|Stopped|Queued|Ended)/.test(t))[0] || ''"""
CURVES = "() => " + ALL_PLOTS + """.filter(gd => String((gd.layout.title || {}).text || '')
    .startsWith('Training accuracy')).map(gd => gd.data.map(t => Array.from(t.x || [])))[0] || null"""


def claims_in(lines: list[str]) -> list[str]:
    return [claim for line in lines for key, claim in CLAIMS.items() if key in line]


class CurveWatch:
    """The training-accuracy chart's epochs at every look: whether a curve ever stepped back."""

    def __init__(self):
        self.latest = 0
        self.looks = 0
        self.steps_back: list[str] = []

    def look(self, page) -> int:
        traces = page.evaluate(CURVES)
        if not traces:
            return self.latest
        self.looks += 1
        for xs in traces:
            if any(b <= a for a, b in zip(xs, xs[1:])):
                self.steps_back.append(f"a curve's epochs are not increasing: {xs}")
        shown = max((xs[-1] for xs in traces if xs), default=0)
        if shown < self.latest:
            self.steps_back.append(f"the chart went back from epoch {self.latest} to {shown}")
        self.latest = max(self.latest, shown)
        return shown


def open_page(context, url: str):
    page = context.new_page()
    page.goto(url)
    main(page).get_by_role("button", name="Train", exact=True).first.wait_for(timeout=120_000)
    return page


def main(page):
    return page.get_by_test_id("stMainBlockContainer")


def wait_status(page, words: tuple[str, ...], watch: CurveWatch | None = None) -> str:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        status = page.evaluate(STATUS)
        if watch is not None:
            watch.look(page)
        if status.startswith(words):
            return status
        time.sleep(POLL_S)
    raise TimeoutError(f"the page never said {words}")


def playground_walk(browser, url: str, link: str, shots: Path) -> dict:
    """Desktop: Train on the link's settings; the time each claim first shows; no curve steps back; then
    the same browser's projector view of the finished run."""
    context = browser.new_context(viewport=dict(zip(("width", "height"), DESKTOP)))
    page = open_page(context, url + "/" + (f"?{link}" if link else ""))
    watch, first_seen, started = CurveWatch(), {}, time.monotonic()
    main(page).get_by_role("button", name="Train", exact=True).click()
    first_curve = None
    deadline = started + WAIT_S
    while time.monotonic() < deadline:
        now = time.monotonic() - started
        if watch.look(page) and first_curve is None:
            first_curve = now
        for claim in claims_in(page.evaluate(NARRATOR)):
            first_seen.setdefault(claim, now)
        if page.evaluate(STATUS).startswith(("Finished", "Stopped", "Ended")):
            break
        time.sleep(POLL_S)
    finished = time.monotonic() - started
    for claim in claims_in(page.evaluate(NARRATOR)):  # a finished run's statements of the whole run
        first_seen.setdefault(claim, finished)
    status = page.evaluate(STATUS)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(shots / "app_playground.png"))
    projector = open_page(context, url + "/?" + "&".join(p for p in (link, "view=projector") if p))
    projector.wait_for_function(f"() => ({CURVES})() !== null", timeout=60_000)
    projector.wait_for_timeout(1500)
    narrator = projector.evaluate(NARRATOR)
    lowest = projector.evaluate("""() => Math.max(...[...document.querySelectorAll(
        '.st-key-live-block iframe, .st-key-live-block [data-testid="stMarkdownContainer"]')]
        .map(e => e.getBoundingClientRect().bottom))""")
    projector.screenshot(path=str(shots / "app_projector.png"))
    context.close()
    return {"status": status, "first_curve_s": first_curve, "finished_s": finished, "claims_s": first_seen,
            "curve_looks": watch.looks, "steps_back": watch.steps_back, "last_epoch_drawn": watch.latest,
            "projector": {"narrator_lines": len(narrator), "lowest_px": lowest, "screen_px": DESKTOP[1],
                          "fits_one_screen": lowest <= DESKTOP[1]}}


def phone_walk(browser, url: str, link: str, shots: Path) -> dict:
    """Phone: Train and the narrator in view without the sidebar; a reload mid-run returns to the run."""
    context = browser.new_context(viewport=dict(zip(("width", "height"), PHONE)), is_mobile=True, has_touch=True)
    page = open_page(context, url + "/" + (f"?{link}" if link else ""))
    sidebar = page.get_by_test_id("stSidebar")
    sidebar_open = sidebar.count() > 0 and (sidebar.bounding_box() or {"x": -1})["x"] >= 0 and \
        sidebar.get_attribute("aria-expanded") == "true"
    train = main(page).get_by_role("button", name="Train", exact=True).bounding_box()
    watch = CurveWatch()
    main(page).get_by_role("button", name="Train", exact=True).click()
    deadline = time.monotonic() + WAIT_S
    while watch.look(page) < 2 and time.monotonic() < deadline:
        if page.evaluate(STATUS).startswith(("Finished", "Stopped", "Ended")):
            break
        time.sleep(POLL_S)
    before = watch.latest
    page.wait_for_timeout(800)
    narrator_top = page.evaluate("""() => { const e = document.querySelector(
        '.st-key-live-block [data-testid="stMarkdownContainer"]');
        return e ? e.getBoundingClientRect().top : null; }""")
    charts_top = page.evaluate("""() => { const e = document.querySelector('.st-key-live-block iframe');
        return e ? e.getBoundingClientRect().top : null; }""")
    page.screenshot(path=str(shots / "app_phone.png"))
    reloaded_at = time.monotonic()
    page.reload()
    main(page).get_by_role("button", name="Train", exact=True).first.wait_for(timeout=120_000)
    after = CurveWatch()
    back_s = None
    while time.monotonic() < reloaded_at + 120:
        if after.look(page) >= max(before, 1):
            back_s = time.monotonic() - reloaded_at
            break
        time.sleep(POLL_S)
    status = page.evaluate(STATUS)
    if status.startswith(("Training", "Queued")):
        main(page).get_by_role("button", name="Stop", exact=True).click()  # the reloaded page's own Stop
        status = wait_status(page, ("Stopped", "Finished"), after)
    context.close()
    return {"sidebar_open_at_start": sidebar_open, "train_button": train,
            "train_in_first_screen": bool(train and train["y"] + train["height"] <= PHONE[1]
                                          and train["x"] >= 0 and train["x"] + train["width"] <= PHONE[0]),
            "narrator_top_px": narrator_top, "charts_top_px": charts_top,
            "narrator_before_charts": narrator_top is not None and charts_top is not None
            and narrator_top < charts_top,
            "epoch_before_reload": before, "reload_back_s": back_s, "reload_kept_run": back_s is not None,
            "status_after_reload": status, "steps_back": watch.steps_back + after.steps_back}


def other_pages(browser, url: str, link: str, shots: Path) -> dict:
    """Compare (its verdict timed from Train), Sweep and Decision boundary, each photographed."""
    context = browser.new_context(viewport=dict(zip(("width", "height"), DESKTOP)))
    page = open_page(context, url + "/" + (f"?{link}" if link else ""))
    page.get_by_role("link", name="Compare").click()
    button = main(page).get_by_role("button", name="Train A and B on the same seeds")
    button.wait_for(timeout=60_000)
    seeds = main(page).get_by_role("spinbutton", name="Seeds").input_value()
    started = time.monotonic()
    button.click()
    page.get_by_text("The verdict, seed by seed").wait_for(timeout=WAIT_S * 1000)
    verdict_s = time.monotonic() - started
    page.wait_for_timeout(1500)
    sentence = page.evaluate("""() => [...document.querySelectorAll('[data-testid="stMarkdownContainer"] strong')]
        .map(e => e.innerText).filter(t => t.includes(' vs '))[0] || ''""")
    page.screenshot(path=str(shots / "app_compare.png"), full_page=True)
    page.get_by_role("link", name="Sweep").click()
    page.get_by_text("Saved grid").wait_for(timeout=60_000)
    page.wait_for_function(f"() => {ALL_PLOTS}.length >= 2", timeout=60_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(shots / "app_sweep.png"))
    page.get_by_role("link", name="Decision boundary").click()
    main(page).get_by_role("button", name="Train both").click()
    page.get_by_text("Replay: epoch").wait_for(timeout=WAIT_S * 1000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(shots / "app_boundary.png"))
    context.close()
    return {"compare_seeds": int(seeds), "compare_verdict_s": verdict_s, "compare_sentence": sentence}


def seconds(value) -> str:
    return "–" if value is None else f"{value:.1f}"


def report(data: dict) -> str:
    walk, phone, pages = data["desktop"], data["phone"], data["pages"]
    rows = "".join(f"| {claim} | {seconds(s)} |\n" for claim, s in sorted(walk["claims_s"].items(), key=lambda c: c[1]))
    projector = walk["projector"]
    return (f"# A learner's walk in Chromium ({data['settings']})\n\n"
            f"Desktop {DESKTOP[0]}×{DESKTOP[1]}: Train pressed at 0 s; first curve at "
            f"{seconds(walk['first_curve_s'])} s, "
            f"run ended at {seconds(walk['finished_s'])} s ({walk['status']}).\n\n"
            f"| claim in the narrator | first shown (s after Train) |\n|---|---|\n{rows}\n"
            f"Compare ({pages['compare_seeds']} seeds, its defaults): verdict {seconds(pages['compare_verdict_s'])} s "
            f"after its Train — \"{pages['compare_sentence']}\".\n\n"
            f"Curves stepping back to an earlier epoch: {len(walk['steps_back']) + len(phone['steps_back'])} "
            f"(in {walk['curve_looks']} looks at the desktop chart, and the phone's).\n\n"
            f"Phone {PHONE[0]}×{PHONE[1]}: sidebar open at start: {phone['sidebar_open_at_start']}; Train in the first "
            f"screen: {phone['train_in_first_screen']}; narrator above the charts: {phone['narrator_before_charts']} "
            f"(narrator at {phone['narrator_top_px']} px, charts at {phone['charts_top_px']} px).\n\n"
            f"Reload mid-run (phone, at epoch {phone['epoch_before_reload']}): the run came back "
            f"{seconds(phone['reload_back_s'])} s after the reload: {phone['reload_kept_run']}; then "
            f"\"{phone['status_after_reload']}\".\n\n"
            f"Projector view: charts and narrator end at {projector['lowest_px']:.0f} px of {projector['screen_px']} "
            f"(one screen: {projector['fits_one_screen']}).\n\n"
            f"Load average {data['load_average']:.1f}; screenshots in {data['shots']}.\n")


def main_cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"a small run ({QUICK}) instead of the defaults")
    parser.add_argument("--shots", default=str(ROOT / "assets"), help="where the screenshots go")
    args = parser.parse_args(argv)
    link = QUICK if args.quick else ""
    shots = Path(args.shots)
    shots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="procrustes-walk-") as store:
        with app_server(env={"PROCRUSTES_RUN_STORE": store}) as (url, _process), chromium() as browser:
            desktop = playground_walk(browser, url, link, shots)
            phone = phone_walk(browser, url, link, shots)
            pages = other_pages(browser, url, link, shots)
    data = {"settings": link or "the app's defaults", "desktop": desktop, "phone": phone, "pages": pages,
            "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan"),
            "shots": str(shots.relative_to(ROOT) if shots.is_relative_to(ROOT) else shots), "machine": machine()}
    save("browser_walk" + ("_quick" if args.quick else ""), data, report(data))
    return 0


if __name__ == "__main__":
    sys.exit(main_cli())
