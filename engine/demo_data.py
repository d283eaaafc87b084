"""The demo's world as data: Northwind Bikes' people, customers and conversation scenarios.

A :class:`Scenario` is one kind of customer question with everything that may follow it: the
answers an agent gives (variants of the same advice), what the customer may write back after
any of those answers, and the agent's fitting reply to each follow-up. A follow-up without
replies closes the conversation (the customer says thanks; a colleague resolves the ticket).
Every seeded and simulated message is drawn from the scenario of its ticket's subject, so an
answer always fits its question and a follow-up always fits the answer before it.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from engine.models import Role, WorkingHours

DEFAULT_RATE = 2.0  # new customer conversations a minute (``ticketty demo --rate``)
COMPANY = "Northwind Bikes"
DOMAIN = "northwind.test"
CHANNEL_NAMES = {"support": "Support email", "billing": "Billing email"}

COLLEAGUES: list[dict[str, Any]] = [
    dict(email=f"maya@{DOMAIN}", name="Maya Chen", role=Role.admin, skills=["billing", "fr"]),
    dict(email=f"omar@{DOMAIN}", name="Omar Haddad", skills=["repairs", "ar"]),
    dict(email=f"lena@{DOMAIN}", name="Lena Fischer", skills=["repairs", "de"], availability="away"),
    dict(email=f"diego@{DOMAIN}", name="Diego Alvarez", skills=["billing", "es"]),
    dict(email=f"priya@{DOMAIN}", name="Priya Nair", skills=["repairs"],
         working_hours=WorkingHours(days=[1, 2, 3, 4, 5], start="08:00", end="20:00")),
    dict(email=f"sam@{DOMAIN}", name="Sam Park", seat=False),
]

FIRST_NAMES = [
    "Ana", "Ben", "Chloé", "Dmitri", "Emma", "Farah", "Gustavo", "Hana", "Isaac", "Julia",
    "Kwame", "Laura", "Mateo", "Nora", "Oliver", "Paula", "Quinn", "Rosa", "Stefan", "Tara",
    "Ugo", "Valentina", "Wei", "Ximena", "Yusuf", "Zofia", "Aisha", "Bruno", "Carmen", "Daniel",
    "Elif", "Finn", "Greta", "Hugo", "Ines", "Jonas", "Keiko", "Luca", "Maren", "Nikhil",
]
LAST_NAMES = [
    "Souza", "Okafor", "Martin", "Ivanov", "Larsen", "Khan", "Lima", "Sato", "Cohen", "Nowak",
    "Mensah", "Rossi", "García", "Berg", "Smith", "Costa", "Taylor", "Jiménez", "Müller", "Singh",
    "Moreau", "Bianchi", "Zhang", "Ortega", "Demir", "Kowalska", "Bello", "Almeida", "Vidal",
    "Novak", "Yilmaz", "Hansen", "Lindqvist", "Dubois", "Ferreira", "Weber", "Tanaka", "Conti",
    "Jensen", "Rao",
]
MAIL_DOMAINS = ["example.com", "example.org", "example.net", "example.de", "example.fr",
                "example.co.uk", "example.es", "example.it"]


def ascii_fold(text: str) -> str:
    """``Chloé Jiménez`` → ``Chloe Jimenez`` (for the local part of an address)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def customer(rng: random.Random) -> tuple[str, str]:
    """A believable customer: ``("Greta Lindqvist", "greta.lindqvist@example.org")``."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    local = ascii_fold(f"{first}.{last}").lower().replace(" ", "")
    domain = MAIL_DOMAINS[(len(first) * 7 + len(last)) % len(MAIL_DOMAINS)]
    return f"{first} {last}", f"{local}@{domain}"


@dataclass(frozen=True)
class FollowUp:
    """What a customer writes back after an answer, and the agent's fitting replies to it."""

    text: str
    replies: tuple[str, ...] = ()  # empty: "thanks" — the conversation is done

    @property
    def closes(self) -> bool:
        return not self.replies


@dataclass(frozen=True)
class Scenario:
    channel: str  # "support" or "billing"
    subject: str
    question: str
    answers: tuple[str, ...]
    follow_ups: tuple[FollowUp, ...] = field(default_factory=tuple)

    def follow_up(self, text: str) -> FollowUp | None:
        """The follow-up whose text this is (how a colleague knows what to answer)."""
        wanted = text.strip()
        return next((f for f in self.follow_ups if f.text == wanted), None)

    @property
    def thanks(self) -> tuple[FollowUp, ...]:
        return tuple(f for f in self.follow_ups if f.closes)

    @property
    def questions(self) -> tuple[FollowUp, ...]:
        return tuple(f for f in self.follow_ups if not f.closes)


def _s(channel: str, subject: str, question: str, answers: tuple[str, ...],
       *follow_ups: tuple[str, tuple[str, ...]] | str) -> Scenario:
    fus = tuple(FollowUp(f) if isinstance(f, str) else FollowUp(f[0], f[1]) for f in follow_ups)
    return Scenario(channel, subject, question, answers, fus)


SCENARIOS: tuple[Scenario, ...] = (
    _s("support", "Brake squeal after service",
       "Hi, since the last service my rear brake squeals at every stop. Is that normal?",
       ("Sorry about the noise! A squeal right after a service usually means a little grease got "
        "onto the pads. Bring the bike in any day this week and we'll clean or replace the pads "
        "for free.",
        "Thanks for telling us. That squeal is almost always contaminated pads after a service — "
        "our fault, so the fix is free. Drop the bike off whenever suits you and it will be ready "
        "the same day."),
       ("Do I need an appointment, or can I just drop by?",
        ("No appointment needed — just come by during opening hours (Mon–Sat, 9:00–18:00) and "
         "mention your ticket number at the desk.",)),
       ("Can I drop it off on Saturday morning? I work during the week.",
        ("Saturday morning works. We open at 9:00; if you're there early it will be ready by "
         "lunchtime.",)),
       "Great, thank you! I'll bring it in tomorrow."),
    _s("support", "Gears skipping on the Trail 29",
       "The chain skips on the two largest cogs of my Trail 29, mostly when I ride uphill. What "
       "can I do?",
       ("Skipping on the big cogs usually means the gear cable has stretched a little. Turn the "
        "barrel adjuster on the rear derailleur half a turn anticlockwise and try again — that "
        "fixes it in most cases.",
        "That sounds like cable stretch, which is normal in the first few hundred kilometres. Half "
        "a turn anticlockwise on the barrel adjuster at the rear derailleur should stop the "
        "skipping."),
       ("I turned the adjuster but it still skips a bit. Could the chain be worn?",
        ("It could be. Bring the bike by and we'll measure the chain — if it's worn we'll replace "
         "it; a new chain for the Trail 29 is €29 fitted.",)),
       ("Which way is anticlockwise when I look at it from behind the bike?",
        ("Looking from behind the bike, turn the top of the adjuster towards you. Half a turn, "
         "then shift through the gears again.",)),
       "Half a turn did it, it shifts perfectly now. Thanks!"),
    _s("support", "E-bike battery not charging",
       "The charger light stays green and my e-bike battery is stuck at 20%. I've tried two "
       "sockets.",
       ("Sorry about that! A green light with no charging usually means the battery's protection "
        "has tripped. Take the battery off the bike for ten minutes, then charge it off the bike.",
        "That sounds like the battery's safety cut-off. Please remove the battery, wait ten "
        "minutes and charge it on its own, away from the bike — that resets it in most cases."),
       ("I did that and it still won't charge. Is the battery broken?",
        ("It may be. Your battery is under warranty for two years, so bring it in with the "
         "charger and we'll test both; if either is faulty we'll replace it free of charge.",)),
       ("How long should a full charge take once it works?",
        ("From empty about four and a half hours; from 20% roughly three and a half.",)),
       "Taking it off the bike worked — it's charging again. Thank you!"),
    _s("support", "Where is my order?",
       "I ordered a helmet last week and the tracking hasn't changed for five days. Can you "
       "check where it is?",
       ("Sorry for the wait! I checked with the carrier: your parcel was held at their depot and "
        "is back on its way. You should have it within two working days.",
        "Thanks for your patience. Our warehouse was behind after the holidays; your helmet left "
        "us this morning and the tracking will update by tonight."),
       ("Will I need to be home to sign for it?",
        ("No signature is needed — the driver can leave it with a neighbour or in a safe place "
         "you choose in the tracking link.",)),
       ("If it doesn't arrive by Friday, can I get a refund instead?",
        ("Yes — if it hasn't arrived by Friday, just reply here and I'll refund you in full right "
         "away.",)),
       "It just arrived. Thanks for chasing it!"),
    _s("support", "Wrong size frame delivered",
       "I ordered an M frame but received an L. How do I swap it?",
       ("I'm sorry about the mix-up! I've sent you a prepaid return label by email. Once the "
        "carrier scans the L frame, we'll ship the M straight away.",
        "Apologies — that's our mistake. Use the prepaid label I've just emailed you to send the "
        "L back; the M frame ships as soon as the return is scanned."),
       ("Do I need the original box to send it back?",
        ("The original box is best, but any sturdy box works — just pad the frame so it can't "
         "move.",)),
       ("How long until the M frame arrives after I send the L back?",
        ("Usually three to four working days from the moment the carrier scans your return.",)),
       "Label received, the frame goes back today. Thanks!"),
    _s("support", "Warranty claim for cracked rim",
       "The front rim cracked after three months of commuting. Is that covered by the warranty?",
       ("A crack after three months is definitely not normal, and it's covered by the two-year "
        "warranty. Please send us a photo of the crack and your order number, and we'll send a "
        "replacement wheel.",
        "Sorry to hear that! Rims are covered for two years, so this falls under warranty. Could "
        "you send a photo of the crack and the order number? Then we'll ship a new wheel."),
       ("Here's a description instead of a photo: the crack is about 2 cm long, next to the "
        "valve. The order number is NB-48213.",
        ("Thanks, that's clearly a manufacturing fault. A new front wheel ships today; keep the "
         "old one until the new one arrives.",)),
       ("Can I keep riding until the new wheel arrives?",
        ("Please don't — a cracked rim can fail under braking. If you need the bike, come by and "
         "we'll lend you a wheel in the meantime.",)),
       "New wheel fitted, it rides like new. Thank you!"),
    _s("support", "Flat tyres every week",
       "I keep getting flats on my commuter, about one a week. Are the tubes faulty?",
       ("Weekly flats usually come from something stuck in the tyre. Run your fingers carefully "
        "around the inside of the tyre — there's often a tiny piece of glass or wire that "
        "punctures each new tube.",
        "That's frustrating! Before blaming the tubes, check the inside of the tyre for a small "
        "shard of glass or wire — it's the most common cause of repeated flats — and make sure "
        "the rim tape covers every spoke hole."),
       ("Would puncture-resistant tyres help on my commute?",
        ("Yes — the Marathon Plus tyres we stock cut flats dramatically on city roads. They're "
         "€39 each, and we fit them for free if you buy them here.",)),
       ("I found a tiny piece of glass in the tyre. Do I need a new tyre too?",
        ("If the cut in the tyre is smaller than a grain of rice, a new tube is enough. Anything "
         "bigger and I'd replace the tyre.",)),
       "Found a bit of wire in the tyre — no flats since. Thanks!"),
    _s("support", "Can I book a fitting?",
       "I'd like a bike fitting before I buy the Road Pro. Can I book one?",
       ("Of course! Fittings take about an hour and cost €60, which we take off the price of the "
        "bike if you buy it. We have slots on Tuesday at 17:00 or Saturday at 10:00 — which "
        "suits you?",
        "Happy to set that up. A fitting takes an hour and the €60 fee is deducted when you buy "
        "the Road Pro. Would Tuesday at 17:00 or Saturday at 10:00 work?"),
       ("Saturday at 10:00 works for me.",
        ("Booked: Saturday at 10:00. Bring your cycling shoes and the shorts you usually ride "
         "in.",)),
       ("Tuesday at 17:00, please. Should I bring anything?",
        ("You're booked for Tuesday at 17:00. Bring your cycling shoes and the clothes you ride "
         "in, that's all.",)),
       "Thanks! I'll check my calendar and call the shop to pick a time."),
    _s("support", "App won't pair with my e-bike",
       "The Northwind app can't find my bike over Bluetooth, although the display is on.",
       ("Let's get you connected. Please update the app to the latest version, then hold the "
        "display's light button for five seconds until the Bluetooth symbol blinks, and search "
        "again.",
        "Sorry about that! Pairing only works while the display is in pairing mode: hold the "
        "light button for five seconds until the Bluetooth icon blinks, then search from the "
        "app (latest version)."),
       ("The Bluetooth icon doesn't blink when I hold the button.",
        ("Then the display's firmware needs an update, which we do in the shop in ten minutes, "
         "free of charge. Drop by whenever suits you.",)),
       ("Which phone settings does the app need?",
        ("Bluetooth and location must both be on (Android needs location to find Bluetooth "
         "devices), and the app needs the 'nearby devices' permission.",)),
       "The icon blinked and it paired straight away. Thanks!"),
    _s("support", "Headset creaks when braking",
       "There's a creak from the front of the bike whenever I brake hard.",
       ("A creak under braking usually comes from the headset. It probably needs cleaning and "
        "fresh grease — a 20-minute job. Bring the bike in and we'll do it while you wait.",
        "That's very likely the headset bearings asking for grease. It's a quick job: bring the "
        "bike in and we'll clean and regrease them while you wait."),
       ("How much does that cost?",
        ("A headset service is €25, and it's free if your bike is less than a year old.",)),
       ("Is it safe to ride until I can bring it in?",
        ("Yes, a creaking headset is noisy but safe. Just check there's no play: hold the front "
         "brake and rock the bike — if you feel a knock, come in sooner.",)),
       "Booked it in for Friday — thanks for the quick answer!"),
    _s("billing", "Charged twice for order",
       "My card shows two charges for the same order. Can you check?",
       ("Sorry about that! I can see the double charge — the second payment was refunded today "
        "and will be back on your card within 5–10 working days.",
        "Thanks for flagging it. The second charge was a duplicate; I've refunded it just now. "
        "Depending on your bank it takes 5–10 working days to appear."),
       ("Could you send me a confirmation of the refund for my records?",
        ("Of course — a refund confirmation is on its way by email; it shows the amount and the "
         "reference your bank will show.",)),
       ("It's been ten days and I still don't see the refund.",
        ("I'm sorry — I've checked and the refund left us on time. Your bank may hold it a little "
         "longer; quote this reference to them: RF-20488.",)),
       "I can see the refund now. Thanks for sorting it out!"),
    _s("billing", "Invoice with VAT number",
       "Could you reissue my invoice with our company's VAT number?",
       ("Of course! Please reply with the VAT number and the company's registered address, and "
        "I'll send the corrected invoice today.",
        "Happy to. Send us the VAT number and the exact company name and address as they should "
        "appear, and the new invoice will follow within a day."),
       ("Here it is: VAT DE123456789, Northgate GmbH, Hafenstraße 12, 20457 Hamburg.",
        ("Thanks! The corrected invoice is on its way by email; the old one is cancelled.",)),
       ("Can the invoice be addressed to our accounts department?",
        ("Yes — I'll add 'Attn: Accounts Department' above the address. Send me the VAT number "
         "and I'll issue it.",)),
       "Received the new invoice, thank you!"),
    _s("billing", "Refund not received",
       "I returned the pedals two weeks ago but I haven't received a refund yet.",
       ("Sorry for the delay! Your return reached us on Monday and the refund was issued today. "
        "It usually takes 5–10 working days to reach your card.",
        "Thanks for your patience — the pedals arrived back with us this week and I've just "
        "issued the refund. Your bank needs 5–10 working days to show it."),
       ("Will the refund include the shipping costs?",
        ("Yes — since the pedals were faulty, we refunded the original shipping too.",)),
       ("Which card will the refund go to? The old one has expired.",
        ("Refunds always go back to the original card; your bank forwards it to the replacement "
         "card automatically.",)),
       "The refund arrived today. Thanks!"),
    _s("billing", "Change billing address",
       "We moved — please update the billing address on our account.",
       ("Of course! Please send us the new address and I'll update it right away; future "
        "invoices will use it.",
        "Congratulations on the move! Reply with the new billing address and I'll change it "
        "today."),
       ("The new address is Kastanienallee 5, 10435 Berlin.",
        ("Done — your billing address is now Kastanienallee 5, 10435 Berlin. Future invoices "
         "will show it.",)),
       ("Does this also change the delivery address?",
        ("No, delivery addresses are separate — I can change that too if you send me the new "
         "one.",)),
       "Thanks, that's all we needed!"),
    _s("billing", "Monthly plan cancellation",
       "Please cancel my service plan at the end of this month.",
       ("Done — your service plan ends on the last day of this month and there will be no "
        "further charges. Any service booked before then is still covered.",
        "I've scheduled the cancellation for the end of the month: no more charges after that, "
        "and services booked until then are still included."),
       ("Can I still use the free check-up this month?",
        ("Yes — the plan is active until the end of the month, so book your free check-up any "
         "time before then.",)),
       ("Will I get a confirmation email?",
        ("Yes, a confirmation of the cancellation is on its way to your inbox now.",)),
       "Perfect, thank you for the quick help!"),
)

BY_SUBJECT = {s.subject: s for s in SCENARIOS}


def scenario_for(subject: str) -> Scenario | None:
    """The scenario of a ticket or mail subject (``Re:`` and ``[#N]`` tokens ignored)."""
    from engine.channels.email_parse import SUBJECT_TOKEN_RE

    s = SUBJECT_TOKEN_RE.sub("", subject or "").strip()
    while s.lower().startswith(("re:", "aw:", "fw:")):
        s = s[3:].strip()
    return BY_SUBJECT.get(s)


CANNED = [
    ("Greeting", "Hi there,\n\nThanks for reaching out to Northwind Bikes — {first_name} here. "),
    ("Brake check", "Could you tell us when the bike was last serviced? Squeal after a service is "
                    "usually contaminated pads; we can clean or replace them for free."),
    ("Shipping delay", "Sorry for the wait! Our warehouse is catching up after the holidays; your "
                       "parcel will ship within two working days."),
    ("Refund timing", "Refunds reach your card 5–10 working days after we receive the return."),
    ("Sign-off", "Best regards,\n{full_name}\nNorthwind Bikes support"),
]
