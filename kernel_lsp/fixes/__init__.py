"""Quick fixes: plan them from the model at check time, realize them against the current texts.

The language server stores ``plan_fixes`` results in a diagnostic's ``data`` and calls
``realize`` when the user asks for code actions; ``kernel-lsp fix`` does both in one run. Plans
are plain JSON (see docs/fixes.md); edits use 0-based lines and byte columns, root-relative paths.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from kernel_lsp.config import Config
from kernel_lsp.findings import Finding, Fix
from kernel_lsp.model.resolve import IncludeResolver
from kernel_lsp.model.store import Model

log = logging.getLogger(__name__)

FIXABLE_CODES = ("020_2", "404_2", "405_2", "406_2", "407_2")


def plan_fixes(finding: Finding, model: Model, resolver: IncludeResolver,
               config: Config) -> list[dict]:
    """JSON-serialisable fix plans for one finding, best first ([] when none); never raises."""
    from kernel_lsp.fixes.catalogue import PLANNERS
    from kernel_lsp.fixes.plan import Planner

    try:
        planner = PLANNERS.get(finding.code)
        if planner is None:
            return []
        plans, titles = [], set()
        for plan in planner(Planner(finding, model, resolver, config)):
            if plan and plan["title"] not in titles:
                titles.add(plan["title"])
                plans.append(plan)
        if plans:
            plans[0]["preferred"] = True
        return plans
    except Exception:  # a fix must never break a check run
        log.debug("planning fixes for %s failed", finding, exc_info=True)
        return []


def realize(plan: dict, text_of: Callable[[str], str | None]) -> Fix | None:
    """Turn a plan into edits against the current texts; None when it no longer applies."""
    from kernel_lsp.fixes.realizers import REALIZERS, NotApplicable, Texts

    try:
        step = REALIZERS.get(plan.get("kind")) if isinstance(plan, dict) else None
        if step is None or not isinstance(plan.get("title"), str):
            return None
        edits = step(plan, Texts(text_of))
        if not edits:
            return None
        return Fix(plan["title"], tuple(dict.fromkeys(edits)), bool(plan.get("preferred")))
    except NotApplicable:
        return None
    except Exception:  # a malformed plan or an unexpected text: no fix, never a crash
        log.debug("realizing %r failed", plan, exc_info=True)
        return None
