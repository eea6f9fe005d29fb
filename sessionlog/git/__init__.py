"""Git at the bottom of the house: the one place the ``git`` executable is run (``exe``) and
repository discovery by git's own rules (``discovery``). Standard library and ``errors`` only."""
