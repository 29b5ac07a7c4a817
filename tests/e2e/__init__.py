"""End to end: a real `streamlit run` server and/or headless Chromium, restarts across processes, the load test."""
