"""Demo mode: a synthetic, clinically coherent cohort with public DICOM test images attached.

Everything here is fictional and marked as such (:data:`medassist.DEMO_NOTICE`); it exists so
a new user can click through every tab without loading their own data.
"""

from medassist.demo.cohort import DemoCohort, build_demo
from medassist.demo.images import PUBLIC_IMAGE_NOTICE, public_dicom

__all__ = ["DemoCohort", "build_demo", "PUBLIC_IMAGE_NOTICE", "public_dicom"]
