"""For scripts run as stages of a shmpipe pipeline (docs/PIPELINES.md): the
runner passes each stage the segment name of every channel and table it
declared, in SHMPIPE_CHANNEL_<LOCAL NAME IN UPPER CASE>."""
import os
from typing import Mapping, Optional

CHANNEL_ENV_PREFIX = "SHMPIPE_CHANNEL_"


def channel_name(local: str, env: Optional[Mapping[str, str]] = None) -> str:
    """The segment name of the pipeline's channel (or table) `local`.

    Raises KeyError, naming the variable, when this script was not started
    by a pipeline that gives it that channel."""
    variable = CHANNEL_ENV_PREFIX + local.upper()
    value = (os.environ if env is None else env).get(variable)
    if not value:
        raise KeyError(f'shmpipe: {variable} is not set: this stage must be started by a shmpipe pipeline that gives it '
                       f'channel "{local}" (in the stage\'s reads or writes)')
    return value
