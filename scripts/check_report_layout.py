"""Render a report page in headless Chromium and check its layout.

Checks, at 1400 and 1000 px wide viewports, that nothing scrolls sideways:
no element reaches beyond the viewport's right edge, no box (a table's
box, say) holds content wider than itself that it scrolls or clips; and
that every image loaded (``naturalWidth > 0``).

Usage::

    python scripts/check_report_layout.py nnestimators-report/report.html
    python scripts/check_report_layout.py --width 1280 report.html

Exit status 0 when the page passes, 1 when it does not, 2 when Chromium is
missing or failed. Needs a ``chromium`` binary (Debian: ``apt-get install
chromium``); nothing else.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")

# The widths a report must fit: a desktop browser, and a narrower window.
DEFAULT_WIDTHS = (1400, 1000)

# Runs in the page once everything loaded; writes its findings, as JSON,
# into an element that --dump-dom then prints.
_PROBE = r"""
<script>
window.addEventListener("load", function () {
  var width = document.documentElement.clientWidth;
  function clipped(element) {
    for (var node = element.parentElement; node; node = node.parentElement) {
      if (node === document.body || node === document.documentElement) break;
      var overflow = getComputedStyle(node).overflowX;
      if (overflow !== "visible") return true;
    }
    return false;
  }
  function describe(element) {
    var text = element.tagName.toLowerCase();
    if (element.className && typeof element.className === "string") {
      text += "." + element.className.trim().split(/\s+/).join(".");
    }
    var content = (element.textContent || "").replace(/\s+/g, " ").trim()
      .slice(0, 40);
    return content ? text + " '" + content + "'" : text;
  }
  var overflowing = [];
  var scrolling = [];
  document.querySelectorAll("body *").forEach(function (element) {
    if (element.id === "layout-probe") return;
    var box = element.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) return;
    if (box.right > width + 0.5 && !clipped(element)) {
      overflowing.push({element: describe(element), right: box.right});
    }
    // A box whose content is wider than itself scrolls (or cuts) sideways.
    var overflowX = getComputedStyle(element).overflowX;
    if (overflowX !== "visible" && element.scrollWidth > element.clientWidth + 1) {
      scrolling.push({element: describe(element),
                      content: element.scrollWidth, box: element.clientWidth});
    }
  });
  var images = Array.prototype.slice.call(document.images);
  var broken = images.filter(function (image) {
    return !(image.complete && image.naturalWidth > 0);
  }).map(function (image) { return image.alt || image.src.slice(0, 40); });
  var result = {
    viewport_width: width,
    inner_width: window.innerWidth,
    scroll_width: document.documentElement.scrollWidth,
    overflowing: overflowing.slice(0, 50),
    n_overflowing: overflowing.length,
    scrolling: scrolling.slice(0, 50),
    n_scrolling: scrolling.length,
    images: images.length,
    broken_images: broken
  };
  var probe = document.createElement("pre");
  probe.id = "layout-probe";
  probe.style.display = "none";
  probe.textContent = JSON.stringify(result);
  document.body.appendChild(probe);
});
</script>
"""


def find_chromium():
    """The path of a Chromium binary: /usr/bin/chromium or one on PATH."""
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def check_layout(page, width=1400, height=900, chromium=None, timeout=90):
    """Render ``page`` and return what the probe found.

    Parameters
    ----------
    page : str or path-like
        An HTML file; a copy with the probe script is rendered.
    width, height : int
        The viewport in CSS pixels.
    chromium : str, default=None
        The browser binary; :func:`find_chromium` when None.
    timeout : float
        Seconds Chromium may take.

    Returns
    -------
    result : dict
        ``viewport_width``, ``scroll_width``, ``overflowing`` (elements
        beyond the right edge), ``scrolling`` (boxes holding content wider
        than themselves), ``images`` and ``broken_images``.

    Raises
    ------
    RuntimeError
        If there is no Chromium or it produced no result.
    """
    chromium = chromium or find_chromium()
    if chromium is None:
        raise RuntimeError("no Chromium binary found (/usr/bin/chromium or PATH)")
    text = Path(page).read_text(encoding="utf-8")
    if "</body>" in text:
        text = text.replace("</body>", _PROBE + "</body>", 1)
    else:
        text += _PROBE
    with tempfile.TemporaryDirectory(prefix="layout-check-") as folder:
        copy = Path(folder) / "page.html"
        copy.write_text(text, encoding="utf-8")
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--mute-audio",
            f"--user-data-dir={Path(folder) / 'profile'}",
            f"--window-size={width},{height}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            copy.as_uri(),
        ]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    found = re.search(r'<pre id="layout-probe"[^>]*>(.*?)</pre>', done.stdout, re.S)
    if found is None:
        tail = (done.stderr or "").strip().splitlines()[-5:]
        raise RuntimeError(
            f"Chromium exited with {done.returncode} and no layout result: "
            + " | ".join(tail)
        )
    return json.loads(html.unescape(found.group(1)))


def problems(result, width=1400):
    """The failures in a :func:`check_layout` result, as sentences."""
    found = []
    if result["viewport_width"] > width or result["inner_width"] != width:
        found.append(f"the viewport is {result['inner_width']} px wide, not {width} px")
    if result["scroll_width"] > result["viewport_width"]:
        found.append(
            f"the page is {result['scroll_width']} px wide, wider than the "
            f"{result['viewport_width']} px viewport"
        )
    if result["n_overflowing"]:
        shown = ", ".join(
            f"{item['element']} (right edge at {item['right']:.0f} px)"
            for item in result["overflowing"][:5]
        )
        found.append(
            f"{result['n_overflowing']} elements overflow the viewport: {shown}"
        )
    if result.get("n_scrolling"):
        shown = ", ".join(
            f"{item['element']} ({item['content']} px of content in {item['box']} px)"
            for item in result["scrolling"][:5]
        )
        found.append(f"{result['n_scrolling']} boxes scroll sideways: {shown}")
    if result["broken_images"]:
        found.append(f"images that did not load: {result['broken_images']}")
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", help="the report.html to check")
    parser.add_argument(
        "--width",
        type=int,
        action="append",
        help="viewport width in CSS pixels; repeat for several (default: 1400 "
        "and 1000)",
    )
    parser.add_argument("--chromium", help="the browser binary")
    args = parser.parse_args(argv)
    failed = False
    for width in args.width or DEFAULT_WIDTHS:
        try:
            result = check_layout(args.page, width=width, chromium=args.chromium)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
            print(f"check_report_layout: {error}", file=sys.stderr)
            return 2
        found = problems(result, width)
        for problem in found:
            print(f"FAIL at {width} px: {problem}")
        if not found:
            print(
                f"OK: {args.page}: nothing scrolls sideways at {width} px, "
                f"{result['images']} images loaded"
            )
        failed = failed or bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
