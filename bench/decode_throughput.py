"""Mixed CPER decode throughput: records per CPU-second of whole `apeitool decode` processes
(-f jsonl and --format libcper, --jobs 1 and 2), against a pure-`struct` floor and, when a libcper
build is given, libcper's C library in one process (parse + JSON text).

    python3 bench/decode_throughput.py [--records 200000] [--corpus libcper|gen] [--libcper DIR]

The corpus is libcper's generator output (../shared/corpus/libcper, repeated to --records) when
present, else apeitool's own builder (every section type). CPU time is user + system of the whole
process and the workers it waited for, the same interpreter as the baseline; ratios come from one
run. --libcper DIR: a directory holding libcper's shared library (libcper-parse.so, from its meson
build) and json-c's (libjson-c.so); they are called through ctypes: cper_to_ir() on an
fmemopen()ed record, then json_object_to_json_string_ext() and json_object_put(), per record.
"""
from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import glob
import os
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from _util import apeitool, cpu_timed, load, machine  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LIBCPER_CORPUS = os.path.join(HERE, "..", "..", "shared", "corpus", "libcper")


def corpus_records(kind: str, distinct: int):
    if kind == "libcper":
        out = []
        for path in sorted(glob.glob(os.path.join(LIBCPER_CORPUS, "*.cper"))):
            data = open(path, "rb").read()
            if data[:4] == b"CPER" and int.from_bytes(data[20:24], "little") == len(data):
                out.append(data)
        return out, f"libcper's generator output ({len(out)} distinct records from {LIBCPER_CORPUS})"
    from apeitool.gen import mixed_records
    recs = [r for _k, r in mixed_records(distinct)]
    return recs, f"apeitool.gen ({distinct} distinct records, every section type)"


def write_corpus(records, n: int) -> str:
    with tempfile.NamedTemporaryFile(suffix=".cper", delete=False) as f:
        for i in range(n):
            f.write(records[i % len(records)])
        return f.name


def struct_floor(data: bytes) -> int:
    """The least Python can do: unpack every record header, descriptor and fixed section head with
    the compiled structs (no dicts, no names, no JSON). Returns the records walked."""
    from apeitool.cper.body import section_key
    from apeitool.schemas.cper import RECORD_HEADER, SECTION_DESCRIPTOR
    from apeitool.schemas.sections import BODIES
    hdr, desc = RECORD_HEADER.struct.unpack_from, SECTION_DESCRIPTOR.struct.unpack_from
    heads = {}
    pos = n = 0
    end = len(data)
    while pos < end:
        h = hdr(data, pos)
        length, count = h[6], h[3]
        for i in range(count):
            d = desc(data, pos + 128 + 72 * i)
            guid = d[6]
            head = heads.get(guid)
            if head is None:
                from apeitool.schemas.cper_fields import guid_str
                key = section_key(guid_str(guid))
                head = heads[guid] = BODIES[key].layout.struct if key in BODIES else False
            if head and d[1] >= head.size:
                head.unpack_from(data, pos + d[0])
        pos += length
        n += 1
    return n


class Libcper:
    """libcper's C library through ctypes (parse to json-c objects, then JSON text)."""

    def __init__(self, where: str):
        def lib(names):
            for name in names:
                for path in glob.glob(os.path.join(where, "**", name), recursive=True):
                    return ctypes.CDLL(path)
            found = ctypes.util.find_library(names[0].split(".")[0][3:])
            if found:
                return ctypes.CDLL(found)
            raise SystemExit(f"--libcper {where}: none of {names} found")
        self.cper = lib(["libcper-parse.so", "libcper-parse.so.*", "libcper.so"])
        self.jsonc = lib(["libjson-c.so", "libjson-c.so.*"])
        self.libc = ctypes.CDLL(ctypes.util.find_library("c"))
        self.libc.fmemopen.restype = ctypes.c_void_p
        self.libc.fmemopen.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p]
        self.libc.fclose.argtypes = [ctypes.c_void_p]
        self.cper.cper_to_ir.restype = ctypes.c_void_p
        self.cper.cper_to_ir.argtypes = [ctypes.c_void_p]
        self.jsonc.json_object_to_json_string_ext.restype = ctypes.c_char_p
        self.jsonc.json_object_to_json_string_ext.argtypes = [ctypes.c_void_p, ctypes.c_int]
        self.jsonc.json_object_put.argtypes = [ctypes.c_void_p]

    def run(self, records) -> int:
        """Parse + JSON text of each record; returns the number that gave JSON."""
        ok = 0
        for rec in records:
            fp = self.libc.fmemopen(rec, len(rec), b"r")
            obj = self.cper.cper_to_ir(fp)
            self.libc.fclose(fp)
            if obj:
                if self.jsonc.json_object_to_json_string_ext(obj, 2):    # JSON_C_TO_STRING_PRETTY
                    ok += 1
                self.jsonc.json_object_put(obj)
        return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--corpus", choices=["libcper", "gen"],
                    default="libcper" if os.path.isdir(LIBCPER_CORPUS) else "gen")
    ap.add_argument("--distinct", type=int, default=2000, help="--corpus gen: distinct records")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--libcper", metavar="DIR", help="a libcper build (libcper-parse.so + libjson-c.so)")
    args = ap.parse_args()
    from apeitool.render.jsonenc import backend
    records, what = corpus_records(args.corpus, args.distinct)
    path = write_corpus(records, args.records)
    size = os.path.getsize(path)
    print(f"machine: {machine()}; {load()}")
    print(f"corpus: {args.records} records, {size / 1e6:.1f} MB: {what}")
    print(f"JSON encoder: {backend()}")
    data = open(path, "rb").read()
    start = time.process_time()
    n = struct_floor(data)
    floor = n / (time.process_time() - start)
    print(f"{'pure struct floor (in process)':44s}{floor:10.0f} records/CPU-s")
    ref = None
    if args.libcper:
        lib = Libcper(args.libcper)
        batch = [records[i % len(records)] for i in range(min(args.records, 50_000))]
        start = time.process_time()
        ok = lib.run(batch)
        ref = len(batch) / (time.process_time() - start)
        print(f"{'libcper C library (parse + JSON text)':44s}{ref:10.0f} records/CPU-s ({ok} gave JSON)")
    for fmt in ("jsonl", "libcper"):
        walls = {}
        for jobs in (1, 2):
            cpu, wall = cpu_timed(apeitool("decode", "-q", "-f", fmt, "--jobs", str(jobs), path, "-o", os.devnull),
                                  args.repeat)
            walls[jobs] = wall
            rate = args.records / cpu
            line = (f"decode -f {fmt:8s} --jobs {jobs}: {rate:10.0f} records/CPU-s "
                    f"{args.records / wall:9.0f} records/s wall, {rate / floor:5.2f} x floor")
            if ref:
                line += f", {rate / ref:5.2f} x libcper"
            print(line)
        print(f"{'':4s}--jobs 2 wall-clock gain: {walls[1] / walls[2]:.2f} x")
    print(f"after: {load()}")
    os.unlink(path)


if __name__ == "__main__":
    main()
