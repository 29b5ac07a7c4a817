"""Streamlit glue shared by the pages: cached resources, session state, small widgets."""
