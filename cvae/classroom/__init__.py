"""The live class on the shared database: students, their lesson progress, the teacher's pushes."""

from cvae.classroom import progress as progress
from cvae.classroom import students as students
from cvae.classroom.students import ClassroomError as ClassroomError
from cvae.classroom.students import Student as Student

__all__ = ["ClassroomError", "Student", "progress", "students"]
