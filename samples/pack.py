"""The sample evidence pack: documents of one fictional relationship, written with real writers.

Northmoor Water (client) and Calderstone Engineering (delivery partner) run the Northmoor Capital
Delivery Alliance. The pack mixes strong evidence, thin evidence, admin noise and one unrelated
document, so the matrix shows evidence, weak items and gaps. Also used by tests and benchmarks.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from .writers import write_docx, write_eml, write_pdf, write_pptx, write_scan_pdf, write_xlsx

CLIENT, PARTNER = "Northmoor Water", "Calderstone Engineering"


def _d(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, 9, 0, 0)


def write_sample_pack(folder: Path, extras: bool = True) -> list[Path]:
    """Write the sample pack; returns the paths. The eight core documents (a plan, minutes, a charter, two
    registers, a contract extract, an annual review and an unrelated rota) are what the tests and the labelled
    mapping benchmark read; `extras` adds what the other frameworks ask about (a partnering health check, a
    commitments log, the options appraisal that chose an alliance)."""
    folder = Path(folder)
    core = [
        _rmp(folder / "alliance-relationship-management-plan-v3.docx"),
        _minutes(folder / "alliance-board-minutes-2026-03.docx"),
        _charter(folder / "alliance-collaboration-charter.docx"),
        _risk_register(folder / "joint-risk-register.xlsx"),
        _value_register(folder / "value-and-lessons-register.xlsx"),
        _contract(folder / "alliance-agreement-extract.pdf"),
        _annual_review(folder / "annual-alliance-review-2025.pdf"),
        _unrelated(folder / "depot-canteen-rota.xlsx"),
    ]
    if not extras:
        return core
    return core + [
        _health_check(folder / "partnering-health-check-2025.docx"),
        _commitments(folder / "alliance-commitments-log.xlsx"),
        _options_appraisal(folder / "delivery-model-options-appraisal.pdf"),
        _board_deck(folder / "alliance-board-pack-2026-06.pptx"),
        _email(folder / "rmp-v3-issued-to-both-boards.eml"),
        _signed_page(folder / "alliance-agreement-signature-page-scan.pdf"),
    ]


def _rmp(path: Path) -> Path:
    return write_docx(path, "Northmoor Capital Delivery Alliance - Joint Relationship Management Plan", [
        ("table", [["Version", "Date", "Summary of changes"],
                   ["1.0", "04/04/2023", "First joint RMP at alliance start, merging the client's corporate RMP and the partner's tender plan"],
                   ["2.0", "15/03/2024", "Annual review: value definitions agreed, ideas scheme added"],
                   ["3.0", "12/02/2026", "Annual review: KPI targets reset, exit strategy reviewed, issue resolution ladder shortened"]]),
        ("h1", "1 Purpose and scope"),
        ("p", f"{CLIENT} and {PARTNER} run the Northmoor Capital Delivery Alliance from this joint relationship "
              "management plan (JRMP). The alliance designs and builds treatment works and network upgrades worth about "
              "60 million pounds a year from April 2023 to March 2033."),
        ("h1", "2 Joint objectives"),
        ("p", "The Alliance Board agreed four joint objectives, each with a measure and a target reviewed every year: "
              "deliver the regulatory programme on time (95% of milestones met), reduce whole-life cost by 8% against "
              "the 2022 baseline, cut embodied carbon by 30%, and keep a zero-harm safety record."),
        ("h1", "3 Governance and roles"),
        ("p", f"{CLIENT}'s Senior Executive Responsible is Dr Amara Okoye, Director of Capital Delivery; {PARTNER}'s "
              "Senior Executive Responsible is Tom Reilly, Managing Director Water. The SERs co-chair the Alliance Board "
              "each quarter and review performance, risk and relationship health."),
        ("table", [["Forum", "Members", "Meets", "Purpose"],
                   ["Alliance Board", "Both SERs, alliance manager, finance leads", "Quarterly", "Strategy, performance review, escalations"],
                   ["Joint Management Team", "Alliance manager (client), delivery director (partner), commercial and quality leads", "Monthly",
                    "Runs the alliance day to day, owns the joint risk register and the value register"]]),
        ("p", "The Joint Management Team's terms of reference set its membership, quorum and authority to approve changes "
              "up to 250,000 pounds. Every workstream has one named owner, recorded in the responsibilities matrix in Appendix B."),
        ("h1", "4 Communication and knowledge"),
        ("p", "A joint communications plan sets out who hears what and when: a monthly bulletin for both workforces, "
              "quarterly briefings for customers and regulators, and a shared alliance intranet site."),
        ("p", "Knowledge is shared under an information sharing protocol: design data, cost data and lessons are held in "
              "the common data environment, open to both organisations, with commercially sensitive rates kept on an "
              "open-book basis visible to the client's cost consultants."),
        ("h1", "5 Risk and issue resolution"),
        ("p", "A single joint risk register serves the whole alliance and the Joint Management Team works through it "
              "monthly. Every entry carries an owner and a dated mitigation; anything scored at 15 or above is escalated "
              "to the Alliance Board and recorded on the client's corporate register."),
        ("p", "Issues are resolved at the lowest level possible: the project team within five working days, then the "
              "Joint Management Team within ten, then the two SERs. Formal adjudication under the agreement is a last resort."),
        ("h1", "6 Value creation and improvement"),
        ("p", "Value is created through a joint process: ideas are logged in the value register, assessed by the Joint "
              "Management Team against an agreed baseline, trialled, and their verified savings recorded."),
        ("p", "Anyone in either organisation can put forward an idea through the alliance ideas scheme; the best ideas of "
              "each quarter are funded for a trial."),
        ("h1", "7 Exit strategy"),
        ("p", "Exit is planned jointly: the Joint Management Team maintains the exit strategy and the Alliance Board "
              "re-approves it each January. Disengagement would follow sustained failure against the joint objectives, "
              "a change of regulatory funding or expiry, with twelve months allowed for transition."),
        ("p", "Next review of this plan: February 2027."),
    ], _d(2026, 2, 12), header="Northmoor Capital Delivery Alliance - JRMP v3.0")


def _minutes(path: Path) -> Path:
    return write_docx(path, "Alliance Board - minutes of the meeting held on 18 March 2026", [
        ("p", "Present: Dr Amara Okoye (chair), Tom Reilly, Priya Shah (alliance manager), Gavin Doyle (delivery director), "
              "Helen Brooks (finance). Apologies: Mark Ellis."),
        ("h1", "1 Minutes and actions"),
        ("p", "The minutes of 10 December 2025 were approved. All seven actions were complete."),
        ("h1", "2 Performance"),
        ("p", "Gavin Doyle presented the performance report. Eleven of the thirteen KPIs are green. Milestone delivery is "
              "at 93% against a target of 95%; the shortfall is on two network schemes delayed by land access."),
        ("p", "The SERs reviewed the KPI trends and asked the Joint Management Team for a recovery plan for the land "
              "access delays, including the client's commitment to secure access agreements eight weeks ahead of start."),
        ("h1", "3 Relationship health"),
        ("p", "Priya Shah presented the results of the February relationship health survey of both workforces. Trust "
              "scores rose from 3.6 to 3.9 out of 5, but site teams reported that design changes are still communicated late."),
        ("h1", "4 Value register"),
        ("p", "The Board reviewed the value register: verified savings in year 3 reached 3.1 million pounds against a "
              "target of 2.8 million. Two ideas from the ideas scheme will be trialled next quarter."),
        ("h1", "5 Joint risk register"),
        ("p", "The Board went through the highest-scored joint risks. The shortage of commissioning engineers was "
              "re-scored at 16 and given to the delivery director, who will train four engineers from the client's "
              "operations team."),
        ("h1", "6 Any other business"),
        ("p", "The car park at Northmoor House will be resurfaced in April. Date of next meeting: 17 June 2026."),
        ("table", [["Ref", "Action", "Owner", "Due"],
                   ["AB-26-03-01", "Recovery plan for land access delays", "Gavin Doyle", "30/04/2026"],
                   ["AB-26-03-02", "Brief site teams on the design change notice process", "Priya Shah", "15/04/2026"]]),
    ], _d(2026, 3, 20), header="Alliance Board minutes, 18 March 2026")


def _charter(path: Path) -> Path:
    return write_docx(path, "Northmoor Alliance Collaboration Charter", [
        ("h1", "1 Why this charter"),
        ("p", f"These are the ways of working that staff of {CLIENT}, {PARTNER} and the firms in our supply chain have "
              "agreed to hold to. They put into practice what both organisations' collaborative working policies promise."),
        ("h1", "2 Our commitments"),
        ("p", "1. Reliability. Dates and undertakings we give are met; when one is at risk we raise it before it slips "
              "and re-plan it jointly."),
        ("p", "2. Contact. Teams on both sides speak at least weekly, and a problem is raised on the day it is found, "
              "not saved for the next review."),
        ("p", "3. Goals and roles. The alliance has one scorecard, signed off by the two SERs, and each person can say "
              "which measure their own work supports."),
        ("p", "4. Openness. Costs, forecasts and the thinking behind decisions are visible to both organisations, "
              "including when money is tight."),
        ("p", "5. Fairness. Mistakes are reviewed to improve how we work; nobody is singled out for a failure the "
              "system allowed."),
        ("p", "6. Time for the relationship. The core team is co-located, new joiners are inducted together and one "
              "day a year is given to joint team building."),
        ("h1", "3 Practical arrangements"),
        ("p", "Reception at Northmoor House issues building passes and parking is by permit. Employees stay on their "
              "own employer's terms and conditions, for example for holidays and travel claims."),
        ("h1", "4 Signatories"),
        ("table", [["Name", "Role", "Organisation"],
                   ["Dr Amara Okoye", "Director of Capital Delivery; Senior Executive Responsible", CLIENT],
                   ["Tom Reilly", "Managing Director Water; Senior Executive Responsible", PARTNER],
                   ["Priya Shah", "Alliance Manager", CLIENT]]),
    ], _d(2025, 4, 2))


def _risk_register(path: Path) -> Path:
    header = ["Risk ID", "Risk description", "Category", "Owner", "Likelihood", "Impact", "Score", "Mitigation", "Status"]
    rows = [
        ["R-01", "Shortage of commissioning engineers delays handover of treatment works", "Resources",
         "Delivery director (joint)", 4, 4, 16, "Train four client operations staff as commissioning engineers", "Open"],
        ["R-02", "Land access agreements not secured before scheme start, delaying network schemes", "Programme",
         "Client land manager", 3, 4, 12, "Secure access agreements eight weeks before start; monthly review by the JMT", "Open"],
        ["R-03", "Turnover of key alliance staff loses relationship knowledge and trust", "Relationship",
         "Alliance manager", 3, 3, 9, "Joint induction, handover notes and deputies for every key role", "Open"],
        ["R-04", "Regulatory funding change at the next price review alters the programme", "Commercial",
         "Both SERs", 2, 5, 10, "Exit strategy and programme options reviewed each January", "Open"],
        ["R-05", "Delivery van tyre wear above limit", "Fleet", "Fleet supervisor", 2, 1, 2, "Replace tyres", "Closed"],
    ]
    return write_xlsx(path, "Northmoor Alliance - Joint Risk Register", {"Joint risks": [header, *rows]},
                      _d(2026, 3, 12), banner="Northmoor Capital Delivery Alliance - Joint Risk Register (as at March 2026)")


def _value_register(path: Path) -> Path:
    value = [["Ref", "Initiative", "Source", "Verified saving (GBP)", "Status"],
             ["V-07", "Standard pumping station design reused across six sites", "Ideas scheme", 640000, "Adopted"],
             ["V-09", "Joint procurement of pipes with the client's framework", "JMT", 410000, "Adopted"],
             ["V-12", "Low-carbon concrete mix trial", "Ideas scheme", 0, "Trial"]]
    lessons = [["Ref", "What happened", "What we learned", "What we changed"],
               ["L-21", "Design changes reached site teams late on two schemes",
                "Change notices were emailed to managers only", "Design change notices now go to every site team the same day"],
               ["L-22", "Commissioning slipped at Eastfield works", "Operations staff were involved too late",
                "Operations join the project team at detailed design"]]
    return write_xlsx(path, "Northmoor Alliance - Value and Lessons Register",
                      {"Value register": value, "Lessons learned": lessons}, _d(2026, 3, 1))


def _contract(path: Path) -> Path:
    return write_pdf(path, "Northmoor Capital Delivery Alliance Agreement - Extract", [
        ("h1", "Clause 4 Collaboration"),
        ("p", "4.1 The Parties shall work together in a spirit of mutual trust and co-operation and shall act as an "
              "integrated alliance to achieve the Joint Objectives set out in Schedule 2."),
        ("p", "4.2 The Parties share any cost overrun or underrun against the target cost in the proportions set out in "
              "Schedule 5 (pain/gain share), so that both gain when the alliance performs well."),
        ("h1", "Clause 9 Governance"),
        ("p", "9.1 Each Party shall appoint a Senior Executive Responsible. The Alliance Board and the Joint Management "
              "Team shall be established in accordance with Schedule 3 within one month of the Commencement Date."),
        ("h1", "Clause 21 Termination and exit"),
        ("p", "21.3 On expiry or termination the Partner shall provide a transition plan, hand over all design data, "
              "asset records and operating manuals, and co-operate with any successor for a transition period of "
              "twelve months so that service to customers continues without interruption."),
        ("p", "21.4 Intellectual property created jointly by the Parties during the Term is licensed to both Parties "
              "royalty-free for use after expiry."),
        ("h1", "Clause 30 General"),
        ("p", "30.1 This Agreement is governed by the law of England and Wales. Notices shall be sent to the registered "
              "office of the receiving Party."),
    ], _d(2023, 3, 28), running_header="Alliance Agreement - extract for the evidence file")


def _annual_review(path: Path) -> Path:
    return write_pdf(path, "Annual Alliance Review 2025", [
        ("h1", "1 Summary"),
        ("p", "This review covers the third year of the alliance. Verified savings were 3.1 million pounds, 4.4% of "
              "spend, against the joint target of 4%. Eleven of thirteen KPIs were met."),
        ("h1", "2 Performance against joint objectives"),
        ("p", "Programme delivery reached 93% of regulatory milestones against a target of 95%. Embodied carbon fell by "
              "22% against the baseline, short of the 30% objective; the low-carbon concrete trial is expected to close the gap."),
        ("h1", "3 Learning from experience"),
        ("p", "The lessons learned log holds 48 entries, each reviewed by the Joint Management Team. The most useful "
              "lesson of the year was to involve operations staff at detailed design, which avoided rework at two works."),
        ("h1", "4 Areas for improvement"),
        ("p", "The review identified three areas for improvement: design changes still reach site teams late, land access "
              "is secured too close to scheme start, and the ideas scheme is not yet open to subcontractors."),
        ("h1", "5 Internal audit"),
        ("p", "The client's internal audit team audited the alliance management system in October 2025 against ISO 44001 "
              "and raised two minor nonconformities on document control; corrective actions were closed in December."),
        ("p", "Report prepared by the alliance finance leads. Figures exclude VAT."),
    ], _d(2026, 1, 20), running_header="Northmoor Alliance - Annual Review 2025")


def _unrelated(path: Path) -> Path:
    rows = [["Week", "Day", "Main course", "Vegetarian option", "Staff on duty"],
            [1, "Monday", "Cottage pie", "Lentil bake", "J. Marsh"],
            [1, "Tuesday", "Chicken curry", "Vegetable curry", "P. Grant"],
            [1, "Wednesday", "Fish and chips", "Halloumi wrap", "J. Marsh"],
            [2, "Monday", "Beef stew", "Bean chilli", "S. Patel"]]
    return write_xlsx(path, "Depot canteen rota", {"Rota": rows}, _d(2026, 1, 5))


def _health_check(path: Path) -> Path:
    return write_docx(path, "Northmoor Capital Delivery Alliance - Partnering Health Check 2025", [
        ("h1", "1 Purpose and method"),
        ("p", "Both organisations commissioned this health check of how the alliance works, one year before the mid-term "
              "review. 214 staff of Northmoor Water and Calderstone Engineering answered the same 30-question survey, "
              "and the Alliance Board discussed the results at a facilitated workshop on 3 December 2025."),
        ("h1", "2 Trust between the partners"),
        ("p", "82% of respondents said the other organisation does what it says it will do; the commitments log shows "
              "41 of 44 commitments made at the Board in 2025 delivered on time, and the three late ones were flagged "
              "before their due date."),
        ("p", "Communication scored highest: weekly joint stand-ups, the monthly newsletter and the practice of sharing "
              "bad news within a day were each mentioned unprompted by more than a third of respondents."),
        ("p", "Transparency is improving but uneven. The open-book cost reports are trusted by commercial staff, while "
              "site teams said decisions on scheme priorities are still explained to them late."),
        ("p", "When things went wrong, 71% said the alliance looks for the cause rather than someone to blame; the "
              "no-blame review of the pumping station flood in May was cited as the example."),
        ("h1", "3 Mutual benefit and joint working"),
        ("p", "The joint governance structure was rated effective by both Boards: decisions are taken jointly, the Joint "
              "Management Team reviews its own effectiveness each year, and the terms of reference were updated in June."),
        ("p", "Shared objectives are understood: 88% could name at least three of the five alliance objectives, and both "
              "parties' bonus schemes now include the alliance scorecard."),
        ("p", "We compared our practices with two other water-sector alliances through a peer review in September 2025; "
              "their approach to early contractor involvement has been adopted for the 2026 schemes."),
        ("p", "Joint training in collaborative behaviours reached 160 staff from both organisations; new starters attend "
              "the same induction whichever organisation employs them."),
        ("h1", "4 Readiness for the next phase"),
        ("p", "Both chief executives have confirmed their personal sponsorship of the alliance and named a senior champion "
              "for collaborative working in each organisation."),
        ("p", "Both organisations have agreed to change internal procedures that obstruct joint working: the client's "
              "approval limits were raised for the Joint Management Team, and the partner's design sign-off now "
              "accepts the client's checkers."),
        ("h1", "5 Actions"),
        ("p", "The Board agreed three actions: explain scheme priority decisions to site teams within a week, repeat the "
              "survey in 2026 to track the trend, and extend the peer review to a third alliance outside the water sector."),
    ], _d(2025, 12, 10))


def _commitments(path: Path) -> Path:
    rows = [["Ref", "Commitment", "Made by", "To", "Made at", "Due", "Status"],
            ["C-2025-07", "Share the draft 2026 investment programme with the partner before it goes to the client's "
             "board", "Client programme director", "Partner", "Board, 12 Feb 2025", "31 Mar 2025", "Kept on time"],
            ["C-2025-12", "Release design resources to the sludge treatment scheme within two weeks of the board "
             "decision", "Partner design lead", "Client", "Board, 12 Feb 2025", "26 Feb 2025", "Kept on time"],
            ["C-2025-18", "Explain the reasons for deferring the reservoir outlet scheme to both site teams",
             "Alliance director", "Both teams", "JMT, 9 Apr 2025", "30 Apr 2025", "Late: done 12 May, flagged 25 Apr"],
            ["C-2025-23", "Open the ideas scheme to subcontractors and report the first ideas to the JMT",
             "Alliance manager", "Both parties", "JMT, 11 Jun 2025", "30 Sep 2025", "Kept on time"],
            ["C-2025-31", "Publish the open-book cost report to both finance teams each month",
             "Partner commercial lead", "Client", "Board, 10 Sep 2025", "Monthly", "Kept: every month since October"]]
    return write_xlsx(path, "Alliance commitments log", {"Commitments": rows}, _d(2025, 12, 1))


def _options_appraisal(path: Path) -> Path:
    return write_pdf(path, "Capital Delivery Model: Options Appraisal", [
        ("h1", "1 The decision"),
        ("p", "Northmoor Water's board asked whether its 2023-2030 capital programme should be delivered through an "
              "alliance or through separate design and construction contracts. This appraisal was prepared for that "
              "decision in September 2022."),
        ("h1", "2 Options considered"),
        ("p", "Three models were compared: traditional two-stage contracts, a framework of contractors, and an alliance "
              "with a single delivery partner sharing pain and gain. Each was scored against the programme's "
              "objectives for cost, carbon, customer disruption and speed of delivery."),
        ("p", "An alliance scored highest because the programme is large, uncertain in scope and depends on integrating "
              "design, construction and operations; the board accepted that alliancing needs leaders on both sides who "
              "will change how their organisations work."),
        ("h1", "3 What the alliance must have"),
        ("p", "The appraisal set conditions for alliancing: a commercial model in which both parties win or lose "
              "together, a joint board with authority to decide, an integrated team co-located at one office, and "
              "behaviours agreed in a charter before award."),
        ("p", "Before committing, the client's executive team held a readiness workshop to test its own appetite for "
              "sharing risk and information with a partner, and agreed where its procedures would have to change."),
        ("h1", "4 Recommendation"),
        ("p", "The board approved the alliance model on 29 September 2022 and asked for a partner selection process "
              "that weighs collaborative behaviours alongside price and technical capability."),
    ], _d(2022, 9, 30), running_header="Northmoor Water - options appraisal")


def _board_deck(path: Path) -> Path:
    return write_pptx(path, "Alliance Board pack - June 2026", [
        {"title": "Alliance Board, 17 June 2026",
         "bullets": ["Quarterly review of the alliance scorecard and the joint risk register",
                     "Chaired jointly by the two Senior Executives Responsible"]},
        {"title": "Scorecard at the end of quarter 1",
         "table": [["Objective", "Target", "Position", "Trend"],
                   ["Regulatory milestones met", "95%", "94%", "improving"],
                   ["Verified efficiency", "4% of spend", "4.2%", "steady"],
                   ["Embodied carbon reduction", "30%", "24%", "improving"]],
         "notes": "The Board agreed that the carbon gap is reviewed jointly each month until it closes, with the "
                  "partner's design lead and the client's asset manager reporting together."},
        {"title": "Top joint risks",
         "bullets": ["Late land access could delay three schemes: joint owner, the two programme managers",
                     "Supply of low-carbon concrete: both parties share the cost of a second supplier trial"]},
    ], _d(2026, 6, 17))


def _email(path: Path) -> Path:
    body = ("Dear Board members,\n\n"
            "Attached is version 3 of the Joint Relationship Management Plan, approved by both Senior Executives "
            "Responsible on 12 February. It replaces version 2 and records the revised exit arrangements and the new "
            "joint objectives for carbon.\n\n"
            "Please make sure your teams work from this version; the Joint Management Team will review it again in "
            "January 2027.\n\n"
            "Alliance Office\n\n"
            "> On 10 Feb 2026, the Relationship Manager wrote:\n"
            "> Could you send the approved plan to both boards once it is signed?\n")
    with tempfile.TemporaryDirectory() as tmp:
        plan = _rmp(Path(tmp) / "alliance-relationship-management-plan-v3.docx")
        attachment = ("alliance-relationship-management-plan-v3.docx", plan.read_bytes())
    return write_eml(path, "Joint RMP version 3 issued to both boards", body, _d(2026, 2, 13),
                     to="Alliance Board <board@example.org>", attachments=[attachment])


def _signed_page(path: Path) -> Path:
    return write_scan_pdf(path, [[
        "Alliance Agreement for the Northmoor Capital Delivery Alliance",
        "Execution page",
        "",
        "Under clause 9.1 each Party confirms that the person signing",
        "below is its Senior Executive Responsible for the alliance,",
        "accountable for the joint relationship management plan.",
        "",
        "Signed for and on behalf of Northmoor Water",
        "by its Senior Executive Responsible for the alliance",
        "Director of Capital Delivery, 28 March 2023",
        "",
        "Signed for and on behalf of Calderstone Engineering",
        "by its Senior Executive Responsible for the alliance",
        "Managing Director, Water Division, 28 March 2023",
    ]], when=_d(2023, 3, 28))
