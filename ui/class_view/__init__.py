"""The teacher's Class page (roster, the class's answers, push, export, End class) and the students' push notice."""

from ui.class_view.answers_ui import answers_ui as answers_ui
from ui.class_view.controls_ui import end_class_ui as end_class_ui
from ui.class_view.controls_ui import export_ui as export_ui
from ui.class_view.controls_ui import push_ui as push_ui
from ui.class_view.notice import push_notice_ui as push_notice_ui
from ui.class_view.roster_ui import REFRESH_S as REFRESH_S
from ui.class_view.roster_ui import roster_ui as roster_ui

__all__ = ["REFRESH_S", "answers_ui", "end_class_ui", "export_ui", "push_notice_ui", "push_ui", "roster_ui"]
