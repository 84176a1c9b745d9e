"""The permission table, checked as a table: every role against every action, written out again here on
purpose, so that a change to ``twin.permissions.PERMISSIONS`` has to be made twice, deliberately."""

from __future__ import annotations

import re

import pytest

from cim.tables import Classification
from twin.errors import TwinError
from twin.permissions import (
    GUEST_RIGHTS,
    PERMISSIONS,
    ROLE_LABELS,
    AccessDenied,
    Action,
    Grant,
    GrantError,
    NotSignedIn,
    Principal,
    Role,
    mask,
    mask_record,
    require,
    roles_with,
)

ROLES = ("commander", "duty_officer", "dispatcher", "handler", "planner", "gis_admin", "analyst", "admin", "reporter",
         "guest")

# Y: allowed, .: refused. One column per entry of ROLES, in that order.
TABLE = {
    #                   commander  duty  dispatcher  handler  planner  gis_admin  analyst  admin  reporter  guest
    "view":            "Y          Y     Y           Y        Y        Y          Y        Y      .         Y",
    "export":          "Y          .     .           .        .        Y          Y        .      .         .",
    "ingest":          ".          .     .           .        .        Y          .        .      .         .",
    "publish":         ".          .     .           .        .        Y          .        .      .         .",
    "upload_ifc":      ".          .     .           .        Y        Y          .        .      .         .",
    "submit_readings": ".          .     .           .        .        .          .        .      Y         .",
    "report_event":    "Y          Y     Y           Y        .        .          .        .      Y         .",
    "triage_event":    "Y          Y     Y           .        .        .          .        .      .         .",
    "dispatch_event":  "Y          Y     Y           .        .        .          .        .      .         .",
    "handle_event":    ".          .     .           Y        .        .          .        .      .         .",
    "verify_event":    "Y          Y     Y           .        .        .          .        .      .         .",
    "close_event":     "Y          .     Y           .        .        .          .        .      .         .",
    "supervise":       "Y          Y     .           .        .        .          .        .      .         .",
    "manage_jobs":     ".          .     .           .        .        Y          .        Y      .         .",
    "manage_users":    ".          .     .           .        .        .          .        Y      .         .",
    "read_audit":      ".          .     .           .        .        .          .        Y      .         .",
}

CLEARANCE = {
    "commander": "sensitive", "duty_officer": "sensitive", "dispatcher": "sensitive", "handler": "internal",
    "planner": "internal", "gis_admin": "sensitive", "analyst": "internal", "admin": "internal",
    "reporter": "public", "guest": "public",
}
DEPARTMENT = "城管委"


def _principal(role: str) -> Principal:
    if role == "guest":
        return Principal.guest()
    grant = Grant(Role(role), department=DEPARTMENT if role == "handler" else None)
    return Principal(f"{role}1", "user", (grant,))


CASES = [(role, action, flag == "Y") for action, row in TABLE.items() for role, flag in zip(ROLES, row.split(),
                                                                                           strict=True)]


def test_the_table_here_names_every_role_and_every_action():
    assert set(ROLES) == {r.value for r in Role} | {"guest"} and len(ROLES) == len(Role) + 1
    assert set(TABLE) == {a.value for a in Action}
    assert all(len(row.split()) == len(ROLES) for row in TABLE.values())


@pytest.mark.parametrize(("role", "action", "allowed"), CASES, ids=[f"{r}-{a}" for r, a, _ in CASES])
def test_each_role_may_do_exactly_what_the_table_says(role, action, allowed):
    assert _principal(role).may(Action(action)) is allowed


@pytest.mark.parametrize(("role", "clearance"), CLEARANCE.items())
def test_each_role_is_cleared_for_its_class_of_data(role, clearance):
    who = _principal(role)
    assert who.clearance == Classification(clearance)
    assert [who.sees(c) for c in Classification] == [
        Classification(clearance) in ranks for ranks in (
            {"public", "internal", "sensitive"}, {"internal", "sensitive"}, {"sensitive"})]


def test_the_module_table_is_the_one_checked_here():
    for role in Role:
        column = ROLES.index(role.value)
        expected = {action for action, row in TABLE.items() if row.split()[column] == "Y"}
        assert {a.value for a in PERMISSIONS[role].actions} == expected
        assert PERMISSIONS[role].clearance == Classification(CLEARANCE[role.value])
    assert GUEST_RIGHTS.actions == frozenset({Action.VIEW}) and GUEST_RIGHTS.clearance is Classification.PUBLIC


def test_every_role_has_its_chinese_label():
    assert dict(ROLE_LABELS) == {
        Role.COMMANDER: "指挥长", Role.DUTY_OFFICER: "值班员", Role.DISPATCHER: "调度员", Role.HANDLER: "处置人员",
        Role.PLANNER: "规划建设", Role.GIS_ADMIN: "GIS管理员", Role.ANALYST: "分析员", Role.ADMIN: "系统管理员",
        Role.REPORTER: "上报系统",
    }


def test_a_principal_with_several_grants_has_the_union_of_rights_and_the_highest_clearance():
    who = Principal("li", "user", (Grant(Role.ANALYST), Grant(Role.GIS_ADMIN)))
    assert who.roles == {Role.ANALYST, Role.GIS_ADMIN}
    assert who.clearance is Classification.SENSITIVE
    assert who.may(Action.PUBLISH) and who.may(Action.EXPORT) and not who.may(Action.MANAGE_USERS)


def test_a_principal_without_grants_may_nothing_and_sees_only_public_data():
    nobody = Principal("nobody", "token", ())
    assert [a for a in Action if nobody.may(a)] == []
    assert nobody.clearance is Classification.PUBLIC and nobody.roles == frozenset()


def test_the_guest_may_only_view_public_data():
    guest = Principal.guest()
    assert (guest.name, guest.kind, guest.grants) == ("guest", "guest", ())
    assert [a for a in Action if guest.may(a)] == [Action.VIEW]
    assert guest.sees(Classification.PUBLIC) and not guest.sees(Classification.INTERNAL)


HANDLER_IN_JIANGAN = Principal("h1", "user", (Grant(Role.HANDLER, area="420102", department=DEPARTMENT),))


@pytest.mark.parametrize(
    ("area", "covered"),
    [
        ("420102", True),  # the district itself
        ("420102001", True),  # one of its streets
        ("42010200100100100100", True),  # a building in it
        ("420103", False),  # the next district
        ("420103001", False),  # a street of the next district
        ("420100", False),  # the whole city is more than the district
        ("4201020", False),  # not a unit code at all
        (None, True),  # no unit asked about
    ],
)
def test_a_grant_for_a_district_covers_the_units_within_it_and_no_other(area, covered):
    assert HANDLER_IN_JIANGAN.may(Action.HANDLE_EVENT, area) is covered


def test_a_grant_for_the_city_or_without_area_covers_every_district():
    for grant in (Grant(Role.ANALYST, area="420100"), Grant(Role.ANALYST)):
        who = Principal("a", "user", (grant,))
        assert who.may(Action.EXPORT, "420102") and who.may(Action.EXPORT, "420115001002")


def test_the_departments_of_a_principal_are_those_of_its_grants():
    assert HANDLER_IN_JIANGAN.departments == {DEPARTMENT}
    assert Principal("a", "user", (Grant(Role.ANALYST),)).departments == frozenset()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"role": "analyst", "area": "4201"}, "grant area '4201' is not a unit code: level code '4201' has 4 digits; "
                                              "a level code has one of [6, 9, 12, 14, 17, 20]"),
        ({"role": "analyst", "area": "42010x"}, "grant area '42010x' is not a unit code: level code '42010x' has "
                                                "characters other than the digits 0-9"),
        ({"role": "analyst", "area": "4" * 21}, "has 21 digits"),
        ({"role": "handler"}, "a handler grant needs a department (处置人员 work for one); name it with --department"),
        ({"role": "analyst", "department": "城管委"}, "only handler grants name a department, analyst grants do not; "
                                                    "leave out the department '城管委'"),
        ({"role": "handler", "department": "部" * 65}, "a department name has at most 64 characters, not 65"),
        ({"role": "boss"}, "there is no role 'boss'; the roles are commander (指挥长), duty_officer (值班员), "
                           "dispatcher (调度员), handler (处置人员), planner (规划建设), gis_admin (GIS管理员), "
                           "analyst (分析员), admin (系统管理员), reporter (上报系统)"),
    ],
)
def test_a_bad_grant_is_refused_in_one_line(kwargs, message):
    with pytest.raises(GrantError, match=re.escape(message)) as caught:
        Grant(**kwargs)
    assert "\n" not in str(caught.value)


def test_a_grant_given_a_role_name_holds_the_role_and_an_empty_area_means_the_whole_city():
    grant = Grant("analyst", area="", department="")  # type: ignore[arg-type]
    assert (grant.role, grant.area, grant.department) == (Role.ANALYST, None, None)
    assert grant.to_json() == {"role": "analyst", "area": None, "department": None}


def test_require_names_the_principal_the_action_and_the_roles_that_have_it():
    analyst = _principal("analyst")
    require(analyst, Action.EXPORT)  # allowed: nothing happens
    with pytest.raises(AccessDenied, match=r"^analyst1 may not dispatch_event: it needs one of the roles "
                                           r"commander, duty_officer, dispatcher$") as caught:
        require(analyst, Action.DISPATCH_EVENT)
    assert caught.value.status == 403 and isinstance(caught.value, TwinError)


def test_require_outside_the_granted_area_says_where_the_grants_reach():
    require(HANDLER_IN_JIANGAN, Action.HANDLE_EVENT, "420102001")
    with pytest.raises(AccessDenied, match=r"^h1 may not handle_event in 420103: their grants reach only "
                                           r"handler in 420102 for 城管委; ask an admin for a grant that reaches "
                                           r"420103$"):
        require(HANDLER_IN_JIANGAN, Action.HANDLE_EVENT, "420103")


@pytest.mark.parametrize(("grants", "action", "areas"), [
    ((Grant(Role.ANALYST),), Action.EXPORT, None),  # the whole city
    ((Grant(Role.ANALYST, area="420100"),), Action.EXPORT, None),  # the city's own code: the whole city too
    ((Grant(Role.ANALYST, area="420102"),), Action.EXPORT, {"420102"}),
    ((Grant(Role.ANALYST, area="420102"), Grant(Role.GIS_ADMIN, area="420103001")), Action.EXPORT,
     {"420102", "420103001"}),
    ((Grant(Role.ANALYST, area="420102"), Grant(Role.GIS_ADMIN)), Action.EXPORT, None),
    ((Grant(Role.ANALYST, area="420102"), Grant(Role.ADMIN)), Action.EXPORT, {"420102"}),  # admin: no export
    ((Grant(Role.ANALYST, area="420102"),), Action.MANAGE_USERS, set()),
])
def test_the_areas_of_an_action_are_those_of_the_grants_that_allow_it(grants, action, areas):
    found = Principal("a", "user", grants).areas(action)
    assert found == (None if areas is None else frozenset(areas))


def test_a_guest_views_the_whole_city():
    assert Principal.guest().areas(Action.VIEW) is None and Principal.guest().areas(Action.EXPORT) == frozenset()


def test_not_signed_in_is_a_401():
    assert NotSignedIn("sign in").status == 401 and issubclass(NotSignedIn, TwinError)


def test_roles_with_lists_the_roles_in_their_order():
    assert roles_with(Action.UPLOAD_IFC) == (Role.PLANNER, Role.GIS_ADMIN)
    assert roles_with(Action.MANAGE_USERS) == (Role.ADMIN,)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138******78"),
        ("420106199001011234", "420*************34"),
        ("1234567", "123**67"),
        ("123456", "******"),
        ("张三", "**"),
        ("湖北省武汉市江岸区", "湖北省****岸区"),
        ("", ""),
        (None, None),
    ],
)
def test_mask_keeps_three_and_two_characters_of_long_values_and_stars_short_ones(value, masked):
    assert mask(value, Classification.SENSITIVE, _principal("analyst")) == masked
    assert mask(value, Classification.SENSITIVE, _principal("commander")) == value
    assert mask(value, Classification.INTERNAL, _principal("analyst")) == value


def test_mask_record_masks_only_the_fields_above_the_clearance():
    record = {"person_id": "420106199001011234", "phone": "13812345678", "age": 42, "sex": "男", "name": None}
    classes = {"person_id": Classification.SENSITIVE, "phone": Classification.SENSITIVE,
               "age": Classification.INTERNAL, "name": Classification.SENSITIVE}
    assert mask_record(record, classes, _principal("analyst")) == {
        "person_id": "420*************34", "phone": "138******78", "age": 42, "sex": "男", "name": None}
    assert mask_record(record, classes, Principal.guest()) == {
        "person_id": "420*************34", "phone": "138******78", "age": "**", "sex": "男", "name": None}
    assert mask_record(record, classes, _principal("dispatcher")) == record
