"""What the adapters tell the core, named after the actor. The only way state changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.core.agent_port import AgentReply
from bot.core.media import CustomerFile, SharedFile
from bot.core.ports import Loaded, Result
from storage.models import OutboxItem


@dataclass(frozen=True)
class Delivery:
    """The platform's own id for this delivery; a second event with the same id is a re-delivery."""

    platform: str
    delivery_id: str


@dataclass(frozen=True)
class CustomerInfo:
    tg_user_id: int
    tg_chat_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class CustomerStarted:
    delivery: Delivery
    customer: CustomerInfo


@dataclass(frozen=True)
class CustomerStopped:
    """The customer sent /stop: no more campaigns for them (until /start)."""

    delivery: Delivery
    customer: CustomerInfo


@dataclass(frozen=True)
class CustomerMessage:
    delivery: Delivery
    customer: CustomerInfo
    tg_message_id: int
    text: str
    html: str
    kind: str = "text"
    file: CustomerFile | None = None
    media_group_id: str | None = None  # an album: items arrive as separate messages sharing this id
    # A press on one of the agent's choice buttons: the text is the button's; `escalate` (the reason) when
    # the button was "talk to a person".
    picked: bool = False
    escalate: str | None = None


@dataclass(frozen=True)
class CustomerBlockedBot:
    """The customer blocked (or, with blocked=False, unblocked) the bot in Telegram."""

    delivery: Delivery
    tg_user_id: int
    blocked: bool


@dataclass(frozen=True)
class CustomerRated:
    """The customer pressed one of the 1–5 buttons under the rating question sent on resolve."""

    delivery: Delivery
    tg_user_id: int
    conversation_id: int
    rating: int


@dataclass(frozen=True)
class ConversationRef:
    """How an operator names a conversation: exactly one field is set."""

    conversation_id: int | None = None
    customer_username: str | None = None
    tg_user_id: int | None = None
    slack_thread: tuple[str, str] | None = None  # (channel, thread_ts)

    def describe(self) -> str:
        if self.conversation_id is not None:
            return f"#{self.conversation_id}"
        if self.customer_username is not None:
            return f"@{self.customer_username}"
        if self.tg_user_id is not None:
            return str(self.tg_user_id)
        return "that thread"


@dataclass(frozen=True)
class Actor:
    slack_user_id: str
    name: str


@dataclass(frozen=True)
class OperatorMessage:
    delivery: Delivery
    actor: Actor
    slack_channel: str
    slack_thread_ts: str
    slack_ts: str
    text: str
    html: str
    files: tuple[SharedFile, ...] = ()


@dataclass(frozen=True)
class TakeoverRequested:
    ref: ConversationRef
    actor: Actor
    source: str  # "button" | "shortcut" | "command" | "reply"
    send_note_ts: str | None = None  # "Take over and send": the note to deliver once the takeover holds
    delivery: Delivery | None = None  # the Slack request's own id: a replayed request is applied once


@dataclass(frozen=True)
class HandbackRequested:
    ref: ConversationRef
    actor: Actor
    source: str
    delivery: Delivery | None = None


@dataclass(frozen=True)
class ResolveRequested:
    ref: ConversationRef
    actor: Actor
    source: str
    delivery: Delivery | None = None


@dataclass(frozen=True)
class AgentReplied:
    conversation_id: int
    in_reply_to_message_id: int
    reply: AgentReply


@dataclass(frozen=True)
class CustomerEdited:
    """The customer changed a message they had sent (Telegram `edited_message`)."""

    delivery: Delivery
    tg_user_id: int
    tg_message_id: int
    text: str
    html: str
    edited_at: datetime  # Telegram's edit_date: orders edits of one message


@dataclass(frozen=True)
class OperatorEdited:
    """A person changed their message in a conversation thread (Slack `message_changed`)."""

    delivery: Delivery
    actor: Actor
    slack_channel: str
    slack_thread_ts: str
    slack_ts: str
    text: str
    html: str
    edited_at: datetime | None = None  # Slack's edited.ts: orders edits of one message handled concurrently


@dataclass(frozen=True)
class OperatorDeleted:
    """A message was deleted from a conversation thread (Slack `message_deleted`). Slack does not say by
    whom, so `actor` is the message's author."""

    delivery: Delivery
    actor: Actor
    slack_channel: str
    slack_thread_ts: str
    slack_ts: str


@dataclass(frozen=True)
class CustomerBlockRequested:
    """An admin blocks (or unblocks) a customer: their messages are kept, nothing is sent or mirrored."""

    actor: Actor
    customer_id: int
    blocked: bool
    delivery: Delivery | None = None  # the Slack command's own id: a replayed command is applied once


@dataclass(frozen=True)
class AgentPauseRequested:
    """An admin pauses (or resumes) the agent for everyone, e.g. during an outage of its backend."""

    actor: Actor
    paused: bool
    delivery: Delivery | None = None


@dataclass(frozen=True)
class RoleChangeRequested:
    """An admin gives or takes the operator or admin role (`/baton operators|admins add|remove @user`)."""

    actor: Actor
    target_slack_user_id: str
    role: str  # "operator" | "admin"
    add: bool
    delivery: Delivery  # the Slack command's own id: a replayed add must not undo a later remove


@dataclass(frozen=True)
class AdminCommandRun:
    """An admin ran a `/baton` subcommand: audited before it is answered (the answer says it is done)."""

    actor: Actor
    subcommand: str
    detail: str


@dataclass(frozen=True)
class TranscriptExported:
    """An operator pressed Export on a conversation's card: the export is on the record before it is posted."""

    slack_user_id: str
    conversation_id: int


@dataclass(frozen=True)
class CampaignDraft:
    """A campaign as an admin described it, already validated by the Slack side."""

    text: str
    html: str
    audience: str
    audience_value: str = ""
    image_url: str | None = None
    button_label: str | None = None
    button_url: str | None = None
    send_at: datetime | None = None  # None: now


@dataclass(frozen=True)
class CampaignCreateRequested:
    actor: Actor
    draft: CampaignDraft
    form_id: str | None = None  # the Slack view's id: a form submitted again creates nothing more


@dataclass(frozen=True)
class CampaignCancelRequested:
    actor: Actor
    campaign_id: int
    source: str  # "command" | "button"


@dataclass(frozen=True)
class CustomerTagsChangeRequested:
    """An admin tags (or untags) a customer for campaign audiences."""

    actor: Actor
    customer_ref: str  # @username or Telegram id, as typed
    tags: tuple[str, ...]
    remove: bool = False
    delivery: Delivery | None = None


@dataclass(frozen=True)
class CampaignStartDue:
    """A campaign's send time has passed: its recipients are fixed and sending starts."""

    campaign_id: int


@dataclass(frozen=True)
class CampaignSendsDue:
    """The sender has room for `room` more of a sending campaign's messages: each becomes an outbox row in its
    customer's lane (the dispatcher paces, retries and orders them; their outcomes settle the recipients)."""

    campaign_id: int
    room: int


@dataclass(frozen=True)
class CampaignSendingDone:
    """No recipient of a sending campaign is pending any more."""

    campaign_id: int


@dataclass(frozen=True)
class CampaignFailed:
    """A campaign cannot go on at all (e.g. its audience cannot be read): stopped for good, visibly."""

    campaign_id: int
    reason: str


@dataclass(frozen=True)
class CustomerWaitDue:
    """Timer: a customer may have waited `waiting_minutes` for a human's reply."""

    conversation_id: int
    waiting_minutes: float


@dataclass(frozen=True)
class OwnerSilenceDue:
    """Timer: the owner of a taken-over conversation may be due a warning that it goes back to the agent."""

    conversation_id: int
    idle_minutes: float
    warning_minutes: float


@dataclass(frozen=True)
class DeliverySettled:
    """A dispatcher's delivery of one outbox row ended with `result` (recorded, with what follows from it)."""

    item: OutboxItem
    result: Result
    settled_at: datetime
    retry_base: float = 1.0
    loaded: Loaded | None = None  # the rows read at the claim, so they need not be read again


class Action(StrEnum):
    """What a button offered to an operator does, named by the core; the Slack adapter owns the action ids
    its platform sees (operator_bridge/action_ids.py)."""

    TAKEOVER_AND_SEND = "takeover_and_send"  # take over and send the reply that stayed a note
    KEEP_AS_NOTE = "keep_as_note"


@dataclass(frozen=True)
class Button:
    action: Action
    label: str
    value: str
    style: str | None = None


@dataclass(frozen=True)
class Feedback:
    """Something to tell the acting operator privately (an ephemeral message in Slack).

    `text` is in the neutral HTML of bot.core.markup, outside text escaped with `bot.core.text.quote`; the Slack
    adapter renders it (operator_bridge/replies_out.py). `person`, when set, is the staff member the reply is
    about (their Slack user id), named before the text."""

    text: str
    buttons: tuple[Button, ...] = ()
    person: str | None = None


@dataclass
class Outcome:
    conversation_id: int | None = None
    duplicate: bool = False
    changed: bool = False
    unknown_thread: bool = False
    campaign_id: int | None = None  # the campaign a CampaignCreateRequested created
    author: str | None = None  # DeliverySettled: the delivered message's author (for metrics)
    feedback: list[Feedback] = field(default_factory=list)

    def tell(self, text: str, *buttons: Button, person: str | None = None) -> Outcome:
        self.feedback.append(Feedback(text, tuple(buttons), person))
        return self


Event = (CustomerStarted | CustomerStopped | CustomerMessage | CustomerBlockedBot | CustomerRated | OperatorMessage
         | TakeoverRequested | HandbackRequested | ResolveRequested | AgentReplied | CustomerEdited | OperatorEdited
         | OperatorDeleted | CustomerBlockRequested | AgentPauseRequested | RoleChangeRequested | AdminCommandRun
         | TranscriptExported | CampaignCreateRequested | CampaignCancelRequested | CustomerTagsChangeRequested
         | CampaignStartDue | CampaignSendsDue | CampaignSendingDone | CampaignFailed | CustomerWaitDue
         | OwnerSilenceDue | DeliverySettled)
