"""The `apeitool` command line: thin click commands over the library API.

Exit codes: 0 success (warnings go to stderr), 2 unusable input or spec, 3 internal error.
Every failure is one line on stderr; APEITOOL_DEBUG=1 adds the Python traceback.
"""
from __future__ import annotations

import io
import os
import sys

import click

from . import __version__

# decode/build kinds -> ACPI signature; cper/estatus are CPER documents
TABLE_KINDS = {"hest": "HEST", "bert": "BERT", "einj": "EINJ", "erst": "ERST"}
CPER_KINDS = ("cper", "estatus")
FORMATS = ["text", "json", "yaml", "jsonl", "iasl", "kernel", "libcper", "parquet"]


def kernel_version_option(what: str):
    """--kernel-version, the same on every command that prints what Linux prints."""
    from .kernel_versions import NAMES

    def check(ctx, param, value):
        from .errors import InputError
        from .kernel_versions import KernelVersion
        if value is None:
            return None
        try:
            return KernelVersion(value)
        except InputError as e:
            raise click.BadParameter(e.message if hasattr(e, "message") else str(e)) from None
    return click.option("--kernel-version", "kernel_version", metavar="VERSION", callback=check,
                        help=f"{what} as this Linux prints them: {', '.join(NAMES)} (Debian's builds), "
                             f"or any X.Y[.Z] (default: latest). The differences: man apeitool-decode, "
                             f"KERNEL VERSIONS.")


def _warning(line: str) -> None:
    click.echo(f"apeitool: warning: {line}", err=True)


def _warner(quiet: bool, label: str = ""):
    """What prints a decode warning (prefixed with `label`), or None under --quiet."""
    if quiet:
        return None
    return (lambda m: _warning(f"{label}: {m}")) if label else _warning


def _fail(message: str, code: int = 2):
    click.echo(f"apeitool: error: {message}", err=True)
    sys.exit(code)


class ApeiGroup(click.Group):
    """Turns library errors into one-line messages and exit code 2, anything else into exit 3.
    Commands that live in their own package (vm) are imported only when they run or are listed."""

    LAZY = {"vm": ("apeitool.vm.cli", "vm_group"), "db": ("apeitool.fleet.cli", "db_group")}

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.LAZY))

    def get_command(self, ctx, name):
        if name in self.LAZY and name not in self.commands:
            import importlib
            module, attr = self.LAZY[name]
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)

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
    """`decode [KIND] FILE...`: a first argument that is a kind word is the kind when files follow
    it, even if a file of that name exists (write ./hest for such a file); a kind word alone is a
    file when one of that name exists, else a usage error."""
    args = list(args)
    if args and args[0].lower() in (*TABLE_KINDS, *CPER_KINDS):
        if len(args) > 1:
            return args.pop(0).lower(), args
        if not os.path.exists(args[0]):
            raise click.UsageError(f"decode {args[0].lower()}: missing FILE")
    return None, args


def _error(line: str) -> None:
    click.echo(f"apeitool: error: {line}", err=True)


class _FileErrors:
    """on_error for commands that go on past a bad file: prints its line; exit status 2 at the end."""

    def __init__(self):
        self.count = 0

    def __call__(self, line: str) -> None:
        _error(line)
        self.count += 1

    def exit_if_any(self) -> None:
        if self.count:
            sys.exit(2)


def each_input(files, load):
    """load(path) for every input, in order; with several inputs a bad one is reported (one line)
    and the others still go on, as cat(1) does. Returns (results, number that failed)."""
    from .errors import ApeiError
    results, failed = [], 0
    for path in files:
        try:
            results.append(load(path))
        except ApeiError as e:
            if len(files) == 1 or os.environ.get("APEITOOL_DEBUG"):
                raise
            _error(e.one_line())
            failed += 1
    return results, failed


@main.command()
@click.argument("args", nargs=-1, required=True, metavar="[KIND] FILE...")
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text: a tree with names; json/yaml: the model (a valid build spec); jsonl: one "
                   "compact model per line (per record/block for CPER; streamed, flat memory); iasl: the "
                   "field lines of `iasl -d` (tables); kernel: the lines Linux prints (CPER); libcper: "
                   "openbmc/libcper's CPER-JSON; parquet: the db tables as a Parquet dataset in the folder -o DIR "
                   "(pip install 'apeitool[fleet]').")
@click.option("--partition-by", type=click.Choice(["host", "day", "none"]), default="host", show_default=True,
              help="--format parquet: one folder per host or per day under each table.")
@click.option("--host", metavar="NAME", help="--format parquet: the host the records come from.")
@click.option("--host-from-dir", is_flag=True, help="--format parquet: each file's host is its folder's name.")
@click.option("--table", metavar="SIG", help="Pick tables with this signature out of an acpidump.")
@click.option("--as", "form", type=click.Choice(["record", "section", "estatus"]),
              help="Say what CPER input is: CPER records, descriptor+body sections (libcper's "
                   "single-section files) or ACPI error status blocks. Default: detected.")
@click.option("--arch", type=click.Choice(["arm64", "x86_64"]), default="arm64", show_default=True,
              help="--format kernel: which kernel build (ARM sections decode on arm64, IA32/X64 "
                   "on x86_64; the other prints as unknown).")
@click.option("--source-id", type=int, default=0, show_default=True, metavar="N",
              help="--format kernel: the GHES source id printed for status blocks.")
@kernel_version_option("--format kernel: the lines")
@click.option("--region", metavar="FILE",
              help="With a BERT: the boot error region (e.g. /sys/firmware/acpi/tables/data/BERT), "
                   "walked as Linux's bert.c does; --format kernel prints what that kernel logs.")
@click.option("-o", "--output", default="-", metavar="FILE", show_default=True,
              help="Write here instead of stdout (atomically: never a partial file).")
@click.option("--color/--no-color", default=None, help="Colour the text tree (default: when a terminal).")
@click.option("-q", "--quiet", is_flag=True, help="Do not print decode warnings.")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=1, show_default=True, metavar="N",
              help="--format jsonl, json, libcper: decode on N processes (windows of records, output in "
                   "input order; the workers' output passes through files in $TMPDIR).")
def decode(args, fmt, partition_by, host, host_from_dir, table, form, arch, source_id, kernel_version, region,
           output, color, quiet, jobs):
    """Decode ACPI tables and CPER: raw files, acpidump text, hex dumps, sysfs, '-' for stdin.

    KIND (hest, bert, einj, erst, cper, estatus) is optional: the input is
    recognised by its signature or shape. A kind word followed by files is the
    kind even if a file of that name exists (write ./hest for such a file). CPER input is a file of CPER records,
    of ACPI Generic Error Status Blocks (a GHES block, a BERT region) or of
    descriptor+body sections; a section whose body does not fit its layout is
    reported and the others still decode. A whole
    acpidump decodes every supported table in it; --table HEST picks one.
    Problems the decoder can work around (bad checksum, a count that disagrees
    with the structures present, zero bytes between HEST structures) are
    warnings on stderr; unusable input is a one-line error naming the file,
    byte offset and field, with exit code 2. With several inputs a bad one is
    reported and the others are still decoded (exit code 2 at the end).

    \b
    Examples:
      apeitool decode hest.aml
      apeitool decode hest /sys/firmware/acpi/tables/HEST
      apeitool decode --table HEST acpidump.txt
      apeitool decode --format json hest.aml > hest.json   # edit, then: build hest hest.json
      apeitool decode --format iasl hest.aml | diff - hest.dsl
      xxd hest.aml | apeitool decode -
      apeitool decode cper --format kernel --arch x86_64 mce.cper
      apeitool decode estatus --format kernel ghes-block.bin
      apeitool decode cper -f kernel --kernel-version 5.10 --arch x86_64 mce.cper
      apeitool decode --format libcper record.cper      # like cper-convert to-json
      apeitool decode --as section --format libcper section.cper
      apeitool decode -f jsonl --jobs 2 fleet/*.cper -o records.jsonl   # millions of records
      apeitool decode -f parquet --host-from-dir fleet/*/*.cper -o fleet-parquet/
      sudo apeitool decode bert /sys/firmware/acpi/tables/BERT \\
          --region /sys/firmware/acpi/tables/data/BERT --format kernel
    """
    import apeitool
    from .errors import InputError
    kind, files = _split_kind(args)
    if kind in CPER_KINDS and table:
        raise click.UsageError(f"--table picks ACPI tables; it cannot go with kind {kind}")
    if kind in TABLE_KINDS and form:
        raise click.UsageError(f"--as describes CPER input; it cannot go with kind {kind}")
    if kind in TABLE_KINDS and table and table.upper() != TABLE_KINDS[kind]:
        raise click.UsageError(f"--table {table} contradicts kind {kind}")
    if kind == "estatus" and form not in (None, "estatus"):
        raise click.UsageError(f"--as {form} contradicts kind estatus")
    want = table or (TABLE_KINDS[kind] if kind in TABLE_KINDS else None)
    if files.count("-") > 1:
        raise click.UsageError("stdin ('-') can be read only once")
    if jobs > 1 and fmt not in ("jsonl", "json", "libcper"):
        raise click.UsageError("--jobs goes with --format jsonl, json or libcper")
    if fmt == "parquet":
        return _decode_parquet(files, output, partition_by, host, host_from_dir, form, quiet, jobs, region, want)
    if fmt == "jsonl":
        if region is not None:
            raise click.UsageError("--region goes with --format kernel, json, yaml or text")
        from .bulk import decode_paths
        from .fileio import open_output

        warn = _warner(quiet) or (lambda line: None)
        bad_file = _FileErrors()
        with open_output(output) as out:
            decode_paths(files, out, warn, jobs, want, form, kind, on_error=bad_file if len(files) > 1 else None)
        bad_file.exit_if_any()
        return

    if fmt in STREAMED_FORMATS and region is None and not want:
        forms = _stream_forms(files, form, kind)
        if forms is not None:
            if color is None:
                color = output == "-" and sys.stdout.isatty()
            failed = _decode_streamed(files, forms, fmt, output, color, arch, source_id, kernel_version, quiet,
                                      jobs)
            if failed:
                sys.exit(2)
            return

    def load(path):
        decoded = apeitool.decode(path, table=want, kind=kind if kind in CPER_KINDS else None,
                                  form=form)
        if kind:
            for d in decoded:
                if d.kind != kind and not (kind == "cper" and d.kind == "estatus"):
                    raise InputError(f"is {_kind_words(d.kind)}, not {_kind_words(kind)}",
                                     source=d.label)
        return decoded
    loaded, failed = each_input(files, load)
    results = [d for decoded in loaded for d in decoded]
    if failed and not results:
        sys.exit(2)
    if region is not None:
        _decode_region(results, region, fmt, arch, output, color, quiet, kernel_version)
        return
    _check_format(results, fmt)
    if not quiet:
        for d in results:
            for w in d.warnings:
                click.echo(f"apeitool: warning: {w.one_line()}", err=True)
    if color is None:
        color = output == "-" and sys.stdout.isatty()
    write(output, render_decoded(results, fmt, color, arch, source_id, kernel_version, quiet))
    if failed:
        sys.exit(2)


STREAMED_FORMATS = ("json", "yaml", "kernel", "libcper", "text")


def _stream_forms(files, form, kind):
    """The CPER form (record or estatus) of every input when all of them can be read in windows,
    else None."""
    from .bulk import window_form
    forms = [window_form(path, form, kind) for path in files]
    return None if None in forms else forms


class _Abandon(Exception):
    """An input failed after part of its output was written: the output file is not kept."""


def _decode_streamed(files, forms, fmt, output, color, arch, source_id, kernel_version, quiet, jobs=1) -> int:
    """decode of CPER files item by item in flat memory (render/streamed.py). A file that fails
    before any of its items is reported and skipped, as with whole files; one that fails part way
    ends the run (its output file, if any, is not kept). Returns the number of failed inputs."""
    from .bulk import worker_pool
    from .errors import ApeiError
    from .fileio import open_output
    from .inputs import open_input
    from .render.streamed import make_writer, stream_file, stream_file_parallel

    on_line = _warner(quiet) or (lambda line: None)

    def warner(label):
        return _warner(quiet, label)
    failed = 0
    try:
        with open_output(output) as out, worker_pool(jobs) as (pool, spool):
            writer = make_writer(fmt, out, len(files), color, arch, source_id, kernel_version, warner)
            for path, form in zip(files, forms):
                begun = writer.inputs
                label = "<stdin>" if path == "-" else path
                try:
                    with open_input(path) as f:
                        if pool is not None:
                            stream_file_parallel(writer, f, label, form, on_line, pool, jobs, spool)
                        else:
                            stream_file(writer, f, label, form, on_line)
                except ApeiError as e:
                    if writer.inputs != begun:      # part of this input is out already
                        _error(e.one_line())
                        raise _Abandon() from None
                    if len(files) == 1 or os.environ.get("APEITOOL_DEBUG"):
                        raise
                    _error(e.one_line())
                    failed += 1
            if writer.inputs:
                writer.close()
    except _Abandon:
        return failed + 1
    return failed


def _decode_region(results, region_path, fmt, arch, output, color, quiet, kernel_version=None):
    """BERT + its boot error region: the region's status blocks as bert.c walks them."""
    from .cper.bert import walk_region
    from .inputs import read_bytes
    berts = [d for d in results if d.kind == "bert"]
    if len(berts) != 1 or len(results) != 1:
        raise click.UsageError("--region goes with exactly one BERT table")
    bert = berts[0]
    length = bert.model["boot_error_region_length"]
    data = read_bytes(region_path)
    if len(data) < length and not quiet:
        click.echo(f"apeitool: warning: {region_path}: the region file has {len(data)} bytes, the "
                   f"BERT says {length}", err=True)
    lines, blocks = walk_region(data, length, arch, kernel_version)
    if fmt == "kernel":
        write(output, "\n".join(lines) + "\n")
        return
    doc = {"form": "estatus", "blocks": blocks}
    if fmt in ("json", "yaml"):
        from .render.data import to_json, to_yaml
        obj = {"table": bert.model, "region": doc}
        write(output, to_json(obj) if fmt == "json" else to_yaml(obj))
    elif fmt == "text":
        from .render.text import render, render_cper
        write(output, render(bert.model, bert.label, bert.warnings, color)
              + render_cper(doc, region_path, (), color))
    else:
        raise click.UsageError(f"--format {fmt} does not apply to a boot error region "
                               f"(use kernel, json, yaml or text)")


def _kind_words(kind: str) -> str:
    if kind == "cper":
        return "CPER records/sections"
    if kind == "estatus":
        return "error status blocks"
    return f"a {kind.upper()} table"


def _check_format(results, fmt: str):
    cper = [d for d in results if d.kind in CPER_KINDS]
    tables = [d for d in results if d.kind not in CPER_KINDS]
    if fmt == "iasl" and cper:
        raise click.UsageError(f"--format iasl is for ACPI tables; {cper[0].label} is CPER "
                               f"(try --format kernel, libcper or json)")
    if fmt in ("kernel", "libcper") and tables:
        raise click.UsageError(f"--format {fmt} is for CPER; {tables[0].label} is an ACPI table "
                               f"(try --format text, iasl or json)")
    if fmt == "libcper":
        for d in cper:
            if d.model["form"] == "estatus":
                raise click.UsageError(f"{d.label}: libcper has no format for error status blocks "
                                       f"(use --format json or kernel)")


def render_decoded(results, fmt: str, color: bool = False, arch: str = "arm64",
                   source_id: int = 0, kernel_version=None, quiet: bool = True) -> str:
    if fmt == "kernel":
        from .render.kernel import document

        return "".join(document(d.model, arch, source_id, kernel_version, _warner(quiet, d.label))
                       for d in results)
    if fmt == "libcper":
        from .render import libcper
        from .render.data import to_json
        objs = [libcper.document(d.model) for d in results]
        return to_json(objs[0] if len(objs) == 1 else objs)
    if fmt in ("json", "yaml"):
        from .render.data import to_json, to_yaml
        models = [d.model for d in results]
        obj = models[0] if len(models) == 1 else models
        return to_json(obj) if fmt == "json" else to_yaml(obj)
    if fmt == "iasl":
        from .render.iasl import render
        return "\n".join(render(d.data, d.label) for d in results)
    from .render.text import render, render_cper
    return "".join(render_cper(d.model, d.label, d.warnings, color, d.data) if d.kind in CPER_KINDS
                   else render(d.model, d.label, d.warnings, color) for d in results)


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
    for byte); a kept value that contradicts the structures (say, after deleting
    a source from decoded JSON) is a warning, and --fix-lengths derives all of
    them again. decode -f json/yaml output is a valid spec.

    \b
    Examples:
      apeitool build {kind} {'' if has_example else 'spec.yaml '}-o {kind}.aml
      apeitool build {kind} spec.yaml -f iasl -o {kind}.asl && iasl {kind}.asl
      apeitool decode -f json fw-{kind}.aml | apeitool build {kind} - -o copy.aml
      apeitool build {kind} --fix-lengths edited.json -o fixed.aml
    """

    @click.argument("spec", required=not has_example, metavar=spec_arg)
    @click.option("--fix-lengths", is_flag=True,
                  help="Derive Table Length, Checksum and the entry/source count from the structures, "
                       "ignoring the values the spec gives.")
    @click.option("-q", "--quiet", is_flag=True, help="Do not print warnings about kept values.")
    @click.option("-o", "--output", default="-", metavar="FILE", show_default=True,
                  help="Output file ('-' for stdout). Written atomically.")
    @click.option("-f", "--format", "fmt", type=click.Choice(["binary", "hex", "iasl", "json", "yaml"]),
                  default="binary", show_default=True,
                  help="binary: the table; hex: a hex dump; iasl: iasl source (compiles with iasl); "
                       "json/yaml: the spec with every derived field filled in.")
    def command(spec, output, fmt, fix_lengths, quiet):
        _build_table(kind, spec, output, fmt, fix_lengths, quiet)

    build.command(kind, help=doc)(command)


for _kind in TABLE_KINDS:
    _build_command(_kind, has_example=_kind == "hest")


def _build_table(kind: str, spec_path, output: str, fmt: str, fix_lengths: bool = False, quiet: bool = False):
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
    _emit_built(spec, kind, label, output, fmt, fix_lengths, quiet)


def _emit_built(spec, kind: str, label: str, output: str, fmt: str, fix_lengths: bool = False,
                quiet: bool = False):
    """Build and write: the bytes, a hex dump, or the decoded result in a text format."""
    import apeitool
    from .errors import ApeiError
    warnings = []
    try:
        raw = apeitool.build(spec, kind, fix_lengths=fix_lengths, warnings=warnings) \
            if kind not in CPER_KINDS else apeitool.build(spec, kind)
    except ApeiError as e:
        raise e.with_source(label)
    if not quiet:
        for w in warnings:
            w.source = label
            click.echo(f"apeitool: warning: {w.one_line()}", err=True)
    if fmt == "binary":
        if output == "-" and sys.stdout.isatty():
            raise click.UsageError("refusing to write binary to a terminal: "
                                   "use -o FILE, a pipe, or --format hex")
        write(output, raw)
    elif fmt == "hex":
        from .render.iasl import hexdump
        write(output, hexdump(raw).split("\n", 2)[2])
    else:
        cper_kind = kind if kind in CPER_KINDS else None
        write(output, render_decoded(apeitool.decode_bytes(raw, label, kind=cper_kind), fmt))


def memory_error_spec(pa: int, severity: str, estatus: bool) -> dict:
    """The record QEMU writes for a guest SIGBUS BUS_MCEERR_AR (hw/acpi/ghes.c): one memory error
    section with only the physical address (and error type 'unknown') valid."""
    body = {"validation_bits": 0x4002, "physical_address": pa, "memory_error_type": 0}
    if estatus:
        corrected = severity in ("corrected", "informational")
        return {"form": "estatus", "blocks": [{
            "block_status": {"correctable": True} if corrected else {"uncorrectable": True},
            "error_severity": severity,
            "entries": [{"section_type": "platform_memory", "error_severity": severity,
                         "revision": 0x300, "body": body}]}]}
    return {"form": "record", "records": [{
        "header": {"error_severity": severity},
        "sections": [{"descriptor": {"section_type": "platform_memory", "section_severity": severity,
                                     "flags": {"primary": True}}, "body": body}]}]}


def _build_cper_command(kind: str):
    what = "CPER records (or descriptor+body sections)" if kind == "cper" else \
        "ACPI Generic Error Status Blocks"
    doc = f"""Build {what} from SPEC (YAML or JSON; '-' for stdin).

    decode -f json/yaml output is a valid spec. Lengths, offsets, counts,
    validation bits (from the fields a section gives) and the record severity
    are derived when omitted and kept when given.

    --memory-error builds, without a spec, the memory error QEMU writes into a
    guest's error status block after a SIGBUS BUS_MCEERR_AR.

    \\b
    Examples:
      apeitool build {kind} spec.yaml -o out.bin
      apeitool build {kind} --memory-error --pa 0x40fa6000 --severity recoverable -o mem.bin
      apeitool build cper --memory-error --pa 0x40fa6000 --estatus | apeitool decode -f kernel -
      apeitool decode -f json rec.cper | apeitool build cper - -o copy.cper
    """

    @click.argument("spec", required=False, metavar="[SPEC]")
    @click.option("-o", "--output", default="-", metavar="FILE", show_default=True,
                  help="Output file ('-' for stdout). Written atomically.")
    @click.option("-f", "--format", "fmt", type=click.Choice(["binary", "hex", "json", "yaml"]),
                  default="binary", show_default=True,
                  help="binary: the bytes; hex: a hex dump; json/yaml: the decoded result.")
    @click.option("--memory-error", is_flag=True, help="Build a memory error instead of reading SPEC.")
    @click.option("--pa", metavar="ADDR", help="--memory-error: the physical address (e.g. 0x40fa6000).")
    @click.option("--severity", type=click.Choice(["recoverable", "fatal", "corrected", "informational"]),
                  default="recoverable", show_default=True, help="--memory-error: the severity.")
    @click.option("--estatus", "as_estatus", is_flag=True,
                  help="--memory-error: write an error status block (what a GHES source holds), "
                       "not a CPER record." if kind == "cper" else "(always on for build estatus)")
    def command(spec, output, fmt, memory_error, pa, severity, as_estatus):
        _build_cper(kind, spec, output, fmt, memory_error, pa, severity, as_estatus or kind == "estatus")

    build.command(kind, help=doc)(command)


for _kind in CPER_KINDS:
    _build_cper_command(_kind)


def _build_cper(kind, spec_path, output, fmt, memory_error, pa, severity, as_estatus):
    from .schemas.values import parse_int
    from .specs import load_spec
    if memory_error:
        if spec_path:
            raise click.UsageError("give either SPEC or --memory-error, not both")
        if pa is None:
            raise click.UsageError("--memory-error needs --pa ADDR")
        try:
            address = parse_int(pa, "--pa")
        except ValueError as e:
            raise click.UsageError(str(e))
        if not 0 <= address < 1 << 64:
            raise click.UsageError("--pa must fit in 64 bits")
        spec, label = memory_error_spec(address, severity, as_estatus), "<--memory-error>"
    else:
        if spec_path is None:
            raise click.UsageError("missing SPEC (or use --memory-error)")
        if pa is not None:
            raise click.UsageError("--pa goes with --memory-error")
        label = "<stdin>" if spec_path == "-" else spec_path
        spec = load_spec(spec_path)
    _emit_built(spec, "estatus" if as_estatus else "cper", label, output, fmt)


@main.command("validate")
@click.argument("files", nargs=-1, metavar="FILE...")
@click.option("--target", type=click.Choice(["spec", "linux-arm64", "linux-x86_64"]),
              help="Rule profile: spec (ACPI/UEFI, fwts, firmware bugs seen in real tables) or what one "
                   "kernel does with the input. Default: spec and the Linux rules for the kernel(s) the "
                   "table is written for (SEA/SDEI: arm64, NMI/IA-32 sources: x86_64, else both).")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: tables grouped by severity; json: a list of {rule, severity, path, offset, "
                   "message, reference, file}.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default="error",
              show_default=True, help="Exit 1 when a finding at or above this severity is found.")
@click.option("--list-rules", is_flag=True, help="Print every rule with its id, severity, profile, "
                                                 "documentation and reference, and exit.")
@click.option("--table", metavar="SIG", help="Pick tables with this signature out of an acpidump.")
@click.option("--as", "form", type=click.Choice(["record", "section", "estatus"]),
              help="Say what CPER input is (default: detected).")
@click.option("--region", metavar="FILE", help="With a BERT: its boot error region, checked as "
                                               "error status blocks.")
@kernel_version_option("The LINUX.* rules and the quoted kernel lines")
@click.option("-o", "--output", default="-", metavar="FILE", show_default=True,
              help="Write the report here (atomically).")
@click.option("--color/--no-color", default=None, help="Colour the report (default: when a terminal).")
def validate_command(files, target, fmt, fail_on, list_rules, table, form, region, kernel_version, output,
                     color):
    """Check tables, CPER records and error status blocks against the specs, fwts's checks, the
    firmware bugs seen in real tables, and what Linux does with them.

    Each finding has a stable rule id, a severity, the field path, its byte
    offset, a message and a reference (spec section, fwts label or kernel
    function). Exit status: 0 nothing at or above --fail-on, 1 findings at or
    above it, 2 unusable input.

    \b
    Examples:
      apeitool validate /sys/firmware/acpi/tables/HEST
      apeitool validate --target linux-arm64 hest.aml
      apeitool validate --fail-on warning -f json fw/*.aml
      apeitool validate bert.aml --region bert-region.bin
      apeitool validate --kernel-version 5.0 hest.aml   # SDEI GHES were not supported before 5.1
      apeitool validate --list-rules
    """
    from .render import findings as render
    from .validate import fails, load_rules, validate_path
    if list_rules:
        write(output, render.rule_list(list(load_rules().values()), fmt))
        return
    if not files:
        raise click.UsageError("missing FILE (or use --list-rules)")
    if files.count("-") > 1:
        raise click.UsageError("stdin ('-') can be read only once")
    if region and len(files) != 1:
        raise click.UsageError("--region goes with exactly one BERT table")
    loaded, failed = each_input(files, lambda path: validate_path(path, target, table, form, region,
                                                                  kernel_version))
    found = [f for fs in loaded for f in fs]
    if failed and not loaded:
        sys.exit(2)
    if fmt == "json":
        report = render.json_text(found)
    else:
        if color is None:
            color = output == "-" and sys.stdout.isatty()
        labels = ["<stdin>" if p == "-" else p for p in files]
        report = render.text(found, labels, color)
    write(output, report)
    sys.exit(2 if failed else 1 if fails(found, fail_on) else 0)


def _open_stream(path: str, notify, source, interval, progress, packed_only: bool = False):
    """Events from a packed stream, JSON Lines, or a bare CPER file (with --notify), read lazily
    through the same input opening as decode. `packed_only`: what stream unpack accepts."""
    from .errors import InputError
    from .inputs import open_input, read_stream
    from .replay.stream import FILE_MAGIC, notify_number, read_bare, read_jsonl, read_packed
    label = "<stdin>" if path == "-" else path

    def events(stats):
        with open_input(path) as f:
            try:
                head = f.peek(8)[:8] if hasattr(f, "peek") else b""
                reader = io.BufferedReader(progress(f, label)) if progress else f
                if head.startswith(FILE_MAGIC):
                    yield from read_packed(reader, label, stats)
                elif packed_only:
                    raise InputError("not a packed replay stream (file magic APEIRPL\\x01 missing): "
                                     "stream unpack reads what stream pack writes", offset=0, source=label)
                elif head.lstrip()[:1] in (b"{", b"#", b"["):
                    yield from read_jsonl(reader, label, stats)
                else:
                    if notify is None:
                        raise InputError("neither JSON Lines nor a packed stream: a bare CPER file needs "
                                         "--notify TYPE (and --source N) to say how each record arrives",
                                         source=label)
                    yield from read_bare(read_stream(reader, label), label, stats,
                                         notify_number(notify, label), source, interval)
            except OSError as e:
                raise InputError(f"cannot read: {e.strerror or e}", source=label) from None
    return events


class _ProgressReader(io.RawIOBase):
    """A binary file whose reads advance a rich progress bar (stderr, terminals only)."""

    def __init__(self, f, progress, task):
        super().__init__()
        self.f, self.progress, self.task = f, progress, task

    def readable(self):
        return True

    def readinto(self, b):
        n = self.f.readinto(b)
        self.progress.advance(self.task, n or 0)
        return n


def _event_numbers(text: str) -> list:
    """'3,0x10' -> [3, 16] (--sdei-critical)."""
    from .schemas.values import parse_int
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            out.append(parse_int(part, "event"))
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--sdei-critical")
    return out


@main.command("replay")
@click.argument("stream", required=False, metavar="[STREAM]")
@click.option("--hest", "hest_path", metavar="FILE", help="The HEST whose GHES sources the firmware and the "
                                                          "OS use (raw, acpidump, or a YAML/JSON spec).")
@click.option("--example", is_flag=True, help="Run the built-in scenario: QEMU's virt HEST and a burst of "
                                              "memory errors via SEA.")
@click.option("--kernel", "kernel", type=click.Choice(["v5.1", "v5.0"]), default=None, hidden=True,
              help="Older spelling: v5.0 is --kernel-version 5.0, v5.1 the default.")
@click.option("--arch", type=click.Choice(["arm64", "x86_64"]),
              help="Kernel architecture (default: what the HEST's notifications say, else arm64).")
@kernel_version_option("The kernel log's record lines and messages")
@click.option("--panic-timeout", type=int, default=0, show_default=True, metavar="S",
              help="The kernel's panic= setting for fatal records: 0 stays halted (newer kernels say \"but "
                   "panic disabled\"; older ones set 30 s), N reboots after N s, negative at once.")
@click.option("--ram", "ram", multiple=True, metavar="START-END",
              help="The machine's RAM, one range per option (hex or decimal byte addresses, END exclusive): "
                   "memory errors elsewhere are refused as pfn_valid() refuses them. Default: an 8 GiB "
                   "machine (x86_64: 0-0xC0000000 and 0x100000000-0x240000000; arm64: QEMU virt's "
                   "0x40000000-0x240000000).")
@click.option("--sdei-critical", "sdei_critical", metavar="EVENT[,EVENT...]", default="",
              help="SDEI event numbers the firmware gives critical priority (the HEST does not say): their "
                   "handler may interrupt a normal-priority one, never the reverse.")
@click.option("--notify", metavar="TYPE", help="Bare CPER STREAM: the notification each record arrives with "
                                               "(SEA, NMI, SCI, GPIO, SDEI, EXTERNAL, POLLED...).")
@click.option("--source", type=int, metavar="N", help="Bare CPER STREAM: the Source Id records are written to.")
@click.option("--interval", type=float, default=0.0, show_default=True, metavar="S",
              help="Bare CPER STREAM: seconds between records.")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: layout, kernel log, timeline, violations, summary; json: {summary, actions, "
                   "violations, log, ...}.")
@click.option("--keep", type=int, default=10000, show_default=True, metavar="N",
              help="Keep at most N log lines, actions, violations and timeline entries (counts stay exact).")
@click.option("--no-timeline", is_flag=True, help="Leave the timeline out of the text report.")
@click.option("-o", "--output", default="-", metavar="FILE", show_default=True, help="Write the report here.")
@click.option("--color/--no-color", default=None, help="Colour the report (default: when a terminal).")
@click.option("--rasdaemon-db", "rasdaemon_db", metavar="FILE",
              help="Also write the RAS trace events the kernel would emit (mc_event, aer_event, arm_event, "
                   "non_standard_event) into FILE in rasdaemon's own schema: ras-mc-ctl --summary reads it.")
@click.option("--rasdaemon-schema", type=click.Choice(["0.6.8", "0.8"]), default="0.6.8", show_default=True,
              help="--rasdaemon-db: rasdaemon's table layout (0.6.8: Debian 12's; 0.8: the newest).")
@click.option("--ghes-edac/--no-ghes-edac", "ghes_edac", default=None,
              help="--rasdaemon-db: whether the machine has ghes_edac, which turns memory errors into mc_event "
                   "(default: on arm64; on x86 only allow-listed platforms load it, and Debian builds it as a "
                   "module).")
def replay_command(stream, hest_path, example, kernel, arch, kernel_version, panic_timeout, ram, sdei_critical,
                   notify, source, interval, fmt, keep, no_timeline, output, color, rasdaemon_db, rasdaemon_schema,
                   ghes_edac):
    """Replay firmware error events through a model of Linux's GHES handling.

    The firmware side writes each record into its source's error status block
    (memory laid out at the HEST's addresses) and raises notifications; the OS
    side follows ghes.c: the status-block checks, the estatus pool and queue for
    NMI-like notifications (NMI, SEA, SDEI), the estatus cache, the print rate
    limits, block-status clearing, GHESv2 read-ack, memory_failure (AR for
    synchronous SEA, AO otherwise), AER recovery, and panic on fatal records.
    The report gives the kernel log, what the OS did, what it dropped, and where
    the firmware broke the protocol.

    STREAM is JSON Lines ({"at": 0.0, "event": "write", "source": 0, "estatus":
    {...}, "notify": "SEA"}, {"event": "notify", "type": "NMI", "cpu": 1},
    {"event": "tick"}), a packed stream (apeitool stream pack), or a bare file
    of CPER records or status blocks with --notify and --source.

    \b
    Examples:
      apeitool replay --example
      apeitool replay --hest hest.aml events.jsonl
      apeitool replay --hest hest.aml --kernel-version 6.1 events.jsonl
      apeitool replay --hest hest.aml --kernel-version 4.19 events.jsonl   # the old NMI-only queue
      apeitool replay --hest hest.aml --ram 0x40000000-0x80000000 events.jsonl   # a 1 GiB arm64 machine
      apeitool replay --hest hest.aml --notify SEA --source 0 records.cper
      apeitool replay --hest hest.aml -f json capture.apeirpl | jq .summary
      apeitool replay --example --rasdaemon-db ras-mc_event.db    # then: apeitool db summary --db ...
    """
    from .errors import InputError
    from .replay import replay
    from .replay.stream import StreamStats
    if example:
        if stream or hest_path:
            raise click.UsageError("--example runs the built-in scenario: give no STREAM or --hest")
        from .replay.example import example_events, example_hest
        hest, events, stats, title_in = example_hest(), example_events(), None, "<built-in example>"
        progress = None
    else:
        if not stream or not hest_path:
            raise click.UsageError("give --hest FILE and a STREAM (or --example)")
        hest = _load_hest(hest_path)
        stats = StreamStats()
        if sys.stderr.isatty() and stream != "-":
            from rich.progress import Progress
            size = os.path.getsize(stream) if os.path.isfile(stream) else None
            progress = Progress(transient=True)
            task = progress.add_task("replaying", total=size)
            progress.start()
            events = _open_stream(stream, notify, source, interval,
                                  lambda f, label: _ProgressReader(f, progress, task))(stats)
        else:
            progress = None
            events = _open_stream(stream, notify, source, interval, None)(stats)
        title_in = stream
    try:
        if kernel == "v5.0" and kernel_version is None:
            from .kernel_versions import KernelVersion
            kernel_version = KernelVersion("5.0")
        tracer = None
        if rasdaemon_db:
            from .fleet.rasdaemon import Writer, has_ghes_edac
            from .replay import default_arch
            if ghes_edac is None:
                ghes_edac = has_ghes_edac(arch or default_arch(hest))
            tracer = Writer(rasdaemon_db, rasdaemon_schema, ghes_edac=ghes_edac)
        result = replay(hest, events, kernel or "v5.1", arch, keep, stats, "" if example else title_in,
                        kernel_version, _ram_ranges(ram), panic_timeout, _event_numbers(sdei_critical), tracer)
        if tracer is not None:
            tracer.write()
            result["rasdaemon"] = {"path": rasdaemon_db, "schema": rasdaemon_schema, "events": tracer.counts()}
    except ValueError as e:
        raise InputError(str(e))
    finally:
        if progress is not None:
            progress.stop()
    if fmt == "json":
        from .render.data import to_json
        report = to_json(result)
    else:
        from .render.replay import text
        if color is None:
            color = output == "-" and sys.stdout.isatty()
        from .replay import default_arch
        arch_shown = arch or default_arch(hest)
        shown = kernel_version.text if kernel_version is not None else "latest"
        report = text(result, f"replay of {title_in} (kernel {shown}, {arch_shown})", color, not no_timeline)
    write(output, report)
    if stats is not None and stats.lossy:   # the report covers the events read; say that some were not
        _stream_problems(stats)
        sys.exit(1)


def _decode_parquet(files, output, partition_by, host, host_from_dir, form, quiet, jobs, region, want):
    if output == "-":
        raise click.UsageError("--format parquet writes a folder: give -o DIR")
    if jobs > 1 or region is not None or want:
        raise click.UsageError("--format parquet takes CPER files (no --jobs, --region or table kinds)")
    from .fleet import need
    from .fleet.cli import expand
    need("pyarrow")
    from .fleet.parquet import write_dataset
    bad_file = _FileErrors()
    n = write_dataset(list(expand(files)), output, host, host_from_dir, partition_by, form,
                      _warner(quiet) or (lambda s: None), bad_file)
    if not quiet:
        click.echo(f"{n} items -> {output}", err=True)
    bad_file.exit_if_any()


def _ram_ranges(texts):
    """--ram START-END options as [(start, end)], None when none are given."""
    if not texts:
        return None
    out = []
    for text in texts:
        parts = text.split("-")
        try:
            start, end = (int(p.strip(), 0) for p in parts) if len(parts) == 2 else (None, None)
        except ValueError:
            start = end = None
        if start is None or not 0 <= start < end:
            raise click.BadParameter(f"{text!r}: give START-END byte addresses, START below END "
                                     f"(e.g. 0x40000000-0x80000000)", param_hint="--ram")
        out.append((start, end))
    return out


def _load_hest(path: str) -> dict:
    """A HEST model from a table file or a spec."""
    import apeitool
    from .diff import _looks_like_spec
    from .errors import InputError
    from .inputs import read_bytes
    data = read_bytes(path)
    if _looks_like_spec(data):
        from .specs import parse_spec_text
        spec = parse_spec_text(data.decode("utf-8", "replace"), path)
        data = apeitool.build(spec, "hest")
    tables = [d for d in apeitool.decode_bytes(data, path, "HEST") if d.kind == "hest"]
    if len(tables) != 1:
        raise InputError("holds no HEST", source=path)
    return tables[0].model


@main.group("stream")
def stream_group():
    """Convert replay streams: JSON Lines (or bare CPER) to the packed binary form and back.

    \b
    Examples:
      apeitool stream pack events.jsonl events.apeirpl
      apeitool stream pack --notify SEA --source 0 records.cper records.apeirpl
      apeitool stream unpack events.apeirpl -o events.jsonl
    """


@stream_group.command("pack")
@click.argument("src", metavar="IN")
@click.argument("dst", metavar="OUT")
@click.option("--notify", metavar="TYPE", help="Bare CPER input: the notification of each record.")
@click.option("--source", type=int, metavar="N", help="Bare CPER input: the Source Id records go to.")
@click.option("--interval", type=float, default=0.0, show_default=True, metavar="S",
              help="Bare CPER input: seconds between records.")
def stream_pack(src, dst, notify, source, interval):
    """Pack JSON Lines events (or a bare CPER file) into CRC-checked binary frames, atomically."""
    from .fileio import open_output
    from .replay.stream import StreamStats, pack_events
    stats = StreamStats()
    events = _open_stream(src, notify, source, interval, None)(stats)
    with open_output(dst) as out:
        n = pack_events(events, out)
    _stream_problems(stats)
    click.echo(f"{dst}: {n} frames", err=True)
    if stats.lossy:
        sys.exit(1)


@stream_group.command("unpack")
@click.argument("src", metavar="IN")
@click.option("-o", "--output", default="-", metavar="FILE", show_default=True, help="Write JSON Lines here.")
def stream_unpack(src, output):
    """Unpack a packed stream to JSON Lines (writes carry their block as hex), streaming and
    atomically; corrupted frames are reported on stderr and counted (exit 1 when any)."""
    import json as _json
    from .fileio import open_output
    from .replay.stream import StreamStats, event_json
    stats = StreamStats()
    encode = _json.JSONEncoder().encode
    with open_output(output) as out:
        for ev in _open_stream(src, None, None, 0.0, None, packed_only=True)(stats):
            out.write((encode(event_json(ev)) + "\n").encode())
    _stream_problems(stats)
    click.echo(f"{src}: {stats.total} frames, {stats.total - stats.rejected} unpacked, {stats.rejected} rejected"
               + (", stream damaged" if stats.damaged else ""), err=True)
    if stats.lossy:
        sys.exit(1)


def _stream_problems(stats) -> None:
    for problem in stats.problems:
        click.echo(f"apeitool: warning: {problem}", err=True)
    if stats.unlisted:
        click.echo(f"apeitool: warning: ... and {stats.unlisted} more problems", err=True)


@main.command("diff")
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text: a coloured report; json: a list of {kind, path, a, b, "
              "offset_a, offset_b} (path_b when the item sits elsewhere in B).")
@click.option("--ignore", "ignore", multiple=True, metavar="PATTERN",
              help="Leave out changes whose path matches this glob ('*' matches anything, dots and "
                   "brackets included): 'header.*', '*.address', 'sources[*].notify.*'. Repeatable.")
@click.option("--stat", "with_stat", is_flag=True, help="Only a summary: counts per structure.")
@click.option("--table", metavar="SIG", help="Pick this table out of acpidump inputs.")
@click.option("--as", "form", type=click.Choice(["record", "section", "estatus"]),
              help="Say what CPER input is (default: detected).")
@click.option("-o", "--output", default="-", metavar="FILE", show_default=True,
              help="Write the report here (atomically).")
@click.option("--color/--no-color", default=None, help="Colour the report (default: when a terminal).")
def diff_command(a, b, fmt, ignore, with_stat, table, form, output, color):
    """Compare two tables of one signature, or two CPER files, field by field.

    A and B are anything decode reads (raw tables, acpidump text, sysfs, CPER
    records, status blocks) or YAML/JSON specs, which are built first: diff a
    spec against a dump. HEST error sources pair by (type, Source Id), so a
    moved source is no change and an inserted one is one addition; CPER
    sections pair by position and type; EINJ/ERST entries by alignment.
    Each change names the field path, both values and the byte offset in A
    and in B.

    Exit status as diff(1): 0 no differences, 1 differences, 2 trouble.

    \b
    Examples:
      apeitool diff old/HEST new/HEST
      apeitool diff --ignore 'header.*' fw.aml <(iasl-recompiled)
      apeitool diff --stat --table HEST acpidump-a.txt acpidump-b.txt
      apeitool diff hest-spec.yaml /sys/firmware/acpi/tables/HEST
      apeitool diff -f json a.cper b.cper | jq '.[].path'
    """
    from .diff import diff_decoded, load_pair
    from .render import diffreport
    if a == "-" and b == "-":
        raise click.UsageError("stdin ('-') can be read only once")
    from .bulk import window_form
    forms = set() if table or "-" in (a, b) else {window_form(a, form), window_form(b, form)}
    if len(forms) == 1 and None not in forms:        # two files of one CPER form: read in lockstep
        from .diff import diff_cper_files
        result = diff_cper_files(a, b, forms.pop(), ignore)
    else:
        da, db = load_pair(a, b, table, form)
        result = diff_decoded(da, db, ignore)
    if fmt == "json":
        report = diffreport.json_text(result, with_stat)
    else:
        if color is None:
            color = output == "-" and sys.stdout.isatty()
        report = diffreport.text(result, color, with_stat)
    write(output, report)
    sys.exit(1 if result.changes else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
