"""Who may do what: the roles, the actions, and the one table that joins them.

A person or a machine acts through a :class:`Principal`: a name, and the :class:`Grant` s it holds. A grant
gives one :class:`Role`, optionally only within one unit of the city (a district, a street, ... down to a
building: its code at any of the seven levels) and, for a handler (处置人员), within one department. What a
role may do, and how closed the data it may read, is :data:`PERMISSIONS`, declared once below; every
check in the app and the API reads it, nothing else decides.

>>> analyst = Principal("analyst1", "user", (Grant(Role.ANALYST),))
>>> analyst.may(Action.EXPORT), analyst.may(Action.DISPATCH_EVENT)
(True, False)
>>> mask("13812345678", Classification.SENSITIVE, analyst)
'138******78'

This module does no I/O: the stores (``twin.users``, ``twin.api_tokens``) build principals, the web side
asks them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from cim.levels import CITY_CODE, CodeError, code_at, level_of
from cim.tables import Classification
from twin.errors import TwinError


class Role(StrEnum):
    COMMANDER = "commander"
    DUTY_OFFICER = "duty_officer"
    DISPATCHER = "dispatcher"
    HANDLER = "handler"
    PLANNER = "planner"
    GIS_ADMIN = "gis_admin"
    ANALYST = "analyst"
    ADMIN = "admin"
    REPORTER = "reporter"


ROLE_LABELS: Mapping[Role, str] = MappingProxyType({
    Role.COMMANDER: "指挥长",
    Role.DUTY_OFFICER: "值班员",
    Role.DISPATCHER: "调度员",
    Role.HANDLER: "处置人员",
    Role.PLANNER: "规划建设",
    Role.GIS_ADMIN: "GIS管理员",
    Role.ANALYST: "分析员",
    Role.ADMIN: "系统管理员",
    Role.REPORTER: "上报系统",
})


class Action(StrEnum):
    VIEW = "view"  # see the screens, and the public (or permitted) data on them
    EXPORT = "export"  # download tables and exports
    INGEST = "ingest"  # load city-base data, run store jobs
    PUBLISH = "publish"  # publish layers
    UPLOAD_IFC = "upload_ifc"
    SUBMIT_READINGS = "submit_readings"
    REPORT_EVENT = "report_event"
    TRIAGE_EVENT = "triage_event"
    DISPATCH_EVENT = "dispatch_event"
    HANDLE_EVENT = "handle_event"
    VERIFY_EVENT = "verify_event"
    CLOSE_EVENT = "close_event"
    SUPERVISE = "supervise"
    MANAGE_JOBS = "manage_jobs"
    MANAGE_USERS = "manage_users"
    READ_AUDIT = "read_audit"


@dataclass(frozen=True)
class RoleRights:
    """What one role may do, and the most closed class of data it may read."""

    clearance: Classification
    actions: frozenset[Action]


def _rights(clearance: Classification, actions: str) -> RoleRights:
    return RoleRights(clearance, frozenset(Action(a) for a in actions.split()))


_PUBLIC, _INTERNAL, _SENSITIVE = Classification.PUBLIC, Classification.INTERNAL, Classification.SENSITIVE

#: The permission table. A change here changes what every screen and route allows: mirror it in
#: ``tests/twin/test_permissions.py``, which spells the table out again on purpose.
PERMISSIONS: Mapping[Role, RoleRights] = MappingProxyType({
    #                  clearance   actions
    Role.COMMANDER:    _rights(_SENSITIVE, "view export report_event triage_event dispatch_event verify_event "
                                           "close_event supervise"),
    Role.DUTY_OFFICER: _rights(_SENSITIVE, "view report_event triage_event dispatch_event verify_event supervise"),
    Role.DISPATCHER:   _rights(_SENSITIVE, "view report_event triage_event dispatch_event verify_event close_event"),
    Role.HANDLER:      _rights(_INTERNAL,  "view report_event handle_event"),
    Role.PLANNER:      _rights(_INTERNAL,  "view upload_ifc"),
    Role.GIS_ADMIN:    _rights(_SENSITIVE, "view export ingest publish upload_ifc manage_jobs"),
    Role.ANALYST:      _rights(_INTERNAL,  "view export"),
    Role.ADMIN:        _rights(_INTERNAL,  "view manage_jobs manage_users read_audit"),
    Role.REPORTER:     _rights(_PUBLIC,    "submit_readings report_event"),  # a machine: it sees no screen
})

#: What a visitor who has not signed in may do, on a server that lets guests in.
GUEST_RIGHTS = RoleRights(Classification.PUBLIC, frozenset({Action.VIEW}))

_CLASS_ORDER = tuple(Classification)  # public < internal < sensitive
MAX_DEPARTMENT = 64


def roles_with(action: Action) -> tuple[Role, ...]:
    """The roles that may do ``action``, in the order of :class:`Role`."""
    return tuple(role for role in Role if action in PERMISSIONS[role].actions)


class GrantError(TwinError):
    """A role or grant that does not exist or does not fit its role; the message says how to fix it."""


def role_named(name: str) -> Role:
    """The role called ``name``, or a :class:`GrantError` listing the roles there are."""
    try:
        return Role(name)
    except ValueError:
        known = ", ".join(f"{r.value} ({ROLE_LABELS[r]})" for r in Role)
        raise GrantError(f"there is no role {name!r}; the roles are {known}") from None


@dataclass(frozen=True)
class Grant:
    """One role, for the whole city or only within one unit (``area``: its code at any of the seven levels).

    A handler (处置人员) always works for one department, and only a handler names one.
    """

    role: Role
    area: str | None = None
    department: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.role, Role):
            object.__setattr__(self, "role", role_named(str(self.role)))
        object.__setattr__(self, "area", self.area or None)
        object.__setattr__(self, "department", (self.department or "").strip() or None)
        if self.area is not None:
            try:
                level_of(self.area)
            except CodeError as exc:
                raise GrantError(f"grant area {self.area!r} is not a unit code: {exc}") from None
        if self.role is Role.HANDLER and self.department is None:
            raise GrantError("a handler grant needs a department (处置人员 work for one); name it with --department")
        if self.role is not Role.HANDLER and self.department is not None:
            raise GrantError(f"only handler grants name a department, {self.role} grants do not; "
                             f"leave out the department {self.department!r}")
        if self.department is not None and len(self.department) > MAX_DEPARTMENT:
            raise GrantError(f"a department name has at most {MAX_DEPARTMENT} characters, "
                             f"not {len(self.department)}")

    def covers(self, area: str | None) -> bool:
        """Whether this grant reaches the unit ``area`` (a grant without area covers the whole city)."""
        if self.area is None or area is None:
            return True
        try:
            own, asked = level_of(self.area), level_of(area)
        except CodeError:
            return False
        if asked < own:  # a district is not within one of its streets
            return False
        return code_at(area, own) == self.area  # the city's code is no prefix of its districts': code_at knows

    def describe(self) -> str:
        """``handler in 420102 for 城管委``: the role and what narrows it."""
        where = f" in {self.area}" if self.area else ""
        department = f" for {self.department}" if self.department else ""
        return f"{self.role}{where}{department}"

    def to_json(self) -> dict[str, str | None]:
        return {"role": self.role.value, "area": self.area, "department": self.department}


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user, a machine with an API token, or the guest."""

    name: str
    kind: Literal["user", "token", "guest"]
    grants: tuple[Grant, ...] = ()

    @classmethod
    def guest(cls) -> Principal:
        """A visitor who has not signed in: may only ``view``, and only public data."""
        return cls("guest", "guest", ())

    def _rights(self) -> Iterator[tuple[Grant | None, RoleRights]]:
        if self.kind == "guest":
            yield None, GUEST_RIGHTS
            return
        for grant in self.grants:
            yield grant, PERMISSIONS[grant.role]

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(g.role for g in self.grants)

    @property
    def departments(self) -> frozenset[str]:
        return frozenset(g.department for g in self.grants if g.department)

    @property
    def clearance(self) -> Classification:
        """The most closed class of data any of its grants may read (public with none)."""
        ranks = [_CLASS_ORDER.index(rights.clearance) for _, rights in self._rights()]
        return _CLASS_ORDER[max(ranks, default=0)]

    def sees(self, cls: Classification) -> bool:
        """Whether data of class ``cls`` may be shown to it unmasked."""
        return _CLASS_ORDER.index(self.clearance) >= _CLASS_ORDER.index(Classification(cls))

    def areas(self, action: Action) -> frozenset[str] | None:
        """The units within which it may do ``action``: None when one of its grants reaches the whole city, no
        units at all when none of its grants allows the action.

        >>> Principal("a", "user", (Grant(Role.ANALYST, area="420102"),)).areas(Action.EXPORT)
        frozenset({'420102'})
        """
        reach: set[str] = set()
        for grant, rights in self._rights():
            if action not in rights.actions:
                continue
            if grant is None or grant.area is None or grant.area == CITY_CODE:
                return None
            reach.add(grant.area)
        return frozenset(reach)

    def may(self, action: Action, area: str | None = None) -> bool:
        """Whether one of its grants allows ``action`` (within the unit ``area``, when one is given)."""
        return any(action in rights.actions and (grant is None or grant.covers(area))
                   for grant, rights in self._rights())


class AccessDenied(TwinError):
    """The principal is known but its roles do not allow what it asked for."""

    status = 403


class NotSignedIn(TwinError):
    """Nobody known is asking: no session, no valid API token."""

    status = 401


def require(principal: Principal, action: Action, area: str | None = None) -> None:
    """Nothing when ``principal`` may do ``action`` (within ``area``); AccessDenied saying why otherwise."""
    if principal.may(action, area):
        return
    needed = ", ".join(roles_with(action)) or "none (no role may)"
    holding = [g for g in principal.grants if action in PERMISSIONS[g.role].actions]
    if holding and area is not None:
        reach = ", ".join(g.describe() for g in holding)
        raise AccessDenied(f"{principal.name} may not {action} in {area}: their grants reach only {reach}; "
                           f"ask an admin for a grant that reaches {area}")
    raise AccessDenied(f"{principal.name} may not {action}: it needs one of the roles {needed}")


MASK = "*"


def mask(value: str | None, cls: Classification, principal: Principal) -> str | None:
    """``value`` if ``principal`` sees data of class ``cls``; otherwise masked: the first 3 and last 2
    characters of 7 or more are kept (``13812345678`` -> ``138******78``), shorter values are all stars."""
    if value is None or principal.sees(cls):
        return value
    text = str(value)
    if len(text) >= 7:
        return text[:3] + MASK * (len(text) - 5) + text[-2:]
    return MASK * len(text)


def mask_record(record: Mapping[str, object], classes: Mapping[str, Classification],
                principal: Principal) -> dict[str, object]:
    """``record`` with each field of a class ``principal`` may not see masked (a masked number becomes text);
    fields without a class in ``classes`` are left as they are."""
    out: dict[str, object] = {}
    for key, value in record.items():
        if key not in classes or value is None or principal.sees(classes[key]):
            out[key] = value
        else:
            out[key] = mask(str(value), classes[key], principal)
    return out
