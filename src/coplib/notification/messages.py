"""Messages to community members: drafts produced by policies, their texts in French and
English, and their rendering to plain text, HTML and e-mail.

Every value a member typed (a question's title, a display name) is untrusted: it is
HTML-escaped in the HTML part and kept on one line, without control characters, in anything
that can become a header.
"""

from __future__ import annotations

import html
import re
import string
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

import attrs

from coplib.domain.errors import FieldError, InvalidInputError
from coplib.domain.people import Person
from coplib.ports.storage import OutboxMessage

DEFAULT_LOCALE = "en"
#: The topic of a digest: several messages to one person delivered as one.
DIGEST_TOPIC = "digest"
CHANNEL_MAX = 50
_CHANNEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")


@attrs.frozen
class RenderedMessage:
    """A message in one locale: a one-line `subject`, a plain-text `body`, and `html`, the
    same body as an HTML fragment (``<p>`` elements) with every parameter escaped."""

    subject: str
    body: str
    locale: str
    html: str = ""


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
    # Several messages grouped for a person who asked for a daily or weekly digest: `items`
    # holds one line per message (each already in the recipient's language), `count` their
    # number and `period` "daily" or "weekly".
    DIGEST_TOPIC: {
        "en": (
            "Your $period digest ($count)",
            "Here is what happened in your communities since your last digest:\n\n$items",
        ),
        "fr": (
            "Votre résumé $period ($count)",
            "Voici ce qui s'est passé dans vos communautés depuis votre dernier résumé :\n\n$items",
        ),
    },
    # -- the answer guarantee (coplib.policies.guarantee) --
    # Parameters: community, title (the question's), asker and people (display names), role,
    # hours (working hours waited) and step (the ladder's step number).
    "question_routed": {
        "en": (
            "Your question “$title” was passed on",
            "Your question “$title” in $community was passed on to $people. You will hear as soon as someone answers.",
        ),
        "fr": (
            "Votre question « $title » a été transmise",
            "Votre question « $title » dans $community a été transmise à $people. "
            "Un message vous préviendra dès qu'une réponse arrivera.",
        ),
    },
    "question_unrouted": {
        "en": (
            "Your question “$title” is posted",
            "Your question “$title” is posted in $community. No expert is designated for it yet: "
            "every member sees it and can answer.",
        ),
        "fr": (
            "Votre question « $title » est publiée",
            "Votre question « $title » est publiée dans $community. Aucun expert n'est encore désigné "
            "pour y répondre : tous les membres la voient et peuvent répondre.",
        ),
    },
    "question_for_expert": {
        "en": (
            "A question for you in $community: “$title”",
            "$asker asked “$title” in $community. You are one of the experts asked to answer it: "
            "a quick answer keeps the community's promise.",
        ),
        "fr": (
            "Une question pour vous dans $community : « $title »",
            "$asker a posé la question « $title » dans $community. Vous faites partie des experts "
            "sollicités pour y répondre : une réponse rapide tient la promesse de la communauté.",
        ),
    },
    "question_for_facilitator": {
        "en": (
            "A question waits for an answer in $community",
            "$asker asked “$title” in $community, and no expert is designated for it. "
            "Please answer it or pass it on to someone who can.",
        ),
        "fr": (
            "Une question attend une réponse dans $community",
            "$asker a posé la question « $title » dans $community, et aucun expert n'est désigné "
            "pour y répondre. Merci d'y répondre ou de la transmettre à quelqu'un qui le peut.",
        ),
    },
    "question_reminder": {
        "en": (
            "Reminder: “$title” still has no answer",
            "The question “$title” asked by $asker in $community has waited $hours working hours "
            "without an answer. Can you answer it?",
        ),
        "fr": (
            "Rappel : « $title » attend toujours une réponse",
            "La question « $title » posée par $asker dans $community attend une réponse depuis "
            "$hours heures ouvrées. Pouvez-vous y répondre ?",
        ),
    },
    "question_escalated": {
        "en": (
            "Unanswered question in $community: “$title”",
            "The question “$title” asked by $asker in $community has waited $hours working hours "
            "without an answer (step $step of the escalation ladder). You receive this for your role "
            "($role): please answer it or find someone who can.",
        ),
        "fr": (
            "Question sans réponse dans $community : « $title »",
            "La question « $title » posée par $asker dans $community attend une réponse depuis "
            "$hours heures ouvrées (étape $step de l'escalade). Vous recevez ce message pour votre "
            "rôle ($role) : merci d'y répondre ou de trouver quelqu'un qui le peut.",
        ),
    },
    "question_still_waiting": {
        "en": (
            "Your question “$title” is being followed up",
            "Your question “$title” in $community has no answer yet. We have asked $people to help.",
        ),
        "fr": (
            "Votre question « $title » est suivie",
            "Votre question « $title » dans $community n'a pas encore de réponse. "
            "Nous avons demandé à $people de vous aider.",
        ),
    },
    # -- recognition and participation (coplib.policies.badges, coplib.policies.levels) --
    # Parameters: community (its name), badge (its stable name) with badge_en and badge_fr
    # (its titles), level (core_group, active...) with level_en and level_fr (its names).
    "badge_awarded": {
        "en": (
            "New badge in $community: $badge_en",
            "You earned the badge “$badge_en” in $community. Thank you for taking part!",
        ),
        "fr": (
            "Nouveau badge dans $community : $badge_fr",
            "Vous avez obtenu le badge « $badge_fr » dans $community. Merci de votre participation !",
        ),
    },
    "participation_level_raised": {
        "en": (
            "Your participation in $community",
            "Your level of participation in $community is now: $level_en. Thank you for all you bring!",
        ),
        "fr": (
            "Votre participation à $community",
            "Votre niveau de participation à $community est désormais : $level_fr. "
            "Merci pour tout ce que vous apportez !",
        ),
    },
    "administrator_appointed": {
        "en": ("Administrator of $organisation", "You are now an administrator of $organisation."),
        "fr": (
            "Administration de $organisation",
            "Vous êtes désormais administrateur ou administratrice de $organisation.",
        ),
    },
    "administrator_withdrawn": {
        "en": ("Administrator of $organisation", "You are no longer an administrator of $organisation."),
        "fr": (
            "Administration de $organisation",
            "Vous n'êtes plus administrateur ou administratrice de $organisation.",
        ),
    },
    "community_shared": {
        "en": (
            "$community shared with $organisation",
            "$community is now open to the people of $organisation: they may see it, join it and read it "
            "as its own organisation's people do.",
        ),
        "fr": (
            "$community partagée avec $organisation",
            "$community est désormais ouverte aux personnes de $organisation : elles peuvent la voir, "
            "la rejoindre et la lire comme celles de sa propre organisation.",
        ),
    },
    "community_unshared": {
        "en": (
            "$community no longer shared with $organisation",
            "$community is no longer shared with $organisation: its people no longer see it, and those "
            "of them who were members through it alone have left it.",
        ),
        "fr": (
            "$community n'est plus partagée avec $organisation",
            "$community n'est plus partagée avec $organisation : ses personnes ne la voient plus, et celles "
            "qui n'en étaient membres que par elle l'ont quittée.",
        ),
    },
    "participation_level_lowered": {
        "en": (
            "Your participation in $community",
            "Your level of participation in $community is now: $level_en. "
            "A question to answer or a resource to share is always welcome.",
        ),
        "fr": (
            "Votre participation à $community",
            "Votre niveau de participation à $community est désormais : $level_fr. "
            "Une question à laquelle répondre ou une ressource à partager est toujours bienvenue.",
        ),
    },
    # editing and moderation
    "contribution_hidden": {
        "en": (
            "Your $kind was hidden in $community",
            "A facilitator of $community hid your $kind from the other members: $reason. "
            "You still see it, with this reason; edit it and ask a facilitator to show it again.",
        ),
        "fr": (
            "Votre contribution ($kind) a été masquée dans $community",
            "Une personne qui anime $community a masqué votre contribution ($kind) aux autres membres : "
            "$reason. Vous la voyez toujours, avec ce motif ; modifiez-la et demandez qu'elle soit rétablie.",
        ),
    },
    "contribution_flagged": {
        "en": (
            "A contribution was flagged in $community",
            "$actor flagged a contribution ($kind) in $community: $reason. It waits in the moderation queue.",
        ),
        "fr": (
            "Une contribution a été signalée dans $community",
            "$actor a signalé une contribution ($kind) dans $community : $reason. "
            "Elle attend dans la file de modération.",
        ),
    },
    "flag_upheld": {
        "en": (
            "Your report was upheld in $community",
            "Thank you: the contribution you reported in $community was hidden ($note).",
        ),
        "fr": (
            "Votre signalement a été retenu dans $community",
            "Merci : la contribution que vous avez signalée dans $community a été masquée ($note).",
        ),
    },
    "flag_dismissed": {
        "en": (
            "Your report was reviewed in $community",
            "A facilitator of $community reviewed the contribution you reported and kept it. $note",
        ),
        "fr": (
            "Votre signalement a été examiné dans $community",
            "Une personne qui anime $community a examiné la contribution signalée et l'a conservée. $note",
        ),
    },
    # -- value stories (coplib.policies.value_stories) --
    # Parameters: community (its name), actor (the teller), result (what they tell).
    "value_story_told": {
        "en": (
            "Your contribution helped in $community",
            "$actor tells what your contribution in $community made possible: $result\n\nThank you!",
        ),
        "fr": (
            "Votre contribution a servi dans $community",
            "$actor raconte ce que votre contribution dans $community a permis : $result\n\nMerci !",
        ),
    },
    # -- lifecycle (coplib.policies.lifecycle) --
    # Parameters: community, month (YYYY-MM, the last complete month judged), reasons_en /
    # reasons_fr (what fell, by how much, since when: one line each) and advice_en / advice_fr
    # (what the charter's animation could do: one line each).
    "decline_entered": {
        "en": (
            "$community is running out of steam",
            "As at the end of $month, $community is running out of steam:\n$reasons_en\n\n"
            "What its animation could do:\n$advice_en",
        ),
        "fr": (
            "$community s'essouffle",
            "À la fin de $month, la communauté $community s'essouffle :\n$reasons_fr\n\n"
            "Ce que son animation pourrait faire :\n$advice_fr",
        ),
    },
}

#: How a digest's period is named in each language.
PERIOD_NAMES: dict[str, dict[str, str]] = {
    "en": {"daily": "daily", "weekly": "weekly"},
    "fr": {"daily": "quotidien", "weekly": "hebdomadaire"},
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


#: Texts around a message when it goes out as an e-mail. Placeholders as in `CATALOGUE`.
EMAIL_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "greeting": "Hello $name,",
        "footer": "This message was sent to you by the community $community.",
        "footer_no_community": "This message was sent to you by your communities of practice.",
    },
    "fr": {
        "greeting": "Bonjour $name,",
        "footer": "Ce message vous est envoyé par la communauté $community.",
        "footer_no_community": "Ce message vous est envoyé par vos communautés de pratique.",
    },
}

# Everything that can end a line somewhere: a header must hold none of them.
_LINE_BREAKS = frozenset("\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029")
_SPACES = re.compile(r"\s+")
# RFC 5322 dot-atom-text: what the left side of a Message-ID may be without quoting.
_DOT_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_ADDRESS = re.compile(r"^[^\s@<>()\[\]\\,;:\"]+@[^\s@<>()\[\]\\,;:\"]+$")
HEADER_TEXT_MAX = 300
ID_LEFT_MAX = 200


def one_line(value: object, *, max_chars: int = HEADER_TEXT_MAX) -> str:
    """`value` as text fit for a header or a log line: line breaks and tabs become spaces,
    other control and format characters go, runs of spaces become one, and text longer than
    `max_chars` is cut with an ellipsis."""
    out = []
    for char in str(value):
        if char in _LINE_BREAKS or char == "\t":
            out.append(" ")
        elif unicodedata.category(char) in ("Cc", "Cf", "Cs"):
            continue
        else:
            out.append(char)
    text = _SPACES.sub(" ", "".join(out)).strip()
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"


def header_text(value: object, *, max_chars: int = HEADER_TEXT_MAX) -> str:
    """`value` fit for a mail header: `one_line`, and no RFC 2047 encoded word either.

    The `email` package decodes an encoded word (``=?utf-8?q?...?=``) found in a value it is
    given, and some Python versions then write a CR LF decoded from it straight into the
    header (CVE-2024-6923). A word joiner after each ``=`` that opens one keeps the text as
    typed on screen while nothing decodes it.
    """
    return one_line(value, max_chars=max_chars).replace("=?", "=\u2060?")


def clean_text(value: object) -> str:
    """`value` as body text: every kind of line end made ``\\n``, other control characters
    (tabs aside) removed."""
    out = []
    for char in str(value).replace("\r\n", "\n"):
        if char in _LINE_BREAKS:
            out.append("\n")
        elif char == "\t" or unicodedata.category(char) not in ("Cc", "Cs"):
            out.append(char)
    return "".join(out)


def choose_locale(requested: str | None, available: Mapping[str, object] | frozenset[str]) -> str:
    """The locale to use among `available`: `requested` itself, else its language (``fr``
    for ``fr-CA`` or ``fr_FR``), else English, else the first available in order."""
    names = set(available)
    if requested:
        wanted = requested.strip().replace("_", "-")
        if wanted in names:
            return wanted
        language = wanted.split("-", 1)[0].lower()
        if language in names:
            return language
    if DEFAULT_LOCALE in names:
        return DEFAULT_LOCALE
    if not names:
        raise InvalidInputError.field("$.locale", "no locale is available for this message")
    return sorted(names)[0]


def _values(params: Mapping[str, object], locale: str) -> dict[str, str]:
    values = {str(k): str(v) for k, v in params.items()}
    if "role" in values:
        values["role"] = ROLE_NAMES.get(locale, {}).get(values["role"], values["role"])
    if "period" in values:
        values["period"] = PERIOD_NAMES.get(locale, {}).get(values["period"], values["period"])
    return values


def _substitute(template: str, values: Mapping[str, str]) -> str:
    return string.Template(template).safe_substitute(values)


def _html_paragraphs(template: str, values: Mapping[str, str]) -> str:
    # Escape the template's own text and every value separately, then substitute: an escaped
    # template keeps its ``$name`` placeholders, and no value can open a tag.
    escaped = {k: html.escape(clean_text(v), quote=True) for k, v in values.items()}
    text = _substitute(html.escape(template.strip(), quote=True), escaped)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "\n".join("<p>" + p.replace("\n", "<br>\n") + "</p>" for p in paragraphs)


def render(
    topic: str,
    params: Mapping[str, str],
    locale: str = DEFAULT_LOCALE,
    *,
    catalogue: Mapping[str, Mapping[str, tuple[str, str]]] = CATALOGUE,
) -> RenderedMessage:
    """The subject, plain-text body and HTML body of a message in `locale` (its language, or
    English, when the topic has no text in it).

    Raises `InvalidInputError` when `catalogue` has no text for `topic`.
    """
    texts = catalogue.get(topic)
    if texts is None:
        known = ", ".join(sorted(catalogue))
        raise InvalidInputError.field("$.topic", f"no message text for topic {topic!r}; known topics: {known}")
    chosen = choose_locale(locale, texts)
    subject, body = texts[chosen]
    values = _values(params, chosen)
    return RenderedMessage(
        subject=header_text(_substitute(subject, values)),
        body=clean_text(_substitute(body, values)).strip(),
        locale=chosen,
        html=_html_paragraphs(body, values),
    )


def render_message(
    message: OutboxMessage,
    recipient: Person | None,
    *,
    catalogue: Mapping[str, Mapping[str, tuple[str, str]]] = CATALOGUE,
) -> RenderedMessage:
    """An outbox message rendered in its recipient's locale (English for an unknown recipient)."""
    locale = recipient.locale if recipient is not None else DEFAULT_LOCALE
    return render(message.topic, message.params, locale, catalogue=catalogue)


# -- e-mail -----------------------------------------------------------------------------------


def check_channel(value: object, path: str = "$.channel") -> str:
    """`value` if it can name a delivery channel (``email``, ``webhook``, ``chat``...): letters,
    digits and ``_.:-``, at most 50 characters; else `InvalidInputError`."""
    if not isinstance(value, str):
        raise InvalidInputError.field(path, f"must be a channel name string, got {type(value).__name__}")
    if not 0 < len(value) <= CHANNEL_MAX or not _CHANNEL.fullmatch(value):
        raise InvalidInputError.field(
            path, f"must be a channel name such as email or webhook (letters, digits, _.:-; at most 50): {value!r:.60}"
        )
    return value


def check_email_address(value: object, path: str = "$.email") -> str:
    """`value` if it is one plain mailbox address (``local@domain``), else `InvalidInputError`."""
    if not isinstance(value, str):
        raise InvalidInputError.field(path, f"must be an e-mail address string, got {type(value).__name__}")
    shown = repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    if not value:
        raise InvalidInputError.field(path, "must be an e-mail address, got an empty string")
    if len(value) > 320 or any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in value):
        raise InvalidInputError.field(path, f"must be one address of at most 320 characters without controls: {shown}")
    if not _ADDRESS.match(value):
        raise InvalidInputError.field(path, f"must be an address like name@example.org, got {shown}")
    try:
        Address(addr_spec=value)
    except (ValueError, IndexError) as exc:  # email.errors defects are ValueErrors
        raise InvalidInputError.field(path, f"is not a valid e-mail address ({exc}): {shown}") from None
    return value


def check_domain(value: object, path: str = "$.domain") -> str:
    """`value` as an ASCII host name (an internationalised name is IDNA-encoded)."""
    if not isinstance(value, str) or not value:
        raise InvalidInputError.field(path, f"must be a host name like example.org, got {value!r:.60}")
    try:
        ascii_name = value.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidInputError.field(path, f"is not a valid host name: {value!r:.60}") from None
    labels = ascii_name.rstrip(".").split(".")
    if len(ascii_name) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise InvalidInputError.field(path, f"is not a valid host name: {value!r:.60}")
    return ascii_name.rstrip(".")


def message_id_header(message_id: str, domain: str) -> str:
    """The ``Message-ID`` of an outbox message: its idempotency key at `domain`, so that the
    same message always carries the same Message-ID and a receiver can drop a repeat."""
    if not isinstance(message_id, str) or len(message_id) > ID_LEFT_MAX or not _DOT_ATOM.match(message_id):
        raise InvalidInputError.field(
            "$.message.id",
            f"cannot be the left part of a Message-ID (letters, digits and !#$%&'*+/=?^_`{{|}}~-. "
            f"up to {ID_LEFT_MAX} characters): {message_id!r:.60}",
        )
    return f"<{message_id}@{check_domain(domain, '$.domain')}>"


def _footer(texts: Mapping[str, str], community: str) -> str:
    if community:
        return _substitute(texts["footer"], {"community": community})
    return texts["footer_no_community"]


def build_email(
    message: OutboxMessage,
    recipient: Person,
    *,
    sender: str,
    sender_name: str = "",
    domain: str | None = None,
    date: datetime | None = None,
    reply_to: str | None = None,
    catalogue: Mapping[str, Mapping[str, tuple[str, str]]] = CATALOGUE,
) -> EmailMessage:
    """The e-mail for an outbox message: a ``multipart/alternative`` with a plain-text and an
    HTML part, in the recipient's locale.

    Headers: ``From`` (`sender_name` <`sender`>), ``To`` (display name <e-mail> of the
    recipient), ``Subject``, ``Date`` (`date`, or now), ``Message-ID`` ``<message.id@domain>``
    where `domain` defaults to the sender's, ``Reply-To`` if given, ``Auto-Submitted:
    auto-generated``, ``Content-Language`` and ``X-Coplib-Topic``. Display names and the
    subject are put on one line first: no CR or LF from user content reaches a header.

    Raises `InvalidInputError` (every problem, by path) when an address, the domain or the
    message id cannot be used.
    """
    errors: list[FieldError] = []

    def checked(check: Callable[[object, str], str], value: object, path: str) -> str:
        try:
            return check(value, path)
        except InvalidInputError as exc:
            errors.extend(exc.errors)
            return ""

    from_addr = checked(check_email_address, sender, "$.sender")
    if recipient.email:
        to_addr = checked(check_email_address, recipient.email, "$.recipient.email")
    else:
        to_addr = ""
        errors.append(FieldError("$.recipient.email", f"{recipient.id!r} has no e-mail address"))
    reply_addr = checked(check_email_address, reply_to, "$.reply_to") if reply_to is not None else ""
    mid_domain = checked(check_domain, domain, "$.domain") if domain is not None else from_addr.rpartition("@")[2]
    message_id = ""
    if mid_domain:
        try:
            message_id = message_id_header(message.id, mid_domain)
        except InvalidInputError as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidInputError(errors, context=f"e-mail for message {one_line(message.id, max_chars=60)}")

    rendered = render_message(message, recipient, catalogue=catalogue)
    texts = EMAIL_TEXTS.get(rendered.locale, EMAIL_TEXTS[DEFAULT_LOCALE])
    name = header_text(recipient.display_name, max_chars=120)
    community = message.params.get("community", "")
    greeting = _substitute(texts["greeting"], {"name": name})
    footer = _footer(texts, community)

    plain = f"{greeting}\n\n{rendered.body}\n\n-- \n{clean_text(footer)}\n"
    escape = html.escape
    document = "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{escape(rendered.locale)}">',
            f'<head><meta charset="utf-8"><title>{escape(rendered.subject)}</title></head>',
            "<body>",
            f"<p>{escape(greeting)}</p>",
            rendered.html,
            "<hr>",
            f"<p><small>{escape(clean_text(footer))}</small></p>",
            "</body>",
            "</html>",
            "",
        ]
    )

    when = (date or datetime.now(UTC)).astimezone(UTC)
    mail = EmailMessage()
    mail["Subject"] = rendered.subject
    mail["From"] = Address(display_name=header_text(sender_name, max_chars=120), addr_spec=from_addr)
    mail["To"] = Address(display_name=name, addr_spec=to_addr)
    if reply_addr:
        mail["Reply-To"] = Address(addr_spec=reply_addr)
    mail["Date"] = format_datetime(when)
    mail["Message-ID"] = message_id
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Coplib-Topic"] = header_text(message.topic, max_chars=100)
    mail.set_content(plain, subtype="plain", charset="utf-8", cte="quoted-printable")
    mail.add_alternative(document, subtype="html", charset="utf-8", cte="quoted-printable")
    # After the content: setting the content clears every Content-* header.
    mail["Content-Language"] = rendered.locale
    # The last guard: whatever the email package decoded, no header value holds a line break.
    broken = [FieldError(f"$.headers.{name}", "would hold a line break") for name, v in mail.items() if _breaks(v)]
    if broken:
        raise InvalidInputError(broken, context=f"e-mail for message {one_line(message.id, max_chars=60)}")
    return mail


def _breaks(value: object) -> bool:
    return any(c in _LINE_BREAKS for c in str(value))
