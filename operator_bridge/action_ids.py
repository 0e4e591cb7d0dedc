"""The Slack action ids Baton's buttons and shortcuts carry, and what each one asks of the core.

Slack owns these names (they come back in every interaction payload, also from messages posted by earlier
releases, so a string here never changes); the core names actions in its own terms (`events.Action`,
`states.Kind`) and never sees them.
"""

from __future__ import annotations

from bot.core.events import Action, HandbackRequested, ResolveRequested, TakeoverRequested

# The card's and the alerts' buttons.
TAKEOVER, HANDBACK, RESOLVE, EXPORT = "takeover", "handback", "resolve", "export"
# The message shortcut "Take over" on a thread's message.
TAKEOVER_SHORTCUT = "takeover_message"

MODE_BUTTONS: dict[str, type[TakeoverRequested | HandbackRequested | ResolveRequested]] = {
    TAKEOVER: TakeoverRequested, HANDBACK: HandbackRequested, RESOLVE: ResolveRequested}

# The buttons the core offers in a reply to an operator.
FOR_ACTION: dict[Action, str] = {Action.TAKEOVER_AND_SEND: "takeover_and_send", Action.KEEP_AS_NOTE: "keep_as_note"}
