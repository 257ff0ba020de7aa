"""Where to treat a pneumonia and whether sepsis is a risk, decided from the scores (never assumed).

:func:`suggested_setting` proposes a care setting for an adult with pneumonia from CURB-65 (or
CRB-65), PSI, the ATS/IDSA 2019 severe-CAP criteria and the sepsis signs; each rule names its
guideline. A suggestion rests only on what is known: the points already counted. When the known
points do not decide, nothing is suggested and the reason says what is missing; outpatient is
suggested only when a complete CURB-65 (or CRB-65) is low and nothing else points to hospital. No adult score
is used for a child; a child's hypoxaemia (SpO2 below 90%) suggests hospital care (PIDS/IDSA 2011). A patient
without a birth date is scored as an adult, the age points missing, so outpatient care is never suggested.
The clinician confirms (``CareSetting.chosen``); the treatment engine reads both.

:func:`sepsis_signs` names the signs of sepsis risk in the current episode: qSOFA 2 or more,
NEWS2 7 or more, lactate 2 mmol/L or more (4 or more called out), sepsis on the problem list.
"""

from __future__ import annotations

from medassist.clinical.scores import AGE_UNKNOWN, pneumonia_now, psi_lowest_class
from medassist.domain.clinical import CareSetting, CareSettingName, ClinicalPicture, ScoreResult
from medassist.domain.result_text import lactate_sign, measurement_text, score_brief

ADULT_AGE = 18.0
LACTATE_RAISED = 2.0  # mmol/L: Sepsis-3 septic shock criterion (with vasopressors), Singer 2016
LACTATE_HIGH = 4.0  # mmol/L: Surviving Sepsis Campaign hour-1 bundle, Levy MM et al. 2018
QSOFA_SEPSIS = 2  # Seymour 2016
NEWS2_EMERGENCY = 7  # RCP 2017
# SpO2 (%, at sea level) below which a child with pneumonia is hospitalised: Bradley JS et al., PIDS/IDSA guideline
# for CAP in infants and children older than 3 months, Clin Infect Dis 2011;53:e25-76, site-of-care recommendation 1
CHILD_HYPOXAEMIA = 90.0


def _rank(setting: CareSettingName | None) -> int:
    return {None: 0, "outpatient": 1, "inpatient": 2, "severe": 3}[setting]


def suggested_setting(p: ClinicalPicture, scores: dict[str, ScoreResult], sepsis: list[str]) -> CareSetting:
    """The setting the scores suggest for a pneumonia, with why; the clinician's choice is kept."""
    chosen = p.care_setting.chosen
    pneumonia, old = pneumonia_now(p)
    if not pneumonia:
        return CareSetting(chosen=chosen, reason=old or "the scores suggest a care setting for a pneumonia, and none is "
                                                        "recorded in this episode")
    if p.age is not None and p.age.years < ADULT_AGE:
        child = ("CURB-65 and PSI are validated in adults only; for a child, decide on clinical features "
                 "(BTS guideline for community-acquired pneumonia in children 2011)")
        spo2 = p.current_measures.get("oxygen_saturation")
        if spo2 is not None and spo2.value < CHILD_HYPOXAEMIA:
            return CareSetting(chosen=chosen, suggested="inpatient", reason=(
                f"SpO2 {measurement_text(spo2, with_date=True)}, below 90%: a child with hypoxaemia is cared for in "
                f"hospital (PIDS/IDSA 2011, site of care, strong recommendation); {child}"))
        return CareSetting(chosen=chosen, reason=child)
    votes: list[tuple[CareSettingName, str]] = []
    curb, crb = scores.get("CURB-65"), scores.get("CRB-65")
    if curb is not None:
        if curb.points >= 4:
            votes.append(("severe", f"{score_brief(curb)}: assess for intensive care (BTS 2009)"))
        elif curb.points == 3:
            votes.append(("inpatient", f"{score_brief(curb)}: manage in hospital as severe pneumonia (BTS 2009)"))
        elif curb.points == 2:
            votes.append(("inpatient", f"{score_brief(curb)}: consider a short-stay admission or hospital-supervised "
                                       "outpatient treatment (BTS 2009)"))
        elif not curb.missing:
            votes.append(("outpatient", f"{score_brief(curb)}: likely suitable for home treatment (BTS 2009)"))
    if crb is not None:
        if crb.points >= 1:
            votes.append(("inpatient", f"{score_brief(crb)}: consider hospital referral (BTS 2009)"))
        elif not crb.missing:
            votes.append(("outpatient", f"{score_brief(crb)}: likely suitable for home treatment (BTS 2009)"))
    severe = scores.get("ATS/IDSA severe CAP")
    if severe is not None and severe.level == "high":
        votes.append(("severe", f"ATS/IDSA {severe.band}: intensive care (Metlay 2019, Table 1)"))
    psi = scores.get("PSI")
    if psi is not None and psi_lowest_class(psi) in ("IV", "V"):
        votes.append(("inpatient", f"PSI {psi.band}: inpatient treatment (Fine 1997)"))
    votes += [("inpatient", f"sepsis sign: {sign}") for sign in sepsis]
    if not votes:
        missing = ", ".join(f"{s.name}: {', '.join(s.missing)}" for s in (curb, crb) if s is not None and s.missing)
        return CareSetting(chosen=chosen, reason=f"the known points do not decide; missing {missing}" if missing else
                           "no severity score could be computed")
    top = max(_rank(setting) for setting, _ in votes)
    suggested = next(setting for setting, _ in votes if _rank(setting) == top)
    reasons = [why for setting, why in votes if _rank(setting) == top]
    others = [why for setting, why in votes if _rank(setting) < top and not why.startswith("sepsis sign: ")]
    if suggested == "outpatient" and psi is not None and psi.level != "low":
        reasons.append(f"PSI {psi.band}: confirm with the clinical picture")
    reason = "; ".join(reasons) + (f" (whereas {'; '.join(others)})" if others else "")
    if p.age is None:  # the age points are missing, so no complete CURB-65 can suggest outpatient care
        reason += f" ({AGE_UNKNOWN})"
    return CareSetting(chosen=chosen, suggested=suggested, reason=reason)


def sepsis_signs(p: ClinicalPicture, scores: dict[str, ScoreResult]) -> list[str]:
    """Signs of sepsis risk in the current episode, each with its value, date and source."""
    signs: list[str] = []
    q = scores.get("qSOFA")
    if q is not None and q.points >= QSOFA_SEPSIS:
        counted = ", ".join(i.value for i in q.items if i.points)
        signs.append(f"{score_brief(q)}: {counted} (Seymour 2016; Sepsis-3)")
    news = scores.get("NEWS2")
    if news is not None and news.points >= NEWS2_EMERGENCY:
        signs.append(f"{score_brief(news)}: emergency response threshold (RCP 2017)")
    lactate = p.current_measures.get("lactate")
    if lactate is not None and lactate.value >= LACTATE_HIGH:
        signs.append(lactate_sign(lactate, "4 mmol/L or more: 30 mL/kg crystalloid and reassess (Surviving Sepsis "
                                           "Campaign hour-1 bundle, Levy 2018)"))
    elif lactate is not None and lactate.value >= LACTATE_RAISED:
        signs.append(lactate_sign(lactate, "2 mmol/L or more: hypoperfusion; with vasopressors needed for a mean "
                                           "pressure of 65 mmHg it defines septic shock (Sepsis-3, Singer 2016)"))
    sepsis = p.problem("sepsis")
    current = [e for e in sepsis.evidence if e.date is None or e.date >= p.episode_start] if sepsis else []
    if current:
        when = f", {current[0].date.isoformat()}" if current[0].date else ""
        signs.append(f"Sepsis documented ({current[0].kind.value}{when}): {current[0].text}")
    return signs
