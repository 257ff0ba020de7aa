"""The application layer: each use case once, called by the GUI tabs and the command line alike.

* :mod:`~medassist.app.images`: files and folders into images.
* :mod:`~medassist.app.analysis`: analyse a patient (which models apply, run them, explain them).
* :mod:`~medassist.app.picture`: the patient's clinical picture (scores, care setting, sepsis signs).
* :mod:`~medassist.app.treatment`: the treatment plan as decisions to make, and recording a decision.
* :mod:`~medassist.app.report`: render the signed report and export it with its audit line.
* :mod:`~medassist.app.batch`: score many image files (local threads or Ray) as result rows.

A use case is a plain function or job generator over the session and the services; the UI
only reads its widgets, calls one of these, and shows the result (3D Slicer's Widget/Logic split).
"""
