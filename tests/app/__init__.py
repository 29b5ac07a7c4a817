"""Pages under Streamlit's AppTest (no browser), and the protocol client against a tiny real app."""
