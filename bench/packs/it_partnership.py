"""A labelled evidence pack of a fictional NHS IT managed-service partnership, for bench/mapping_quality.py.

Written for this bench, in a sector the catalogue examples do not use, and labelled while it was written (before
the mapping was run on it): each passage carries the BS 11000 items an assessor would accept it for, or none.
The noise is of the kinds the labelled packs hold: cover and signature blocks, attendance, housekeeping,
boilerplate clauses, one party's own operational risks in the joint log, method text, and an unrelated workbook.

    python bench/mapping_quality.py --pack-builder it_partnership --score ../shared/eval/score.py
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from samples import write_docx, write_pdf, write_xlsx

TRUST, PROVIDER = "Fenwick Valley NHS Trust", "Arcline Digital Services"
WHEN = dt.datetime(2025, 11, 20, 9, 0)

# (file, block, labels): a block is ("h1"|"p", text) or ("row", [cells]) of the table that follows its header
PLAN = "service-partnership-plan-v2.docx"
MINUTES = "joint-partnership-board-minutes-2025-11.docx"
LOG = "risk-and-issue-log.xlsx"
REVIEW = "quarterly-service-review-q3.pdf"
AGREEMENT = "partnership-agreement-schedule-4.pdf"
INVENTORY = "laptop-asset-inventory.xlsx"


def _plan() -> list:
    return [
        ("p", f"{TRUST} and {PROVIDER}. Clinical Systems Managed Service. Service Partnership Plan, version 2.1, "
              "October 2025. Owner: Head of Digital Partnerships.", []),
        ("h1", "1 How we manage this partnership", None),
        ("p", "This plan is the relationship management plan both organisations work to for the ten-year clinical "
              "systems service. It is updated after every annual review and whenever the governance changes.",
         ["S5.16"]),
        ("p", "The Trust's Chief Digital Information Officer is its Senior Executive Responsible for the partnership; "
              "Arcline's Managing Director for Health is Arcline's. Together they agree strategy and settle escalations.",
         ["S5.1"]),
        ("table", ["Group", "Chair", "Frequency", "Remit"], None),
        ("row", ["Partnership Board", "Both SERs in turn", "Quarterly", "Direction, performance, risk and escalations"],
         ["S5.4"]),
        ("row", ["Joint Operations Group", "Service managers of both parties", "Fortnightly",
                 "Day-to-day delivery, change approval, joint risk and issue log"], ["S5.4"]),
        ("p", "Each service line has a named owner on each side; the RACI chart in Annex A sets out who approves "
              "changes, who tests them and who tells clinical users.", ["S5.6"]),
        ("h1", "2 Objectives and measures", None),
        ("p", "The partners share three objectives for 2025/26: clinical systems available 99.9% of the time, urgent "
              "incidents fixed within four hours, and the electronic prescribing rollout finished in all wards by "
              "March. Progress against each measure is reviewed at every Partnership Board.", ["S5.5"]),
        ("h1", "3 Working together day to day", None),
        ("p", "A joint communications calendar plans messages to clinicians, ward managers and patients' "
              "representatives, so that outages and changes are announced once, by the right person.", ["S5.8"]),
        ("p", "Designs, run books and lessons are kept in one shared knowledge base that staff of both organisations "
              "can search; the Joint Operations Group decides what is recorded and retires what is out of date.",
         ["S5.7"]),
        ("p", "Commercial data is shared on an open-book basis: Arcline's costs for the service are visible to the "
              "Trust's finance team, while patient data stays under the Trust's data protection controls.", ["S2.4"]),
        ("h1", "4 Risk, issues and disputes", None),
        ("p", "One joint risk and issue log is kept for the partnership. The Joint Operations Group reviews it every "
              "fortnight and each entry has an owner from whichever organisation can best act on it.",
         ["S5.9", "S2.15"]),
        ("p", "Disagreements go first to the service managers, then to the Joint Operations Group within five working "
              "days, then to the two SERs; only then would the contract's dispute procedure be used.", ["S7.7"]),
        ("h1", "5 Improvement and innovation", None),
        ("p", "Improvement ideas from either side are logged, sized by the Joint Operations Group and, when approved, "
              "tracked to a measured benefit in the benefits register.", ["S6.1"]),
        ("h1", "6 Leaving well", None),
        ("p", "The exit plan is maintained by both parties and reviewed each year by the Partnership Board. It covers "
              "transfer of data, licences and knowledge to a successor and a six-month parallel running period.",
         ["S7.8", "S8.1"]),
        ("p", "Printed copies of this plan are uncontrolled. Please check the intranet for the current version.", []),
    ]


def _minutes() -> list:
    return [
        ("p", "Joint Partnership Board. Thursday 13 November 2025, 14:00-16:00, Boardroom B, Fenwick General "
              "Hospital.", []),
        ("p", "Present: R. Okwu (Trust CDIO, chair), S. Lindqvist (Arcline MD Health), P. Amin, J. Clarke, "
              "T. Baptiste. Apologies: M. Farrow.", []),
        ("h1", "1 Service performance", None),
        ("p", "JC reported availability of 99.95% for the quarter against the 99.9% objective; two urgent incidents "
              "missed the four-hour fix target, both during the pharmacy system upgrade.", ["S5.13", "S7.5"]),
        ("p", "The Board asked Arcline to add a rollback rehearsal to every major upgrade so the missed fixes are not "
              "repeated; PA will confirm it has been built into the change procedure.", ["S5.15"]),
        ("h1", "2 Relationship health", None),
        ("p", "TB presented the autumn partnership survey of both teams. Confidence that the other side shares bad news "
              "early fell from 4.1 to 3.6; the Board agreed joint workshops with the ward IT champions.", ["S7.4"]),
        ("h1", "3 Benefits and innovation", None),
        ("p", "The benefits register shows 410,000 pounds of verified savings this year, most of it from automated "
              "patching. The voice-recognition pilot in outpatients will be extended to two more clinics.",
         ["S7.3", "S6.1"]),
        ("h1", "4 Exit plan", None),
        ("p", "SL presented the annual refresh of the joint exit plan; the licence transfer terms were updated after "
              "the supplier's change of software vendor. The Board approved it.", ["S7.8", "S8.2"]),
        ("h1", "5 Any other business", None),
        ("p", "The December meeting will be held online. Car park 3 is closed for resurfacing until January.", []),
        ("table", ["No.", "Action", "Owner", "Due"], None),
        ("row", ["JPB-25-11-1", "Build a rollback rehearsal into the major change procedure", "PA", "31/12/2025"],
         ["S5.15"]),
        ("row", ["JPB-25-11-2", "Book a room for the January board", "TB", "05/12/2025"], []),
    ]


def _log() -> dict:
    risks = [
        ["Ref", "Description", "Type", "Owner", "Likelihood", "Impact", "Rating", "Response", "State"],
        ["RK-01", "Loss of the two Arcline engineers who know the legacy pathology interface leaves the partnership "
                  "unable to support it", "Joint", "Arcline service manager", 3, 4, 12,
         "Pair a Trust analyst with each engineer; write run books; succession plan agreed at the Board", "Open"],
        ["RK-02", "Trust funding for the prescribing rollout is cut in the next budget round, delaying the joint "
                  "objective", "Joint", "Both SERs", 2, 5, 10,
         "Early sight of budget options; phased plan agreed with Arcline", "Open"],
        ["RK-03", "Arcline's own office relocation disrupts its internal help desk phone lines", "Arcline internal",
         "Arcline facilities", 2, 2, 4, "Temporary call routing", "Closed"],
        ["RK-04", "Trust car park barrier software out of support", "Trust estates", "Estates manager", 2, 1, 2,
         "Replace barrier controller", "Open"],
    ]
    issues = [
        ["Ref", "Raised", "Issue", "Action and outcome", "State"],
        ["IS-07", "02/09/2025", "Disagreement over whether out-of-hours call-outs are chargeable under the contract",
         "Escalated to the Joint Operations Group; agreed interpretation recorded and applied from October", "Closed"],
        ["IS-08", "14/10/2025", "Broken chair in the shared service desk room", "Facilities replaced it", "Closed"],
    ]
    return {"Risks": risks, "Issues": issues}


def _review() -> list:
    return [
        ("p", "Quarterly Service Review, July to September 2025. Prepared by the partnership office for the Joint "
              "Partnership Board.", []),
        ("h1", "1 How this review was done", None),
        ("p", "We analysed incident data exported on 3 October, interviewed eleven staff and read the minutes of six "
              "Joint Operations Group meetings held in the quarter.", []),
        ("h1", "2 Performance", None),
        ("p", "Both parties met their commitments except one: Arcline missed the four-hour fix target twice, and the "
              "Trust was late providing test environments for the prescribing release in August.", ["S7.5"]),
        ("h1", "3 Value delivered", None),
        ("p", "Verified savings for the quarter were 120,000 pounds, against the jointly agreed definition of value "
              "that counts staff time released on the wards as well as cash.", ["S7.3", "S6.4"]),
        ("h1", "4 Lessons", None),
        ("p", "The pharmacy upgrade showed that rollback plans were written but never rehearsed; the lesson has been "
              "added to the shared knowledge base and to the change checklist.", ["S6.5"]),
        ("h1", "5 Areas for improvement", None),
        ("p", "Three improvements are proposed: one change calendar for both organisations, earlier involvement of "
              "ward champions in testing, and a single service desk number for clinicians.", ["S6.3"]),
        ("p", "Figures in this review are unaudited and exclude VAT.", []),
    ]


def _agreement() -> list:
    return [
        ("h1", "Schedule 4 Partnership governance and exit", None),
        ("p", "4.1 Each party shall nominate a Senior Executive Responsible and notify the other in writing within "
              "ten days of a change of nominee.", ["S5.1"]),
        ("p", "4.2 The parties shall hold a Partnership Board each quarter and a Joint Operations Group every two "
              "weeks with the membership and remit set out in the Service Partnership Plan.", ["S5.4"]),
        ("p", "4.3 Gain share: savings the parties achieve together against the baseline charges are split equally, "
              "so that both benefit from improving the service.", ["S5.11"]),
        ("p", "4.7 On expiry or termination the Provider shall transfer all configuration data, documentation and "
              "licences to the Trust or its nominee and support a parallel run of six months so that clinical services "
              "continue without interruption.", ["S8.7", "S8.1"]),
        ("p", "4.9 Intellectual property in tools developed jointly shall be owned jointly and each party may use it "
              "after the Agreement ends.", ["S8.4"]),
        ("p", "4.12 The Provider shall maintain public liability insurance of not less than ten million pounds.", []),
        ("p", "4.14 This Schedule is governed by the laws of England. Notices shall be delivered by hand or recorded "
              "post.", []),
    ]


def _inventory() -> dict:
    rows = [["Asset tag", "Model", "Assigned to", "Location", "Warranty end"],
            ["FV-L-0192", "Latitude 5440", "Ward 7 nurses' station", "Fenwick General", "2027-03-31"],
            ["FV-L-0193", "Latitude 5440", "Outpatients reception", "Fenwick General", "2027-03-31"],
            ["FV-L-0311", "ThinkPad T14", "Pharmacy office", "Riverside Clinic", "2026-11-30"]]
    return {"Laptops": rows}


def _docx_blocks(items: list) -> list:
    blocks, table = [], None
    for kind, content, _ in items:
        if kind == "table":
            table = [content]
            blocks.append(("table", table))
        elif kind == "row":
            table.append(content)
        else:
            blocks.append((kind, content))
    return blocks


def write_pack(folder: Path) -> list[Path]:
    folder = Path(folder)
    log, inventory = _log(), _inventory()
    return [
        write_docx(folder / PLAN, "Service Partnership Plan", _docx_blocks(_plan()), WHEN),
        write_docx(folder / MINUTES, "Joint Partnership Board minutes, 13 November 2025", _docx_blocks(_minutes()), WHEN),
        write_xlsx(folder / LOG, "Joint risk and issue log", log, WHEN, banner="Clinical Systems Managed Service - joint risk and issue log"),
        write_pdf(folder / REVIEW, "Quarterly Service Review Q3 2025", _docx_blocks(_review()), WHEN),
        write_pdf(folder / AGREEMENT, "Partnership Agreement - Schedule 4", _docx_blocks(_agreement()), WHEN),
        write_xlsx(folder / INVENTORY, "Laptop asset inventory", inventory, WHEN),
    ]


def gold() -> list[dict]:
    """One entry per labelled block: the file, a run of its words, and the BS 11000 items it evidences."""
    out = []
    for file, items in ((PLAN, _plan()), (MINUTES, _minutes()), (REVIEW, _review()), (AGREEMENT, _agreement())):
        for kind, content, labels in items:
            if labels is None:
                continue
            text = " ".join(content) if kind == "row" else content
            out.append({"file": file, "key": " ".join(text.split()[:8]) if kind != "row" else content[1],
                        "labels": [f"BS11000-{x}" for x in labels]})
    risk_labels = {"RK-01": ["S5.9", "S2.15"], "RK-02": ["S5.9"], "RK-03": [], "RK-04": []}
    for row in _log()["Risks"][1:]:
        out.append({"file": LOG, "key": row[1], "labels": [f"BS11000-{x}" for x in risk_labels[row[0]]]})
    issue_labels = {"IS-07": ["S7.7"], "IS-08": []}
    for row in _log()["Issues"][1:]:
        out.append({"file": LOG, "key": row[2], "labels": [f"BS11000-{x}" for x in issue_labels[row[0]]]})
    for row in _inventory()["Laptops"][1:]:
        out.append({"file": INVENTORY, "key": row[0], "labels": []})
    return out
