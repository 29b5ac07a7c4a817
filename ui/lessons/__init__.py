"""The Lessons page's helpers: the live context, the step's state and progress, its element and task."""
