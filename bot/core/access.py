"""Who may do what: operators (listed or in the operator user group) and admins."""

from __future__ import annotations

from collections.abc import Iterable


class Access:
    def __init__(self, operators: Iterable[str] = (), admins: Iterable[str] = (),
                 operator_group: str | None = None) -> None:
        self.operators = set(operators)
        self.admins = set(admins)
        self.operator_group = operator_group
        # Filled and refreshed by the Slack side from the user group's member list.
        self.group_members: set[str] = set()

    def is_admin(self, slack_user_id: str) -> bool:
        return slack_user_id in self.admins

    def is_operator(self, slack_user_id: str) -> bool:
        return (slack_user_id in self.operators or slack_user_id in self.group_members
                or slack_user_id in self.admins)
