"""Signing in, in a real browser: what each user sees, what a guest sees, and a wrong password refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.chromium import free_port
from bench.server import serve_city
from tests.conftest import DEMO_SEED
from tests.e2e.conftest import ARTIFACTS
from twin.demo import build_demo
from twin.live_store import LiveStore
from twin.permissions import Grant, Role
from twin.users import UserStore

PASSWORD = "a long demo password"


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("signin") / "city"
    build_demo(folder, seed=DEMO_SEED, scale="small")
    live = LiveStore.open(None, folder)
    users = UserStore(live)
    users.add("disp1", password=PASSWORD, grants=[Grant(Role.DISPATCHER)], display_name="调度员一")
    users.add("ana1", password=PASSWORD, grants=[Grant(Role.ANALYST)])
    live.dispose()
    return folder


@pytest.fixture(scope="module")
def signed_url(city: Path, tmp_path_factory) -> Iterator[str]:
    with serve_city(city, free_port(), tmp_path_factory.mktemp("signin-log") / "serve.log") as url:
        yield url


@pytest.fixture(scope="module")
def guest_url(city: Path, tmp_path_factory) -> Iterator[str]:
    with serve_city(city, free_port(), tmp_path_factory.mktemp("guest-log") / "serve.log",
                    env={"TWIN_GUEST": "true"}) as url:
        yield url


def _sign_in(browser, url: str, name: str, password: str):
    page = browser.browser.new_page(viewport={"width": 1400, "height": 860})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(url)  # not signed in: the map is not shown, the sign-in page is
    page.wait_for_selector("#signin-form", timeout=30_000)
    page.fill("#signin-name", name)
    page.fill("#signin-password", password)
    page.click("#signin-submit")
    return page, problems


def test_a_dispatcher_signs_in_and_sees_the_screen(browser, signed_url):
    page, problems = _sign_in(browser, signed_url, "disp1", PASSWORD)
    page.wait_for_selector("#map-status:has-text('map ready')", timeout=90_000)
    assert page.inner_text("#whoami") == "disp1"
    assert page.inner_text("#my-roles") == "调度员 dispatcher"
    nav = page.inner_text("#nav")
    assert "一屏统览 Map" in nav and "管理 Admin" not in nav  # the admin screen is not theirs
    assert page.locator("#guest-banner").count() == 0
    page.screenshot(path=str(ARTIFACTS / "signed_in_dispatcher.png"))
    page.click("#signout")
    page.wait_for_selector("#signin-form", timeout=30_000)
    page.goto(signed_url)
    page.wait_for_selector("#signin-form", timeout=30_000)  # signed out: back to the sign-in page
    assert [p for p in problems if "401" not in p] == []
    page.close()


def test_a_wrong_password_is_refused_with_a_clear_message(browser, signed_url):
    page, _ = _sign_in(browser, signed_url, "disp1", "not the password")
    page.wait_for_selector("#signin-error", timeout=30_000)
    assert page.inner_text("#signin-error") == "用户名或密码错误 Wrong name or password."
    assert page.input_value("#signin-name") == "disp1" and page.input_value("#signin-password") == ""
    page.screenshot(path=str(ARTIFACTS / "signin_wrong_password.png"))
    page.close()


def _building_address(city: Path) -> tuple[str, int]:
    from twin.city_store import CityStore

    store = CityStore.open(city)
    b = store.read("buildings", columns=["code", "residents"])
    code = str(b[b["residents"] > 5]["code"].iloc[0])
    a = store.read("addresses", columns=["text", "building_code"])
    return str(a[a["building_code"].astype(str) == code]["text"].iloc[0]), int(b.set_index("code").loc[code].residents)


def test_an_analyst_sees_residents_masked_and_a_dispatcher_sees_them_in_clear(browser, signed_url, city):
    address, residents = _building_address(city)
    shown = {}
    for name in ("ana1", "disp1"):
        page, _ = _sign_in(browser, signed_url, name, PASSWORD)
        page.wait_for_selector("#map-status:has-text('map ready')", timeout=90_000)
        page.fill("#address-search", address)
        page.click("#address-search-go")
        page.wait_for_selector("#residents-list", timeout=30_000)
        ages = page.locator("#residents-list td[data-field='age']").all_inner_texts()
        shown[name] = ages
        assert f"Residents here 实有人口 ({min(residents, 20)} of {residents})" in page.inner_text(
            "#residents-list") or f"({residents})" in page.inner_text("#residents-list")
        page.screenshot(path=str(ARTIFACTS / f"residents_as_{name}.png"))
        page.close()
    assert shown["ana1"] and all(set(a) == {"*"} for a in shown["ana1"])
    assert all(a.isdigit() for a in shown["disp1"]) and len(shown["disp1"]) == len(shown["ana1"])


def test_a_guest_sees_the_public_city_under_a_banner(browser, guest_url):
    page = browser.browser.new_page(viewport={"width": 1400, "height": 860})
    page.goto(guest_url)
    page.wait_for_selector("#map-status:has-text('map ready')", timeout=90_000)
    assert page.inner_text("#guest-banner") == "访客 Guest · 只读 read-only · public layers only"
    assert "管理 Admin" not in page.inner_text("#nav")
    assert "buildings" in page.evaluate("window.twinMap.deck.props.layers.map(l => l.id)")
    page.screenshot(path=str(ARTIFACTS / "guest_view.png"))
    page.close()


def test_a_demo_user_signs_in_with_the_one_time_password_and_chooses_their_own(browser, signed_url, city):
    from twin.demo_users import ensure_demo_users

    live = LiveStore.open(None, city)
    try:
        given = {u.name: u.password for u in ensure_demo_users(UserStore(live))}["demo-duty-officer"]
    finally:
        live.dispose()
    page, problems = _sign_in(browser, signed_url, "demo-duty-officer", given)
    page.wait_for_selector("#password-form", timeout=30_000)
    assert "choose your own to go on" in page.inner_text("#password-why")
    assert page.input_value("#password-name") == "demo-duty-officer"
    page.fill("#password-current", given)
    page.fill("#password-new", "my own duty passphrase")
    page.fill("#password-repeat", "my own duty passphrase, again")
    page.click("#password-submit")
    page.wait_for_selector("#signin-error", timeout=30_000)
    assert "The two new passwords differ" in page.inner_text("#signin-error")
    page.screenshot(path=str(ARTIFACTS / "signin_choose_password.png"))
    page.fill("#password-current", given)
    page.fill("#password-new", "my own duty passphrase")
    page.fill("#password-repeat", "my own duty passphrase")
    page.click("#password-submit")
    page.wait_for_selector("#map-status:has-text('map ready')", timeout=90_000)
    assert page.inner_text("#whoami") == "demo-duty-officer"
    page.close()
    # the password given is spent: it signs in no more, their own does
    page, _ = _sign_in(browser, signed_url, "demo-duty-officer", given)
    page.wait_for_selector("#signin-error", timeout=30_000)
    assert page.inner_text("#signin-error") == "用户名或密码错误 Wrong name or password."
    page.close()
    page, _ = _sign_in(browser, signed_url, "demo-duty-officer", "my own duty passphrase")
    page.wait_for_selector("#map-status:has-text('map ready')", timeout=90_000)
    page.close()
    # the browser logs the refused forms' statuses (the two new passwords that differed: 400), nothing else
    assert [p for p in problems if "status of 400" not in p and "status of 401" not in p] == []
