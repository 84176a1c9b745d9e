"""How long an IFC file takes to become a placed building (tessellated, placed, a GLB), and its peak memory.

    python -m bench.bim [--threads N] [--big-storeys N] [--files NAME ...]

For each shared IFC file, and one generated large model (bim.demo_models: a wide office block, written to
a temporary folder), two fresh processes run taking turns:

- ours: ``bim.convert.convert_file``: open, read the spatial structure and property sets, tessellate every
  element in world coordinates, place it (anchor, map conversion or site reference), the footprint and the
  GLB with a node per element;
- baseline: opening the file and ifcopenshell's geometry iterator alone with the same settings, threads and
  exclusions, reading each shape's buffers and nothing more: the least any converter built on it must do.

Each line gives the best of two runs per side, and both processes' peak resident memory (ru_maxrss).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import report
from tests.conftest import SHARED_DATA

FILES = ("IfcOpenHouse_IFC4.ifc", "Duplex_Architecture_IFC2x3.ifc", "SampleHouse4.ifc",
         "Schependomlaan_IFC-kalkzandsteen.ifc")
ANCHOR = "114.30,30.58"


def _one(path: Path, mode: str, threads: int) -> dict:
    """Run inside the child: one conversion (or bare pass) of ``path``; its seconds, counts and peak memory."""
    import ifcopenshell

    from bim.convert import convert_file
    from bim.georeference import Anchor
    from bim.tessellate import bare_pass

    started = time.perf_counter()
    if mode == "ours":
        result = convert_file(path, anchor=Anchor.parse(ANCHOR), num_threads=threads)
        shapes = sum(len(b.elements) for b in result.buildings)
        extra = {"glb_bytes": sum(len(b.glb) for b in result.buildings)}
    else:
        shapes, vertices = bare_pass(ifcopenshell.open(str(path)), num_threads=threads)
        extra = {"vertices": vertices}
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "shapes": shapes, "peak_mb": peak_mb, **extra}


def _child(path: Path, mode: str, threads: int) -> dict:
    run = subprocess.run([sys.executable, "-m", "bench.bim", "--child", str(path), "--mode", mode,
                          "--threads", str(threads)], capture_output=True, text=True, timeout=1800)
    if run.returncode != 0:
        raise SystemExit(f"bench.bim: the {mode} run on {path.name} failed:\n{run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def _big_model(folder: Path, storeys: int) -> Path:
    import shapely

    from bim import demo_models
    from bim.demo_models import DemoBuilding, write_demo_model

    demo_models.MAX_STOREYS = max(demo_models.MAX_STOREYS, storeys)
    lon, lat, dx, dy = 114.30, 30.58, 0.0021, 0.0007  # about 200 m by 78 m
    block = shapely.Polygon([(lon, lat), (lon + dx, lat), (lon + dx, lat + dy), (lon, lat + dy)])
    return write_demo_model(folder / "office_block.ifc", DemoBuilding(
        name="office block", address_lines=("江汉区测试路1号",), footprint=block, floors=storeys,
        height_m=storeys * 3.6, key="bench-office-block"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--big-storeys", type=int, default=50, help="storeys of the generated model (0: none)")
    parser.add_argument("--files", nargs="*", default=list(FILES), help="shared IFC files to convert")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=("ours", "bare"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_one(args.child, args.mode, args.threads)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-bim-") as tmp:
        paths = [SHARED_DATA / "ifc" / name for name in args.files]
        if args.big_storeys:
            paths.append(_big_model(Path(tmp), args.big_storeys))
        for path in paths:
            ours, bare = [], []
            for _ in range(2):  # taking turns, best of two each
                ours.append(_child(path, "ours", args.threads))
                bare.append(_child(path, "bare", args.threads))
            best, base = min(ours, key=lambda r: r["seconds"]), min(bare, key=lambda r: r["seconds"])
            report("bim_convert", round(best["seconds"], 3), "ifcopenshell geometry iterator alone (same threads)",
                   round(base["seconds"], 3), "s", file=path.name, mb=round(path.stat().st_size / 1e6, 2),
                   elements=best["shapes"], glb_mb=round(best["glb_bytes"] / 1e6, 2), threads=args.threads,
                   peak_mb=round(max(r["peak_mb"] for r in ours)),
                   baseline_peak_mb=round(max(r["peak_mb"] for r in bare)))


if __name__ == "__main__":
    main()
