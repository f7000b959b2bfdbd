"""The HTML verification report in a real headless chromium: it renders without the network,
the demands, paths and invocations expand and collapse, and the charts are drawn (checked in
the DOM and in the pixels of a screenshot)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kernel_lsp.cli import main
from tests.cdp import CHROMIUM, Browser, png_pixels
from tests.design_cases import CASES

pytestmark = [pytest.mark.e2e]
BROKEN = next(c for c in CASES if c.name == "broken")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("html")
    tree = BROKEN.build(base / "tree")
    out = base / "report.html"
    assert main(["verify", *[str(tree / d.name) for d in BROKEN.demands], "--root", str(tree),
                 "--format", "html", "--output", str(out)]) == 1
    return out


@pytest.fixture(scope="module")
def browser(report):
    assert CHROMIUM is not None, "chromium is not installed (scripts/test.sh installs it)"
    b = Browser()
    b.open(report.as_uri())
    yield b
    b.close()


def test_it_renders_the_summary_without_the_network(browser, report):
    assert browser.js("document.title") == "kernel-lsp verification: ERROR"
    assert browser.js("document.getElementById('inv-count').textContent") == "1 of 10 right"
    assert browser.js("document.querySelectorAll('details.invocation').length") == 10
    assert browser.js("document.querySelectorAll('details.invocation.bad').length") == 9
    assert browser.js("JSON.parse(document.getElementById('report-data').textContent).code") \
        == "400_2"
    assert all(u.startswith("file://") for u in browser.requests()), browser.requests()
    assert browser.js("document.querySelectorAll('link[href^=http], script[src]').length") == 0


def _visible(browser, selector: str) -> bool:
    return browser.js(f"(() => {{ const e = document.querySelector({selector!r});"
                      " return e.checkVisibility(); })()")


def test_an_invocation_expands_and_collapses(browser):
    inv = "details.invocation[data-id='reclaim/free/1']"
    assert browser.js(f"document.querySelector({inv!r}).open") is False
    assert not _visible(browser, f"{inv} h4")
    browser.js(f"document.querySelector({inv!r} + ' > summary').click()")
    assert browser.js(f"document.querySelector({inv!r}).open") is True
    assert _visible(browser, f"{inv} h4")
    text = browser.js(f"document.querySelector({inv!r}).innerText")
    assert "405_2" in text and "static in mm/page_alloc.c" in text
    browser.js(f"document.querySelector({inv!r} + ' > summary').click()")
    assert not _visible(browser, f"{inv} h4")


def test_expand_all_collapse_all_and_the_error_filter(browser):
    browser.js("document.getElementById('expand').click()")
    assert browser.js("[...document.querySelectorAll('details')].every(d => d.open)") is True
    browser.js("document.getElementById('collapse').click()")
    assert browser.js("[...document.querySelectorAll('details')].some(d => d.open)") is False
    browser.js("document.getElementById('errors').click()")
    browser.js("document.getElementById('expand').click()")
    shown = browser.js("[...document.querySelectorAll('details.invocation')]"
                       ".filter(d => d.checkVisibility()).length")
    assert shown == 9
    browser.js("document.getElementById('errors').click()")
    browser.js("document.getElementById('collapse').click()")


def test_the_charts_are_drawn(browser):
    bars = browser.js("[...document.querySelectorAll('#chart-levels rect.bar')].map(r => "
                      "[r.dataset.name, +r.dataset.value, r.getBoundingClientRect().width])")
    assert [(n, v) for n, v, _w in bars] == [("base", 8), ("func", 14), ("struct", 31),
                                             ("file", 15), ("dentry", 6), ("subsys", 4)]
    widths = {n: w for n, _v, w in bars}
    assert widths["struct"] > widths["func"] > widths["dentry"] > 0
    kinds = browser.js("[...document.querySelectorAll('#chart-relationships rect.bar')]"
                       ".map(r => r.dataset.name)")
    assert {"Invocable", "Accessible", "VarStruct"} <= set(kinds)


def test_screenshot_shows_the_bars(browser, tmp_path):
    browser.js("window.scrollTo(0, 0)")
    box = browser.js("(() => { const r = document.querySelector('#chart-levels "
                     "rect[data-name=struct]').getBoundingClientRect();"
                     " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
    where = Path(os.environ.get("KERNEL_LSP_SCREENSHOTS", tmp_path))
    where.mkdir(parents=True, exist_ok=True)
    data = browser.screenshot(where / "design-report.png")
    width, height, bpp, rows = png_pixels(data)
    assert width >= 1000 and height >= 800
    x, y = round(box[0]), round(box[1])
    pixel = tuple(rows[y][x * bpp:x * bpp + 3])
    assert pixel == (0x1A, 0x7F, 0x37), pixel  # the struct bar's green
    colours = {tuple(rows[y][i:i + 3]) for i in range(0, width * bpp, bpp)}
    assert (0x1A, 0x7F, 0x37) in colours and (0xFF, 0xFF, 0xFF) in colours
