"""Who acts when nobody is logged in: management commands run by someone with shell access."""

from __future__ import annotations


class SystemActor:
    """Shell access already owns the vault's keys, so commands may do everything; audit names them."""

    is_authenticated = True
    is_active = True
    is_superuser = True
    pk = None

    def __init__(self, name: str) -> None:
        self.name = name

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return True

    def get_username(self) -> str:
        return f"system:{self.name}"

    def __str__(self) -> str:
        return self.get_username()
