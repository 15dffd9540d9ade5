"""Man pages render cleanly with groff, and every command has one."""
import shutil
import subprocess

import click
import pytest

from apeitool.cli import main

from conftest import ROOT

MAN = ROOT / "man"
PAGES = sorted(MAN.glob("*.1"))


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff not installed")
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_renders_without_warnings(page):
    proc = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(page)],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    text = subprocess.run(["groff", "-man", "-Tutf8", "-P-cbou", str(page)],
                          capture_output=True, text=True).stdout
    assert "NAME" in text and "EXAMPLES" in text


def _commands():
    """Every command, the lazily imported ones (vm) included."""
    ctx = click.Context(main)
    return {name: main.get_command(ctx, name) for name in main.list_commands(ctx)}


def test_every_command_has_a_page():
    commands = list(_commands())
    assert "vm" in commands
    assert {f"apeitool-{c}.1" for c in commands} | {"apeitool.1"} == {p.name for p in PAGES}


def test_every_option_is_documented():
    for name, cmd in _commands().items():
        text = (MAN / f"apeitool-{name}.1").read_text().replace("\\-", "-")
        sub = cmd.commands.values() if isinstance(cmd, click.Group) else [cmd]
        for c in sub:
            for param in c.params:
                for opt in getattr(param, "opts", []):
                    if opt.startswith("--") and opt not in ("--help",):
                        assert opt.lstrip("-").split("/")[0] in text, (name, opt)


def test_readme_commands_are_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    blocks = readme.split("```sh\n")
    first, second = blocks[1].split("```")[0].strip(), blocks[2].split("```")[0].strip()
    assert first.startswith("pip install . && apeitool build hest")
    ci = (ROOT / ".ci" / "run").read_text()
    assert second.split("&& ")[-1] in ci          # the test command
    assert "apeitool build hest -o hest.aml && apeitool decode hest.aml" in ci


def test_kernel_versions_table_is_in_the_decode_man_page():
    """The man page's KERNEL VERSIONS section is the table (python3 -m apeitool.kernel_versions)."""
    from apeitool.kernel_versions import CHANGES, man_section
    page = (MAN / "apeitool-decode.1").read_text()
    section = page[page.index(".SH KERNEL VERSIONS"):page.index(".SH DIAGNOSTICS")]
    assert section == man_section()
    assert all(f".B {c.key}\n" in section for c in CHANGES)
