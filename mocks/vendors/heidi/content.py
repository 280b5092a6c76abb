"""What the mock says instead of an AI scribe: a synthetic clinical conversation, and notes written from it.

No speech recognition and no model: a consultation is picked per session from a small table of common
presentations, voiced for the session's patient (first name, age, recorded history), and cut to the
length of the audio received. Every value is drawn from Faker streams keyed by the session id (and the
turn number), so the same session and seed give the same words, and more audio only adds turns after the
ones already there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from faker import Faker

Reseed = Callable[[str], Faker]

CLINICIAN, PATIENT = "Clinician", "Patient"
TURN_SECONDS = (5, 12)  # one spoken turn lasts this long, drawn per turn


@dataclass(frozen=True)
class Presentation:
    complaint: str
    onset: tuple[str, ...]
    detail: str
    associated: str
    exam: str
    assessment: str
    plan: str
    medication: str


PRESENTATIONS: tuple[Presentation, ...] = (
    Presentation("a sore throat", ("two days", "three days", "since the weekend"), "it hurts most when I swallow",
                 "a mild fever and a bit of a cough", "Throat is red, tonsils mildly enlarged, no exudate",
                 "Viral pharyngitis", "Rest, fluids, paracetamol for pain; return if not better in a week",
                 "paracetamol 1 g up to four times a day"),
    Presentation("headaches", ("a couple of weeks", "about ten days", "a month"), "they come on in the afternoon",
                 "some neck tightness, no vision changes", "Neurological exam normal, blood pressure noted",
                 "Tension-type headache", "Screen breaks, hydration, a headache diary; review in four weeks",
                 "ibuprofen 400 mg with food when needed"),
    Presentation("lower back pain", ("five days", "a week", "since lifting boxes on Saturday"),
                 "it is worse when I bend forward", "no numbness or weakness in the legs",
                 "Paraspinal tenderness, straight leg raise negative", "Mechanical lower back pain",
                 "Stay active, heat packs, graded walking; physiotherapy referral if no better in two weeks",
                 "ibuprofen 400 mg three times a day for five days"),
    Presentation("a cough", ("about a week", "ten days", "since my cold"), "it is worse at night",
                 "a runny nose, no shortness of breath", "Chest clear on auscultation, oxygen saturation normal",
                 "Post-viral cough", "Honey and warm fluids, review if still coughing in three weeks",
                 "no new medication"),
    Presentation("a rash on my arm", ("three days", "since Monday", "a few days"), "it is itchy, not painful",
                 "no fever, nothing new at home except a washing powder", "Erythematous patch on the left forearm",
                 "Contact dermatitis", "Avoid the new washing powder, emollient twice daily; review if spreading",
                 "hydrocortisone 1% cream twice a day for a week"),
    Presentation("trouble sleeping", ("a few weeks", "about a month", "since starting a new job"),
                 "I wake up at three and cannot get back to sleep", "feeling tired during the day",
                 "Appears well, mood reactive, no red flags", "Insomnia related to stress",
                 "Sleep hygiene advice, wind-down routine, follow-up in four weeks", "no new medication"),
)  # fmt: skip

FOLLOW_UPS = (
    (CLINICIAN, "Is there anything else that has been worrying you?"),
    (PATIENT, "Not really, I just wanted to get it checked."),
    (CLINICIAN, "Any allergies to medicines that I should know about?"),
    (PATIENT, "None that I know of."),
    (CLINICIAN, "Are you taking anything at the moment, including over-the-counter remedies?"),
    (PATIENT, "Just vitamins now and then."),
    (CLINICIAN, "How is this affecting your work and your sleep?"),
    (PATIENT, "I have managed, but it has been tiring."),
    (CLINICIAN, "Do you smoke or drink alcohol?"),
    (PATIENT, "I don't smoke; a glass of wine at the weekend."),
)


@dataclass(frozen=True)
class Turn:
    start: float  # seconds from the start of the session's audio
    speaker: str
    text: str

    def line(self) -> str:
        return f"{self.speaker}: {self.text}"


@dataclass(frozen=True)
class Consult:
    """The facts of one session's consultation, as the transcript and the notes tell them."""

    presentation: Presentation
    onset: str
    first_name: str
    age: int | None
    history: str | None


def _age(dob: Any, on: str | None) -> int | None:
    try:
        born, today = date.fromisoformat(str(dob)), date.fromisoformat(str(on)[:10])
    except ValueError:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def consult_for(session: dict[str, Any], history: str | None, reseed: Reseed) -> Consult:
    """The consultation of `session` (its patient's name and birth date, and `history`: the profile's
    additional context), the same for the same session id and seed."""
    fake = reseed(f"heidi.consult.{session['session_id']}")
    presentation = fake.random_element(PRESENTATIONS)
    onset = fake.random_element(presentation.onset)
    patient = session.get("patient") or {}
    name = str(patient.get("name") or "").strip()
    first_name = name.split()[0] if name else ""
    return Consult(presentation, onset, first_name, _age(patient.get("dob"), session.get("created_at")), history)


def _script(consult: Consult) -> list[tuple[str, str]]:
    p = consult.presentation
    hello = f"Hi {consult.first_name}, come in and have a seat." if consult.first_name else "Hello, have a seat."
    lines = [
        (CLINICIAN, f"{hello} What brings you in today?"),
        (PATIENT, f"I've had {p.complaint} for {consult.onset}."),
        (CLINICIAN, "Can you tell me a bit more about it?"),
        (PATIENT, f"Well, {p.detail}."),
        (CLINICIAN, "Have you noticed anything else along with it?"),
        (PATIENT, f"Yes, {p.associated}."),
    ]
    if consult.history:
        lines += [
            (CLINICIAN, f"I can see from your record: {consult.history.rstrip('.')}. How has that been?"),
            (PATIENT, "About the same, I keep an eye on it."),
        ]
    if consult.age is not None:
        lines += [(CLINICIAN, f"And you're {consult.age} now, is that right?"), (PATIENT, "That's right.")]
    lines += [
        (CLINICIAN, "Let me have a look. I'll examine you now."),
        (PATIENT, "Okay."),
        (CLINICIAN, f"{p.exam}. I think this is {p.assessment.lower()}."),
        (PATIENT, "Is that serious?"),
        (CLINICIAN, f"It usually settles. The plan: {p.plan[0].lower()}{p.plan[1:]}."),
        (PATIENT, "Should I take anything for it?"),
        (CLINICIAN, f"Yes, {p.medication}." if p.medication != "no new medication" else "Nothing new for now."),
        (PATIENT, "Thank you, that helps."),
    ]
    return lines


def turns(consult: Consult, session_id: str, seconds: float, reseed: Reseed) -> list[Turn]:
    """The conversation's turns that start within the first `seconds` of audio."""
    script, found, start, index = _script(consult), [], 0.0, 0
    while start < seconds:
        speaker, text = script[index] if index < len(script) else FOLLOW_UPS[(index - len(script)) % len(FOLLOW_UPS)]
        found.append(Turn(start, speaker, text))
        start += reseed(f"heidi.turn.{session_id}.{index}").random_int(*TURN_SECONDS)
        index += 1
    return found


def transcript(found: list[Turn]) -> str:
    return "\n".join(turn.line() for turn in found)


# Notes and documents written from a consultation (the consult-note and documents operations)

VOICE_SENTENCES = {"BRIEF": 1, "GOLDILOCKS": 2, "DETAILED": 3, "SUPER_DETAILED": 4, "MY_VOICE": 2}


def consult_note(consult: Consult, heard: list[Turn], voice_style: str | None, addition: str | None) -> str:
    """A SOAP-style note in Markdown: what was heard, how it was examined, what is planned."""
    p = consult.presentation
    who = " ".join(part for part in (consult.first_name, f"({consult.age})" if consult.age is not None else "") if part)
    subjective = [f"{who + ' presents' if who else 'Presents'} with {p.complaint} for {consult.onset}."]
    subjective += [f'Reports "{p.detail}".', f"Also {p.associated}.", f"Background: {consult.history}."]
    sentences = VOICE_SENTENCES.get(voice_style or "GOLDILOCKS", 2) + (1 if consult.history else 0)
    heard_note = "" if heard else "\n\n_No audio received: written from the session context only._"
    extra = f"\n\n## Additional notes\n{addition.strip()}" if addition and addition.strip() else ""
    return (
        f"## Subjective\n{' '.join(subjective[:sentences])}\n\n## Objective\n{p.exam}.\n\n"
        f"## Assessment\n{p.assessment}.\n\n## Plan\n{p.plan}. Medication: {p.medication}.{heard_note}{extra}"
    )


def document(consult: Consult, name: str) -> str:
    """A document (referral letter, patient handout ...) from the same consultation."""
    p = consult.presentation
    patient = consult.first_name or "the patient"
    return (
        f"# {name}\n\nRe: {patient}\n\nSeen today with {p.complaint} for {consult.onset}. "
        f"Assessment: {p.assessment}. Plan: {p.plan}.\n\nKind regards,\nThe treating clinician"
    )


def chunks(text: str, size: int = 24) -> list[str]:
    """`text` in pieces of about `size` characters, split after spaces, as a streamed note arrives."""
    pieces, start = [], 0
    while start < len(text):
        end = min(len(text), start + size)
        space = text.rfind(" ", start, end) if end < len(text) else -1
        end = space + 1 if space > start else end
        pieces.append(text[start:end])
        start = end
    return pieces


def as_html(markdown: str) -> str:
    """The note as simple HTML (`content_type: HTML`): `## ` headings and paragraphs."""
    parts = []
    for block in markdown.split("\n\n"):
        if block.startswith("## "):
            heading, _, rest = block[3:].partition("\n")
            parts.append(f"<h2>{heading}</h2>" + (f"<p>{rest}</p>" if rest else ""))
        else:
            parts.append(f"<p>{block}</p>")
    return "".join(parts)


FIELD_WORDS = (  # a custom template's key -> which fact of the consultation fills it, first match wins
    (("complaint", "reason", "subjective", "presenting", "history", "hpi"), "complaint"),
    (("exam", "objective", "finding", "observation"), "exam"),
    (("assess", "diagnos", "impression", "problem"), "assessment"),
    (("plan", "management", "follow", "advice", "recommend"), "plan"),
    (("medic", "prescri", "drug", "treatment"), "medication"),
)


def _fact(consult: Consult, key: str) -> str:
    p, lowered = consult.presentation, key.lower()
    facts = {
        "complaint": f"Presents with {p.complaint} for {consult.onset}; {p.detail}.",
        "exam": f"{p.exam}.",
        "assessment": f"{p.assessment}.",
        "plan": f"{p.plan}.",
        "medication": f"{p.medication[0].upper()}{p.medication[1:]}.",
    }
    return next((facts[fact] for words, fact in FIELD_WORDS if any(w in lowered for w in words)), facts["assessment"])


def depth_of(value: Any) -> int:
    """How deep arrays and objects nest in `value` (a scalar: 0), without recursing."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level + 1)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def fill_template(template: Any, consult: Consult, key: str = "") -> Any:
    """A custom JSON template with each string (an instruction) replaced by the fact its key asks for;
    objects and arrays filled item by item, other values kept."""
    if isinstance(template, dict):
        return {name: fill_template(value, consult, name) for name, value in template.items()}
    if isinstance(template, list):
        return [fill_template(item, consult, key) for item in template]
    return _fact(consult, key) if isinstance(template, str) else template


def ask_answer(consult: Consult, command: str, notes: list[str]) -> str:
    """What "Ask Heidi" answers: the consultation summed up, with the clinician's context notes."""
    p = consult.presentation
    lines = [f"**{command.strip() or 'Summary'}**", "", f"- Presenting: {p.complaint} for {consult.onset}.",
             f"- Assessment: {p.assessment}.", f"- Plan: {p.plan}.", f"- Medications: {p.medication}."]  # fmt: skip
    if consult.history:
        lines.append(f"- Comorbidities: {consult.history.rstrip('.')}.")
    lines += [f"- Noted: {note}" for note in notes]
    return "\n".join(lines)
