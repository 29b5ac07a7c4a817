import streamlit as st

from cvae.lessons.live_values import fill, live_values
from cvae.settings import settings
from ui import student
from ui.components import active_model_or_stop
from ui.lessons import step_state
from ui.lessons.elements import element_ui
from ui.lessons.live import library, live_model
from ui.lessons.task import buttons_ui, reset, result_ui, task_ui
from ui.session_keys import step_keys

st.title("Lessons")
active_model_or_stop()
lib = library()
for error in lib.errors:  # one bad file never hides the others
    st.error(f"A lesson file cannot be used: {error}", icon=":material/error:")
if not lib.lessons:
    st.info("No lessons yet: add a file to the lessons/ folder (see the Teacher's guide).")
    st.stop()

me = student.sign_in_ui(required=bool(settings().class_code), key="lesson-sign-in")
lesson_id, number = step_state.place(lib.lessons, me)
ids = list(lib.lessons)
chosen = st.selectbox(
    "Lesson",
    ids,
    index=ids.index(lesson_id),
    format_func=lambda i: f"{ids.index(i) + 1}. {lib.lessons[i].title}",
    key=f"lesson-picker-{lesson_id}",
)
if chosen != lesson_id:
    step_state.set_place(chosen, 1)
    st.rerun()
lesson = lib.lessons[lesson_id]
step = lesson.steps[number - 1]
step_state.set_place(lesson_id, number)
step_state.open_step(me, lesson_id, number)

model = live_model()
keys = step_keys(lesson_id, number)
digit = step.digit if step.digit is not None else step.seed % len(model.labels)
values = live_values(model, digit)

st.markdown(f"**Step {number} of {len(lesson.steps)}** · {lesson.title}")
st.progress(number / len(lesson.steps))
st.subheader(step.title)
st.markdown(fill(step.text, values))
element_ui(step, model, keys, digit)
task_ui(step, keys, values)
done = step_state.passed(me, lesson_id, number)
pressed = buttons_ui(step, lesson_id, len(lesson.steps), keys, model, me, done=done)
result_ui(step, keys, values)

if pressed == "skip":
    step_state.record_skip(me, lesson_id, number)
if pressed in ("next", "skip"):
    if not step_state.advance(lib.lessons, lesson_id, number):
        st.success("That was the last step of the last lesson. Well done.")
        st.stop()
    st.rerun()
if pressed == "reset":
    reset(keys)
    st.rerun()
