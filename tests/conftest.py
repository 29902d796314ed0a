"""Shared pytest configuration: quiet TensorFlow, hypothesis profiles, temp dirs.

Hypothesis profiles (select with HYPOTHESIS_PROFILE=<name>):
  ci        the default; small example counts so the whole suite stays fast on 2 cores
  thorough  many more examples, no deadline; for local runs before a release
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
