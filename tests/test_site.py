"""The documentation site (mkdocs.yml): it builds in strict mode (a broken link fails), and in a
real headless browser (Debian's chromium, `chromium --headless --dump-dom`) a lesson's page shows
its graph and the navigation lists every lesson.

The lessons are executed once, by tests/test_notebooks.py or here, and cached under build/course/.
The browser tests skip only where no chromium is installed (.ci/run installs it).
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.file_modules import load_file

pytest.importorskip("mkdocs_jupyter")
pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parent.parent
course = load_file("notebooks/course.py")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-4000:]}"
    return out


def dump_dom(page: Path) -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium (apt-get install -y chromium; .ci/run installs it)")
    args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout


def test_every_lesson_is_a_page(site: Path):
    for lesson in course.LESSONS:
        assert (site / "course" / lesson.stem / "index.html").exists(), lesson.stem


def test_a_lesson_page_shows_its_graph_in_the_browser(site: Path):
    dom = dump_dom(site / "course" / "09_backward_frames" / "index.html")
    inline = re.findall(r"<svg\b.*?</svg>", dom, re.S)
    assert any('class="graph"' in svg for svg in inline), "no Graphviz <svg> element on the filmstrip page"
    dom = dump_dom(site / "course" / "04_bptt_paths" / "index.html")  # rich display: an SVG image
    images = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', dom)
    assert any(b'class="graph"' in base64.b64decode(image) for image in images), "no Graphviz SVG on the page"


def test_the_navigation_lists_every_lesson(site: Path):
    dom = dump_dom(site / "course" / "01_sequences" / "index.html")
    nav = dom[dom.index('class="md-nav md-nav--primary"') :]
    for lesson in course.LESSONS:
        title = next(line[4:] for line in lesson.read_text().splitlines() if line.startswith("# # "))
        assert title in nav, f"the navigation does not list {title!r}"
