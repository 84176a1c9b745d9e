"""The demo city's users: one per role, each with a password made for this run only.

``make demo`` runs ``twin demo users`` after building the city, so a newcomer can sign in as a commander,
a dispatcher, an analyst... and see what each may do. The passwords change at every run, are printed once,
and are one-time: at the first sign-in each user chooses their own. The store keeps only their hashes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from twin.permissions import ROLE_LABELS, Grant, Role
from twin.users import UnknownUser, UserStore

#: The department of the demo handler (处置人员 always belong to one).
DEMO_DEPARTMENT = "城管委"


@dataclass(frozen=True)
class DemoUser:
    name: str
    role: Role
    password: str

    @property
    def label(self) -> str:
        return ROLE_LABELS[self.role]


def demo_user_name(role: Role) -> str:
    return f"demo-{role.value.replace('_', '-')}"


def ensure_demo_users(users: UserStore) -> list[DemoUser]:
    """Make (or re-enable) one user per role and give each a fresh one-time password; returns them with it."""
    made = []
    for role in Role:
        name = demo_user_name(role)
        password = secrets.token_urlsafe(12)
        grant = Grant(role, department=DEMO_DEPARTMENT if role is Role.HANDLER else None)
        try:
            users.get(name)
        except UnknownUser:
            users.add(name, password=password, grants=[grant], display_name=f"演示{ROLE_LABELS[role]}", one_time=True)
        else:
            users.set_password(name, password, one_time=True)
            users.enable(name)
        made.append(DemoUser(name, role, password))
    return made
