"""The server side, without Streamlit: training runs and the job queue, the explorer's numpy-in /
numpy-out API, evaluation, and run comparisons."""
