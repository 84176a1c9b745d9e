"""API tokens on both backends: shown once, kept as a digest, refused when unknown, disabled or expired."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from twin.api_tokens import INVALID, TokenError, TokenStore, UnknownToken
from twin.live_schema import api_tokens as tokens_table
from twin.live_store import LiveStore
from twin.manifest import now
from twin.permissions import Action, Grant, NotSignedIn, Role


@pytest.fixture
def live(database_url, tmp_path):
    store = LiveStore.open(database_url, tmp_path)
    yield store
    store.dispose()


@pytest.fixture
def tokens(live):
    return TokenStore(live)


def _row(live: LiveStore, name: str) -> dict:
    with live.read() as conn:
        return dict(conn.execute(sa.select(tokens_table).where(tokens_table.c.name == name)).one()._mapping)


def test_a_new_token_is_shown_once_and_kept_only_as_its_sha256_digest(tokens, live):
    issued = tokens.add("gateway", grants=[Grant(Role.REPORTER)], created_by="admin1")
    assert issued.name == "gateway" and issued.roles == ["reporter"]
    assert issued.token.startswith("twt_") and len(issued.token) == 4 + 43
    row = _row(live, "gateway")
    assert row["token_hash"] == hashlib.sha256(issued.token.encode()).hexdigest()
    assert issued.token not in json.dumps(row, default=str)
    assert issued.token not in json.dumps([t.to_json() for t in tokens.list()])
    assert tokens.add("other", grants=[Grant(Role.REPORTER)], created_by="admin1").token != issued.token


def test_a_token_signs_in_as_a_token_principal_with_its_grants(tokens):
    issued = tokens.add("gateway", grants=[Grant(Role.REPORTER, area="420102")], created_by="admin1")
    who = tokens.verify(issued.token)
    assert (who.name, who.kind, who.grants) == ("gateway", "token", (Grant(Role.REPORTER, area="420102"),))
    assert who.may(Action.SUBMIT_READINGS, "420102001") and not who.may(Action.VIEW)


@pytest.mark.parametrize("sent", ["twt_not-a-token-we-made", "Bearer twt_x", "", "twt_" + "x" * 300, "abc"])
def test_a_token_we_did_not_make_is_refused_with_what_to_do(tokens, sent):
    tokens.add("gateway", grants=[Grant(Role.REPORTER)], created_by="admin1")
    with pytest.raises(NotSignedIn) as caught:
        tokens.verify(sent)
    assert str(caught.value) == INVALID == (
        "the API token is not valid (unknown, disabled or expired); ask an admin for a new one")
    assert caught.value.status == 401


def test_a_disabled_token_is_refused(tokens):
    issued = tokens.add("gateway", grants=[Grant(Role.REPORTER)], created_by="admin1")
    tokens.disable("gateway")
    with pytest.raises(NotSignedIn, match="not valid"):
        tokens.verify(issued.token)
    assert tokens.get("gateway").disabled and tokens.list()[0].to_json()["disabled"] is True


def test_a_token_expires(tokens):
    issued = tokens.add("gateway", grants=[Grant(Role.REPORTER)], created_by="admin1", expires_in=timedelta(days=30))
    expires = tokens.get("gateway").expires_at
    assert expires - now() < timedelta(days=30) and expires - now() > timedelta(days=29, hours=23)
    assert tokens.verify(issued.token, now=expires - timedelta(seconds=1)).name == "gateway"
    with pytest.raises(NotSignedIn, match="not valid"):
        tokens.verify(issued.token, now=expires)


def test_last_used_is_written_at_most_once_a_minute(tokens, live):
    issued = tokens.add("gateway", grants=[Grant(Role.REPORTER)], created_by="admin1")
    assert _row(live, "gateway")["last_used_at"] is None
    t0 = now()
    tokens.verify(issued.token, now=t0)
    tokens.verify(issued.token, now=t0 + timedelta(seconds=59))
    assert _row(live, "gateway")["last_used_at"] == t0
    tokens.verify(issued.token, now=t0 + timedelta(seconds=61))
    assert _row(live, "gateway")["last_used_at"] == t0 + timedelta(seconds=61)


def test_a_token_name_is_taken_once(tokens):
    tokens.add("gateway", grants=[Grant(Role.REPORTER)], created_by="admin1")
    with pytest.raises(TokenError, match=r"^token 'gateway' already exists; choose another name") as caught:
        tokens.add("gateway", grants=[Grant(Role.ADMIN)], created_by="admin1")
    assert caught.value.status == 400
    assert [t.roles for t in tokens.list()] == [["reporter"]]


@pytest.mark.parametrize(
    ("name", "grants", "expires_in", "message"),
    [
        ("gate way", [Grant(Role.REPORTER)], None, "token name 'gate way' is not valid"),
        ("gateway", [], None, "token 'gateway' needs at least one role"),
        ("gateway", [Grant(Role.REPORTER)], timedelta(0), "a token must expire in the future"),
    ],
)
def test_a_bad_token_is_refused(tokens, name, grants, expires_in, message):
    with pytest.raises(TokenError, match=message):
        tokens.add(name, grants=grants, created_by="admin1", expires_in=expires_in)
    assert tokens.list() == []


def test_the_list_shows_who_made_each_token_and_never_a_secret(tokens):
    tokens.add("b-gateway", grants=[Grant(Role.REPORTER)], created_by="admin1")
    tokens.add("a-script", grants=[Grant(Role.ANALYST), Grant(Role.GIS_ADMIN)], created_by="cli:root")
    shown = [t.to_json() for t in tokens.list()]
    assert [(t["name"], t["roles"], t["created_by"]) for t in shown] == [
        ("a-script", ["analyst", "gis_admin"], "cli:root"), ("b-gateway", ["reporter"], "admin1")]
    assert all("token" not in t and "token_hash" not in t for t in shown)


def test_disabling_an_unknown_token_says_where_the_tokens_are(tokens):
    with pytest.raises(UnknownToken, match=r"^no API token 'nope'; twin tokens list shows the tokens$"):
        tokens.disable("nope")
