"""Users on both backends: argon2 hashes, one answer for every failed sign-in, and the brakes on guessing."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from twin.errors import TwinError
from twin.live_schema import grants as grants_table
from twin.live_schema import users as users_table
from twin.live_store import LiveStore
from twin.manifest import now
from twin.permissions import Grant, NotSignedIn, Role
from twin.sessions import SessionStore
from twin.users import (
    IP_LOCK_AFTER,
    LOCK_AFTER,
    LOCK_FOR,
    SigninFailed,
    SigninLocked,
    UnknownUser,
    UserError,
    UserStore,
)

PASSWORD = "correct horse battery"
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # a real argon2id hash, made fast for tests


@pytest.fixture
def live(database_url, tmp_path):
    store = LiveStore.open(database_url, tmp_path)
    yield store
    store.dispose()


@pytest.fixture
def users(live):
    return UserStore(live, hasher=CHEAP)


def _hash_of(live: LiveStore, name: str) -> str:
    with live.read() as conn:
        return conn.execute(sa.select(users_table.c.password_hash).where(users_table.c.name == name)).scalar_one()


def test_a_new_user_is_kept_with_an_argon2_hash_and_never_the_password(users, live):
    user = users.add("chen", password=PASSWORD, grants=[Grant(Role.ANALYST)], display_name="陈分析")
    stored = _hash_of(live, "chen")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert (user.name, user.display_name, user.disabled, user.grants) == ("chen", "陈分析", False,
                                                                          (Grant(Role.ANALYST),))
    shown = json.dumps(user.to_json(), ensure_ascii=False)
    assert stored not in shown and "password" not in shown
    assert user.to_json()["roles"] == ["analyst"] and user.to_json()["last_signin_at"] is None


def test_the_default_hasher_is_argon2id_with_its_standard_cost(live):
    UserStore(live).add("chen", password=PASSWORD, grants=[Grant(Role.ANALYST)])
    assert _hash_of(live, "chen").startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_a_hash_made_with_weaker_settings_is_replaced_at_the_next_sign_in(users, live):
    users.add("chen", password=PASSWORD, grants=[Grant(Role.ANALYST)])
    assert "m=1024,t=1,p=1" in _hash_of(live, "chen")
    UserStore(live).verify("chen", PASSWORD, ip="10.0.0.1")
    assert _hash_of(live, "chen").startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert UserStore(live).verify("chen", PASSWORD, ip="10.0.0.1").name == "chen"  # the new hash holds


def test_the_right_password_signs_in_as_the_user_with_their_grants(users):
    grants = [Grant(Role.HANDLER, area="420102", department="城管委"), Grant(Role.ANALYST)]
    users.add("wang", password=PASSWORD, grants=grants)
    who = users.verify("wang", PASSWORD, ip="10.0.0.1")
    assert (who.name, who.kind, set(who.grants)) == ("wang", "user", set(grants))
    assert users.get("wang").last_signin_at is not None


def test_an_unknown_name_a_wrong_password_and_a_disabled_account_fail_alike(users):
    users.add("chen", password=PASSWORD, grants=[Grant(Role.ANALYST)])
    users.add("li", password=PASSWORD, grants=[Grant(Role.ANALYST)])
    users.disable("li")
    answers = []
    for name, password in (("nobody", PASSWORD), ("chen", "wrong password"), ("li", PASSWORD)):
        with pytest.raises(SigninFailed) as caught:
            users.verify(name, password, ip="10.0.0.1")
        answers.append((str(caught.value), caught.value.status))
    assert answers == [("wrong name or password", 401)] * 3


def test_failures_in_a_row_ask_for_a_growing_delay(users):
    users.add("chen", password=PASSWORD, grants=[Grant(Role.ANALYST)])
    delays = []
    for _ in range(4):
        with pytest.raises(SigninFailed) as caught:
            users.verify("chen", "wrong password", ip="10.0.0.1")
        delays.append(caught.value.delay_s)
    assert delays == [0.25, 0.5, 1.0, 2.0]


def test_an_account_is_locked_after_five_failures_and_opens_again_after_the_lock(users):
    users.add("chen", password=PASSWORD, grants=[Grant(Role.ANALYST)])
    t0 = now()
    for i in range(LOCK_AFTER):
        with pytest.raises(SigninFailed):
            users.verify("chen", "wrong password", ip="10.0.0.1", now=t0 + timedelta(seconds=i))
    locked_at = t0 + timedelta(seconds=LOCK_AFTER - 1)
    with pytest.raises(SigninLocked, match=r"^too many failed sign-ins; try again in 15 minutes$") as caught:
        users.verify("chen", PASSWORD, ip="10.0.0.2", now=locked_at)  # the right password, from elsewhere
    assert caught.value.status == 429
    with pytest.raises(SigninLocked, match=r"try again in 1 minute$"):
        users.verify("chen", PASSWORD, ip="10.0.0.2", now=locked_at + LOCK_FOR - timedelta(seconds=30))
    assert users.get("chen").locked_until == locked_at + LOCK_FOR
    assert users.verify("chen", PASSWORD, ip="10.0.0.2", now=locked_at + LOCK_FOR).name == "chen"
    assert users.get("chen").locked_until is None


def test_a_name_no_user_has_locks_like_an_account_so_a_lock_tells_nothing(users):
    users.add("chen", password=PASSWORD, grants=[Grant(Role.ANALYST)])
    t0 = now()
    answers = {}
    for name in ("chen", "nobody"):
        for i in range(LOCK_AFTER):
            with pytest.raises(SigninFailed) as caught:  # each from another address: only the name is counted
                users.verify(name, "wrong password", ip=f"10.1.{len(answers)}.{i}", now=t0 + timedelta(seconds=i))
        with pytest.raises(SigninLocked) as locked:
            users.verify(name, "wrong password", ip="10.9.9.9", now=t0 + timedelta(seconds=LOCK_AFTER))
        answers[name] = (caught.value.delay_s, str(locked.value), locked.value.status)
    assert answers["chen"] == answers["nobody"]
    with pytest.raises(SigninFailed):  # after the lock, the unknown name fails as before
        users.verify("nobody", "wrong password", ip="10.9.9.8", now=t0 + LOCK_FOR + timedelta(minutes=1))


def test_after_a_lock_ends_the_next_failure_locks_again_until_a_success(users):
    users.add("chen", password=PASSWORD, grants=[Grant(Role.ANALYST)])
    t0 = now()
    for _ in range(LOCK_AFTER):
        with pytest.raises(SigninFailed):
            users.verify("chen", "wrong password", ip="10.0.0.1", now=t0)
    later = t0 + LOCK_FOR
    with pytest.raises(SigninFailed):
        users.verify("chen", "wrong password", ip="10.0.0.1", now=later)
    with pytest.raises(SigninLocked):
        users.verify("chen", PASSWORD, ip="10.0.0.1", now=later)


def test_an_address_is_locked_after_twenty_failures_whatever_names_it_tried(users):
    users.add("chen", password=PASSWORD, grants=[Grant(Role.ANALYST)])
    t0 = now()
    delays = []
    for i in range(IP_LOCK_AFTER):
        with pytest.raises(SigninFailed) as caught:
            users.verify(f"guess{i}", "wrong password", ip="203.0.113.9", now=t0 + timedelta(seconds=i))
        delays.append(caught.value.delay_s)
    assert delays[:3] == [0.25, 0.5, 1.0] and delays[-1] == 4.0
    moment = t0 + timedelta(seconds=IP_LOCK_AFTER)
    with pytest.raises(SigninLocked, match="try again in 15 minutes"):
        users.verify("chen", PASSWORD, ip="203.0.113.9", now=moment)
    assert users.verify("chen", PASSWORD, ip="198.51.100.1", now=moment).name == "chen"  # another address
    assert users.verify("chen", PASSWORD, ip="203.0.113.9", now=moment + LOCK_FOR).name == "chen"


def test_failures_spread_over_more_than_the_window_do_not_lock_an_address(users):
    users.add("chen", password=PASSWORD, grants=[Grant(Role.ANALYST)])
    t0 = now()
    for i in range(IP_LOCK_AFTER - 1):
        with pytest.raises(SigninFailed):
            users.verify(f"guess{i}", "x" * 12, ip="203.0.113.9", now=t0)
    with pytest.raises(SigninFailed) as caught:  # the twentieth, but after the window: a new run begins
        users.verify("guess", "x" * 12, ip="203.0.113.9", now=t0 + timedelta(minutes=16))
    assert caught.value.delay_s == 0.25
    assert users.verify("chen", PASSWORD, ip="203.0.113.9", now=t0 + timedelta(minutes=16)).name == "chen"


def test_a_success_starts_the_count_of_failures_over(users):
    users.add("chen", password=PASSWORD, grants=[Grant(Role.ANALYST)])
    for _ in range(LOCK_AFTER - 1):
        with pytest.raises(SigninFailed):
            users.verify("chen", "wrong password", ip="10.0.0.1")
    users.verify("chen", PASSWORD, ip="10.0.0.1")
    with pytest.raises(SigninFailed) as caught:
        users.verify("chen", "wrong password", ip="10.0.0.3")
    assert caught.value.delay_s == 0.25  # the first failure of a new run, and no lock


@pytest.mark.parametrize(
    ("name", "password", "grants", "message"),
    [
        ("chen wei", PASSWORD, [Grant(Role.ANALYST)],
         "user name 'chen wei' is not valid: use 1 to 64 letters, digits, '_', '.' or '-'"),
        ("", PASSWORD, [Grant(Role.ANALYST)], "user name '' is not valid"),
        ("x" * 65, PASSWORD, [Grant(Role.ANALYST)], "is not valid: use 1 to 64 letters"),
        ("guest", PASSWORD, [Grant(Role.ANALYST)],
         "the name 'guest' stands for visitors who have not signed in; choose another"),
        ("chen", "short", [Grant(Role.ANALYST)], "a password must have at least 10 characters; choose a longer one"),
        ("chen", "x" * 1025, [Grant(Role.ANALYST)], "a password must have at most 1024 characters"),
        ("chen.wei.long", "Chen.Wei.Long", [Grant(Role.ANALYST)], "a password must not be the user's name"),
        ("chen", PASSWORD, [], "user 'chen' needs at least one role; give one with --role"),
    ],
)
def test_a_user_that_breaks_a_rule_is_refused_naming_the_rule(users, name, password, grants, message):
    with pytest.raises(UserError, match=re.escape(message)):
        users.add(name, password=password, grants=grants)
    assert users.is_empty()


def test_a_name_is_taken_once(users):
    users.add("chen", password=PASSWORD, grants=[Grant(Role.ANALYST)])
    with pytest.raises(UserError, match=r"^user 'chen' already exists; choose another name") as caught:
        users.add("chen", password=PASSWORD + "!", grants=[Grant(Role.ADMIN)])
    assert caught.value.status == 400
    assert users.get("chen").grants == (Grant(Role.ANALYST),)


def test_an_unknown_user_is_a_404_saying_where_the_users_are(users):
    with pytest.raises(UnknownUser, match=r"^no user 'nobody'; twin users list shows the users$") as caught:
        users.get("nobody")
    assert caught.value.status == 404 and isinstance(caught.value, TwinError)
    for change in (users.disable, users.enable, lambda n: users.set_password(n, PASSWORD)):
        with pytest.raises(UnknownUser):
            change("nobody")


def test_grants_without_area_are_stored_as_empty_text_and_read_back_as_none(users, live):
    users.add("wang", password=PASSWORD, grants=[Grant(Role.ANALYST)])
    user = users.add_grant("wang", Grant(Role.HANDLER, area="420102", department="城管委"))
    users.add_grant("wang", Grant(Role.ANALYST))  # held already: kept once
    assert set(user.grants) == {Grant(Role.ANALYST), Grant(Role.HANDLER, area="420102", department="城管委")}
    assert len(users.get("wang").grants) == 2
    with live.read() as conn:
        rows = conn.execute(sa.select(grants_table.c.principal_kind, grants_table.c.role, grants_table.c.area,
                                      grants_table.c.department).order_by(grants_table.c.role)).all()
    assert [tuple(r) for r in rows] == [("user", "analyst", "", ""), ("user", "handler", "420102", "城管委")]


def test_the_list_is_in_name_order_and_empty_at_first(users):
    assert users.is_empty() and users.list() == []
    for name in ("zhao", "chen"):
        users.add(name, password=PASSWORD, grants=[Grant(Role.ANALYST)])
    assert [u.name for u in users.list()] == ["chen", "zhao"] and not users.is_empty()


def test_disabling_a_user_ends_their_sessions_and_their_sign_ins(users, live):
    users.add("chen", password=PASSWORD, grants=[Grant(Role.ANALYST)])
    sessions = SessionStore(live)
    started = sessions.create("chen", ip="10.0.0.1", user_agent="test")
    users.disable("chen")
    assert sessions.get(started.session_id) is None
    with pytest.raises(SigninFailed):
        users.verify("chen", PASSWORD, ip="10.0.0.1")
    with pytest.raises(NotSignedIn, match=r"^user 'chen' is disabled; ask an admin to enable it$"):
        users.principal("chen")
    users.enable("chen")
    assert sessions.get(started.session_id) is None  # an ended session stays ended
    assert users.principal("chen").roles == {Role.ANALYST}
    assert users.verify("chen", PASSWORD, ip="10.0.0.1").name == "chen"


def test_enabling_lifts_a_lock(users):
    users.add("chen", password=PASSWORD, grants=[Grant(Role.ANALYST)])
    for _ in range(LOCK_AFTER):
        with pytest.raises(SigninFailed):
            users.verify("chen", "wrong password", ip="10.0.0.1")
    users.enable("chen")
    assert users.verify("chen", PASSWORD, ip="10.0.0.1").name == "chen"


def test_a_new_password_replaces_the_old_one_and_ends_the_sessions(users, live):
    users.add("chen", password=PASSWORD, grants=[Grant(Role.ANALYST)])
    started = SessionStore(live).create("chen", ip="10.0.0.1", user_agent="test")
    with pytest.raises(UserError, match="at least 10 characters"):
        users.set_password("chen", "short")
    users.set_password("chen", "a new long passphrase")
    with pytest.raises(SigninFailed):
        users.verify("chen", PASSWORD, ip="10.0.0.1")
    assert users.verify("chen", "a new long passphrase", ip="10.0.0.1").name == "chen"
    assert SessionStore(live).get(started.session_id) is None


def test_a_one_time_password_is_spent_when_the_user_chooses_their_own(users, live):
    users.add("zhou", password=PASSWORD, grants=[Grant(Role.DISPATCHER)], one_time=True)
    assert users.get("zhou").must_change_password and users.get("zhou").to_json()["one_time"] is True
    other = SessionStore(live).create("zhou", ip="10.0.0.1", user_agent="test")
    with pytest.raises(UserError, match="must differ from the one you were given"):
        users.change_password("zhou", PASSWORD, PASSWORD, ip="10.0.0.1")
    with pytest.raises(UserError, match="at least 10 characters"):
        users.change_password("zhou", PASSWORD, "short", ip="10.0.0.1")
    assert users.get("zhou").must_change_password  # nothing was changed by a refusal
    principal = users.change_password("zhou", PASSWORD, "my own passphrase 2026", ip="10.0.0.1")
    assert principal.name == "zhou" and principal.roles == {"dispatcher"}
    assert not users.get("zhou").must_change_password
    with pytest.raises(SigninFailed):
        users.verify("zhou", PASSWORD, ip="10.0.0.1")
    assert users.verify("zhou", "my own passphrase 2026", ip="10.0.0.1").name == "zhou"
    assert SessionStore(live).get(other.session_id) is None


def test_changing_a_password_with_the_wrong_current_one_counts_as_a_failed_sign_in(users):
    users.add("zhou", password=PASSWORD, grants=[Grant(Role.DISPATCHER)], one_time=True)
    for _ in range(LOCK_AFTER):
        with pytest.raises(SigninFailed):
            users.change_password("zhou", "not the one given", "my own passphrase 2026", ip="10.0.0.2")
    with pytest.raises(SigninLocked):
        users.change_password("zhou", PASSWORD, "my own passphrase 2026", ip="10.0.0.3")
    assert users.get("zhou").must_change_password


def test_an_admin_reset_can_be_one_time_and_a_plain_reset_is_the_users_own(users):
    users.add("li", password=PASSWORD, grants=[Grant(Role.ANALYST)])
    assert not users.get("li").must_change_password
    users.set_password("li", "given by the admin", one_time=True)
    assert users.get("li").must_change_password
    users.set_password("li", "chosen by li herself")
    assert not users.get("li").must_change_password
