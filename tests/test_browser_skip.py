"""Without chromium and chromedriver, tests/test_browser.py is one clear
skip, and under CI it fails with the same reason instead.

Each case runs that module in a child pytest whose PATH holds nothing but
``python`` (a link to this interpreter), so neither browser binary can be
found; the rest of the environment is this one's, minus CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MISSING = "chromium not installed: apt-get install chromium chromium-driver"
TIMEOUT = 120


def run_browser_tests(bin_dir: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    python = bin_dir / "python"
    if not python.exists():
        python.symlink_to(sys.executable)
    env = dict(os.environ)
    env.pop("CI", None)
    env["PATH"] = str(bin_dir)
    env.update(extra)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "tests/test_browser.py"],
        cwd=str(ROOT), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT, check=False)


def test_missing_chromium_skips_the_module_once(tmp_path: Path) -> None:
    result = run_browser_tests(tmp_path)
    assert result.returncode == 0, result.stdout
    assert MISSING in result.stdout, result.stdout
    assert "skipped" in result.stdout, result.stdout
    assert result.stdout.count(MISSING) == 1, result.stdout  # one line, not one per test
    assert "error" not in result.stdout.lower(), result.stdout


def test_missing_chromium_fails_under_ci(tmp_path: Path) -> None:
    result = run_browser_tests(tmp_path, CI="1")
    assert result.returncode != 0, result.stdout
    assert MISSING in result.stdout, result.stdout
    assert "skipped" not in result.stdout, result.stdout
