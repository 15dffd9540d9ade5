"""replay output: the kernel log, a timeline, firmware violations and a summary table."""
from __future__ import annotations

from rich.markup import escape


def text(result: dict, title: str, color: bool, timeline: bool = True) -> str:
    import io
    from rich import box
    from rich.console import Console
    from rich.table import Table
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=bool(color), color_system="auto" if color else None,
                      width=140, highlight=False)
    style = box.SIMPLE_HEAD if color else box.ASCII2
    console.print(f"[bold]{escape(title)}[/bold]")
    layout = Table(title="memory layout", title_justify="left", box=style)
    for col in ("source", "status address register", "status block", "length", "read ack register", "note"):
        layout.add_column(col)
    for item in result.get("layout", []):
        layout.add_row(str(item["source_id"]), f"0x{item['status_address_register']:X}", f"0x{item['block']:X}",
                       str(item["block_length"]),
                       f"0x{item['read_ack_register']:X}" if "read_ack_register" in item else "-",
                       "relocated" if item.get("relocated") else "")
    console.print(layout)
    console.print("[bold]kernel log[/bold]")
    for line in result["log"]:
        console.print(escape(line), soft_wrap=True)
    if timeline and result["timeline"]:
        t = Table(title="timeline", title_justify="left", box=style)
        for col in ("at", "event", "what happened"):
            t.add_column(col)
        for item in result["timeline"]:
            t.add_row(f"{item['at']:.6f}", escape(item["where"] or ""), escape(item["what"]))
        console.print(t)
    if result["violations"]:
        v = Table(title=f"firmware protocol violations ({sum(result['violation_counts'].values())})",
                  title_justify="left", box=style)
        for col in ("at", "id", "where", "message"):
            v.add_column(col, overflow="fold")
        for item in result["violations"]:
            v.add_row(f"{item['at']:.6f}", f"[red]{item['id']}[/red]" if color else item["id"],
                      escape(item["where"] or ""), escape(item["message"]))
        console.print(v)
    s = Table(title="summary", title_justify="left", box=style)
    s.add_column("counter")
    s.add_column("value", justify="right")
    for k, val in result["summary"].items():
        s.add_row(k, str(val))
    if "stream" in result:
        st = result["stream"]
        s.add_row("stream events", str(st["total"]))
        s.add_row("stream rejected", str(st["rejected"]))
    console.print(s)
    for problem in result.get("stream", {}).get("problems", []):
        console.print(f"stream: {escape(problem)}")
    if result.get("not_kept"):
        console.print(f"not kept (counts are exact): {result['not_kept']}")
    if result.get("stopped"):
        console.print(f"[bold red]stopped: {escape(result['stopped'])}[/bold red]" if color
                      else f"stopped: {result['stopped']}")
    return buf.getvalue()
