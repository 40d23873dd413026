"""Shared test setup: hypothesis profiles.

- "ci" (chosen when the CI environment variable is set): derandomized, so a run is reproducible,
  with no deadline and a modest number of examples to keep the suite well under a minute.
- "dev" (the default): the same budget, random, so runs explore new examples over time.
- "thorough": many more examples, for a long local run: HYPOTHESIS_PROFILE=thorough pytest
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_base = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", _base, derandomize=True, max_examples=25, print_blob=True)
settings.register_profile("dev", _base, max_examples=25)
settings.register_profile("thorough", _base, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
