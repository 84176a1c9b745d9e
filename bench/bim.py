"""How long an IFC file takes to become a placed building (tessellated, placed, a GLB), and its peak memory.

    python -m bench.bim [--threads N] [--big-storeys N] [--files NAME ...]

For each shared IFC file, and one generated large model (bim.demo_models: a wide office block, written to
a temporary folder), three fresh processes run taking turns:

- ours (``bim_ingest``): the whole ingest, ``twin.bim_ingest.ingest_ifc`` into a copy of a small demo city:
  open, read the spatial structure and property sets, tessellate every element in world coordinates, place it
  (anchor, map conversion or site reference), the footprint and the GLB with a node per element, link it to the city
  base (H3 cells, the seven level codes, the building it stands on and its address) and write it into the
  store in one batch (copying the city is not timed);
- ours (``bim_convert``): the conversion alone, ``bim.convert.convert_file`` (everything above but the link
  and the write);
- baseline: opening the file and ifcopenshell's geometry iterator alone with the same settings, threads and
  exclusions, reading each shape's buffers and nothing more: the least any converter built on it must do.

Each line gives the best of two runs per process, and both processes' peak resident memory (ru_maxrss).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
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


def _one(path: Path, mode: str, threads: int, city: Path | None) -> dict:
    """Run inside the child: one ingest (or bare pass) of ``path``; its seconds, counts and peak memory."""
    import ifcopenshell

    from bim.convert import convert_file
    from bim.georeference import Anchor
    from bim.tessellate import bare_pass
    from twin.bim_ingest import ingest_ifc
    from twin.city_store import CityStore

    store = None
    if mode == "ingest":
        copy = Path(tempfile.mkdtemp(prefix="bench-bim-city-")) / "city"
        shutil.copytree(city, copy)
        store = CityStore.open(copy)
    started = time.perf_counter()
    if mode == "ingest":
        reports = ingest_ifc(store, path, anchor=Anchor.parse(ANCHOR), num_threads=threads)
        shapes = sum(r["elements"] for r in reports)
        extra = {"glb_bytes": sum((store.folder / r["glb"]).stat().st_size for r in reports),
                 "linked": sum(1 for r in reports if r.get("city_building"))}
    elif mode == "convert":
        result = convert_file(path, anchor=Anchor.parse(ANCHOR), num_threads=threads)
        shapes = sum(len(b.elements) for b in result.buildings)
        extra = {"glb_bytes": sum(len(b.glb) for b in result.buildings)}
    else:
        shapes, vertices = bare_pass(ifcopenshell.open(str(path)), num_threads=threads)
        extra = {"vertices": vertices}
    seconds = time.perf_counter() - started
    if store is not None:
        shutil.rmtree(store.folder.parent, ignore_errors=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "shapes": shapes, "peak_mb": peak_mb, **extra}


def _child(path: Path, mode: str, threads: int, city: Path) -> dict:
    run = subprocess.run([sys.executable, "-m", "bench.bim", "--child", str(path), "--mode", mode,
                          "--threads", str(threads), "--city", str(city)], capture_output=True, text=True,
                         timeout=1800)
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
    parser.add_argument("--mode", choices=("ingest", "convert", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--city", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_one(args.child, args.mode, args.threads, args.city)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-bim-") as tmp:
        from twin.demo import build_demo

        city = Path(tmp) / "city"
        build_demo(city, seed=0, scale="small")  # what the models are linked to
        paths = [SHARED_DATA / "ifc" / name for name in args.files]
        if args.big_storeys:
            paths.append(_big_model(Path(tmp), args.big_storeys))
        for path in paths:
            runs: dict[str, list[dict]] = {"ingest": [], "convert": [], "bare": []}
            for _ in range(2):  # taking turns, best of two each
                for mode, done in runs.items():
                    done.append(_child(path, mode, args.threads, city))
            best = {mode: min(done, key=lambda r: r["seconds"]) for mode, done in runs.items()}
            base = best["bare"]
            for mode, name in (("ingest", "bim_ingest"), ("convert", "bim_convert")):
                ours = best[mode]
                report(name, round(ours["seconds"], 3), "ifcopenshell geometry iterator alone (same threads)",
                       round(base["seconds"], 3), "s", file=path.name, mb=round(path.stat().st_size / 1e6, 2),
                       elements=ours["shapes"], glb_mb=round(ours["glb_bytes"] / 1e6, 2), threads=args.threads,
                       **({"linked": ours["linked"]} if "linked" in ours else {}),
                       peak_mb=round(max(r["peak_mb"] for r in runs[mode])),
                       baseline_peak_mb=round(max(r["peak_mb"] for r in runs["bare"])))

if __name__ == "__main__":
    main()
