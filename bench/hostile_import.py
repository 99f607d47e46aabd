"""Hostile imports: each hostile file's outcome, peak RSS and time, beside a normal file.

    python bench/hostile_import.py                  # SQLite
    eval "$(bash scripts/services.sh env)"; python bench/hostile_import.py --backend postgres

Each case is a generated file imported in its own process, so its peak resident
memory is its own: files through ``manage.py import_items`` (the service every
import path calls; the worker's import job runs the same function), JSON bodies
through the whole Django stack with the test client (the web process's memory).
A baseline row imports a normal 10,000-row CSV in the same run. Writes
bench/results/hostile_import.json and prints a Markdown table.
Target (issue #13): every hostile case refused (or, for many rows, imported) with a
clear message, in memory within a small multiple of the baseline.
"""

import argparse
import base64
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from _harness import RESULTS, ROOT, manage
from import_speed import django_env, make_csv, watch
from PIL import Image

MB = 2**20


def nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


def png_uri(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def write_lines(path: Path, header: bytes, line: bytes, n: int, trailer: bytes = b"") -> None:
    with path.open("wb") as f:
        f.write(header)
        for _ in range(n // 10_000):
            f.write(line * 10_000)
        f.write(trailer)


def make_cases(tmp: Path) -> list[tuple[str, str, str, Callable[[Path], None]]]:
    """(case, file name, data type, writer): the writer makes the file at the path."""
    make_text = ["id,text\n", *(f"r{i},café crème number {i}\n" for i in range(10_000))]
    big_field = 100 * MB
    return [
        ("baseline: 10k-row CSV", "base.csv", "text", lambda p: make_csv(p, 10_000)),
        ("UTF-8 with BOM, 10k rows", "bom.csv", "text",
         lambda p: p.write_bytes(b"\xef\xbb\xbf" + "".join(make_text).encode())),
        ("UTF-16 with BOM, 10k rows", "u16.csv", "text",
         lambda p: p.write_bytes("".join(make_text).encode("utf-16"))),
        ("latin-1 CSV", "latin.csv", "text",
         lambda p: p.write_bytes("".join(make_text).encode("latin-1"))),
        ("UTF-16 without BOM", "u16le.csv", "text",
         lambda p: p.write_bytes("".join(make_text).encode("utf-16-le"))),
        ("NUL byte in a CSV text", "nul.csv", "text",
         lambda p: p.write_bytes(b"id,text\nr1,ok\nr2,bad\x00text\n")),
        ("NUL in a JSON id (\\u0000)", "nul.jsonl", "text",
         lambda p: p.write_bytes(b'{"id": "r\\u0000", "text": "a"}\n')),
        ("200 KB of '[' (JSON file)", "brackets.json", "text",
         lambda p: p.write_bytes(b"[" * 200_000)),
        ("meta nested 90k deep (JSON Lines)", "deep.jsonl", "text",
         lambda p: p.write_text('{"text": "a", "meta": ' + nested(90_000) + "}\n")),
        ("meta nested 90k deep (CSV cell)", "deep.csv", "text",
         lambda p: p.write_text('text,meta\na,"' + nested(90_000).replace('"', '""') + '"\n')),
        ("one 100 MB CSV field", "huge.csv", "text",
         lambda p: write_lines(p, b"text\n", b"a" * (big_field // 10_000), 10_000)),
        ("one 100 MB JSON string", "huge.json", "text",
         lambda p: write_lines(p, b'[{"text": "', b"a" * (big_field // 10_000), 10_000, b'"}]')),
        ("one 100 MB line (JSON Lines)", "huge.jsonl", "text",
         lambda p: write_lines(p, b'{"text": "', b"a" * (big_field // 10_000), 10_000)),
        ("1M tiny rows (CSV, imported)", "million.csv", "text",
         lambda p: write_lines(p, b"text\n", b"x\n", 1_000_000)),
        ("1M tiny bad rows (JSON Lines '{}')", "million.jsonl", "text",
         lambda p: write_lines(p, b"", b"{}\n", 1_000_000)),
        ("PNG 20000x20000 (bomb)", "bomb20k.jsonl", "image",
         lambda p: p.write_text(json.dumps({"image": png_uri(Image.new("1", (20_000, 20_000)))})
                                + "\n")),
        ("PNG 13000x13000 (bomb)", "bomb13k.jsonl", "image",
         lambda p: p.write_text(json.dumps({"image": png_uri(Image.new("1", (13_000, 13_000)))})
                                + "\n")),
        ("PNG 4096x4096 (largest allowed, imported)", "max.jsonl", "image",
         lambda p: p.write_text(json.dumps(
             {"image": png_uri(Image.linear_gradient("L").resize((4096, 4096)).convert("RGB"))})
             + "\n")),
    ]  # fmt: skip


BODY_CASES = [
    ("API body: 200 KB of '['", "[" * 200_000),
    (
        "API body: meta nested 90k deep",
        '{"items": [{"text": "a", "meta": ' + nested(90_000) + "}]}",
    ),
    ("API body: null", "null"),
    ("API body: NUL in text", '{"items": [{"text": "a\\u0000"}]}'),
]
POST_BODY = """
import os
from django.contrib.auth import get_user_model
from django.test import Client
c = Client(); c.force_login(get_user_model().objects.get(username="bench"))
body = open(os.environ["HOSTILE_BODY"], "rb").read()
r = c.post("/api/projects/%s/import", body, content_type="application/json")
print(r.status_code, r.content.decode()[:300])
"""


def new_project(env: dict, data_type: str) -> int:
    code = (
        "from django.contrib.auth import get_user_model as g;"
        "from annotation.services.projects import project_create as c;"
        "u,_=g().objects.get_or_create(username='bench');"
        f"print(c(creator=u, name='hostile {time.time()}', labels=['pos','neg'], "
        f"data_type={data_type!r}).pk)"
    )
    return int(manage(env, "shell", "-c", code).strip().splitlines()[-1])


def measure(env: dict, args: list[str]) -> tuple[int, str, float, float]:
    """Run ``manage.py *args``: exit code, last output line, seconds, peak RSS (MB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    ps = psutil.Process(proc.pid)
    peak = watch(lambda: [ps], lambda: proc.poll() is not None)
    out, err = proc.communicate()
    lines = [line for line in (out + err).decode().splitlines() if line.strip()]
    return proc.returncode, _outcome(lines), time.perf_counter() - start, peak


def _outcome(lines: list[str]) -> str:
    """What the user was told: the API's answer, or the command's summary or first error."""
    lines = [line for line in lines if "imported automatically" not in line]  # shell's banner
    for line in lines:
        if line[:4] in ("201 ", "400 ", "500 "):  # the API body cases print the response
            return line
    for line in lines:
        if line.startswith("Imported"):
            return line.split(": ", 1)[-1]
    summary = next((line for line in lines if " error(s) in " in line), "")
    count = summary.split("CommandError: ")[-1].split(" error(s)")[0]
    for line in lines:
        parts = line.split(None, 2)  # the command's error table: "row field message"
        if len(parts) == 3 and parts[0].isdigit():
            return f"refused ({count} row errors): {parts[2]}"
    return (lines[-1] if lines else "")[:200]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        env = django_env(args.backend, tmp_path)
        env["QUORUM_ASYNC_IMPORT_BYTES"] = str(10**12)
        manage(env, "migrate", "--noinput")
        for case, name, data_type, write in make_cases(tmp_path):
            path = tmp_path / name
            write(path)
            project = new_project(env, data_type)
            code, outcome, seconds, peak = measure(
                env, ["import_items", str(project), str(path), "--no-progress"]
            )
            rows.append(
                _row(case, "import_items", path.stat().st_size, code, outcome, seconds, peak)
            )
            path.unlink()
        project = new_project(env, "text")
        for case, body in BODY_CASES:
            path = tmp_path / "body.json"
            path.write_text(body)
            code, outcome, seconds, peak = measure(
                {**env, "HOSTILE_BODY": str(path)}, ["shell", "-c", POST_BODY % project]
            )
            rows.append(_row(case, "API (test client)", len(body), code, outcome, seconds, peak))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "hostile_import.json"
    meta = {"backend": args.backend, "python": sys.version.split()[0], "time": time.ctime(),
            "cpu_count": os.cpu_count()}  # fmt: skip
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print("\n| case | path | size | outcome | peak RSS MB | seconds |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['path']} | {r['size']} | {r['outcome']} | "
              f"{r['peak_rss_mb']} | {r['seconds']} |")  # fmt: skip
    print(f"\nwrote {out}")


def _row(case, how, size, code, outcome, seconds, peak) -> dict:
    print(f"{case:<45} exit {code}  {peak:7.1f} MB {seconds:6.1f}s  {outcome[:90]}", flush=True)
    return {
        "case": case, "path": how, "size": _size(size), "bytes": size, "exit": code,
        "outcome": outcome.replace("|", "/"), "peak_rss_mb": round(peak, 1),
        "seconds": round(seconds, 2),
    }  # fmt: skip


def _size(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB else f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} B"


if __name__ == "__main__":
    main()
