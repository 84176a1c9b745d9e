"""What each viewer is shown of the city: the units their grants reach, and of classified data the fields their
clearance allows, in the app, the API and the exports alike; every view of sensitive data is written to the
audit log.

Area limits (a grant for one district, street, ... only) are enforced here, and only here, for what is
looked up unit by unit: a unit, a picked feature or an address beyond every area the viewer's ``view``
grants reach is refused with one line (403). A unit above their area (the city, for a district's analyst)
is beyond it too; the trail above a unit they may see names its units but not what those hold. Exports are
cut to the caller's ``export`` areas in :mod:`views.table_export`.
"""

from __future__ import annotations

from dataclasses import replace

from cim.levels import CITY_CODE, CodeError, Level, level_of
from cim.tables import Classification
from layers.spec import Details
from twin.address_search import SearchResult
from twin.drill_down import DrillView, ResidentList
from twin.permissions import AccessDenied, Action, Principal, mask_record, require
from twin.services import Services
from twin.unit_counts import HIDDEN
from views.access_gate import client_address


def residents_shown(services: Services, building: str, who: Principal) -> ResidentList | None:
    """A building's residents as ``who`` may see them: None below internal clearance (a guest), masked fields
    below sensitive clearance (an analyst); a sensitive view is audited."""
    if not who.sees(Classification.INTERNAL):
        return None
    require(who, Action.VIEW, building)
    found = services.drill.residents(building)
    rows = tuple(mask_record(r, found.classes, who) for r in found.rows)
    if rows and who.sees(Classification.SENSITIVE):
        services.audit.record(actor=who.name, actor_kind=who.kind, action="view.sensitive",
                              target=f"residents of building {building}", ip=client_address(),
                              detail={"rows": len(rows)})
    return ResidentList(rows, found.total, found.classes)


def drill_shown(view: DrillView, who: Principal) -> DrillView:
    """A drill-down view as ``who`` may see it: a building's own residents count is internal, and the units of
    the trail beyond their areas show no counts."""
    trail = tuple(u if who.may(Action.VIEW, u.code) else replace(u, counts=HIDDEN) for u in view.trail)
    unit = trail[-1]
    if unit.level is Level.BUILDING and not who.sees(Classification.INTERNAL):
        unit = replace(unit, counts=replace(unit.counts, residents=None))
        trail = (*trail[:-1], unit)
    return replace(view, unit=unit, trail=trail)


def unit_shown(services: Services, code: str, who: Principal) -> DrillView:
    """The drill-down view of the unit ``code`` for ``who``: 404 when the city has no such unit, 403 when it lies
    beyond every area their grants reach."""
    view = services.drill.view(code)
    require(who, Action.VIEW, view.unit.code)
    return drill_shown(view, who)


def home_unit(who: Principal) -> str:
    """Where the drill-down starts for ``who``: the city, or the first of the areas their grants reach."""
    areas = who.areas(Action.VIEW)
    return CITY_CODE if not areas else sorted(areas)[0]


def _finest_code(details: Details) -> str | None:
    found = None
    for _, code in details.codes:
        try:
            level_of(code)
        except CodeError:  # a level the feature has no code for ("None", "")
            continue
        found = code if found is None or len(code) >= len(found) else found
    return found


def details_shown(details: Details, who: Principal) -> Details:
    """A picked feature's details, when it lies within the areas ``who`` may view (its finest level code says
    where); 403 otherwise, and for a feature that names no unit when their grants reach only some areas."""
    areas = who.areas(Action.VIEW)
    if areas is None:
        return details
    code = _finest_code(details)
    if code is None:
        raise AccessDenied(f"{who.name} may view only within {', '.join(sorted(areas))}, and this {details.layer} "
                           f"feature names no unit to place it in; ask an admin for a grant for the whole city")
    require(who, Action.VIEW, code)
    return details


def search_shown(result: SearchResult, who: Principal) -> SearchResult:
    """An address search as ``who`` may see it: only buildings within the areas their grants reach."""
    areas = who.areas(Action.VIEW)
    if areas is None:
        return result
    candidates = tuple(c for c in result.candidates if who.may(Action.VIEW, c.building_code))
    if result.match is not None and who.may(Action.VIEW, result.match.building_code):
        return replace(result, candidates=candidates)
    reason = (f"the address found lies outside {', '.join(sorted(areas))}" if result.match is not None
              else result.reason)
    return replace(result, match=None, candidates=candidates, reason=reason)
