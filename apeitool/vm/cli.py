"""`apeitool vm`: thin click commands over apeitool.vm (registered on the main group)."""
from __future__ import annotations

import sys

import click


class VmGroup(click.Group):
    """`vm [OPTIONS] STREAM` runs a stream; `vm kernels` lists or fetches kernels."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        elif not args:
            args = ["run"]
        return super().parse_args(ctx, args)


@click.group("vm", cls=VmGroup)
def vm_group():
    """Run error records through a real Linux kernel under QEMU (TCG, no KVM needed).

    The HEST goes in as an ACPI table, the status blocks into reserved guest RAM,
    and a busybox guest plays the firmware: it writes each record of the stream,
    takes GHESv2 acks back, and asks the host to raise NMIs through QEMU's
    monitor; polled sources are polled by the kernel. The kernel's console is
    split per event. With --compare, replay's model runs on the same HEST and
    events and the lines are set side by side (exit 1 when they differ beyond the
    documented version differences). `apeitool vm ...` is `apeitool vm run
    ...`: `apeitool vm run --help` lists its options.

    \b
    Examples:
      apeitool vm kernels --fetch 6.1 6.12          # Debian kernels into the cache
      apeitool vm --hest hest.aml events.jsonl      # the newest cached kernel
      apeitool vm --hest hest.aml --kernel 6.1 --compare events.jsonl
      apeitool vm --hest fw.aml --relocate --notify NMI --source 1 records.cper
      apeitool vm --bert bert.aml --region region.bin --kernel 5.10
      apeitool vm --arch arm64 --hest arm-hest.aml --kernel 6.12 --compare arm.jsonl
    """


@vm_group.command("run")
@click.argument("stream", required=False, metavar="[STREAM]")
@click.option("--hest", "hest_path", metavar="FILE", help="The HEST (raw, acpidump, or a YAML/JSON spec).")
@click.option("--bert", "bert_path", metavar="FILE", help="A BERT: boot with it and its --region, show what "
                                                          "bert.c prints.")
@click.option("--region", metavar="FILE", help="With --bert: the boot error region's bytes.")
@click.option("--erst", is_flag=True, help="Boot twice with QEMU's acpi-erst device: the kernel's ERST and "
                                           "pstore lines, QEMU's ERST decoded and validated, a panic "
                                           "written by pstore in boot 1 read back in boot 2.")
@click.option("--erst-backing", metavar="FILE", help="--erst: keep the ERST's backing store in FILE (it "
                                                     "persists across runs).")
@click.option("--kernel", metavar="VERSION|PATH", help="A cached kernel series (5.10, 6.1, 6.12, 7.2) or "
                                                       "a bzImage path. Default: the newest cached.")
@click.option("--arch", type=click.Choice(["x86_64", "arm64"]), default="x86_64", show_default=True,
              help="The guest: x86_64 (pc machine) or arm64 (virt with UEFI; records pending at boot only).")
@click.option("--compare", is_flag=True, help="Run replay's model too and report the differences (exit 1 "
                                              "when any are not explained).")
@click.option("--model-kernel", type=click.Choice(["v5.1", "v5.0"]), default="v5.1", show_default=True,
              help="--compare: the replay model to set beside the kernel.")
@click.option("--relocate", is_flag=True, help="Move the HEST's GHES registers into the guest's reserved "
                                               "window (0x1F000000) when they lie outside guest RAM.")
@click.option("--notify", metavar="TYPE", help="Bare CPER STREAM: the notification of each record.")
@click.option("--source", type=int, metavar="N", help="Bare CPER STREAM: the Source Id records go to.")
@click.option("--interval", type=float, default=1.0, show_default=True, metavar="S",
              help="Bare CPER STREAM: seconds between records.")
@click.option("--timeout", type=click.FloatRange(5, 3600), default=180.0, show_default=True, metavar="S",
              help="Kill the guest after this long (a hang, a lost handshake).")
@click.option("--console", metavar="FILE", help="Keep the whole console log here.")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-o", "--output", default="-", metavar="FILE", show_default=True, help="Write the report here.")
@click.option("--rasdaemon-db", "rasdaemon_db", metavar="FILE",
              help="Run this machine's rasdaemon (Debian package rasdaemon) in the guest, keep the database it "
                   "records in FILE, and report the kernel's RAS trace events; with --compare, both against "
                   "replay --rasdaemon-db's model (x86_64).")
def vm_run(stream, hest_path, bert_path, region, erst, erst_backing, kernel, arch, compare, model_kernel, relocate,
           notify, source, interval, timeout, console, fmt, output, rasdaemon_db):
    """Boot a kernel with the HEST and deliver STREAM (what plain `apeitool vm` runs).

    \b
    Examples:
      apeitool vm run --hest hest.aml --kernel 6.1 --compare events.jsonl
      apeitool vm --hest hest.aml -f json -o report.json events.jsonl
      apeitool vm run --hest hest.aml --compare --rasdaemon-db ras.db events.jsonl   # then: ras-mc-ctl
    """
    from ..cli import _load_hest, _open_stream, write
    from ..replay.stream import StreamStats
    if rasdaemon_db and (erst or bert_path):
        raise click.UsageError("--rasdaemon-db goes with --hest and a STREAM")
    if erst:
        if hest_path or bert_path or stream or arch != "x86_64":
            raise click.UsageError("--erst runs alone, on x86_64: give no --hest, --bert or STREAM")
        from . import erst as erst_mod
        from .kernels import find
        result = erst_mod.run(find(kernel, "x86_64"), timeout, console, erst_backing)
    elif bert_path:
        if hest_path or stream:
            raise click.UsageError("--bert runs alone: give no --hest or STREAM")
        if not region:
            raise click.UsageError("--bert needs --region FILE")
        if arch != "x86_64":
            raise click.UsageError("--bert runs on x86_64 guests")
        result = _bert(bert_path, region, kernel, timeout, console)
    else:
        if not hest_path or not stream:
            raise click.UsageError("give --hest FILE and a STREAM (or --bert FILE --region FILE)")
        from .. import vm
        from ..inputs import read_bytes
        hest = _load_hest(hest_path)
        stats = StreamStats()
        events = list(_open_stream(stream, notify, source, interval, None)(stats))
        raw = None if relocate else _raw_hest(read_bytes(hest_path), hest)
        result = vm.run(hest, events, kernel, arch, compare, model_kernel, timeout, console, relocate, raw,
                        rasdaemon_db)
        result["stream"] = {"label": stream, "events": len(events)}
    if fmt == "json":
        from ..render.data import to_json
        write(output, to_json(result))
    else:
        write(output, text_report(result))
    for w in result.get("warnings", []):
        click.echo(f"apeitool: warning: {w}", err=True)
    if result["status"] not in ("ok", "panic"):
        why = next((w for w in result.get("warnings", []) if w.startswith("qemu-system-")), None)
        click.echo(f"apeitool: error: the guest did not finish ({result['status']})"
                   f"{': ' + why if why else ''}; "
                   f"{'see --console' if not console else 'console kept in ' + console}", err=True)
        sys.exit(2)
    ras = result.get("rasdaemon") or {}
    if compare and (result.get("differences") or ras.get("differences") or ras.get("trace_differences")):
        sys.exit(1)


def _raw_hest(data: bytes, model: dict):
    """The user's table bytes when the input was a table (so the guest gets them byte for byte)."""
    return data if data[:4] == b"HEST" else None


def _bert(bert_path, region_path, kernel, timeout, console) -> dict:
    """Boot with a BERT and its region; bert.c's lines beside apeitool's reading of the region."""
    import apeitool
    from ..cper.bert import walk_region
    from ..errors import InputError
    from ..inputs import read_bytes
    from .. import vm
    from .guest import boot
    from .kernels import find
    from .plan import RAM_MIN, WINDOW_MIN, Plan
    [bert] = [d for d in apeitool.decode(bert_path) if d.kind == "bert"] or [None]
    if bert is None:
        raise InputError("holds no BERT", source=bert_path)
    region = read_bytes(region_path)
    addr, length = bert.model["boot_error_region_address"], bert.model["boot_error_region_length"]
    lo, hi = addr & ~0xFFF, (addr + max(length, len(region)) + 0xFFF) & ~0xFFF
    if not WINDOW_MIN <= lo or hi > (3 << 30) - (64 << 20) or hi - lo > 16 << 20:
        raise InputError(f"the boot error region 0x{addr:X}+0x{length:X} is not where the VM can reserve "
                         f"guest RAM (0x{WINDOW_MIN:X}.., at most 16 MiB)", source=bert_path)
    image = bytearray(hi - lo)
    image[addr - lo:addr - lo + len(region)] = region
    plan = Plan({}, (lo, hi), bytes(image), max(RAM_MIN, (hi + (256 << 20)) & ~((1 << 27) - 1)))
    k = find(kernel, "x86_64")
    outcome = boot(plan, k.path, "x86_64", None, [("bert.aml", bert.data)], timeout=timeout, console=console)
    real = vm.split_console(outcome.lines)
    kernel_lines = [l for l in real["boot"] if "BERT" in l or "[Hardware Error]" in l]
    expected, _blocks = walk_region(region, length, "x86_64", vm.model_version(k, outcome.lines))
    diffs = vm.compare({"boot": kernel_lines, "events": {}}, {"boot": expected, "events": {}}, 0)
    return {"kernel": dict(k.as_dict(), booted=vm._booted_version(outcome.lines)), "status": outcome.status,
            "panicked": outcome.panicked, "seconds": round(outcome.seconds, 2), "boot": kernel_lines,
            "events": [], "log": kernel_lines, "model": {"kernel": "apeitool decode bert --region",
                                                          "boot": expected, "events": []},
            "undelivered": [], "dropped": real["dropped"], **diffs}


def text_report(r: dict) -> str:
    out = [f"kernel {r['kernel'].get('booted') or r['kernel']['version']} ({r['kernel']['arch']}): "
           f"{r['status']}, {r['seconds']} s{' — panicked' if r['panicked'] else ''}", ""]
    if "erst_table" in r:
        t = r["erst_table"]
        out += ["== boot 1: ERST and pstore"] + [f"  {l}" for l in r["boot"]]
        out.append(f"QEMU's ERST as the guest sees it: {t['length']} bytes, {t['decoded']}")
        out += [f"  {f['severity']}: {f['rule']}: {f['message']}" for f in t["findings"]]
        out += ["== boot 2: pstore after the panic of boot 1"] + [f"  {p}" for p in r["pstore_after_reboot"]] + \
            [f"  | {l}" for l in r["pstore_panic_lines"]] + \
            [f"  {l}" for l in r["second_boot"]]
        return "\n".join(out) + "\n"
    model = r.get("model")
    parts = [("boot", r["boot"], model["boot"] if model else None)]
    for ev in r["events"]:
        theirs = model["events"][ev["event"]]["lines"] if model else None
        parts.append((f"event {ev['event']}", ev["lines"], theirs))
    for name, lines, theirs in parts:
        out.append(f"== {name}")
        out += [f"  {l}" for l in lines] or ["  (nothing printed)"]
        if theirs is not None and theirs != lines:
            out.append(f"  -- {model['kernel']} model:")
            out += [f"  {l}" for l in theirs] or ["  (nothing)"]
    for u in r.get("undelivered", []):
        out.append(f"not delivered: event {u['event']}: {u['why']}")
    if r.get("acked"):
        out.append("read-ack registers at the end: " + ", ".join(f"source {s}: {v:#x}" if v is not None else
                                                                 f"source {s}: ?" for s, v in r["acked"].items()))
    for d in r.get("dropped", []):
        out.append(f"dropped before comparing: {d['line']} ({d['why']})")
    ras = r.get("rasdaemon")
    if ras:
        out.append("")
        out.append(f"== rasdaemon in the guest: {ras.get('path') or ras.get('error')}; recorded "
                   f"{', '.join(f'{n} {t}' for t, n in (ras.get('events') or {}).items()) or 'nothing'}")
        out += [f"  trace {e}: {t}" for e, t in ras.get("trace", [])] or ["  (no RAS trace events)"]
        if "differences" in ras:
            out.append(f"rasdaemon rows only in one side: {len(ras['differences'])}; trace events: "
                       f"{len(ras['trace_differences'])} differ, {len(ras['trace_explained'])} explained")
            out += [f"  {d['table']}: only in the {d['only_in']}: {d['row']}" for d in ras["differences"]]
            out += [f"  {d['event']}: only in the {d['only_in']}: {d['text']}" for d in ras["trace_differences"]]
            out += [f"  {d['event']}: only in the {d['only_in']} (explained: {d['why']})" for d in ras["trace_explained"]]
    if model is not None:
        out.append("")
        out.append(f"differences: {len(r['differences'])}, explained: {len(r['explained'])}")
        for d in r["differences"]:
            out.append(f"  {d['event']}: only in the {d['only_in']}: {d['line']}")
        for d in r["explained"]:
            out.append(f"  {d['event']}: only in the {d['only_in']} (explained: {d['why']}): {d['line']}")
    return "\n".join(out) + "\n"


@vm_group.command("kernels")
@click.option("--fetch", "fetch", multiple=True, metavar="VERSION",
              help="Download these series (5.10, 6.1, 6.12, 7.2; repeatable, or 'all').")
@click.option("--arch", type=click.Choice(["x86_64", "arm64"]), default="x86_64", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="List as JSON.")
@click.argument("more", nargs=-1, metavar="[VERSION...]")
def vm_kernels(fetch, arch, as_json, more):
    """List the cached kernels, or fetch Debian's (never installed: a private apt state downloads the
    package and only the kernel image is kept, in $APEITOOL_CACHE or ~/.cache/apeitool/kernels).

    \b
    Examples:
      apeitool vm kernels
      apeitool vm kernels --fetch 5.10 6.1 6.12 7.2
    """
    from . import kernels
    wanted = list(fetch) + list(more)
    if wanted == ["all"] or "all" in wanted:
        wanted = list(kernels.DEFAULT_KERNELS)
    if more and not fetch:
        raise click.UsageError("VERSION arguments go with --fetch")
    for series in wanted:
        k = kernels.fetch(series, arch, progress=lambda m: click.echo(m, err=True))
        click.echo(f"fetched {k.series} {k.version} {k.arch}: {k.path}", err=True)
    if wanted and arch == "arm64":   # the guest's userland for that architecture, fetched alike
        click.echo(f"busybox for arm64: {kernels.busybox('arm64', progress=lambda m: click.echo(m, err=True))}",
                   err=True)
    listed = kernels.cached()
    if as_json:
        import json
        click.echo(json.dumps([k.as_dict() for k in listed], indent=2))
    else:
        for k in listed:
            click.echo(f"{k.series:6s} {k.version:14s} {k.arch:7s} {k.path}")
        if not listed:
            click.echo(f"no kernels cached in {kernels.cache_dir()} (apeitool vm kernels --fetch 6.12)", err=True)
