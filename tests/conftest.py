"""Shared test helpers: the corpus beside the repo (optional), the iasl oracle (optional)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
# table specs: the folder names the table kind (fixtures/estatus holds CPER status blocks)
TABLE_FIXTURES = sorted(p for p in FIXTURES.glob("*/*.yaml") if p.parent.name in ("hest", "bert", "einj", "erst"))
CORPUS = Path(os.environ.get("APEITOOL_CORPUS", ROOT.parent / "shared" / "corpus"))


def corpus_files(*patterns):
    """Corpus files matching glob patterns; [] when the corpus is absent (a user's clone)."""
    if not CORPUS.is_dir():
        return []
    out = []
    for pattern in patterns:
        out.extend(sorted(CORPUS.glob(pattern)))
    return out


def corpus_params(*patterns):
    """pytest params for corpus files, one skipped placeholder when the corpus is absent."""
    files = corpus_files(*patterns)
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"corpus not present at {CORPUS}"))]
    return [pytest.param(f, id=str(f.relative_to(CORPUS))) for f in files]


HEST_PATTERNS = ("real/*HEST*.dat", "qemu/HEST*.dat", "iasl/template/hest*.aml",
                 "iasl/ghesv2/hest*.aml", "iasl/subtypes/hest*.aml")
# every well-formed APEI table of the corpus (HEST, BERT, EINJ, ERST)
TABLE_PATTERNS = ("real/*.dat", "qemu/*.dat", "iasl/template/*.aml", "iasl/ghesv2/*.aml",
                  "iasl/subtypes/*.aml")

IASL = shutil.which("iasl")
needs_iasl = pytest.mark.skipif(IASL is None, reason="iasl (acpica-tools) not installed")


def run_iasl(args, cwd, timeout=30):
    """iasl under a time limit and a 16 MiB output-file limit: it loops on some malformed tables."""
    cmd = ["bash", "-c", 'ulimit -f 32768; exec timeout %d iasl "$@"' % timeout, "iasl", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


# -- the vm tests: real kernels under QEMU --------------------------------------------------------------

_VM_SECONDS = []


def pytest_runtest_logreport(report):
    if report.when == "call" and "vm" in report.keywords:
        _VM_SECONDS.append(report.duration)


def pytest_terminal_summary(terminalreporter):
    if _VM_SECONDS:
        terminalreporter.write_line(f"vm tests: {len(_VM_SECONDS)} ran in {sum(_VM_SECONDS):.0f} s of guest runs")
