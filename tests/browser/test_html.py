"""Every public page, as served, passes the Nu Html Checker (vnu-jar from npm) with zero errors.

One Java run checks all pages at once (the JVM start is most of the cost), together with the
site's stylesheet and a page with a known mistake, which proves the checker really ran. The
newsroom's story desk (signed in) gets a run of its own, with the newsdesk's stylesheet.
"""

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.browser.support import BASE_DIR, CHECKED, LESSER_FINDINGS, VNU_JAR, story_desk_pages, write_report
from tests.browser.test_editor import log_in

pytestmark = pytest.mark.browser

CANARY = "<!doctype html><html lang=en><head><meta charset=utf-8></head><body><p>no title</p></body></html>"


def fetch(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), response.headers.get_content_type()
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get_content_type()


def check_with_vnu(files: dict[str, Path], stylesheets: list[Path], *, report_name: str) -> list[str]:
    """Check the pages `files` (name -> saved HTML) and `stylesheets` in one Java run, with the canary;
    returns the errors (lesser findings go to the run's report)."""
    canary = next(iter(files.values())).with_name("canary.html")
    canary.write_text(CANARY)
    command = ["java", "-jar", str(VNU_JAR), "--format", "json", "--stdout", "--exit-zero-always"]
    command += ["--also-check-css", *map(str, files.values()), str(canary), *map(str, stylesheets)]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    messages = json.loads(result.stdout)["messages"]
    by_file = {path.as_uri().removeprefix("file://"): name for name, path in files.items()}
    by_file[canary.as_uri().removeprefix("file://")] = "canary"
    by_file |= {sheet.as_uri().removeprefix("file://"): sheet.name for sheet in stylesheets}

    errors, report = [], []
    for message in messages:
        page = by_file.get(message.get("url", "").removeprefix("file:"), message.get("url", "?"))
        entry = {**message, "page": page, "kind": message.get("subType", message["type"])}
        report.append(entry)
        if page == "canary":
            continue
        if message["type"] in ("error", "non-document-error"):
            errors.append(f"{page}:{message.get('lastLine', '?')}: {message['message']}")
        else:
            LESSER_FINDINGS["vnu"].append(entry)
    write_report(report_name, report)
    CHECKED["vnu"] += [*files, *(sheet.name for sheet in stylesheets)]

    canary_errors = [m for m in report if m["page"] == "canary" and m["type"] == "error"]
    assert any("title" in m["message"] for m in canary_errors), f"vnu did not run as expected: {report}"
    return errors


def test_public_pages_are_valid_html(app, public_pages, tmp_path):
    files = {}
    for name, (path, status) in public_pages.items():
        got, body, content_type = fetch(app.url + path)
        assert got == status, f"{path} answered {got}, expected {status}"
        assert content_type == "text/html", f"{path}: {content_type}"
        files[name] = tmp_path / f"{name}.html"
        files[name].write_bytes(body)
    errors = check_with_vnu(files, [BASE_DIR / "static" / "css" / "site.css"], report_name="vnu.json")
    assert not errors, "HTML checker errors:\n" + "\n".join(errors)


def test_the_newsdesk_pages_are_valid_html(open_tab, app, newsdesk, tmp_path):
    """The story desk's list and a desk page as served to a signed-in Editor, and their stylesheet."""
    tab = open_tab("desktop")
    log_in(tab, "editor", app.password)
    files = {}
    for name, path in story_desk_pages(newsdesk).items():
        response = tab.page.goto(app.url + path)
        assert response.status == 200, f"{path} answered {response.status}"
        assert response.headers["content-type"].startswith("text/html"), response.headers["content-type"]
        files[name] = tmp_path / f"{name}.html"
        files[name].write_bytes(response.body())
    tab.assert_clean()
    stylesheets = [BASE_DIR / "static" / "css" / "newsdesk.css"]
    errors = check_with_vnu(files, stylesheets, report_name="vnu-newsdesk.json")
    assert not errors, "HTML checker errors:\n" + "\n".join(errors)
