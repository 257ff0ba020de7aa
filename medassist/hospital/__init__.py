"""The hospital side of MedAssist: a DICOM node that receives studies, a persistent triage
worklist scored in the background, results sent back to PACS (DICOM SR + AI-map Secondary
Capture) and to the EHR (FHIR R4), and Query/Retrieve against a configured PACS.

All of it is off until an administrator turns the node on; it binds to loopback by default
and never talks to anything but the DICOM peers configured here.
"""
