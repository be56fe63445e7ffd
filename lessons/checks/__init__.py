"""Exercise checks for the lessons: each ``check_...()`` computes the right answer from the run or the
inputs with the core, compares, and prints feedback that points the way without revealing it.

Every check is one row of the same recipe (``recipe._judge``): the truth, the usual mistakes each with
its hint, a general hint, and a word of praise. Every check returns True or False and never raises on
a wrong or missing answer, so a lesson always runs to the end. The checks live by topic — what a run
measured (``measures``), what happens inside training (``training``), comparisons between settings
(``comparisons``) — and are all importable from here (``from checks import check_...``).

Predict-then-run: ``check_prediction`` grades a prediction the learner wrote before the cell that
answers it — its direction and its size — against what the run then measured.
"""

from .comparisons import *  # noqa: F403
from .implement import *  # noqa: F403
from .measures import *  # noqa: F403
from .recipe import MISSING, RIGHT, SETTING_COLUMNS, WRONG, close, same_value  # noqa: F401
from .training import *  # noqa: F403
