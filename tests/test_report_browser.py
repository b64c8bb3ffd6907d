"""The report of a real run folder (`ctfp run` of the paper's study, tests/conftest.py) rendered by headless
Chromium: every image decodes, every section is in the DOM, the numbers the browser shows are the run's numbers,
and a screenshot can be taken. Skipped where no Chromium is installed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Injected into a copy of the page: after load, write what the browser decoded into the DOM for --dump-dom.
PROBE = """<script>
window.addEventListener('load', function () {
  var out = [];
  document.querySelectorAll('img').forEach(function (img) {
    out.push({id: img.dataset.figure, ok: img.complete && img.naturalWidth > 0, w: img.naturalWidth,
              h: img.naturalHeight});
  });
  var keyed = {};
  document.querySelectorAll('[data-key]').forEach(function (el) { keyed[el.dataset.key] = el.innerText.trim(); });
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify({images: out, keyed: keyed,
    sections: Array.from(document.querySelectorAll('section')).map(function (s) { return s.id; }),
    banner: !!document.getElementById('synthetic-banner')});
  document.body.appendChild(pre);
});
</script>"""


def _probe(browser: str, page: Path, tmp_path: Path) -> dict:
    probe_page = tmp_path / f"probe_{page.stem}.html"
    probe_page.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    res = _run(browser, tmp_path / "profile", "--virtual-time-budget=10000", "--dump-dom", probe_page.as_uri())
    m = re.search(r'<pre id="probe">(.*?)</pre>', res.stdout, re.S)
    assert m, f"no probe output from Chromium (rc {res.returncode}): {res.stderr[-500:]}"
    return json.loads(m.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
                      .replace("&amp;", "&"))


def _browser() -> str | None:
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def _run(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", "--disable-sync", f"--user-data-dir={profile}",
           "--hide-scrollbars", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def browser() -> str:
    found = _browser()
    if found is None:
        pytest.skip("no Chromium on PATH (install: apt-get install -y chromium); browser rendering not checked")
    return found


@pytest.fixture(scope="module")
def built(report_run: Path) -> Path:
    return report_run / "report.html"  # as `ctfp run` wrote it


def test_chromium_renders_every_image_section_and_number(browser: str, built: Path, tmp_path: Path) -> None:
    probe_page = tmp_path / "probe.html"
    probe_page.write_text(built.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    res = _run(browser, tmp_path / "profile", "--virtual-time-budget=10000", "--dump-dom", probe_page.as_uri())
    m = re.search(r'<pre id="probe">(.*?)</pre>', res.stdout, re.S)
    assert m, f"no probe output from Chromium (rc {res.returncode}): {res.stderr[-500:]}"
    data = json.loads(m.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
                      .replace("&amp;", "&"))
    assert data["sections"][:7] == ["data", "ctfp", "replicas", "heterogeneity", "checking", "sensitivity",
                                    "validation"]
    assert len(data["images"]) == 6
    broken = [i["id"] for i in data["images"] if not i["ok"]]
    assert not broken, f"broken images: {broken}"
    assert all(i["w"] >= 600 for i in data["images"])
    assert data["banner"] is True
    # What the browser shows equals the run's own files.
    run_dir = built.parent
    rep = pd.read_csv(run_dir / "tables" / "replicas.csv", dtype={"column": str}).set_index(["table", "column",
                                                                                               "term"])
    c = rep.loc[("T2", "(2)", "ai")]
    assert data["keyed"]["T2.(2).ai.estimate"].rstrip("*") == f"{c['estimate']:.4f}"
    assert data["keyed"]["T2.(2).ai.t"] == f"({c['t']:.2f})"
    summ = json.loads((run_dir / "bayes" / "headline" / "summary.json").read_text())
    assert data["keyed"]["diag.headline.max_rhat"] == f"{summ['diagnostics']['max_rhat']:.3f}"


def test_chromium_screenshot(browser: str, built: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    _run(browser, tmp_path / "profile", "--window-size=1400,3000", f"--screenshot={shot}", built.as_uri())
    assert shot.is_file() and shot.stat().st_size > 50_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def built_zh(report_zh_cli) -> Path:  # noqa: ANN001
    assert report_zh_cli.returncode == 0, report_zh_cli.stderr[-2000:]
    return report_zh_cli.path  # `ctfp report --lang zh` of a copy of the same run (tests/conftest.py)


def test_chinese_report_renders_with_the_same_numbers(browser: str, built: Path, built_zh: Path,
                                                      tmp_path: Path) -> None:
    """The Chinese report in Chromium: every image decodes, the paper's terms are on the page, and every number
    the browser shows is the one the English report shows."""
    from ctfp.reports.figures import cjk_font

    en, zh = _probe(browser, built, tmp_path), _probe(browser, built_zh, tmp_path)
    assert zh["sections"] == en["sections"]
    assert all(i["ok"] for i in zh["images"]) and len(zh["images"]) == len(en["images"])
    numeric = {k: v for k, v in en["keyed"].items() if re.fullmatch(r"[-+()\[\],.\d\se*%]+", v or "")}
    assert len(numeric) > 100
    assert {k: zh["keyed"].get(k) for k in numeric} == numeric
    text = built_zh.read_text(encoding="utf-8")
    for term in ("变量", "城市固定效应", "年份固定效应", "括号内为t值", "原文", "复现", "概览", "模型检验"):
        assert term in text, term
    # Chinese figure labels where a CJK font is installed; otherwise English with a note saying why.
    if cjk_font() is not None:
        assert "图中标签为英文" not in text and "ctfp_distribution.zh.png" in text
        assert (built_zh.parent / "figures" / "ctfp_distribution.zh.svg").is_file()
    else:
        assert "图中标签为英文" in text
    shot = tmp_path / "report_zh.png"
    _run(browser, tmp_path / "profile", "--window-size=1400,3000", f"--screenshot={shot}", built_zh.as_uri())
    assert shot.is_file() and shot.stat().st_size > 50_000
