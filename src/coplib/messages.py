"""Messages to community members: drafts produced by policies, and their texts in French
and English."""

from __future__ import annotations

import string
from collections.abc import Mapping

import attrs

from coplib.domain.errors import InvalidInputError


@attrs.frozen
class MessageDraft:
    """A message a policy wants sent: to whom, on which topic, with which parameters."""

    recipient_id: str
    topic: str
    params: dict[str, str] = attrs.field(factory=dict, hash=False)


@attrs.frozen
class RenderedMessage:
    subject: str
    body: str
    locale: str


#: topic -> locale -> (subject, body). Placeholders are ``$name`` (string.Template).
CATALOGUE: dict[str, dict[str, tuple[str, str]]] = {
    "member_invited": {
        "en": ("You are invited to $community", "$actor invites you to join the community $community."),
        "fr": ("Invitation à rejoindre $community", "$actor vous invite à rejoindre la communauté $community."),
    },
    "membership_requested": {
        "en": ("$person asks to join $community", "$person asks to join $community: approve or decline."),
        "fr": (
            "$person demande à rejoindre $community",
            "$person demande à rejoindre $community : acceptez ou refusez la demande.",
        ),
    },
    "membership_approved": {
        "en": ("Welcome to $community", "Your request to join $community was approved. Welcome!"),
        "fr": ("Bienvenue dans $community", "Votre demande pour rejoindre $community est acceptée. Bienvenue !"),
    },
    "membership_declined": {
        "en": ("Your request to join $community", "Your request to join $community was declined. $reason"),
        "fr": ("Votre demande pour $community", "Votre demande pour rejoindre $community a été refusée. $reason"),
    },
    "role_assigned": {
        "en": ("New role in $community", "You are now $role in $community."),
        "fr": ("Nouveau rôle dans $community", "Vous êtes désormais $role dans $community."),
    },
    "answer_posted": {
        "en": ("New answer to “$title”", "$actor answered your question “$title” in $community."),
        "fr": ("Nouvelle réponse à « $title »", "$actor a répondu à votre question « $title » dans $community."),
    },
    "answer_accepted": {
        "en": ("Your answer was accepted", "Your answer to “$title” in $community was accepted. Thank you!"),
        "fr": ("Votre réponse est acceptée", "Votre réponse à « $title » dans $community a été acceptée. Merci !"),
    },
}

ROLE_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "sponsor": "sponsor",
        "facilitator": "facilitator",
        "coach": "coach",
        "expert": "expert",
        "documentalist": "documentalist",
        "technical_support": "technical support",
        "administrative_support": "administrative support",
        "coordinator": "coordinator",
        "core_group": "core group member",
        "member": "member",
        "newcomer": "newcomer",
    },
    "fr": {
        "sponsor": "sponsor",
        "facilitator": "animateur",
        "coach": "coach",
        "expert": "expert",
        "documentalist": "documentaliste",
        "technical_support": "support technique",
        "administrative_support": "support administratif",
        "coordinator": "coordinateur",
        "core_group": "membre du noyau dur",
        "member": "membre",
        "newcomer": "nouveau venu",
    },
}


def render(topic: str, params: Mapping[str, str], locale: str = "en") -> RenderedMessage:
    """The subject and body of a message in the person's locale (English if unknown)."""
    texts = CATALOGUE.get(topic)
    if texts is None:
        raise InvalidInputError.field("$.topic", f"no message text for topic {topic!r}")
    chosen = locale if locale in texts else "en"
    subject, body = texts[chosen]
    values = dict(params)
    if "role" in values:
        values["role"] = ROLE_NAMES.get(chosen, {}).get(values["role"], values["role"])
    return RenderedMessage(
        subject=string.Template(subject).safe_substitute(values),
        body=string.Template(body).safe_substitute(values).strip(),
        locale=chosen,
    )
