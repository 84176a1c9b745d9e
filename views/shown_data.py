"""What each viewer is shown of classified data: fields above their clearance masked, in the app and the API
alike, and every view of sensitive data written to the audit log."""

from __future__ import annotations

from dataclasses import replace

from cim.levels import Level
from cim.tables import Classification
from twin.drill_down import DrillView, ResidentList
from twin.permissions import Principal, mask_record
from twin.services import Services
from views.access_gate import client_address


def residents_shown(services: Services, building: str, who: Principal) -> ResidentList | None:
    """A building's residents as ``who`` may see them: None below internal clearance (a guest), masked fields
    below sensitive clearance (an analyst); a sensitive view is audited."""
    if not who.sees(Classification.INTERNAL):
        return None
    found = services.drill.residents(building)
    rows = tuple(mask_record(r, found.classes, who) for r in found.rows)
    if rows and who.sees(Classification.SENSITIVE):
        services.audit.record(actor=who.name, actor_kind=who.kind, action="view.sensitive",
                              target=f"residents of building {building}", ip=client_address(),
                              detail={"rows": len(rows)})
    return ResidentList(rows, found.total, found.classes)


def drill_shown(view: DrillView, who: Principal) -> DrillView:
    """A drill-down view as ``who`` may see it: a building's own residents count is internal."""
    if view.unit.level is Level.BUILDING and not who.sees(Classification.INTERNAL):
        hidden = replace(view.unit, counts=replace(view.unit.counts, residents=None))
        return replace(view, unit=hidden, trail=(*view.trail[:-1], hidden))
    return view
