"""The IFC buildings of the city as a map layer: each model's GLB drawn in place, its elements picked one by one.

One feature per model (a row of ``bim_models``). The message carries the footprints (for the highlight and
the legend) and, in its meta, what the browser needs to fetch and place each model: the URL of its GLB
(versioned by the file's content hash, so it is cached for good), its anchor and its storeys. The GLB is
drawn by the ``models`` renderer (``views/assets/renderers.js``): one mesh per model whose vertices carry
the element's number, so a click names the element; its details come from ``/api/v1/bim/models/{id}/
elements/{n}``. A click on the model in the side panel shows the building: address, storeys, spaces.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath

import numpy as np
import pandas as pd

from cim.tables import Classification
from layers.geometry import Rings, exteriors_of
from layers.spec import Details, LayerData, LayerSpec, Pick, Renderer, Tables, Variant, level_codes

METHOD_LABELS = {"anchor": "placed by hand (--anchor)", "map_conversion": "IfcMapConversion",
                 "site_reference": "IfcSite RefLatitude/RefLongitude"}


def glb_url(model_id: str, glb: str) -> str:
    """Where the browser fetches a model's GLB; the content hash in the name makes it cacheable for good."""
    return f"/api/v1/bim/models/{model_id}.glb?v={PurePosixPath(glb).stem}"


def title_of(row: pd.Series) -> str:
    for col in ("name", "address", "file"):
        v = row.get(col)
        if v is not None and not pd.isna(v) and str(v).strip():
            return str(v)
    return str(row["model_id"])


def _models(tables: Tables, _variant: Variant | None) -> LayerData:
    m = tables["bim_models"]

    def footprints() -> Rings:
        return exteriors_of(m.geometry.to_numpy())

    meta = {"models": [
        {"id": str(r["model_id"]), "glb": glb_url(str(r["model_id"]), str(r["glb"])), "lon": float(r["lon"]),
         "lat": float(r["lat"]), "title": title_of(r),
         "storeys": [s["name"] for s in json.loads(r["storey_list"])], "elements": int(r["elements"])}
        for _, r in m.iterrows()
    ]}
    titles = pd.Categorical([title_of(r) for _, r in m.iterrows()])
    return LayerData(
        count=len(m),
        shapes=footprints,
        values={"title": titles, "storeys": m["storeys"].to_numpy(dtype=np.uint16),
                "elements": m["elements"].to_numpy(dtype=np.uint32),
                "height": m["height_m"].to_numpy(dtype=np.float32)},
        meta=meta,
    )


def _details(tables: Tables, _variant: Variant | None, index: int) -> Details:
    m = tables["bim_models"]
    row = m.iloc[index]
    storeys = json.loads(row["storey_list"])
    counts = json.loads(row["element_counts"])
    spaces = tables.get("bim_spaces")
    area = ""
    if spaces is not None and len(spaces):
        own = spaces[spaces["model_id"] == row["model_id"]]
        if len(own):
            area = f", {float(own['area_m2'].sum()):,.0f} m²"
    facts = (
        ("Address 地址", str(row["address"]) if row["address"] is not None and not pd.isna(row["address"]) else "–"),
        ("IFC file 模型文件", f"{row['file']} ({row['schema']})"),
        ("Placed by 定位", f"{METHOD_LABELS.get(str(row['georef_method']), row['georef_method'])}"
                          + (f", {row['georef_crs']}" if row["georef_crs"] and not pd.isna(row["georef_crs"]) else "")),
        ("Height 高度", f"{float(row['height_m']):.1f} m"),
        ("Storeys 楼层", " · ".join(f"{s['name']} ({s['elevation']:+.2f} m)" for s in storeys) or "–"),
        ("Spaces 房间", f"{int(row['spaces'])}{area}"),
        ("Elements 构件", f"{int(row['elements']):,}: " + ", ".join(f"{k.removeprefix('Ifc')} {v}"
                                                                  for k, v in sorted(counts.items(),
                                                                                     key=lambda kv: -kv[1])[:6])),
    )
    codes = level_codes(row, missing="–")
    return Details(layer="bim", key=str(row["model_id"]), title=f"{title_of(row)} · BIM",
                   subtitle="IFC model 建筑信息模型", facts=facts, codes=codes)


def _find(tables: Tables, _variant: Variant | None, key: str) -> int | None:
    m = tables["bim_models"]
    hits = np.flatnonzero((m["model_id"].astype(str) == key).to_numpy()
                          | (m["building_code"].astype(str) == key).to_numpy())
    return int(hits[0]) if len(hits) else None


BIM_MODELS = LayerSpec(
    id="bim",
    title_zh="建筑模型",
    title_en="BIM models",
    renderer=Renderer.MODELS,
    bindings={"elevation": "height"},
    tables=("bim_models",),
    build=_models,
    classification=Classification.PUBLIC,
    colour=(214, 208, 196, 255),
    tooltip="{title} · {storeys} storeys 层 · {elements:,} elements 构件",
    pick=Pick(details=_details, find=_find, tables=("bim_spaces",)),
    min_zoom=13.0,
    style={"highlight": [255, 200, 40, 255]},
)
