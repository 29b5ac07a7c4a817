from pages import run_app

run_app()
