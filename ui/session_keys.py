"""Every name this app keeps in `st.session_state` (one browser tab's state), what it holds and who writes it.

A widget's key is its value's name in session state, so the keys of widgets whose values are read
elsewhere (or set by code) are here too. Tests set keys by these names. Kept elsewhere on purpose:
ui/class_gate.py and ui/student.py name their own (the class code's sign-in, the student's token).
"""

from __future__ import annotations

__all__ = [
    "ACTIVE_RUN",
    "ADOPTED",
    "AXIS_I",
    "AXIS_J",
    "BUNDLE_IMPORTED",
    "CANVAS_PNG",
    "CLASSROOM_SAVED",
    "CLASS_ENDED",
    "CLASS_END_ASKED",
    "CLASS_PUSHED",
    "COLOURING",
    "COMPARE_RUNS",
    "DECODE_LABEL",
    "DIGIT_INPUT",
    "DIGIT_UPLOAD",
    "INTERP_A",
    "INTERP_B",
    "JOB",
    "JOB_DRAWN_FINAL",
    "LESSON_CHECK_MS",
    "LESSON_OPENED",
    "LESSON_PASSED",
    "LESSON_SKIPPED",
    "MAP_DRAWN",
    "MODEL_PICKER",
    "N_DRAWS",
    "OWNER_TOKENS",
    "PICKED",
    "PIN_REFUSED",
    "PIN_UV",
    "PRIOR_DRAWS",
    "PROJECTION",
    "PROJECTION_HOLD",
    "SAMPLE_SEED",
    "SESSION_ID",
    "SHOW_DENSITY",
    "SHOW_PRIOR",
    "SWEEP_JOBS",
    "SWEEP_SHOWN",
    "TEACHER",
    "form_key",
    "step_keys",
    "z_key",
]

# ---- the model this tab explores (ui.model_choice) -----------------------------------------------
ACTIVE_RUN = "active_run"  # str: the folder of the model this tab chose (picker, its finished training, a push)
MODEL_PICKER = "model_picker"  # str, widget: the sidebar picker's run name (a key of saved_runs())

# ---- trainings (ui.jobs, the Train and Compare pages) --------------------------------------------
SESSION_ID = "session_id"  # str: this tab's random id; a training counts against it (one at a time)
JOB = "job"  # str: the id of the job this tab follows (the one it started, or one it chose to watch)
OWNER_TOKENS = "owner_tokens"  # dict[str, str]: job id -> owner token, for each job this tab started
ADOPTED = "adopted"  # str: the id of the finished job made this tab's model (so it is made so once)
JOB_DRAWN_FINAL = "job_drawn_final"  # str: the id of the job whose final chart the Train page has drawn
SWEEP_JOBS = "sweep_jobs"  # list[str]: the ids of the sweep's jobs this tab started
SWEEP_SHOWN = "sweep_shown"  # list[str]: the sweep's finished run names already put on the comparison
COMPARE_RUNS = "compare_runs"  # list[str], widget: the run names the Compare page shows

# ---- access (ui.access, the Classroom page) ------------------------------------------------------
TEACHER = "teacher"  # bool: this tab signed in with the teacher code
CLASSROOM_SAVED = "classroom_saved"  # bool: the teacher's settings were just saved (said once, then popped)
BUNDLE_IMPORTED = "bundle_imported"  # str: the name of the run just imported (said once, then popped)
CLASS_PUSHED = "class_pushed"  # str: what the teacher just pushed to the class (said once, then popped)
CLASS_ENDED = "class_ended"  # (students, rows, folder name): the class just ended (said once, then popped)
CLASS_END_ASKED = "class_end_asked"  # bool: End class's confirmation is open (until answered or dismissed)

# ---- the latent map and its tools (ui.latent) ----------------------------------------------------
MAP_DRAWN = "map_drawn"  # bool: this tab's browser has shown a latent map (ui.latent.first_map)
PICKED = "picked"  # int | None: the index of the test digit pinned on the map
PIN_UV = "pin_uv"  # list[float] | None: the map point pinned; None when the z sliders set the point
PIN_REFUSED = "pin_refused"  # str | None: why the browser's last pin was ignored, until the page says it
DECODE_LABEL = "decode_label"  # int: the label a conditional decoder is given
SAMPLE_SEED = "sample_seed"  # int: the seed of the p(x|z) draw ("New sample" adds one)
PRIOR_DRAWS = "prior_draws"  # int: how many codes were drawn from the prior (the next draw's seed)
N_DRAWS = "n_draws"  # int, widget: how many draws from q(z|x) the picked digit's panel shows
INTERP_A = "interp_a"  # list[float] | None: the interpolation's start code
INTERP_B = "interp_b"  # list[float] | None: the interpolation's end code
PROJECTION = "projection"  # str, widget: the map's kind, a name in cvae.explore.projections.PROJECTIONS
AXIS_I = "axis_i"  # int, widget: the z_i vs z_j map's horizontal dimension (0-based)
AXIS_J = "axis_j"  # int, widget: its vertical dimension
PROJECTION_HOLD = "projection_hold"  # str, widget: what the dimensions off a linear map are held at
COLOURING = "colouring"  # str, widget: what colours the digits (a key of ui.latent.controls.COLOURINGS)
SHOW_PRIOR = "show_prior"  # bool, widget: draw the prior's contours
SHOW_DENSITY = "show_density"  # bool, widget: draw the aggregate posterior's density

# ---- the Your digit page -------------------------------------------------------------------------
DIGIT_INPUT = "digit_input"  # {"kind": "upload" | "canvas" | "example", "data": bytes, "name": str} | None
DIGIT_UPLOAD = "digit_upload"  # UploadedFile | None, widget: the uploader's file
CANVAS_PNG = "canvas_png"  # bytes: the canvas's last drawing taken as the input

# ---- lessons (ui.lessons) ------------------------------------------------------------------------
LESSON_PASSED = "lesson_passed"  # dict[(lesson id, step), True]: steps passed this session
LESSON_OPENED = "lesson_opened"  # set[(lesson id, step)]: steps whose first view was recorded this session
LESSON_SKIPPED = "lesson_skipped"  # set[(lesson id, step)]: steps skipped this session
LESSON_CHECK_MS = "lesson_check_ms"  # float: the server time of this session's last check, ms


def z_key(d: int) -> str:
    """float: dimension d (0-based) of the pinned code, also its z slider's key."""
    return f"z_{d}"


def form_key(field: str) -> str:
    """The Train form's widget of TrainConfig field `field` (its value)."""
    return f"cfg_{field}"


def step_keys(lesson_id: str, step: int) -> dict[str, str]:
    """A lesson step's keys (and its widgets'); "Reset step" removes every key with its "prefix":
    seed (int, the decoder draws'), z (list[float], the step's point), uv (its map point), pinned
    (bool), refused (str: why the map's last pin was ignored, until shown), typed (+ d: the typed
    point's dimension d), answer (the answer widget), result (CheckResult), another and chart (widgets)."""
    prefix = f"lesson-{lesson_id}-{step}-"
    names = ("seed", "z", "uv", "pinned", "refused", "typed", "answer", "result", "another", "chart")
    return {"prefix": prefix, **{name: prefix + name for name in names}}
