"""What every browser test shares: a tab that watches for trouble, page settling, axe, contrast."""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, Response

BASE_DIR = Path(__file__).resolve().parents[2]
AXE_JS = BASE_DIR / "node_modules" / "axe-core" / "axe.min.js"
VNU_JAR = BASE_DIR / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
SCREENSHOTS = BASE_DIR / "var" / "screenshots"
REPORTS = BASE_DIR / "var" / "browser-report"

# Debian's Chromium, kept off the network: no component updates, sync, QUIC or background requests,
# and no host name resolves (so not even a DNS query leaves); the test server is 127.0.0.1.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
# What axe and the HTML checker looked at, and their findings below the failing level: shown at
# the end of the run (conftest.pytest_terminal_summary) and written to var/browser-report/.
CHECKED: dict[str, list[str]] = {"axe": [], "vnu": []}
LESSER_FINDINGS: dict[str, list[dict]] = {"axe": [], "vnu": []}

VIEWPORTS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1366, "height": 900}},
}

# Runs before any page script, in every frame: securitypolicyviolation events are reported to the
# test through an exposed function (driver-injected, so the page's own CSP does not block it).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  const where = (event.sourceFile || event.documentURI) + (event.lineNumber ? `:${event.lineNumber}` : "");
  const blocked = event.blockedURI || "inline";
  window.__newsappCspViolation(`${event.effectiveDirective} blocked ${blocked} in ${where}`);
});
"""

# Scrolls through the page so lazy images are requested, then back to the top.
SCROLL_THROUGH = """
async () => {
  const step = Math.max(200, window.innerHeight - 100);
  for (let y = 0; y < document.documentElement.scrollHeight; y += step) {
    window.scrollTo(0, y);
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 30)));
  }
  window.scrollTo(0, 0);
}
"""

BROKEN_IMAGES = """
() => [...document.images]
  .filter((img) => !img.complete || img.naturalWidth === 0)
  .map((img) => img.currentSrc || img.src)
"""


@dataclass
class Guard:
    """Everything that went wrong in a browser context: console errors, failed or refused requests,
    CSP violations, mixed content, uncaught exceptions, requests leaving the test server."""

    origin: str
    problems: list[str] = field(default_factory=list)
    expected_status: dict[str, int] = field(default_factory=dict)

    def attach(self, context: BrowserContext) -> None:
        context.expose_function("__newsappCspViolation", self._csp)
        context.add_init_script(CSP_LISTENER)
        context.on("console", self._console)
        context.on("weberror", lambda error: self.problems.append(f"uncaught error: {error.error}"))
        context.on("request", self._request)
        context.on("requestfailed", self._failed)
        context.on("response", self._response)

    def expect(self, url: str, status: int) -> None:
        """A response with this status is the point of the test (the 404 page), not a problem."""
        self.expected_status[url] = status

    def _csp(self, report: str) -> None:
        self.problems.append(f"CSP violation: {report}")

    def _console(self, message: ConsoleMessage) -> None:
        text = message.text
        if "Mixed Content" in text:
            self.problems.append(f"mixed content: {text}")
        elif message.type == "error":
            url = message.location.get("url", "")
            if url in self.expected_status and "status of" in text:
                return  # Chromium logs the expected 404 of the page itself as an error.
            self.problems.append(f"console error: {text} ({url})")

    def _request(self, request: Request) -> None:
        url = request.url
        if not (url.startswith((self.origin + "/", "data:", "blob:")) or url == self.origin):
            self.problems.append(f"request leaving the site: {request.method} {url}")

    def _failed(self, request: Request) -> None:
        if request.failure == "net::ERR_ABORTED" and request.resource_type == "image":
            # Chromium cancels the preload scanner's fetch of a lazy image that is not yet needed.
            # Whether every image really loads is checked by load_every_image() on every page.
            return
        if request.failure == "net::ERR_ABORTED" and "/favicon" in request.url:
            # Chromium fetches the tab's icon on its own and drops the fetch when the tab navigates
            # or closes first (seen once in CI at a journey's last click); that the icon is served
            # is tests/site/test_favicon.py's to check.
            return
        self.problems.append(f"failed request: {request.url} ({request.failure})")

    def _response(self, response: Response) -> None:
        expected = self.expected_status.get(response.url)
        if expected is not None:
            if response.status != expected:
                self.problems.append(f"{response.url} answered {response.status}, expected {expected}")
        elif response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.request.method} {response.url}")

    def take(self) -> list[str]:
        problems, self.problems = self.problems, []
        return problems

    def assert_clean(self, where: str = "") -> None:
        problems = self.take()
        assert not problems, f"browser trouble{' on ' + where if where else ''}:\n" + "\n".join(problems)


def settle(page: Page) -> None:
    """Wait until the page has loaded and the network is quiet (images and all)."""
    page.wait_for_load_state("load")
    page.wait_for_load_state("networkidle")


def load_every_image(page: Page) -> None:
    """Scroll through the page so every lazy image loads; fail on any image that did not."""
    page.evaluate(SCROLL_THROUGH)
    settle(page)
    page.wait_for_function("() => [...document.images].every((img) => img.complete)", timeout=10_000)
    broken = page.evaluate(BROKEN_IMAGES)
    assert not broken, f"images that did not load on {page.url}: {broken}"


def no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate(
        "() => ({doc: document.documentElement.scrollWidth, body: document.body.scrollWidth,"
        " view: document.documentElement.clientWidth})"
    )
    assert max(widths["doc"], widths["body"]) <= widths["view"], f"horizontal scroll on {page.url}: {widths}"


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


def run_axe(page: Page) -> dict:
    """axe-core from node_modules, evaluated by the driver (not a <script>, which the CSP would refuse)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    return page.evaluate(
        """async () => {
          const r = await axe.run(document, {resultTypes: ["violations", "passes"]});
          const brief = (rule) => ({id: rule.id, impact: rule.impact, help: rule.help,
                                    nodes: rule.nodes.map((n) => n.target.join(" "))});
          return {violations: r.violations.map(brief), passes: r.passes.map(brief)};
        }"""
    )


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG contrast of two opaque CSS rgb() colours."""

    def parse(colour: str) -> tuple[float, float, float]:
        numbers = [float(n) for n in re.findall(r"[\d.]+", colour)[:3]]
        return numbers[0], numbers[1], numbers[2]

    lighter, darker = sorted((_luminance(parse(foreground)), _luminance(parse(background))), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


# The colour, size and box of each bias label, and the first opaque background behind it.
BIAS_LABELS = """
(root) => [...root.querySelectorAll(".bias-label")].map((label) => {
  let node = label, background = "rgb(255, 255, 255)";
  while (node && node.nodeType === 1) {
    const bg = getComputedStyle(node).backgroundColor;
    if (bg && bg !== "transparent" && !bg.startsWith("rgba(0, 0, 0, 0")) { background = bg; break; }
    node = node.parentElement;
  }
  const style = getComputedStyle(label), box = label.getBoundingClientRect();
  return {text: label.textContent.trim(), color: style.color, background,
          fontSize: parseFloat(style.fontSize), fontWeight: parseInt(style.fontWeight, 10),
          box: {left: box.left, right: box.right, top: box.top, bottom: box.bottom, width: box.width}};
})
"""


def write_report(name: str, data) -> Path:
    REPORTS.mkdir(parents=True, exist_ok=True)
    path = REPORTS / name
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def story_desk_pages(newsdesk) -> dict[str, str]:
    """The story desk's list and one desk page, as name -> path: the second candidate's, which no
    journey drafts, so the page is the same whenever a test looks at it."""
    return {
        "story-desk": "/admin/newsdesk/candidate/",
        "desk-page": f"/admin/newsdesk/candidate/{newsdesk.candidates[1]['id']}/change/",
    }
