"""Who may do what: operators (listed, added from Slack, or in the operator user group) and admins."""

from __future__ import annotations

from collections.abc import Iterable


class Access:
    def __init__(self, operators: Iterable[str] = (), admins: Iterable[str] = (),
                 operator_group: str | None = None) -> None:
        # The config lists are fixed for the life of the process; Slack cannot remove these people.
        self.config_operators = frozenset(operators)
        self.config_admins = frozenset(admins)
        self.operators = set(self.config_operators)
        self.admins = set(self.config_admins)
        self.operator_group = operator_group
        # Filled and refreshed by the Slack side from the user group's member list.
        self.group_members: set[str] = set()
        # Which stored change the lists above reflect (see admin_ops.sync_access); None: not loaded yet.
        self.generation: str | None = None

    def merge_stored(self, operators: Iterable[str], admins: Iterable[str]) -> None:
        """Replace the people added from Slack (the staff_role table) while keeping the config lists."""
        self.operators = set(self.config_operators) | set(operators)
        self.admins = set(self.config_admins) | set(admins)

    def is_admin(self, slack_user_id: str) -> bool:
        return slack_user_id in self.admins

    def is_operator(self, slack_user_id: str) -> bool:
        return (slack_user_id in self.operators or slack_user_id in self.group_members
                or slack_user_id in self.admins)
