from pathlib import Path

import streamlit as st

import cvae
from cvae.store.bundle import MAX_BUNDLE_BYTES, BundleError, import_bundle
from cvae.store.teacher_settings import TeacherSettings, load_settings, save_settings
from ui import session_keys as keys
from ui.access import is_teacher, set_teacher, teacher_gate
from ui.model_cache import bundle_for
from ui.model_choice import runs_root, saved_runs, set_active

st.title("Classroom")
root = runs_root()
current = load_settings(root)
st.markdown(
    "A teacher can choose the model every new session starts on. Students can still pick any "
    "other model for themselves in the sidebar."
)
st.markdown(f"**Default model:** `{current.default_run or 'pretrained (shipped)'}`")

gate = teacher_gate()


def sign_in_ui() -> None:
    """Password form; a right code makes this session a teacher session. Wrong codes slow down the
    next try on the whole server (not per tab), and the code is never shown back."""
    with st.form("teacher-sign-in", clear_on_submit=True):
        code = st.text_input("Teacher code", type="password", key="teacher_code_input")
        submitted = st.form_submit_button("Sign in as teacher")
    if not submitted:
        return
    attempt = gate.attempt(code)
    if attempt.outcome == "signed-in":
        set_teacher(True)
        st.rerun()
    elif attempt.outcome == "wait":
        st.error(f"Too many wrong codes on this server: the next try is accepted in {attempt.wait_s:.0f} s.")
    else:
        st.error(f"That is not the teacher code. The next try is accepted in {attempt.wait_s:.0f} s.")


def teacher_ui(current: TeacherSettings) -> None:
    """Choose the default model; saved for every session of this server."""
    own = [name for name, path in saved_runs().items() if path.parent.resolve() == root.resolve()]
    options = [None, *own]
    index = options.index(current.default_run) if current.default_run in options else 0
    with st.form("classroom-settings"):
        choice = st.selectbox(
            "Default model for every new session",
            options,
            index=index,
            format_func=lambda n: n or "pretrained (shipped)",
            key="classroom_default",
        )
        saved = st.form_submit_button("Save classroom settings", type="primary")
    if saved:
        try:
            save_settings(root, TeacherSettings(default_run=choice))
        except (cvae.CheckpointError, OSError) as err:
            st.error(f"Could not save the classroom settings: {err}")
        else:
            st.session_state[keys.CLASSROOM_SAVED] = True
            st.rerun()
    if st.button("Sign out", key="teacher_sign_out"):
        set_teacher(False)
        st.rerun()


st.subheader("Teacher")
if st.session_state.pop(keys.CLASSROOM_SAVED, False):
    st.success("Saved: every session that has not chosen a model of its own now starts on the default model.")
if not gate.enabled:
    st.info(
        "Teacher mode is disabled on this server. To enable it, start the app with a teacher code "
        "in the environment, e.g. `CVAE_TEACHER_CODE='choose-a-code' streamlit run app.py`, and tell "
        "it only to teachers."
    )
elif is_teacher():
    teacher_ui(current)
else:
    sign_in_ui()


def export_ui() -> None:
    """Any saved run as one .zip (config.json, params.npz, history.json)."""
    runs = saved_runs()
    if not runs:
        st.caption("No saved run to export yet.")
        return
    name = st.selectbox("Run to export", list(runs), key="bundle_export_run")
    path = runs[name]
    try:
        data = bundle_for(path)
    except (BundleError, cvae.CheckpointError) as err:
        st.error(f"`{name}` cannot be exported: {err}")
        return
    st.download_button(
        f"Download {path.name}.zip",
        data,
        file_name=f"{path.name}.zip",
        mime="application/zip",
        on_click="ignore",
        key="bundle_download",
        icon=":material/download:",
    )


def import_ui() -> None:
    """A .zip from another server or a classmate, validated (never unpickled), saved as a new run."""
    imported = st.session_state.pop(keys.BUNDLE_IMPORTED, None)
    if imported:
        st.success(f"Imported as `{imported}` and made your active model.")
    upload = st.file_uploader(
        "Model .zip", type=["zip"], key="bundle_upload", max_upload_size=max(1, MAX_BUNDLE_BYTES // 2**20)
    )
    default = Path(upload.name).stem if upload is not None else ""
    name = st.text_input(
        "Save as run",
        default,
        max_chars=60,
        key=f"bundle_name_{default}",
        help="letters, digits, '.', '_' and '-'; an existing run is never overwritten",
    )
    if st.button("Import", key="bundle_import", disabled=upload is None):
        try:
            path = import_bundle(upload.getvalue(), root, name.strip())
        except BundleError as err:
            st.error(f"Not imported: {err}")
        else:
            set_active(path)
            st.session_state[keys.BUNDLE_IMPORTED] = path.name
            st.rerun()  # the sidebar picker, drawn before this page, shows the new model


st.subheader("Share a model")
st.caption(
    "A run travels as one .zip of its config, weights and training curve; an import is checked "
    "file by file and written only if it loads as a model."
)
left, right = st.columns(2)
with left:
    export_ui()
with right:
    import_ui()
