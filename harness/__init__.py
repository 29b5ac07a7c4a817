"""What tests and benchmarks both need to run the real thing: servers, browsers, databases."""

from pathlib import Path

__all__ = ["ARTIFACTS", "ROOT"]

ROOT = Path(__file__).resolve().parent.parent  # the repository: `streamlit run app.py` runs here
ARTIFACTS = ROOT / "artifacts"  # what the tests and benchmarks leave behind: metrics, screenshots, logs
