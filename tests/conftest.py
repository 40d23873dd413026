"""Shared test setup: hypothesis profiles.

- "ci" (chosen when the CI environment variable is set): derandomized, so a run is reproducible,
  with no deadline and a modest number of examples to keep the suite well under a minute.
- "dev" (the default): the same budget, random, so runs explore new examples over time.
- "thorough": many more examples, for a long local run: HYPOTHESIS_PROFILE=thorough pytest
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_common = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("ci", derandomize=True, max_examples=25, print_blob=True, **_common)
settings.register_profile("dev", max_examples=25, **_common)
settings.register_profile("thorough", max_examples=1000, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
