"""Shared code of restore_student_photos.py and migrate_orphaned_photos.py."""

__version__ = "2.0.0"
