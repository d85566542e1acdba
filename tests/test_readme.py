"""Every code block of the README and of docs/ runs as written, in order, in a fresh folder, twice in a row.

The Python blocks of one document share one interpreter (a later block uses what an earlier one defined, as a
reader following the page would); a bash block runs where it stands, in the same folder. The only blocks not run
here are the installation commands at the top of the README (``.ci/run`` runs the test command verbatim and
``tests/test_demo.py`` the demo) and those listed in ``NOT_RUN`` with the reason.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```(python|bash)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
INSTALL = (
    "python -m pip install . && columnminer demo",
    'python -m pip install ".[test]" && python -m pytest',
)
#: (document, block number) -> why the block cannot run on a machine without that tool.
NOT_RUN = {
    (
        "docs/madgraph.md",
        0,
    ): "runs MadGraph (mg_directory); tests/madgraph runs the same calls on a fake MadGraph",
    ("docs/madgraph.md", 1): "the batch scripts that run MadGraph",
}


def code_blocks(document: str) -> list[tuple[str, str]]:
    """The (language, code) of every python / bash block of a document, in order."""
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer((ROOT / document).read_text())]


def as_script(document: str) -> str:
    """One Python script that runs the document's blocks in order (bash blocks through bash)."""
    parts = []
    for k, (language, code) in enumerate(code_blocks(document)):
        if (document, k) in NOT_RUN or code.strip() in INSTALL:
            continue
        if language == "bash":
            parts.append(
                f"import subprocess as _sp\n_sp.run({code!r}, shell=True, check=True, executable='/bin/bash')"
            )
        else:
            parts.append(code)
    return "\n\n".join(parts)


def test_the_readme_starts_with_the_two_commands_ci_runs():
    blocks = code_blocks("README.md")
    assert [code.strip() for _, code in blocks[:2]] == list(INSTALL)
    assert INSTALL[1] in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("document", [d for d in DOCUMENTS if code_blocks(d)])
def test_code_blocks_run_as_written_twice(document, tmp_path):
    script = as_script(document)
    if not script.strip():
        assert all((document, k) in NOT_RUN for k in range(len(code_blocks(document))))
        return
    (tmp_path / "blocks.py").write_text(script)
    env = {**os.environ, "MPLBACKEND": "Agg", "COLUMNMINER_REPO": str(ROOT)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for attempt in (1, 2):
        done = subprocess.run(
            [sys.executable, "blocks.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, f"{document}, run {attempt}:\n{done.stderr[-4000:]}"


def test_the_readme_shows_the_demos_own_figures():
    """The README's pictures are figures the demo writes under their stable names (``demo --images docs/images``)."""
    from columnminer._demo.plots import FIGURES

    shown = re.findall(r"!\[[^\]]*\]\((docs/images/[^)]+)\)", (ROOT / "README.md").read_text())
    assert shown, "the README shows no figure"
    for path in shown:
        assert Path(path).name in FIGURES, f"{path} is not one of the demo's figures {FIGURES}"
        assert (ROOT / path).stat().st_size > 10_000, f"{path} is missing or empty"
    assert {p.name for p in (ROOT / "docs" / "images").iterdir()} <= set(FIGURES)
