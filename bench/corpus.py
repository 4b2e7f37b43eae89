"""Generate a varied corpus of relationship documents with the project's own writers.

    python bench/corpus.py OUT_DIR --documents 200 [--seed 7]

Plans, minutes, registers, reports and contract extracts in .docx, .xlsx and .pdf, of different lengths,
for different fictional partnerships in different sectors. Every sentence written is listed in
OUT_DIR/truth.jsonl (file, text) so extraction fidelity can be measured on it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from samples import write_docx, write_pdf, write_xlsx  # noqa: E402

CLIENTS = ["Eastvale Council", "Harbour Health Trust", "Northgate Rail", "Brightwater Utilities", "Kestrel Housing",
           "Orchard Schools Trust", "Fenland Waterways", "Summit Airports", "Clearview Energy", "Lowmoor Police"]
PARTNERS = ["Atlas Facilities", "Meridian Build", "Quarry Lane Engineering", "Bluefin Digital", "Cedar Logistics",
            "Halcyon Services", "Ironbridge Civils", "Northstar Systems", "Pinewood Maintenance", "Vanguard Estates"]
TOPICS = {
    "governance": ["The {c} and {p} Senior Executives Responsible co-chair the partnership board every quarter.",
                   "The joint management team meets monthly with members from both {c} and {p}.",
                   "Terms of reference set the joint management team's membership, quorum and authority.",
                   "Each workstream has a single named owner recorded in the responsibilities matrix."],
    "risk": ["The joint risk register is reviewed at every joint management team meeting.",
             "Risks scoring {n} or more are escalated to the partnership board and the corporate register.",
             "Each risk has an owner from {p} or {c} and a mitigation with a due date.",
             "A shortage of {skill} could delay the programme; the mitigation is to train {k} staff."],
    "value": ["Verified savings reached {m} million pounds against a joint target of {t} million.",
              "Ideas from staff of both organisations are logged in the value register and trialled.",
              "The partners agreed that value means cashable savings, carbon reduction and social value.",
              "Lessons learned are recorded after each scheme and shared with both teams."],
    "performance": ["{k} of {n} key performance indicators were met in the last quarter.",
                    "The senior executives reviewed the performance report and agreed a recovery plan.",
                    "Milestone delivery reached {pc}% against a target of 95%.",
                    "The relationship health survey showed trust scores rising from 3.{k} to 3.{n2}."],
    "exit": ["The joint exit strategy is reviewed every January and sets triggers for disengagement.",
             "On expiry {p} will provide a transition plan and hand over all records within {k} months.",
             "Intellectual property created jointly is licensed to both parties after the term."],
    "admin": ["The meeting closed at {h}:30 and the next meeting is on {day}.",
              "Apologies were received from the finance lead and the communications officer.",
              "The car park at the {site} depot will be resurfaced in {month}.",
              "Room bookings are made through the facilities helpdesk on extension {ext}.",
              "The {site} depot canteen opens at 07:00 on weekdays."],
}
SKILLS = ["commissioning engineers", "site supervisors", "quantity surveyors", "data analysts", "electricians"]
SITES = ["Ashford", "Brookside", "Castleton", "Denholm", "Elmstead"]
MONTHS = ["March", "April", "June", "September", "November"]


class Writer:
    def __init__(self, rng: random.Random, client: str, partner: str):
        self.rng, self.client, self.partner = rng, client, partner
        self.sentences: list[str] = []

    def sentence(self, topic: str) -> str:
        r = self.rng
        text = r.choice(TOPICS[topic]).format(
            c=self.client, p=self.partner, n=r.randint(10, 20), k=r.randint(2, 9), n2=r.randint(5, 9),
            m=r.randint(1, 9), t=r.randint(1, 9), pc=r.randint(85, 99), skill=r.choice(SKILLS),
            h=r.randint(11, 16), day=f"{r.randint(1, 28)} {r.choice(MONTHS)}", site=r.choice(SITES),
            month=r.choice(MONTHS), ext=r.randint(2000, 2999))
        self.sentences.append(text)
        return text

    def paragraph(self, topic: str) -> str:
        return " ".join(self.sentence(topic) for _ in range(self.rng.randint(2, 5)))


def _doc_blocks(w: Writer, sections: int) -> list:
    blocks = []
    topics = list(TOPICS)
    for s in range(1, sections + 1):
        topic = w.rng.choice(topics)
        blocks.append(("h1", f"{s} {topic.title()}"))
        for _ in range(w.rng.randint(1, 4)):
            blocks.append(("p", w.paragraph(topic)))
    return blocks


def generate(out: Path, documents: int, seed: int = 7, large: bool = False) -> list[Path]:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    truth = []
    paths = []
    for i in range(documents):
        client, partner = rng.choice(CLIENTS), rng.choice(PARTNERS)
        w = Writer(rng, client, partner)
        when = dt.datetime(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 900))
        kind = ("docx", "docx", "xlsx", "pdf")[i % 4]
        name = f"{i:05d}-{client.split()[0].lower()}-{partner.split()[0].lower()}"
        sections = (rng.randint(12, 36) if large else rng.randint(3, 12))
        if kind == "docx":
            title = rng.choice(["Relationship management plan", "Partnership board minutes", "Collaboration charter"])
            path = write_docx(out / f"{name}.docx", f"{client} and {partner} - {title}", _doc_blocks(w, sections), when)
        elif kind == "pdf":
            title = rng.choice(["Annual partnership review", "Contract extract", "Value for money report"])
            path = write_pdf(out / f"{name}.pdf", f"{client} and {partner} - {title}", _doc_blocks(w, sections), when,
                             running_header=f"{client} / {partner} - {title}")
        else:
            header = ["Ref", "Description", "Owner", "Score", "Status"]
            rows = [[f"R-{n:03d}", w.sentence(rng.choice(["risk", "value", "performance"])), rng.choice([client, partner]),
                     rng.randint(1, 25), rng.choice(["Open", "Closed"])] for n in range(rng.randint(30, 110) if large else rng.randint(5, 60))]
            path = write_xlsx(out / f"{name}.xlsx", f"{client} and {partner} - joint register", {"Register": [header, *rows]}, when)
        paths.append(path)
        truth.extend({"file": path.name, "text": s} for s in dict.fromkeys(w.sentences))
    (out / "truth.jsonl").write_text("\n".join(json.dumps(t) for t in truth) + "\n")
    return paths


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--documents", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--large", action="store_true", help="longer documents (about 50 passages each)")
    args = ap.parse_args()
    paths = generate(args.out, args.documents, args.seed, args.large)
    print(f"wrote {len(paths)} documents to {args.out}")


if __name__ == "__main__":
    main()
