"""Code for the instance: the boot scripts, rendered into cloud-init user data, and agents."""

from envctl.instance.personal import PersonalLayer
from envctl.instance.userdata import UserDataError, render_user_data

__all__ = ["PersonalLayer", "UserDataError", "render_user_data"]
