"""The teacher's live view of the class: who is where, the class's answers, push, export, End class."""

import streamlit as st

from ui import class_view
from ui.access import is_teacher

# navigation lists this page for a teacher session only; a crafted URL or message still runs nothing here
if not is_teacher():
    st.error("The Class page is for the teacher: sign in on the Classroom page.")
    st.stop()

st.title("Class")
st.caption("Updates by itself. Names and answers stay on this server; End class archives them and removes the names.")
st.subheader("Students")
class_view.roster_ui()
st.subheader("The class's answers")
class_view.answers_ui()
st.subheader("Bring everyone to the same place")
class_view.push_ui()
st.subheader("Records")
class_view.export_ui()
class_view.end_class_ui()
