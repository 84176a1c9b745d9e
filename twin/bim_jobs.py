"""IFC conversion as a background job: an uploaded file is ingested by a worker, never in the web request.

The upload is saved under ``<store>/incoming/`` and a ``bim.ingest`` job names it. The job reports its
progress (reading, tessellating, placing, linking) through its row, and its result names the models
written, with where they stand, so the screen that asked can fly to them. The uploaded file is removed
once the job has ended either way; a job whose worker died keeps it, and runs again.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from bim.errors import BimError
from bim.georeference import Anchor
from twin.bim_ingest import ingest_ifc
from twin.city_store import CityStore
from twin.job_queue import JobContext, Progress

JOB_KIND = "bim.ingest"
INCOMING = "incoming"
SUFFIXES = (".ifc", ".ifczip")
_SAFE = re.compile(r"[^A-Za-z0-9._\-\u4e00-\u9fff]+")


def safe_name(name: str) -> str:
    """A file name fit to keep: its last part, with odd characters replaced; the suffix must be an IFC one."""
    base = Path(str(name or "").replace("\\", "/")).name.strip()
    if not base.lower().endswith(SUFFIXES):
        raise BimError(f"{base or 'the upload'!r} is not an IFC file; upload a .ifc or .ifczip file")
    cleaned = _SAFE.sub("_", base)[-120:]
    return cleaned or "model.ifc"


def incoming_path(store: CityStore, name: str) -> Path:
    folder = store.folder / INCOMING
    folder.mkdir(exist_ok=True)
    return folder / f"{uuid.uuid4().hex[:12]}-{safe_name(name)}"


def run_bim_ingest(context: JobContext, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    path = context.store.folder / INCOMING / Path(str(params["file"])).name
    if not path.exists():
        raise BimError(f"the uploaded file {params.get('name')!r} is no longer in {path.parent}; upload it again")
    anchor = None
    if params.get("anchor"):
        anchor = Anchor.parse(str(params["anchor"]), rotation=params.get("rotation"), crs=params.get("crs"))
    try:
        reports = ingest_ifc(context.store, path, anchor=anchor, crs=None if anchor else params.get("crs"),
                             progress=lambda text, share: progress(min(share, 0.99), text),
                             name=str(params.get("name") or path.name))
    except BimError as exc:
        path.unlink(missing_ok=True)
        raise BimError(str(exc).replace(str(path), str(params.get("name") or path.name))) from None
    path.unlink(missing_ok=True)
    progress(1.0, f"placed {len(reports)} building{'s' if len(reports) != 1 else ''} from {params.get('name')}")
    return {"models": [{"id": r["building_id"], "name": r["name"], "lon": r["georeference"]["lon"],
                        "lat": r["georeference"]["lat"], "method": r["georeference"]["method"],
                        "storeys": len(r["storeys"]), "elements": r["elements"], "city_building": r["city_building"],
                        "warnings": r["georeference"]["warnings"] + r["warnings"]} for r in reports]}
