"""The script every session runs (`app.py` serves it): page config, the class gate, the student, the pages."""

# Page scripts live in app_pages/: a folder named pages/ would switch Streamlit to its legacy mode.
PAGE_SPECS = [  # (script, title, icon); the first is the default page
    ("app_pages/home.py", "Home", ":material/home:"),
    ("app_pages/lessons.py", "Lessons", ":material/menu_book:"),
    ("app_pages/train.py", "Train", ":material/model_training:"),
    ("app_pages/latent.py", "Latent space", ":material/scatter_plot:"),
    ("app_pages/manifold.py", "Manifold", ":material/grid_on:"),
    ("app_pages/your_digit.py", "Your digit", ":material/draw:"),
    ("app_pages/compare.py", "Compare runs", ":material/compare:"),
    ("app_pages/classroom.py", "Classroom", ":material/school:"),
]
TEACHER_PAGE = ("app_pages/class_view.py", "Class", ":material/groups:")  # listed for a signed-in teacher only


def main() -> None:
    import streamlit as st

    from cvae.runtime import SERVER_BLAS_THREADS, configure
    from cvae.settings import ROOT, settings
    from ui import jobs, student
    from ui.a11y import page_style_ui
    from ui.access import is_teacher
    from ui.class_gate import class_gate_or_stop, class_gate_passed
    from ui.class_view.notice import push_notice_ui
    from ui.components import model_picker_ui
    from ui.latent import first_map
    from ui.model_choice import active_model_problem

    configure(numpy_blas_threads=SERVER_BLAS_THREADS)  # done by the server's warm start, unless served bare
    # the icon is our file: for a ":material/...:" page icon the browser fetches an SVG from fonts.gstatic.com
    st.set_page_config(page_title="CVAE Explorer", page_icon=str(ROOT / "assets" / "favicon.png"), layout="wide")
    page_style_ui()  # reduced motion honoured page-wide (ui/a11y.py)
    specs = [*PAGE_SPECS, TEACHER_PAGE] if is_teacher() else PAGE_SPECS
    pages = [
        st.Page(script, title=title, icon=icon, default=index == 0) for index, (script, title, icon) in enumerate(specs)
    ]
    # the pages are named before the class gate, hidden until it is passed: a link to a page (a job's,
    # a reloaded tab's) still opens that page once the class code is in, instead of Home
    page = st.navigation(pages, position="sidebar" if class_gate_passed() else "hidden")
    class_gate_or_stop()  # before any page: beyond 127.0.0.1, only sessions with the class code
    latent, classroom = (next(p for p in pages if p.title == t) for t in ("Latent space", "Classroom"))
    # a class (a class code is set) works under names: every student gives one before any page but the
    # teacher's sign-in; the student's page is their presence on the teacher's Class page
    if settings().class_code and page is not classroom and not is_teacher():
        if (me := student.sign_in_ui(required=True)) is None:
            st.stop()
    else:
        me = _signed_in_student(student)
    if me is not None:
        student.touch(me, page=page.title)
        push_notice_ui(me)  # the teacher's newest push, polled (ui.class_view.notice)
    jobs.job_registry()  # the training workers: started with the server, else now
    jobs.adopt_finished_job()
    # a tab's first map comes before the picker (ui.latent.first_map), unless that page can show no map
    if not (page is latent and first_map.pending() and active_model_problem() is None):
        model_picker_ui()
    page.run()


def _signed_in_student(student):
    from cvae.db import DatabaseError

    try:
        return student.current()
    except DatabaseError:
        return None  # the pages still work; the Lessons page says why progress is not saved


# Only when served: Streamlit (and AppTest) runs this file as __main__. multiprocessing's spawn reruns
# the parent's __main__ as __mp_main__ in every child (a test's Dask workers spawned after an AppTest
# run), where the app once ran bare: a second cluster and the Home page inside each worker (cvae.runtime)
if __name__ == "__main__":
    main()
