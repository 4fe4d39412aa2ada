"""Household rosters (建档立卡台账): one workbook per township, a row per registered poor household.

The roster form (templates/forms/household_roster.yaml.j2 over templates/household_fields.yaml) is
pre-filled from the registration export, checked live in Excel (ID check digit, required fields,
income range, the exit standard) and again in Python when read; its 村汇总 sheet counts exits, 返贫
and 新识别 per village for the township's statistical forms. Consolidated rosters go into an SQLite
store. See the modules for the parts:

- :mod:`.spec` the roster spec and its configuration; :mod:`.export` the registration export;
- :mod:`.roster` writing and reading a roster workbook; :mod:`.summary` the 村汇总 counts;
- :mod:`.checks` screening checks across rows and files; :mod:`.plausibility` signs of 数字脱贫;
- :mod:`.exits` village and county exit; :mod:`.adjust` roster ↔ 鄂扶贫01表 reconciliation;
- :mod:`.store` the household store; :mod:`.generate` / :mod:`.consolidate` the two jobs;
- :mod:`.synth` a deterministic synthetic province roster.
"""

from __future__ import annotations

from hbreport.households.adjust import reconcile
from hbreport.households.consolidate import RosterSummary, consolidate_rosters
from hbreport.households.exits import assess_county_exit, assess_village_exits
from hbreport.households.export import RosterExport, read_export, write_export
from hbreport.households.generate import generate_rosters
from hbreport.households.roster import RosterData, read_roster, write_roster
from hbreport.households.spec import ROSTER_FAMILY, Household, RosterSpec, build_roster_spec, roster_config
from hbreport.households.store import RosterStore

__all__ = [
    "ROSTER_FAMILY",
    "Household",
    "RosterData",
    "RosterExport",
    "RosterSpec",
    "RosterStore",
    "RosterSummary",
    "assess_county_exit",
    "assess_village_exits",
    "build_roster_spec",
    "consolidate_rosters",
    "generate_rosters",
    "read_export",
    "read_roster",
    "reconcile",
    "roster_config",
    "write_export",
    "write_roster",
]
