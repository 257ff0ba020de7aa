"""Medical images: DICOM (pydicom) and ordinary images (Pillow) into one displayable model."""
