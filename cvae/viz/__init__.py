"""Pictures: Plotly figures for the app, PNG/SVG downloads, digit images for display."""
