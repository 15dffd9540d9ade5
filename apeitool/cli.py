"""The `apeitool` command line: thin click commands over the library API.

Exit codes: 0 success (warnings go to stderr), 2 unusable input or spec, 3 internal error.
Every failure is one line on stderr; APEITOOL_DEBUG=1 adds the Python traceback.
"""
from __future__ import annotations

import os
import sys

import click

from . import __version__

# decode/build kinds -> ACPI signature (CPER records and status blocks arrive with their issue)
TABLE_KINDS = {"hest": "HEST", "bert": "BERT", "einj": "EINJ", "erst": "ERST"}
FORMATS = ["text", "json", "yaml", "iasl"]


def _fail(message: str, code: int = 2):
    click.echo(f"apeitool: error: {message}", err=True)
    sys.exit(code)


class ApeiGroup(click.Group):
    """Turns library errors into one-line messages and exit code 2, anything else into exit 3."""

    def invoke(self, ctx):
        from .errors import ApeiError
        try:
            return super().invoke(ctx)
        except ApeiError as e:
            if os.environ.get("APEITOOL_DEBUG"):
                raise
            _fail(e.one_line())
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except BrokenPipeError:
            sys.exit(0)
        except Exception as e:  # a bug: still one line, the traceback on request
            if os.environ.get("APEITOOL_DEBUG"):
                raise
            _fail(f"internal error: {type(e).__name__}: {e} (set APEITOOL_DEBUG=1 for a traceback, "
                  f"and please report it)", 3)


@click.group(name="apeitool", cls=ApeiGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="apeitool")
def main():
    """Decode, build, validate and diff ACPI APEI tables and UEFI CPER records.

    \b
    Examples:
      apeitool build hest -o hest.aml          # the built-in QEMU-virt-like example
      apeitool decode hest.aml                 # a tree with names and offsets
      apeitool decode --format iasl hest.aml   # the lines `iasl -d` prints
      sudo apeitool decode /sys/firmware/acpi/tables/HEST
    """


def _split_kind(args):
    """`decode [KIND] FILE...`: a first argument naming a kind (and not an existing file) is the kind."""
    args = list(args)
    if args and args[0].lower() in TABLE_KINDS and not os.path.exists(args[0]):
        kind = args.pop(0).lower()
        if not args:
            raise click.UsageError(f"decode {kind}: missing FILE")
        return kind, args
    return None, args


@main.command()
@click.argument("args", nargs=-1, required=True, metavar="[KIND] FILE...")
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text: a tree with names; json/yaml: the model (a valid build spec); "
                   "iasl: the field lines of `iasl -d`.")
@click.option("--table", metavar="SIG", help="Pick tables with this signature out of an acpidump.")
@click.option("-o", "--output", default="-", metavar="FILE", show_default=True,
              help="Write here instead of stdout (atomically: never a partial file).")
@click.option("--color/--no-color", default=None, help="Colour the text tree (default: when a terminal).")
@click.option("-q", "--quiet", is_flag=True, help="Do not print decode warnings.")
def decode(args, fmt, table, output, color, quiet):
    """Decode ACPI tables: raw files, acpidump text, hex dumps, sysfs, '-' for stdin.

    KIND (hest) is optional: the input is recognised by its signature. A whole
    acpidump decodes every supported table in it; --table HEST picks one.
    Problems the decoder can work around (bad checksum, a count that disagrees
    with the structures present) are warnings on stderr; unusable input is a
    one-line error naming the file, byte offset and field, with exit code 2.

    \b
    Examples:
      apeitool decode hest.aml
      apeitool decode hest /sys/firmware/acpi/tables/HEST
      apeitool decode --table HEST acpidump.txt
      apeitool decode --format json hest.aml > hest.json   # edit, then: build hest hest.json
      apeitool decode --format iasl hest.aml | diff - hest.dsl
      xxd hest.aml | apeitool decode -
    """
    import apeitool
    from .errors import InputError
    kind, files = _split_kind(args)
    if kind and table and table.upper() != TABLE_KINDS[kind]:
        raise click.UsageError(f"--table {table} contradicts kind {kind}")
    want = table or (TABLE_KINDS[kind] if kind else None)
    if files.count("-") > 1:
        raise click.UsageError("stdin ('-') can be read only once")
    results = []
    for path in files:
        decoded = apeitool.decode(path, table=want)
        if kind:
            for d in decoded:
                if d.kind != kind:
                    raise InputError(f"is a {d.kind.upper()} table, not {kind.upper()}", source=d.label)
        results.extend(decoded)
    if not quiet:
        for d in results:
            for w in d.warnings:
                click.echo(f"apeitool: warning: {w.one_line()}", err=True)
    if color is None:
        color = output == "-" and sys.stdout.isatty()
    write(output, render_decoded(results, fmt, color))


def render_decoded(results, fmt: str, color: bool = False) -> str:
    if fmt in ("json", "yaml"):
        from .render.data import to_json, to_yaml
        models = [d.model for d in results]
        obj = models[0] if len(models) == 1 else models
        return to_json(obj) if fmt == "json" else to_yaml(obj)
    if fmt == "iasl":
        from .render.iasl import render
        return "\n".join(render(d.data, d.label) for d in results)
    from .render.text import render
    return "".join(render(d.model, d.label, d.warnings, color) for d in results)


def write(output: str, data):
    from .fileio import write_output
    write_output(output, data)


@main.group()
def build():
    """Build tables from YAML/JSON specs (decode's json/yaml output is a valid spec).

    \b
    Examples:
      apeitool build hest -o hest.aml                # built-in QEMU-virt HEST
      apeitool build hest my-hest.yaml -o hest.aml
    """


def _build_command(kind: str, has_example: bool):
    """One `build KIND` command per table kind; they differ only in words."""
    sig = TABLE_KINDS[kind]
    spec_arg = "[SPEC]" if has_example else "SPEC"
    example = ("\n\n    Without SPEC, builds the built-in example: the HEST of QEMU's arm64 virt\n"
               "    machine (two GHESv2 sources, notified by SEA and GPIO-Signal)." if has_example else "")
    article = "an" if sig[0] in "AEIOU" else "a"
    doc = f"""Build {article} {sig} from {spec_arg} (YAML or JSON; '-' for stdin).{example}

    Table Length, Checksum and the entry/source counts are derived when the spec
    omits them and kept as given when present (to reproduce broken firmware byte
    for byte). decode -f json/yaml output is a valid spec.

    \b
    Examples:
      apeitool build {kind} {'' if has_example else 'spec.yaml '}-o {kind}.aml
      apeitool build {kind} spec.yaml -f iasl -o {kind}.asl && iasl {kind}.asl
      apeitool decode -f json fw-{kind}.aml | apeitool build {kind} - -o copy.aml
    """

    @click.argument("spec", required=not has_example, metavar=spec_arg)
    @click.option("-o", "--output", default="-", metavar="FILE", show_default=True,
                  help="Output file ('-' for stdout). Written atomically.")
    @click.option("-f", "--format", "fmt", type=click.Choice(["binary", "hex", "iasl", "json", "yaml"]),
                  default="binary", show_default=True,
                  help="binary: the table; hex: a hex dump; iasl: iasl source (compiles with iasl); "
                       "json/yaml: the spec with every derived field filled in.")
    def command(spec, output, fmt):
        _build_table(kind, spec, output, fmt)

    build.command(kind, help=doc)(command)


for _kind in TABLE_KINDS:
    _build_command(_kind, has_example=_kind == "hest")


def _build_table(kind: str, spec_path, output: str, fmt: str):
    import apeitool
    from .errors import ApeiError
    from .specs import load_spec, parse_spec_text, single_table_spec
    if spec_path is None:
        from importlib import resources
        label = f"<built-in {kind} example>"
        text = resources.files("apeitool").joinpath(f"data/example-{kind}.yaml").read_text()
        spec = parse_spec_text(text, label)
    else:
        label = "<stdin>" if spec_path == "-" else spec_path
        spec = load_spec(spec_path)
    spec = single_table_spec(spec, label)
    try:
        raw = apeitool.build(spec, kind)
    except ApeiError as e:
        raise e.with_source(label)
    if fmt == "binary":
        if output == "-" and sys.stdout.isatty():
            raise click.UsageError("refusing to write a binary table to a terminal: "
                                   "use -o FILE, a pipe, or --format hex")
        write(output, raw)
        return
    if fmt == "hex":
        from .render.iasl import hexdump
        write(output, hexdump(raw).split("\n", 2)[2])
        return
    decoded = apeitool.decode_bytes(raw, label)
    write(output, render_decoded(decoded, fmt))


if __name__ == "__main__":  # pragma: no cover
    main()
